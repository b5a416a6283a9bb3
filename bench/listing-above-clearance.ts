// What a folder's REST listing costs the server when the person listing it is cleared for few of its documents:
// a folder of N documents, one in 1,000 OFFICIAL and the rest OFFICIAL-SENSITIVE, listed by a person cleared for
// OFFICIAL and by one cleared for both (who is sent the first 10,000). In-process on SQLite (the listing is
// app.inject'ed, its CPU read with process.cpuUsage), each listing LISTINGS times; the median is reported.
// BENCH_BASELINE=/path/to/checkout runs the same against that checkout's source first (its test/support opens
// its own vault), for a side-by-side; the checkout needs its node_modules (a symlink to this one's will do).
// Usage: node --no-warnings --import tsx bench/listing-above-clearance.ts [N]   (default 50000; `make bench-listing`)
import path from 'node:path';
import { cleanupAll, cleanupSync } from './lib/cleanup.js';
import { writeDatedResult } from './lib/dated-result.js';
import { REPO_ROOT } from './lib/strongroom.js';

const count = Number(process.argv[2] ?? 50_000);
const LISTINGS = 5;

interface Run {
  build: string;
  /** Milliseconds of CPU for one listing, the median of LISTINGS, and the answer's bytes. */
  lowClearance: { cpuMs: number; bytes: number };
  cleared: { cpuMs: number; bytes: number };
}

/** A module of the checkout at `root` (its source, run through tsx as this script is). */
const from = async <T>(root: string, file: string): Promise<T> => (await import(path.join(root, file))) as T;

async function measure(label: string, root: string): Promise<Run> {
  const { startTestClamd } = await from<typeof import('../test/support/clamd.js')>(root, 'test/support/clamd.ts');
  const { cloneDocuments } = await from<typeof import('../test/support/cloned-documents.js')>(root, 'test/support/cloned-documents.ts');
  const { auth, createOrganisation, openTestVault, upload } = await from<typeof import('../test/support/vault.js')>(root, 'test/support/vault.ts');
  const clamd = await startTestClamd();
  try {
    const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
    try {
      const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
      const folder = org.collections.finance!;
      const cleared = await org.user({ teams: ['finance'] });
      const lowClearance = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
      const template = await upload(t.app, cleared, folder, 'a-index.txt', 'index of personnel files');
      if (template.statusCode !== 201) throw new Error(`template upload: ${template.statusCode} ${template.body}`);
      await cloneDocuments(t.vault.store.db, template.json().id, count - 1, (i) => `personnel-file-${String(i).padStart(6, '0')}.txt`,
        (i) => ({ classification: i % 1000 === 0 ? 'OFFICIAL' : 'OFFICIAL-SENSITIVE' }));
      const listing = async (user: typeof cleared): Promise<{ cpuMs: number; bytes: number }> => {
        const runs: { cpuMs: number; bytes: number }[] = [];
        for (let i = 0; i < LISTINGS; i++) {
          const before = process.cpuUsage();
          const res = await t.app.inject({ method: 'GET', url: `/api/v1/collections/${folder}`, headers: auth(user) });
          const used = process.cpuUsage(before);
          if (res.statusCode !== 200) throw new Error(`listing: ${res.statusCode} ${res.body}`);
          runs.push({ cpuMs: (used.user + used.system) / 1000, bytes: res.rawPayload.length });
        }
        return runs.sort((a, b) => a.cpuMs - b.cpuMs)[Math.floor(LISTINGS / 2)]!;
      };
      const run = { build: label, lowClearance: await listing(lowClearance), cleared: await listing(cleared) };
      process.stderr.write(`[bench] ${label}: low clearance ${run.lowClearance.cpuMs.toFixed(0)} ms CPU (${run.lowClearance.bytes} bytes), cleared ${run.cleared.cpuMs.toFixed(0)} ms CPU (${run.cleared.bytes} bytes)\n`);
      return run;
    } finally {
      await t.close();
    }
  } finally {
    await clamd.stop();
  }
}

process.on('exit', cleanupSync);
try {
  const runs: Run[] = [];
  const baseline = process.env.BENCH_BASELINE;
  if (baseline) runs.push(await measure(`baseline (${baseline})`, path.resolve(baseline)));
  runs.push(await measure('this checkout', REPO_ROOT));
  await writeDatedResult('listing-above-clearance', [
    `# A REST listing of a folder of ${count.toLocaleString('en-GB')} documents, one in 1,000 OFFICIAL, the rest OFFICIAL-SENSITIVE`,
    '',
    `In-process on SQLite; the median of ${LISTINGS} listings each.`,
    '',
    '| build | cleared for OFFICIAL: CPU (ms) | answer (bytes) | cleared for both: CPU (ms) | answer (bytes) |',
    '| --- | --- | --- | --- | --- |',
    ...runs.map((r) => `| ${r.build} | ${r.lowClearance.cpuMs.toFixed(0)} | ${r.lowClearance.bytes} | ${r.cleared.cpuMs.toFixed(0)} | ${r.cleared.bytes} |`),
  ]);
} finally {
  await cleanupAll();
}
