// How long a large upload stays unreadable when another, larger one was answered just before it: both are over
// the inline scan limit, so each is readable only once its scan job has run. Uploads a LARGE file, then at once a
// SECOND one, and reports how long after its answer each became available. With one scan job at a time the second
// waits for the whole of the first one's scan; with STRONGROOM_SCAN_JOBS_AT_ONCE (2) they are scanned side by side.
// Usage: node --no-warnings --import tsx bench/scans-side-by-side.ts [LARGE_MIB] [SECOND_MIB]   (default 1024 and 96;
//   `make bench-scans`, part of make bench)
//   BENCH_BASELINE=/path/to/checkout also runs that checkout's build first, on the same machine, for a side-by-side.
//   BENCH_SCAN_JOBS=1 sets STRONGROOM_SCAN_JOBS_AT_ONCE for this checkout's server (a baseline knows no such setting).
import { cleanupAll, cleanupSync } from './lib/cleanup.js';
import { writeDatedResult } from './lib/dated-result.js';
import { cpuOf } from './lib/cpu.js';
import { MiB, randomBuffer } from './lib/data.js';
import { clamdSpoolFolder, ScanMemorySampler } from './lib/scan-memory.js';
import { entryAt, withSeededServer, type Entry } from './lib/strongroom.js';
import { restLargeUpload, waitAvailable } from './lib/workloads.js';

const largeBytes = Number(process.argv[2] ?? 1024) * MiB;
const secondBytes = Number(process.argv[3] ?? 96) * MiB;

interface Run {
  build: string;
  largeAvailableSeconds: number;
  secondAvailableSeconds: number;
  bothAvailableSeconds: number;
  clamdCpuSeconds: number;
  /** The most RAM the scans held at once: clamd's tmpfs spool plus its growth (bench/lib/scan-memory.ts). */
  scanHeldPeakMB: number;
}

async function measure(label: string, entry: Entry | undefined, env: Record<string, string>): Promise<Run> {
  return withSeededServer('srscans-', env, entry, async (server, seeded, dataDir) => {
    const api = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    const base = randomBuffer(64 * MiB);
    const clamdBefore = cpuOf(server.clamdPid());
    const spool = clamdSpoolFolder(dataDir);
    const clamd = server.clamdPid();
    if (!spool || !clamd) throw new Error('the server\'s own clamd was not found: its spool cannot be sampled');
    const scanMemory = new ScanMemorySampler(spool, clamd).start();
    const large = await restLargeUpload(api, seeded.collectionId, largeBytes, base, 'meeting-recording.bin');
    const largeAnswered = Date.now();
    const second = await restLargeUpload(api, seeded.collectionId, secondBytes, base.subarray(1), 'scanned-plans.bin');
    const secondAnswered = Date.now();
    for (const [what, answer] of [['large', large.answer], ['second', second.answer]] as const) {
      if (answer.status !== 'pending_scan') throw new Error(`the ${what} upload was ${answer.status}, not pending_scan: it was scanned before it was answered`);
    }
    let largeAt = 0;
    let secondAt = 0;
    await Promise.all([
      waitAvailable(api, large.answer.id, 1_800_000).then(() => { largeAt = Date.now(); }),
      waitAvailable(api, second.answer.id, 1_800_000).then(() => { secondAt = Date.now(); }),
    ]);
    const held = scanMemory.stop();
    const run = {
      build: label,
      largeAvailableSeconds: (largeAt - largeAnswered) / 1000,
      secondAvailableSeconds: (secondAt - secondAnswered) / 1000,
      bothAvailableSeconds: (Math.max(largeAt, secondAt) - largeAnswered) / 1000,
      clamdCpuSeconds: cpuOf(server.clamdPid()) - clamdBefore,
      scanHeldPeakMB: held.heldPeakBytes / 1e6,
    };
    process.stderr.write(`[bench] ${label}: ${largeBytes / MiB} MiB available ${run.largeAvailableSeconds.toFixed(1)} s after its answer, ${secondBytes / MiB} MiB ${run.secondAvailableSeconds.toFixed(1)} s after its own; both ${run.bothAvailableSeconds.toFixed(1)} s; clamd ${run.clamdCpuSeconds.toFixed(1)} CPU-s; scans held ${run.scanHeldPeakMB.toFixed(0)} MB at most\n`);
    return run;
  });
}

process.on('exit', cleanupSync);
try {
  const runs: Run[] = [];
  const baseline = process.env.BENCH_BASELINE;
  if (baseline) runs.push(await measure(`baseline (${baseline})`, entryAt(baseline), {}));
  const jobs = process.env.BENCH_SCAN_JOBS;
  runs.push(await measure(jobs ? `this checkout, ${jobs} scan job(s) at once` : 'this checkout', undefined, jobs ? { STRONGROOM_SCAN_JOBS_AT_ONCE: jobs } : {}));
  const lines = [
    `# Two large uploads scanned after they were answered (${largeBytes / MiB} MiB, then at once ${secondBytes / MiB} MiB)`,
    '',
    'Seconds from each file\'s own answer until it was available; "both" from the first answer.',
    '',
    '| build | first available after (s) | second available after (s) | both available after (s) | clamd CPU (s) | RAM the scans held at most (MB) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...runs.map((r) => `| ${r.build} | ${r.largeAvailableSeconds.toFixed(1)} | ${r.secondAvailableSeconds.toFixed(1)} | ${r.bothAvailableSeconds.toFixed(1)} | ${r.clamdCpuSeconds.toFixed(1)} | ${r.scanHeldPeakMB.toFixed(0)} |`),
  ];
  await writeDatedResult('scans-side-by-side', lines);
} finally {
  await cleanupAll();
}
