// Small downloads while small uploads run: a real `strongroom serve` holding N 4 KiB documents, four
// keep-alive clients uploading new 4 KiB files without pause and two downloading the N in turn, for
// S seconds. Prints both rates and the downloads' latency (p50, p90, p99): what a member opening a
// document waits while a migration or a scanner pours files in. Reads that queue behind the uploads'
// fsyncs in libuv's thread pool show here and not in `small-server.ts`, which runs one phase at a time.
// BENCH_BASELINE=<checkout with dist/ built> runs that build beside this one, alternated round by round.
// Usage: node --no-warnings --import tsx bench/small-mixed.ts [N] [S] [rounds]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanupAll, cleanupSync, trackDir } from './lib/cleanup.js';
import { settled } from './lib/cpu.js';
import { smallFiles } from './lib/data.js';
import { keepAliveAgent, request } from './lib/http.js';
import { entryAt, seed, startServer, type Entry } from './lib/strongroom.js';
import { restSmallUploads, type Endpoint } from './lib/workloads.js';

const count = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 15);
const rounds = Number(process.argv[4] ?? 2);
const UPLOADERS = 4;
const DOWNLOADERS = 2;
process.on('exit', cleanupSync);

const builds: { label: string; entry?: Entry }[] = [{ label: 'this' }];
if (process.env.BENCH_BASELINE) builds.push({ label: 'baseline', entry: entryAt(path.resolve(process.env.BENCH_BASELINE)) });

/** Runs `step` in `clients` loops until `until` resolves; each loop has its own keep-alive connection. */
async function loops(clients: number, until: Promise<void>, step: (agent: ReturnType<typeof keepAliveAgent>, n: number) => Promise<void>): Promise<void> {
  let stopped = false;
  void until.then(() => (stopped = true));
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    const agent = keepAliveAgent(1);
    try {
      for (let n = client; !stopped; n += clients) await step(agent, n);
    } finally {
      agent.destroy();
    }
  }));
}

/** One server, measured for `forSeconds`; reported unless it is the warm-up (no label). */
async function measure(label: string | undefined, entry: Entry | undefined, forSeconds = seconds): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'srm-'));
  trackDir(root);
  const dataDir = path.join(root, 'd');
  const seeded = await seed(dataDir, {}, entry);
  const server = await startServer({ dataDir, logFile: path.join(root, 'server.log'), ...(entry ? { entry } : {}) });
  try {
    const api: Endpoint = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    const stored = await restSmallUploads(api, seeded.collectionId, smallFiles(count, 4096), 4, 'stored');
    await settled(server.pid);
    const file = smallFiles(1, 4096)[0] as Buffer;
    const over = new Promise<void>((resolve) => setTimeout(resolve, forSeconds * 1000));
    let uploads = 0;
    const latencies: number[] = [];
    await Promise.all([
      loops(UPLOADERS, over, async (agent, n) => {
        const r = await request(api.baseUrl, agent, {
          method: 'POST', path: `/api/v1/collections/${seeded.collectionId}/documents?name=new-${n}.bin`,
          headers: { authorization: api.authorization, 'content-type': 'application/octet-stream', 'content-length': file.length }, body: file,
        });
        if (r.status !== 201) throw new Error(`upload ${n}: ${r.status}`);
        uploads++;
      }),
      loops(DOWNLOADERS, over, async (agent, n) => {
        const started = performance.now();
        const r = await request(api.baseUrl, agent, { method: 'GET', path: `/api/v1/documents/${stored.ids[n % count]}/content`, headers: { authorization: api.authorization } });
        if (r.status !== 200) throw new Error(`download ${n}: ${r.status}`);
        latencies.push(performance.now() - started);
      }),
    ]);
    if (label === undefined) return;
    latencies.sort((a, b) => a - b);
    const at = (q: number): string => (latencies[Math.floor(q * (latencies.length - 1))] as number).toFixed(1);
    process.stdout.write(`${label.padEnd(8)} uploads ${(uploads / seconds).toFixed(0)}/s, downloads ${(latencies.length / seconds).toFixed(0)}/s, download latency p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} ms\n`);
  } finally {
    await server.stop();
  }
}

try {
  // The first server of a run is slower than every later one (caches still cold): a short unreported run first.
  await measure(undefined, builds[0]?.entry, 3);
  for (let round = 0; round < rounds; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) await measure(build.label, build.entry);
  }
} finally {
  await cleanupAll();
}
