// Large transfers through a whole server (issue #16 item 4): the server's CPU seconds per GiB and
// the MB/s of a REST download, a WebDAV GET, a REST upload and a WebDAV PUT of one large file,
// the CPU read from /proc/<pid>/stat around each transfer (all of the server's threads), and the
// server's resident-set peak during each (VmHWM, reset before it).
//
// Usage: node --import tsx bench/large-paths.ts
//   BENCH_LARGE_MIB   size of the file (default 1024)
//   BENCH_ROUNDS      transfers of each kind per code version (default 3)
//   BENCH_BASELINE    another checkout (with node_modules) to compare with, e.g. the commit before a
//                     change unpacked by `git archive`: both run side by side, interleaved per
//                     transfer (A B, then B A in the next round) so both see the same machine
//   BENCH_BASELINE_ALLOCATOR=glibc  the baseline's servers run with glibc's allocator defaults, not
//                     bin/strongroom's settings (with BENCH_BASELINE=. it measures the settings alone)
//   BENCH_KINDS       which transfers, comma-separated (default all four: "REST download,WebDAV GET,REST upload,WebDAV PUT")
//   BENCH_PROFILE=1   instead: profile this checkout with --cpu-prof, one server run per kind of
//                     transfer, and print where each spends its self time
//   BENCH_PROFILE_KEEP=<dir>  with BENCH_PROFILE=1: keep each run's .cpuprofile there (open it in
//                     Chrome's DevTools to see who called what)
//   BENCH_OUT         results file (default bench/results/<date>-large-paths.json; none in profile mode)
//
// Each server first stores the file through the REST API and waits until its scan says
// `available`; then it is restarted with the web role (no jobs), so a scan of the files uploaded
// while measuring never runs beside a later transfer.
import { writeFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { cleanupAll, cleanupSync, temporaryFolder } from './lib/cleanup.js';
import { costed, cpuByThreadOf, cpuOf, mainThreadCpuOf, minorFaultsOf, clientCpu, threadCpuDifference, type PhaseCost } from './lib/cpu.js';
import { GiB, MiB, randomBuffer } from './lib/data.js';
import { readProfile, topLines } from './lib/profile.js';
import { table } from './lib/report.js';
import { RssSampler } from './lib/rss.js';
import { REPO_ROOT, entryAt, entryForRun, launcherAllocatorEnv, seed, startServer, type Entry, type RunningServer, type Seeded } from './lib/strongroom.js';
import { davLargeGet, davLargePut, findDavCollection, restLargeDownload, restLargeUpload, waitAvailable, type Endpoint } from './lib/workloads.js';

const env = process.env;
const LARGE_BYTES = Number(env.BENCH_LARGE_MIB ?? 1024) * MiB;
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const BASELINE = env.BENCH_BASELINE ? path.resolve(env.BENCH_BASELINE) : undefined;
const PROFILE = env.BENCH_PROFILE === '1';
/** The baseline without the launcher's allocator settings: undefined values leave the environment. */
const BASELINE_ENV: NodeJS.ProcessEnv = env.BENCH_BASELINE_ALLOCATOR === 'glibc'
  ? Object.fromEntries(Object.keys(launcherAllocatorEnv()).map((name) => [name, undefined]))
  : {};

const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[large ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

const ALL_KINDS = ['REST download', 'WebDAV GET', 'REST upload', 'WebDAV PUT'] as const;
type Kind = (typeof ALL_KINDS)[number];
const KINDS: Kind[] = env.BENCH_KINDS ? env.BENCH_KINDS.split(',').map((k) => k.trim()).filter((k): k is Kind => (ALL_KINDS as readonly string[]).includes(k)) : [...ALL_KINDS];
if (KINDS.length === 0) throw new Error(`BENCH_KINDS names none of: ${ALL_KINDS.join(', ')}`);

interface Variant {
  name: string;
  entry: Entry | undefined;
  /** Added to every server's environment. */
  env: NodeJS.ProcessEnv;
  dataDir: string;
  logFile: string;
  seeded: Seeded;
  fileId: string;
  davFolder: string;
}

interface Running {
  variant: Variant;
  server: RunningServer;
  api: Endpoint;
  dav: Endpoint;
}

interface Sample {
  seconds: number;
  serverCpu: number;
  /** The server's main thread alone (its JavaScript); the rest is mostly the libuv pool's file I/O. */
  serverMainCpu: number;
  /** The server's minor page faults over the transfer (fresh pages its allocator took). */
  serverMinorFaults: number;
  clientCpu: number;
  /** The server's highest resident set during the transfer (VmHWM, reset before it). */
  serverRssPeakBytes: number;
  load: number;
}

/** Seeds a vault, stores the large file and waits for its scan; returns what the transfers need. */
async function prepare(name: string, entry: Entry | undefined, root: string, base: Buffer, variantEnv: NodeJS.ProcessEnv = {}): Promise<Variant> {
  const dataDir = path.join(root, name);
  await mkdir(dataDir, { recursive: true });
  const logFile = path.join(root, `${name}.log`);
  const seeded = await seed(dataDir, {}, entry);
  const server = await startServer({ dataDir, logFile, env: variantEnv, ...(entry ? { entry } : {}) });
  try {
    const api: Endpoint = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    const up = await restLargeUpload(api, seeded.collectionId, LARGE_BYTES, base, 'large.bin');
    log(`${name}: stored ${LARGE_BYTES / MiB} MiB in ${up.seconds.toFixed(1)} s; waiting for its scan`);
    await waitAvailable(api, up.answer.id, 900_000);
    // Once with the client checking the SHA-256, so the figures below are of correct bytes.
    await restLargeDownload(api, up.answer.id, { size: LARGE_BYTES, sha256: up.answer.sha256 });
    const dav: Endpoint = { baseUrl: server.baseUrl, authorization: davAuthorization(seeded) };
    const davFolder = await findDavCollection(dav, [seeded.collectionName, seeded.collectionId]);
    if (!davFolder) throw new Error(`${name}: no WebDAV folder for the collection`);
    return { name, entry, env: variantEnv, dataDir, logFile, seeded, fileId: up.answer.id, davFolder };
  } finally {
    await server.stop();
  }
}

const davAuthorization = (s: Seeded): string => `Basic ${Buffer.from(`${s.email}:${s.appPassword}`).toString('base64')}`;

async function start(variant: Variant, nodeArgs: string[] = []): Promise<Running> {
  const server = await startServer({
    dataDir: variant.dataDir, logFile: variant.logFile, env: { ...variant.env, STRONGROOM_ROLE: 'web' }, nodeArgs,
    ...(variant.entry ? { entry: variant.entry } : {}),
  });
  return {
    variant, server,
    api: { baseUrl: server.baseUrl, authorization: `Bearer ${variant.seeded.token}` },
    dav: { baseUrl: server.baseUrl, authorization: davAuthorization(variant.seeded) },
  };
}

let uploads = 0;
/** One transfer of the given kind; seconds from request to the end of the response. */
async function transfer(r: Running, kind: Kind, base: Buffer): Promise<number> {
  const v = r.variant;
  switch (kind) {
    case 'REST download':
      return (await restLargeDownload(r.api, v.fileId, { size: LARGE_BYTES })).seconds;
    case 'WebDAV GET':
      return davLargeGet(r.dav, `${v.davFolder}large.bin`, LARGE_BYTES);
    case 'REST upload':
      return (await restLargeUpload(r.api, v.seeded.collectionId, LARGE_BYTES, base, `rest-up-${++uploads}.bin`)).seconds;
    case 'WebDAV PUT':
      return davLargePut(r.dav, `${v.davFolder}dav-put-${++uploads}.bin`, LARGE_BYTES, base);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;
const gib = LARGE_BYTES / GiB;

function summarise(samples: Sample[]) {
  return {
    serverCpuSecondsPerGiB: round(median(samples.map((s) => s.serverCpu)) / gib),
    serverMainThreadCpuSecondsPerGiB: round(median(samples.map((s) => s.serverMainCpu)) / gib),
    serverMinorFaultsPerGiB: Math.round(median(samples.map((s) => s.serverMinorFaults)) / gib),
    serverRssPeakMB: round(median(samples.map((s) => s.serverRssPeakBytes)) / 1e6, 0),
    clientCpuSecondsPerGiB: round(median(samples.map((s) => s.clientCpu)) / gib),
    MBps: round(LARGE_BYTES / 1e6 / median(samples.map((s) => s.seconds)), 1),
    samples: samples.map((s) => ({ ...s, serverCpuPerGiB: round(s.serverCpu / gib), MBps: round(LARGE_BYTES / 1e6 / s.seconds, 1) })),
  };
}

async function measure(root: string, base: Buffer): Promise<void> {
  const variants: Variant[] = [];
  if (BASELINE) variants.push(await prepare('before', entryAt(BASELINE), root, base, BASELINE_ENV));
  variants.push(await prepare(BASELINE ? 'after' : 'this', BASELINE ? entryAt(REPO_ROOT) : undefined, root, base));
  const running: Running[] = [];
  for (const v of variants) running.push(await start(v));
  const samples = new Map<string, Sample[]>();
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const order = round_ % 2 === 0 ? running : [...running].reverse();
    for (const kind of KINDS) {
      for (const r of order) {
        const sources = { server: () => cpuOf(r.server.pid), serverMain: () => mainThreadCpuOf(r.server.pid), serverFaults: () => minorFaultsOf(r.server.pid), client: clientCpu };
        const threadsBefore = cpuByThreadOf(r.server.pid);
        const rss = rssPeakFrom(r.server.pid);
        const { value: seconds, cost } = await costed(sources, () => transfer(r, kind, base));
        rss.stop();
        const sample = sampleOf(seconds, cost, rss.hwmBytes);
        const byThread = threadCpuDifference(threadsBefore, cpuByThreadOf(r.server.pid), gib);
        const key = `${r.variant.name}|${kind}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        log(`round ${round_ + 1} ${r.variant.name.padEnd(6)} ${kind.padEnd(13)} ${(LARGE_BYTES / 1e6 / seconds).toFixed(0).padStart(5)} MB/s  server ${(sample.serverCpu / gib).toFixed(2)} CPU-s/GiB (main thread ${(sample.serverMainCpu / gib).toFixed(2)}), ${(sample.serverMinorFaults / gib).toFixed(0)} page faults/GiB, RSS peak ${(sample.serverRssPeakBytes / 1e6).toFixed(0)} MB  (load ${sample.load})`);
        log(`        by thread, CPU-s/GiB: ${byThread}`);
      }
    }
  }
  for (const r of running) await r.server.stop();

  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    parameters: { largeBytes: LARGE_BYTES, rounds: ROUNDS, baseline: BASELINE ?? null, baselineAllocator: BASELINE ? (env.BENCH_BASELINE_ALLOCATOR ?? 'launcher') : null, allocator: launcherAllocatorEnv(), serverEntry: BASELINE ? 'each checkout\'s dist/ build, or its source through tsx when it has none' : entryForRun().kind },
    note: 'Medians over the rounds. serverCpuSecondsPerGiB: utime+stime of the whole server process (every thread) during the transfer, per GiB moved; serverMainThreadCpuSecondsPerGiB: its main thread alone; serverMinorFaultsPerGiB: its minor page faults (fresh pages) per GiB moved; serverRssPeakMB: its highest resident set during the transfer (VmHWM, reset before each). Client: this process, sending or receiving (not hashing) on the same cores.',
    results: {} as Record<string, Record<string, unknown>>,
  };
  const rows = [['transfer', ...variants.flatMap((v) => [`${v.name} CPU-s/GiB`, `${v.name} main`, `${v.name} faults/GiB`, `${v.name} RSS peak MB`, `${v.name} MB/s`]), ...(BASELINE ? ['CPU after/before', 'MB/s after/before'] : [])]];
  for (const kind of KINDS) {
    const per = variants.map((v) => summarise(samples.get(`${v.name}|${kind}`) ?? []));
    (results.results as Record<string, Record<string, unknown>>)[kind] = Object.fromEntries(variants.map((v, i) => [v.name, per[i]]));
    const row = [kind, ...per.flatMap((p) => [p.serverCpuSecondsPerGiB.toFixed(2), p.serverMainThreadCpuSecondsPerGiB.toFixed(2), p.serverMinorFaultsPerGiB.toFixed(0), p.serverRssPeakMB.toFixed(0), p.MBps.toFixed(0)])];
    if (BASELINE) row.push((per[1]!.serverCpuSecondsPerGiB / per[0]!.serverCpuSecondsPerGiB).toFixed(2), (per[1]!.MBps / per[0]!.MBps).toFixed(2));
    rows.push(row);
  }
  const out = env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-large-paths.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${LARGE_BYTES / MiB} MiB, ${ROUNDS} rounds, medians (server CPU seconds per GiB, all threads)\n${table(rows)}\n\nwritten to ${path.relative(REPO_ROOT, out)}\n`);
}

function sampleOf(seconds: number, cost: PhaseCost, rssPeakBytes: number): Sample {
  return { seconds: round(seconds, 3), serverCpu: cost.cpuSeconds.server ?? 0, serverMainCpu: cost.cpuSeconds.serverMain ?? 0, serverMinorFaults: cost.cpuSeconds.serverFaults ?? 0, clientCpu: cost.cpuSeconds.client ?? 0, serverRssPeakBytes: rssPeakBytes, load: round(loadavg()[0] ?? 0, 1) };
}

/**
 * Samples the server's resident set from now on, its kernel-kept peak (VmHWM) reset first
 * (clear_refs 5), so the peak read at the end is this transfer's, not an earlier one's.
 */
function rssPeakFrom(pid: number): RssSampler {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return new RssSampler(pid, 50).start();
}

/** One server run per kind of transfer under --cpu-prof, each doing BENCH_ROUNDS transfers. */
async function profile(root: string, base: Buffer): Promise<void> {
  const variant = await prepare('profile', undefined, root, base);
  for (const kind of KINDS) {
    const dir = path.join(root, `prof-${kind.replace(/\W+/g, '-')}`);
    const r = await start(variant, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    let cpu = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const { cost } = await costed({ server: () => cpuOf(r.server.pid) }, () => transfer(r, kind, base));
      cpu += cost.cpuSeconds.server ?? 0;
    }
    await r.server.stop();
    const summary = await readProfile(dir);
    if (env.BENCH_PROFILE_KEEP) await cp(dir, path.join(path.resolve(env.BENCH_PROFILE_KEEP), path.basename(dir)), { recursive: true });
    process.stdout.write(`\n=== ${kind}: ${ROUNDS} × ${LARGE_BYTES / MiB} MiB, ${(cpu / ROUNDS / gib).toFixed(2)} server CPU-s/GiB while transferring; main-thread self time ${summary.totalSeconds.toFixed(2)} s for the whole server run (start-up included)\n\nby file or package:\n${topLines(summary.byFile, summary.totalSeconds, 15)}\n\nby function:\n${topLines(summary.byFunction, summary.totalSeconds, 30)}\n`);
  }
}

async function main(): Promise<void> {
  // A short path: clamd's socket lives under the data directory and must fit in 107 bytes.
  const root = await temporaryFolder('srl-');
  const base = randomBuffer(64 * MiB);
  log(`${PROFILE ? 'profiling' : 'measuring'} ${LARGE_BYTES / MiB} MiB transfers, ${ROUNDS} rounds${BASELINE ? `, against ${BASELINE}` : ''}`);
  if (PROFILE) await profile(root, base);
  else await measure(root, base);
}

process.on('exit', cleanupSync);
process.on('SIGINT', () => void cleanupAll(log).then(() => process.exit(130)));
try {
  await main();
} finally {
  await cleanupAll(log);
}
