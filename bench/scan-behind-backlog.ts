// How long a file too large to scan before it is answered stays unreadable when the job queue has a
// backlog: a council's bulk upload of N small files (each queues its text extraction and its offsite
// copy), then at once one file over the inline scan limit, whose scan is a job. Reports the seconds until
// that file is available, the jobs queued when it was answered, when the offsite replica held every file,
// and how long the backlog took to drain. With one line of jobs the scan waits for the backlog; in a lane
// of its own it does not (docs/architecture.md "Jobs", Lanes).
// Usage: node --no-warnings --import tsx bench/scan-behind-backlog.ts [N]   (default 3000; `make bench-backlog`, part of make bench)
//   BENCH_BASELINE=/path/to/checkout also runs that checkout's build first, on the same machine, for a side-by-side.
import { cleanupAll, cleanupSync } from './lib/cleanup.js';
import { writeDatedResult } from './lib/dated-result.js';
import { MiB, randomBuffer } from './lib/data.js';
import { entryAt, sleep, withSeededServer, type Entry } from './lib/strongroom.js';
import { restLargeUpload, restSmallUploads, waitAvailable } from './lib/workloads.js';

const count = Number(process.argv[2] ?? 3000);
const LARGE_BYTES = 2 * MiB;
/** Over this an upload is answered first and scanned by its job. */
const INLINE_SCAN_MAX_BYTES = MiB;

/** Small text files, as a share's letters and notes are: each is indexed by its own extract-text job. */
function textFiles(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`Payroll note ${i}: overtime claim for employee ${1000 + i}, approved.\n`.repeat(50)));
}

async function gauges(baseUrl: URL): Promise<{ queued: number; replicaPending: number }> {
  const text = await (await fetch(new URL('/metrics', baseUrl))).text();
  const gauge = (name: string) => {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    if (!m) throw new Error(`no ${name} in /metrics`);
    return Number(m[1]);
  };
  return { queued: gauge('strongroom_jobs_queued'), replicaPending: gauge('strongroom_replica_pending_blobs') };
}

interface Run {
  build: string;
  smallUploadSeconds: number;
  queuedWhenAnswered: number;
  availableAfterSeconds: number;
  replicatedAfterSeconds: number;
  backlogDrainedAfterSeconds: number;
}

async function measure(label: string, entry: Entry | undefined): Promise<Run> {
  const env = { STRONGROOM_INLINE_SCAN_MAX_BYTES: String(INLINE_SCAN_MAX_BYTES) };
  return withSeededServer('srbacklog-', env, entry, async (server, seeded) => {
    const api = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    const small = await restSmallUploads(api, seeded.collectionId, textFiles(count), 4, 'note');
    const { answer } = await restLargeUpload(api, seeded.collectionId, LARGE_BYTES, randomBuffer(LARGE_BYTES), 'scanned-after.bin');
    const answeredAt = Date.now();
    const queuedWhenAnswered = (await gauges(server.baseUrl)).queued;
    if (answer.status !== 'pending_scan') throw new Error(`the large upload was ${answer.status}, not pending_scan: it was scanned before it was answered`);
    // Watched beside the file's own wait: the replica's catching up, then the backlog's end.
    let replicatedAt: number | undefined;
    let drainedAt: number | undefined;
    const watching = (async () => {
      while (drainedAt === undefined) {
        const now = await gauges(server.baseUrl);
        if (replicatedAt === undefined && now.replicaPending === 0) replicatedAt = Date.now();
        if (now.queued === 0 && replicatedAt !== undefined) drainedAt = Date.now();
        else await sleep(200);
      }
    })();
    const available = await waitAvailable(api, answer.id, 1_800_000);
    await watching;
    const run = {
      build: label, smallUploadSeconds: small.seconds, queuedWhenAnswered, availableAfterSeconds: available.seconds,
      replicatedAfterSeconds: (replicatedAt! - answeredAt) / 1000, backlogDrainedAfterSeconds: (drainedAt! - answeredAt) / 1000,
    };
    process.stderr.write(`[bench] ${label}: ${count} small uploads in ${small.seconds.toFixed(1)} s; ${queuedWhenAnswered} jobs queued when the large file was answered; available after ${run.availableAfterSeconds.toFixed(1)} s; offsite copies complete after ${run.replicatedAfterSeconds.toFixed(1)} s; backlog drained after ${run.backlogDrainedAfterSeconds.toFixed(1)} s\n`);
    return run;
  });
}

process.on('exit', cleanupSync);
try {
  const runs: Run[] = [];
  const baseline = process.env.BENCH_BASELINE;
  if (baseline) runs.push(await measure(`baseline (${baseline})`, entryAt(baseline)));
  runs.push(await measure('this checkout', undefined));
  const lines = [
    `# A scan behind a backlog of jobs (${count} small text files, then one ${LARGE_BYTES / MiB} MiB file scanned after it is answered)`,
    '',
    'Seconds counted from when the large file was answered.',
    '',
    '| build | small uploads (s) | jobs queued when the file was answered | file available after (s) | offsite replica complete after (s) | backlog drained after (s) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...runs.map((r) => `| ${r.build} | ${r.smallUploadSeconds.toFixed(1)} | ${r.queuedWhenAnswered} | ${r.availableAfterSeconds.toFixed(1)} | ${r.replicatedAfterSeconds.toFixed(1)} | ${r.backlogDrainedAfterSeconds.toFixed(1)} |`),
  ];
  await writeDatedResult('scan-behind-backlog', lines);
} finally {
  await cleanupAll();
}
