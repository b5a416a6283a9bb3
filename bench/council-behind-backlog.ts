// How long one council's new document waits behind another council's bulk upload before it can be
// found by search: council A uploads N small text files (each queues its text extraction and its
// offsite copy in the background lane), then council B uploads one letter at once. Reports the seconds
// until B's letter is found by a word in its text, and until A's backlog has drained. Leased oldest
// first, B's extraction waited for A's whole backlog; with organisations taking turns in a lane it
// waits for about one of A's jobs (docs/architecture.md "Jobs", Turns).
// Usage: node --no-warnings --import tsx bench/council-behind-backlog.ts [N]   (default 3000; `make bench-turns`, part of make bench)
//   BENCH_BASELINE=/path/to/checkout also runs that checkout's build first, on the same machine, for a side-by-side.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanupAll, cleanupSync } from './lib/cleanup.js';
import { writeDatedResult } from './lib/dated-result.js';
import { keepAliveAgent, request } from './lib/http.js';
import { entryAt, runCli, seed, sleep, startServer, type Entry, type RunningServer } from './lib/strongroom.js';
import { restSmallUploads, type Endpoint } from './lib/workloads.js';

const count = Number(process.argv[2] ?? 3000);
/** A word in council B's letter and in nothing else, so the search finds it only once its text is extracted. */
const WORD = 'quillfeatherstonehaugh';

/** Small text files, as a share's letters and notes are: each is indexed by its own extract-text job. */
function textFiles(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`Payroll note ${i}: overtime claim for employee ${1000 + i}, approved.\n`.repeat(50)));
}

/** A second council with its own folder, person and API token, made through the CLI as the first was. */
async function secondCouncil(dataDir: string, entry: Entry | undefined): Promise<{ collectionId: string; token: string }> {
  const o = { dataDir, ...(entry ? { entry } : {}) };
  await runCli(['org', 'add', '--slug', 'other-council', '--name', 'Other Council'], o);
  const collectionId = (await runCli(['collection', 'add', '--org', 'other-council', '--name', 'Letters', '--service', 'hr'], o)).split('\n').pop() as string;
  const password = `Other-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}-Pw!`;
  await runCli(['user', 'add', '--org', 'other-council', '--email', 'clerk@other-council.example', '--name', 'Other Clerk', '--role', 'member', '--team', 'hr', '--password-stdin'], { ...o, stdin: `${password}\n` });
  const token = (await runCli(['token', 'create', '--user', 'clerk@other-council.example', '--name', 'bench'], o)).split('\n').pop() as string;
  return { collectionId, token };
}

async function queuedJobs(baseUrl: URL): Promise<number> {
  const text = await (await fetch(new URL('/metrics', baseUrl))).text();
  const m = /^strongroom_jobs_queued (\d+)$/m.exec(text);
  if (!m) throw new Error('no strongroom_jobs_queued in /metrics');
  return Number(m[1]);
}

/** Seconds until a search by `word` finds a document, polled every 100 ms. */
async function untilFound(api: Endpoint, word: string, timeoutMs: number): Promise<number> {
  const agent = keepAliveAgent(1);
  const started = Date.now();
  try {
    for (;;) {
      const r = await request(api.baseUrl, agent, { method: 'GET', path: `/api/v1/search?q=${word}`, headers: { authorization: api.authorization } });
      if (r.status !== 200) throw new Error(`search answered ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
      if ((JSON.parse(r.body.toString('utf8')) as { total: number }).total > 0) return (Date.now() - started) / 1000;
      if (Date.now() - started > timeoutMs) throw new Error(`"${word}" not found after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  } finally {
    agent.destroy();
  }
}

interface Run {
  build: string;
  bulkUploadSeconds: number;
  queuedWhenAnswered: number;
  foundAfterSeconds: number;
  backlogDrainedAfterSeconds: number;
}

async function measure(label: string, entry: Entry | undefined): Promise<Run> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'srturns-'));
  let server: RunningServer | undefined;
  try {
    const seeded = await seed(dataDir, {}, entry);
    const other = await secondCouncil(dataDir, entry);
    server = await startServer({ dataDir, logFile: path.join(dataDir, 'server.log'), ...(entry ? { entry } : {}) });
    const bulk = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    const letters = { baseUrl: server.baseUrl, authorization: `Bearer ${other.token}` };
    const uploads = await restSmallUploads(bulk, seeded.collectionId, textFiles(count), 4, 'note');
    const letter = await restSmallUploads(letters, other.collectionId, [Buffer.from(`Dear colleague, about Mr ${WORD}'s appeal.\n`)], 1, 'letter');
    if (letter.ids.length !== 1) throw new Error('the other council\'s letter was not stored');
    const answeredAt = Date.now();
    const queuedWhenAnswered = await queuedJobs(server.baseUrl);
    let drainedAt: number | undefined;
    const watching = (async () => {
      while (drainedAt === undefined) {
        if ((await queuedJobs(server!.baseUrl)) === 0) drainedAt = Date.now();
        else await sleep(200);
      }
    })();
    const foundAfterSeconds = await untilFound(letters, WORD, 1_800_000);
    await watching;
    const run = { build: label, bulkUploadSeconds: uploads.seconds, queuedWhenAnswered, foundAfterSeconds, backlogDrainedAfterSeconds: (drainedAt! - answeredAt) / 1000 };
    process.stderr.write(`[bench] ${label}: ${count} uploads by one council in ${uploads.seconds.toFixed(1)} s; ${queuedWhenAnswered} jobs queued when the other's letter was answered; letter found after ${foundAfterSeconds.toFixed(1)} s; backlog drained after ${run.backlogDrainedAfterSeconds.toFixed(1)} s\n`);
    return run;
  } finally {
    await server?.stop();
    for (const dir of [dataDir, `${dataDir}-offsite`]) await rm(dir, { recursive: true, force: true });
  }
}

process.on('exit', cleanupSync);
try {
  const runs: Run[] = [];
  const baseline = process.env.BENCH_BASELINE;
  if (baseline) runs.push(await measure(`baseline (${baseline})`, entryAt(baseline)));
  runs.push(await measure('this checkout', undefined));
  const lines = [
    `# One council's letter behind another's bulk upload (${count} small text files, then one letter from the other council)`,
    '',
    'Seconds counted from when the letter was answered; "found" is when a search for a word in its text first finds it.',
    '',
    '| build | bulk uploads (s) | jobs queued when the letter was answered | letter found after (s) | backlog drained after (s) |',
    '| --- | --- | --- | --- | --- |',
    ...runs.map((r) => `| ${r.build} | ${r.bulkUploadSeconds.toFixed(1)} | ${r.queuedWhenAnswered} | ${r.foundAfterSeconds.toFixed(1)} | ${r.backlogDrainedAfterSeconds.toFixed(1)} |`),
  ];
  await writeDatedResult('council-behind-backlog', lines);
} finally {
  await cleanupAll();
}
