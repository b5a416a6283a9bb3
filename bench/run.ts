// Strongroom's performance benchmark (make bench): seeds a fresh vault through the CLI, runs
// `strongroom serve` as a child process and measures it through the REST API (and WebDAV, when
// there is one) beside reference figures from the same machine in the same run: dd, openssl speed,
// clamd's own INSTREAM rate, and over WebDAV Apache mod_dav and `rclone serve webdav` over a crypt
// remote (the encrypted reference), interleaved with Strongroom's WebDAV. Small files go through
// node:http in this process, 1 GiB ones through curl (bench/lib/large-transfer.ts), and each phase
// starts once the servers are idle (bench/lib/cpu.ts waitForIdle). Writes
// bench/results/<date>.json and <date>.md and prints the tables.
//
// Environment: BENCH_LARGE_MIB (default 1024), BENCH_SMALL_COUNT (2000), BENCH_CLIENTS (4),
// BENCH_CLAMD_MIB (256), BENCH_TIME_LIMIT_S (1200), BENCH_SKIP_APACHE=1, BENCH_SKIP_RCLONE=1,
// BENCH_DAV_ROUNDS (1; 3 with BENCH_ONLY=webdav), BENCH_OUT (results file). BENCH_ONLY=webdav runs
// only the WebDAV comparison (Strongroom, Apache, rclone crypt) and writes <date>-webdav.json and .md.
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { startApache, type RunningApache } from './lib/apache.js';
import { auditRates, type AuditRun } from './lib/audit.js';
import { propfindTimes } from './lib/propfind.js';
import { cleanupAll, cleanupSync, onCleanup, trackDir, untrackDir } from './lib/cleanup.js';
import { compareDav, davComparisonRows, type DavComparison, type DavTarget } from './lib/dav-compare.js';
import { largeFile, MiB, randomBuffer, smallFiles } from './lib/data.js';
import type { PoolResult } from './lib/http.js';
import { clientCpu, costed, cpuOf, cpuOfTree, waitForIdle, waitForQuiet, type PhaseCost, type Sources } from './lib/cpu.js';
import { clamdInstream, ddWrite, fsyncRate, opensslSpeed } from './lib/reference.js';
import { startRcloneCrypt, type RunningRclone } from './lib/rclone.js';
import { aim, aimsRows, fmt, markdownTable, table, type Aim } from './lib/report.js';
import { RssSampler, mb, round, v8HeapOf, type V8Heap } from './lib/rss.js';
import { clamdSpoolFolder, ScanMemorySampler } from './lib/scan-memory.js';
import { REPO_ROOT, entryForRun, launcherAllocatorEnv, seed, sleep, startServer, type RunningServer, type Seeded } from './lib/strongroom.js';
import {
  davAnswers, davWaitReadable, findDavCollection, restLargeDownload,
  restLargeUpload, restSmallDownloads, restSmallUploads, waitAvailable, type Endpoint,
} from './lib/workloads.js';

const env = process.env;
const LARGE_BYTES = Number(env.BENCH_LARGE_MIB ?? 1024) * MiB;
const SMALL_COUNT = Number(env.BENCH_SMALL_COUNT ?? 2000);
const SMALL_BYTES = 4096;
const CLIENTS = Number(env.BENCH_CLIENTS ?? 4);
const CLAMD_BYTES = Number(env.BENCH_CLAMD_MIB ?? 256) * MiB;
const TIME_LIMIT_MS = Number(env.BENCH_TIME_LIMIT_S ?? 1200) * 1000;
/** BENCH_ONLY=webdav: only the WebDAV comparison (Strongroom, Apache, rclone crypt). */
const ONLY = env.BENCH_ONLY ?? '';
if (ONLY !== '' && ONLY !== 'webdav') {
  process.stderr.write(`bench: BENCH_ONLY=${ONLY} is not known (webdav is)\n`);
  process.exit(2);
}
/** Interleaved WebDAV rounds (Strongroom, Apache, rclone in turn); more rounds steady the ratios on a busy machine. */
const DAV_ROUNDS = Number(env.BENCH_DAV_ROUNDS ?? (ONLY === 'webdav' ? 3 : 1));
/** Wait this long at most for other work on the machine to calm down before measuring. */
const WAIT_QUIET_S = Number(env.BENCH_WAIT_QUIET_S ?? 60);

const startedAt = new Date();
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
const mbps = (bytes: number, seconds: number): number => bytes / seconds / 1e6;
const perSec = (p: PoolResult): number => p.done / p.seconds;
const r1 = (n: number | null | undefined, d = 1): number | null => (n == null || !Number.isFinite(n) ? null : round(n, d));

/** Server CPU efficiency: what one fully available core would sustain at this CPU cost. */
const perCpu = (amount: number, cost: PhaseCost, who = 'server'): number | null => {
  const cpu = cost.cpuSeconds[who];
  return cpu ? round(amount / cpu, 1) : null;
};

function checkPool(what: string, p: PoolResult, expected: number): void {
  if (p.errors.length > 0 || p.done !== expected) {
    throw new Error(`${what}: ${p.done}/${expected} succeeded; first errors: ${p.errors.slice(0, 3).join(' | ')}`);
  }
}

// Everything measured goes in here; it is written out even when the run fails part-way.
const results: Record<string, unknown> = {};
const notes: string[] = [];

const date = startedAt.toISOString().slice(0, 10);
/**
 * Where the results go: <date>.json (or <date>-webdav.json for BENCH_ONLY=webdav) and the same name in
 * .md; a later run the same day gets -2, -3 … rather than writing over one the docs may cite.
 */
const resultsFile = (partial = false): string => {
  if (env.BENCH_OUT && !partial) return env.BENCH_OUT;
  const stem = path.join(REPO_ROOT, 'bench', 'results', `${date}${ONLY ? `-${ONLY}` : ''}`);
  if (partial) return `${stem}.partial.json`;
  let file = `${stem}.json`;
  for (let n = 2; existsSync(file); n++) file = `${stem}-${n}.json`;
  return file;
};

/** Describes the run, waits (a while) for a quieter machine, and makes the temporary directory every data directory goes in. */
async function prepare(): Promise<{ entry: ReturnType<typeof entryForRun>; root: string }> {
  const entry = entryForRun();
  results.run = {
    date, startedAt: startedAt.toISOString(), only: ONLY || null, host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1), kernel: release(), node: process.version },
    server: { entry: entry.kind, entryReason: entry.reason, entryBuiltAt: entry.kind === 'dist' ? statSync(entry.args[0] as string).mtime.toISOString() : null, logLevel: env.STRONGROOM_LOG_LEVEL ?? 'info (default)', allocator: launcherAllocatorEnv() },
    parameters: { largeBytes: LARGE_BYTES, smallCount: SMALL_COUNT, smallBytes: SMALL_BYTES, clients: CLIENTS, davRounds: DAV_ROUNDS, ...(ONLY ? {} : { clamdInstreamBytes: CLAMD_BYTES }) },
    units: 'MB = 10^6 bytes; MB/s likewise (as dd and openssl report)',
  };
  if (entry.kind === 'tsx') notes.push(`The server and CLI ran from the TypeScript source through tsx (${entry.reason}); the code is the same, transpiled once at start-up.`);
  const quiet = await waitForQuiet(Math.max(1, cpus().length * 0.75), WAIT_QUIET_S, log);
  (results.run as Record<string, unknown>).loadBeforeStart = { ...quiet, cores: cpus().length };
  if (quiet.loadavg1 >= cpus().length * 0.75) {
    notes.push(`The machine was busy with other work throughout (1-minute load ${quiet.loadavg1} on ${cpus().length} cores when measuring began): wall-clock rates are lower than on an idle machine; each phase records its load average and the CPU seconds each process used.`);
  }
  log(`server entry: ${entry.kind}; large file ${LARGE_BYTES / MiB} MiB; ${SMALL_COUNT} × ${SMALL_BYTES} B with ${CLIENTS} clients`);

  // A short path: clamd's socket lives under the data directory and must fit in 107 bytes.
  const root = await mkdtemp(path.join(tmpdir(), 'srb-'));
  trackDir(root);
  onCleanup('temporary directory', async () => {
    await rm(root, { recursive: true, force: true });
    untrackDir(root);
  });
  return { entry, root };
}

async function main(): Promise<void> {
  const { entry, root } = await prepare();
  const d1 = path.join(root, 'd1');
  const d2 = path.join(root, 'd2');
  await mkdir(d1, { recursive: true });

  // ---------------------------------------------------------------------- reference figures
  log('dd: 1 GiB with fdatasync into the data directory');
  const dd = await ddWrite(d1);
  log(`dd: ${dd.mbPerSec.toFixed(0)} MB/s, ${dd.cpuSeconds.toFixed(2)} CPU-s (${dd.line})`);
  const fsync = await fsyncRate(d1);
  log(`4 KiB write + fdatasync: ${fsync.perSec.toFixed(0)}/s (${fsync.meanMs.toFixed(2)} ms each)`);
  const aes = await opensslSpeed('aes-256-gcm');
  log(`openssl aes-256-gcm: ${aes.mbPerSec.toFixed(0)} MB/s at 16 KiB`);
  const sha = await opensslSpeed('sha256');
  log(`openssl sha256: ${sha.mbPerSec.toFixed(0)} MB/s at 16 KiB`);
  const reference: Record<string, unknown> = {
    ddWriteMBps: r1(dd.mbPerSec), ddCpuSeconds: r1(dd.cpuSeconds, 2), ddLine: dd.line,
    fdatasync4KiBPerSec: r1(fsync.perSec), fdatasyncMeanMs: r1(fsync.meanMs, 3),
    fdatasyncNote: '4 KiB pwrite + fdatasync in a loop in the data directory: the durable-commit ceiling for small-file rates (each upload fsyncs blob, directory and the SQLite WAL)',
    opensslAes256GcmMBps: r1(aes.mbPerSec), opensslSha256MBps: r1(sha.mbPerSec),
    opensslNote: 'one core, 16384-byte blocks, openssl speed -evp ALG -seconds 1',
  };
  results.reference = reference;

  // ---------------------------------------------------------------------- server 1: scanning inline
  log('seeding vault 1 through the CLI');
  const seeded = await seed(d1);
  const api: Endpoint = { baseUrl: new URL('http://127.0.0.1'), authorization: `Bearer ${seeded.token}` };
  log('starting strongroom serve (1: default settings)');
  const s1 = await startServer({ dataDir: d1, logFile: path.join(root, 'server1.log') });
  api.baseUrl = s1.baseUrl;
  const rss = new RssSampler(s1.pid).start();
  // The V8 heap at the end of each phase, beside the resident set's peak in it (memory below).
  const heapAtEnd: Record<string, V8Heap | undefined> = {};
  let phaseNow = 'start';
  const nextPhase = async (name: string): Promise<void> => {
    heapAtEnd[phaseNow] = await v8HeapOf(s1.baseUrl);
    rss.phase(name);
    phaseNow = name;
  };
  const src1: Sources = { server: () => cpuOf(s1.pid), clamd: () => cpuOf(s1.clamdPid()), bench: clientCpu };
  log(`server 1 pid ${s1.pid} on ${s1.baseUrl.href}, clamd pid ${s1.clamdPid() ?? '?'}`);
  // Before each measured phase, the server is left to finish what the phase before queued (a new
  // version's offsite copy and text extraction): otherwise that work shares the two cores with the
  // phase measured next, and its cost lands in that phase's figures.
  const idleServer1 = async (phase: string): Promise<number> => {
    const w = await waitForIdle(() => cpuOf(s1.pid) + cpuOf(s1.clamdPid()), 180);
    if (w.waitedSeconds >= 2) log(`${phase}: waited ${w.waitedSeconds} s for the server to finish earlier work${w.settled ? '' : ' (still busy; measured anyway)'}`);
    return w.waitedSeconds;
  };

  await nextPhase('clamd-instream');
  // Twice, on bytes of two kinds (docs/performance.md, "clamd's rate depends on the bytes"): fresh
  // random data, as every run before 2 December 2026 measured, and bytes made the way the 1 GiB file
  // is (largeFile: a 64 MiB random base, each MiB stamped with its number), from a base of their
  // own so clamd's verdict cache never answers for the file. The second is the aim's basis: the
  // same clamd on the same kind of bytes.
  const clamdSocket = path.join(d1, 'clamd', 'clamd.sock');
  const streamBytes = Number(env.STRONGROOM_SCAN_WHOLE_MAX_BYTES ?? 128 * MiB);
  log(`clamd INSTREAM: ${CLAMD_BYTES / MiB} MiB of fresh random data`);
  const clamdRandomRun = await costed(src1, () => clamdInstream(clamdSocket, randomBuffer(CLAMD_BYTES), streamBytes));
  const clamdRandom = clamdRandomRun.value;
  reference.clamdInstreamMBps = r1(clamdRandom.mbPerSec);
  reference.clamdInstreamSeconds = r1(clamdRandom.seconds, 2);
  reference.clamdInstreamCost = clamdRandomRun.cost;
  reference.clamdInstreamMBPerClamdCpuSecond = perCpu(CLAMD_BYTES / 1e6, clamdRandomRun.cost, 'clamd');
  log(`clamd INSTREAM, fresh random: ${clamdRandom.mbPerSec.toFixed(0)} MB/s`);
  log(`clamd INSTREAM: ${CLAMD_BYTES / MiB} MiB made as the large file is`);
  const clamdRun = await costed(src1, () => clamdInstream(clamdSocket, Buffer.concat([...largeFile(CLAMD_BYTES, randomBuffer(64 * MiB))]), streamBytes));
  const clamd = clamdRun.value;
  reference.clamdInstreamLikeFileMBps = r1(clamd.mbPerSec);
  reference.clamdInstreamLikeFileSeconds = r1(clamd.seconds, 2);
  reference.clamdInstreamLikeFileCost = clamdRun.cost;
  reference.clamdInstreamLikeFileMBPerClamdCpuSecond = perCpu(CLAMD_BYTES / 1e6, clamdRun.cost, 'clamd');
  log(`clamd INSTREAM, made as the large file is: ${clamd.mbPerSec.toFixed(0)} MB/s`);

  const base = randomBuffer(64 * MiB);
  const rest: Record<string, unknown> = {};
  results.rest = rest;

  await nextPhase('large-upload');
  log(`REST: uploading ${LARGE_BYTES / MiB} MiB`);
  const largeRun = await costed(src1, () => restLargeUpload(api, seeded.collectionId, LARGE_BYTES, base, 'large-1.bin'));
  const large = largeRun.value;
  rest.largeUpload = {
    bytes: LARGE_BYTES, seconds: r1(large.seconds, 2), MBps: r1(mbps(LARGE_BYTES, large.seconds)), statusAtResponse: large.answer.status, scanAtResponse: large.answer.scan,
    cost: largeRun.cost, MBPerServerCpuSecond: perCpu(LARGE_BYTES / 1e6, largeRun.cost),
  };
  log(`REST large upload: ${mbps(LARGE_BYTES, large.seconds).toFixed(0)} MB/s (${large.seconds.toFixed(2)} s), status ${large.answer.status}`);

  await nextPhase('large-scan');
  const spool = clamdSpoolFolder(d1);
  const clamdAtScan = s1.clamdPid();
  const scanMemory = spool && clamdAtScan ? new ScanMemorySampler(spool, clamdAtScan).start() : undefined;
  const availRun = await costed(src1, () => waitAvailable(api, large.answer.id, 420_000));
  const avail = availRun.value;
  const scanHeld = scanMemory?.stop();
  rest.largeAvailable = {
    secondsAfterResponse: r1(avail.seconds, 2), MBps: r1(mbps(LARGE_BYTES, avail.seconds)), polls: avail.polls, cost: availRun.cost,
    MBPerClamdCpuSecond: perCpu(LARGE_BYTES / 1e6, availRun.cost, 'clamd'), MBPerServerCpuSecond: perCpu(LARGE_BYTES / 1e6, availRun.cost),
    scanMemory: scanHeld ? { spoolPeakMB: r1(mb(scanHeld.spoolPeakBytes)), clamdGrowthPeakMB: r1(mb(scanHeld.clamdGrowthPeakBytes)), heldPeakMB: r1(mb(scanHeld.heldPeakBytes)), samples: scanHeld.samples } : null,
    note: 'from the upload response to GET /documents/:id saying "available": job pick-up (500 ms poll), decrypting the blob, clamd INSTREAM, commit',
  };
  log(`REST large file available ${avail.seconds.toFixed(2)} s after the response (${mbps(LARGE_BYTES, avail.seconds).toFixed(0)} MB/s)`);
  if (scanHeld) log(`scan of the large file held at most ${mb(scanHeld.heldPeakBytes).toFixed(0)} MB of RAM (clamd's tmpfs spool ${mb(scanHeld.spoolPeakBytes).toFixed(0)} MB, clamd's growth ${mb(scanHeld.clamdGrowthPeakBytes).toFixed(0)} MB)`);

  await nextPhase('large-download');
  const waitedBeforeLargeDownload = await idleServer1('REST large download');
  // The blob was just written and then read by the scan job, so it is in the page cache (warm).
  const dl2Run = await costed(src1, () => restLargeDownload(api, large.answer.id, { size: LARGE_BYTES, sha256: large.answer.sha256 }));
  const dl2 = dl2Run.value;
  rest.largeDownload = {
    seconds: r1(dl2.seconds, 2), MBps: r1(mbps(LARGE_BYTES, dl2.seconds)), cost: dl2Run.cost, MBPerServerCpuSecond: perCpu(LARGE_BYTES / 1e6, dl2Run.cost), waitedForIdleSeconds: waitedBeforeLargeDownload,
    note: 'blob in the page cache (just written, then read by the scan job); curl keeps the body in /dev/shm and its SHA-256 is checked against the upload\'s once it has arrived',
  };
  log(`REST large download: ${mbps(LARGE_BYTES, dl2.seconds).toFixed(0)} MB/s warm, SHA-256 verified`);

  await nextPhase('small-upload');
  const files1 = smallFiles(SMALL_COUNT, SMALL_BYTES);
  const waitedBeforeSmallUploads = await idleServer1('REST small uploads');
  const up1Run = await costed(src1, () => restSmallUploads(api, seeded.collectionId, files1, CLIENTS, 'small'));
  const up1 = up1Run.value;
  checkPool('small uploads', up1, SMALL_COUNT);
  rest.smallUpload = {
    count: SMALL_COUNT, bytes: SMALL_BYTES, clients: CLIENTS, seconds: r1(up1.seconds, 2), filesPerSec: r1(perSec(up1)), statuses: up1.statuses,
    cost: up1Run.cost, filesPerServerCpuSecond: perCpu(SMALL_COUNT, up1Run.cost), waitedForIdleSeconds: waitedBeforeSmallUploads,
  };
  log(`REST small uploads: ${perSec(up1).toFixed(0)} files/s (${JSON.stringify(up1.statuses)})`);

  await nextPhase('small-download');
  const waitedBeforeSmallDownloads = await idleServer1('REST small downloads');
  const down1Run = await costed(src1, () => restSmallDownloads(api, up1.ids, files1, CLIENTS));
  const down1 = down1Run.value;
  checkPool('small downloads', down1, SMALL_COUNT);
  rest.smallDownload = { count: SMALL_COUNT, clients: CLIENTS, seconds: r1(down1.seconds, 2), filesPerSec: r1(perSec(down1)), cost: down1Run.cost, filesPerServerCpuSecond: perCpu(SMALL_COUNT, down1Run.cost), waitedForIdleSeconds: waitedBeforeSmallDownloads };
  log(`REST small downloads: ${perSec(down1).toFixed(0)} files/s`);

  // ---------------------------------------------------------------------- WebDAV: Strongroom, Apache, rclone crypt
  await nextPhase('webdav');
  // Not the REST phase's base: its 1 GiB file was cut from it, and clamd, which caches verdicts by
  // content, would answer the WebDAV copy's segments from its cache (until 2 December it did: the
  // WebDAV file became readable 2-5 × sooner, on a fifth of clamd's CPU).
  const dav = await webdavComparison(s1, seeded, randomBuffer(64 * MiB));
  const srDav = dav?.servers.strongroom;

  heapAtEnd[phaseNow] = await v8HeapOf(s1.baseUrl);
  rss.stop();
  const clamdPid = s1.clamdPid();
  const clamdHwm = clamdPid ? await readFile(`/proc/${clamdPid}/status`, 'utf8').then((s) => Number(/^VmHWM:\s+(\d+)/m.exec(s)?.[1] ?? 0) * 1024).catch(() => 0) : 0;
  results.memory = {
    serverPeakMB: r1(mb(rss.hwmBytes)), serverPeakSampledRssMB: r1(mb(rss.maxRssBytes)), samples: rss.samples, maxRssByPhaseMB: rss.byPhaseMB(),
    peakComposition: rss.atMax ? { phase: rss.atMax.phase, anonymousMB: r1(mb(rss.atMax.anonymousBytes)), fileBackedMB: r1(mb(rss.atMax.fileBackedBytes)) } : null,
    v8HeapAtPhaseEndMB: heapAtEnd,
    clamdPeakMB: clamdHwm ? r1(mb(clamdHwm)) : null,
    note: 'server = the node process of strongroom serve (VmHWM from /proc/<pid>/status, the kernel-kept peak); clamd is a separate process and not included',
  };
  log(`server 1 peak RSS (VmHWM) ${mb(rss.hwmBytes).toFixed(0)} MB; clamd ${mb(clamdHwm).toFixed(0)} MB`
    + (rss.atMax ? `; highest sample in ${rss.atMax.phase}: ${mb(rss.atMax.anonymousBytes).toFixed(0)} MB anonymous, ${mb(rss.atMax.fileBackedBytes).toFixed(0)} MB mapped from files` : ''));
  await s1.stop();

  // ---------------------------------------------------------------------- server 2: scanning deferred
  await mkdir(d2, { recursive: true });
  log('seeding vault 2 (STRONGROOM_INLINE_SCAN_MAX_BYTES=1: no inline scan)');
  const seeded2 = await seed(d2);
  const s2: RunningServer = await startServer({ dataDir: d2, logFile: path.join(root, 'server2.log'), env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '1' } });
  const api2: Endpoint = { baseUrl: s2.baseUrl, authorization: `Bearer ${seeded2.token}` };
  const files2 = smallFiles(SMALL_COUNT, SMALL_BYTES);
  const src2: Sources = { server: () => cpuOf(s2.pid), clamd: () => cpuOf(s2.clamdPid()), bench: clientCpu };
  const up2Run = await costed(src2, () => restSmallUploads(api2, seeded2.collectionId, files2, CLIENTS, 'small'));
  const up2 = up2Run.value;
  checkPool('small uploads without inline scan', up2, SMALL_COUNT);
  const drainStart = Date.now();
  const lastId = up2.ids[up2.ids.length - 1] as string;
  const drained = await waitAvailable(api2, lastId, 180_000).then((r) => r.seconds, () => null);
  const drainSeconds = drained === null ? null : (Date.now() - drainStart) / 1000;
  rest.smallUploadNoInlineScan = {
    count: SMALL_COUNT, seconds: r1(up2.seconds, 2), filesPerSec: r1(perSec(up2)), statuses: up2.statuses, scanJobsDrainedSecondsAfter: r1(drainSeconds, 2),
    cost: up2Run.cost, filesPerServerCpuSecond: perCpu(SMALL_COUNT, up2Run.cost),
    note: 'STRONGROOM_INLINE_SCAN_MAX_BYTES=1: every file is committed as pending_scan and scanned afterwards by the job worker, which runs concurrently with the uploads on the same 2 cores',
  };
  log(`REST small uploads, scan deferred: ${perSec(up2).toFixed(0)} files/s (${JSON.stringify(up2.statuses)}); last file available ${drainSeconds?.toFixed(1) ?? '?'} s after the run`);
  await s2.stop();

  // ---------------------------------------------------------------------- audit sequencing
  log('audit: integrating events in-process on a fresh SQLite vault');
  const audit: AuditRun[] = await auditRates(path.join(root, 'audit'), [2 * SMALL_COUNT, 2 * SMALL_COUNT]);
  results.audit = {
    runs: audit.map((a) => ({ ...a, insertSeconds: r1(a.insertSeconds, 3), integrateSeconds: r1(a.integrateSeconds, 3), eventsPerSec: r1(a.eventsPerSec) })),
    note: 'AuditSequencerService.integrate() (Merkle leaf hashes, tree nodes, tree size, signed checkpoint with offsite copy) on SQLite with synchronous=FULL, in the bench process; every upload and every download writes one event',
  };
  for (const a of audit) log(`audit: ${a.events} events integrated at ${a.eventsPerSec.toFixed(0)} events/s (tree had ${a.treeSizeBefore})`);

  // ---------------------------------------------------------------------- PROPFIND at scale
  log('webdav: PROPFIND Depth 1 over 10,000 documents (in-process vault, curl client)');
  const propfind = await propfindTimes(path.join(root, 'propfind'));
  results.propfind = { ...propfind, note: 'best of 5 after a warm-up, wall clock measured by curl' };
  log(`webdav: PROPFIND 10,000 named ${Math.min(...propfind.namedPropsMs)} ms, allprop ${Math.min(...propfind.allpropMs)} ms`);

  // ---------------------------------------------------------------------- aims
  const smallOn = perSec(up1);
  const smallOff = perSec(up2);
  const scanCost = 1 - smallOn / smallOff;
  const availRate = mbps(LARGE_BYTES, avail.seconds);
  const aims: Aim[] = [
    aim({ id: 'large-upload', description: '1 GiB REST upload ≥ 0.9 × dd', measured: r1(mbps(LARGE_BYTES, large.seconds)), unit: 'MB/s', target: r1(0.9 * dd.mbPerSec), comparator: '>=', basis: `dd conv=fdatasync ${dd.mbPerSec.toFixed(0)} MB/s` }),
    aim({ id: 'large-download', description: '1 GiB REST download (warm) ≥ 1 GB/s', measured: r1(mbps(LARGE_BYTES, dl2.seconds)), unit: 'MB/s', target: 1000, comparator: '>=', basis: 'absolute' }),
    aim({ id: 'small-upload', description: '4 KiB REST uploads ≥ 2,500 files/s', measured: r1(smallOn), unit: 'files/s', target: 2500, comparator: '>=', basis: `${CLIENTS} keep-alive clients` }),
    aim({ id: 'small-download', description: '4 KiB REST downloads ≥ 4,000 files/s', measured: r1(perSec(down1)), unit: 'files/s', target: 4000, comparator: '>=', basis: `${CLIENTS} keep-alive clients` }),
    aim({ id: 'rss', description: 'server peak RSS < 300 MB', measured: r1(mb(rss.hwmBytes)), unit: 'MB', target: 300, comparator: '<', basis: 'VmHWM of the server process over the whole REST and WebDAV run' }),
    aim({ id: 'scan-cost', description: 'inline scanning costs ≤ 30 % (small uploads)', measured: r1(scanCost * 100), unit: '%', target: 30, comparator: '<=', basis: `${smallOn.toFixed(0)} files/s scanning vs ${smallOff.toFixed(0)} files/s deferred` }),
    aim({
      id: 'large-available', description: '1 GiB available at ≥ 0.8 × clamd rate', measured: large.answer.status === 'available' ? null : r1(availRate), unit: 'MB/s', target: r1(0.8 * clamd.mbPerSec), comparator: '>=',
      basis: `clamd INSTREAM ${clamd.mbPerSec.toFixed(0)} MB/s on bytes made as the file is (${clamdRandom.mbPerSec.toFixed(0)} MB/s on fresh random bytes)`, ...(large.answer.status === 'available' ? { note: 'the file was small enough to be scanned inline' } : {}),
    }),
    ...restVersusApacheAims({ smallUploadFilesPerSec: smallOn, smallDownloadFilesPerSec: perSec(down1), largeDownloadMBps: mbps(LARGE_BYTES, dl2.seconds) }, dav),
    aim({ id: 'small-upload-cpu', description: 'server CPU per 4 KiB REST upload ≤ 1 ms', measured: msPerFile(up1Run.cost), unit: 'ms', target: 1, comparator: '<=', basis: `the server process's CPU over the upload phase / ${SMALL_COUNT} (work the uploads queue may finish after it)` }),
    aim({ id: 'small-download-cpu', description: 'server CPU per 4 KiB REST download ≤ 0.3 ms', measured: msPerFile(down1Run.cost), unit: 'ms', target: 0.3, comparator: '<=', basis: `the server process's CPU over the download phase / ${SMALL_COUNT}` }),
    aim({
      id: 'scan-memory', description: 'RAM held by the 1 GiB file\'s scan < 300 MB', measured: scanHeld ? r1(mb(scanHeld.heldPeakBytes)) : null, unit: 'MB', target: 300, comparator: '<',
      basis: 'clamd\'s tmpfs spool plus clamd\'s resident growth, sampled together every 50 ms while the file was scanned',
      ...(scanHeld ? {} : { note: 'clamd\'s spool folder or process was not found' }),
    }),
    ...davAims(dav, dd.mbPerSec),
    aim({ id: 'dav-propfind', description: 'WebDAV PROPFIND Depth 1, 10,000 documents < 1 s', measured: Math.min(...propfind.namedPropsMs, ...propfind.allpropMs), unit: 'ms', target: 1000, comparator: '<', basis: 'best of 5, named properties and allprop' }),
  ];
  results.aims = aims;
  results.ratios = {
    largeUploadVsDd: r1(mbps(LARGE_BYTES, large.seconds) / dd.mbPerSec, 3),
    largeAvailableVsClamd: r1(availRate / clamd.mbPerSec, 3),
    largeAvailableVsClamdOnRandom: r1(availRate / clamdRandom.mbPerSec, 3),
    smallUploadScanOnVsOff: r1(smallOn / smallOff, 3),
    largeDownloadVsAesGcm: r1(mbps(LARGE_BYTES, dl2.seconds) / aes.mbPerSec, 3),
    ...(srDav ? { davLargePutVsDd: r1(srDav.largePutMBps / dd.mbPerSec, 3) } : {}),
  };

  const c = (cost: PhaseCost): string =>
    `${Object.entries(cost.cpuSeconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')} (of ${cost.wallSeconds.toFixed(1)} s; load ${cost.loadavg1.start.toFixed(1)})`;
  const figures = [
    ['Figure', 'Result', 'CPU seconds used'],
    ['dd 1 GiB, fdatasync', `${fmt(dd.mbPerSec, 'MB/s')} (${dd.cpuSeconds.toFixed(2)} CPU-s)`, ''],
    ['4 KiB write + fdatasync', `${fmt(fsync.perSec, '/s')} (${fsync.meanMs.toFixed(2)} ms)`, ''],
    ['openssl AES-256-GCM (1 core, 16 KiB)', fmt(aes.mbPerSec, 'MB/s'), ''],
    ['openssl SHA-256 (1 core, 16 KiB)', fmt(sha.mbPerSec, 'MB/s'), ''],
    [`clamd INSTREAM (${CLAMD_BYTES / MiB} MiB fresh random)`, fmt(clamdRandom.mbPerSec, 'MB/s'), c(clamdRandomRun.cost)],
    [`clamd INSTREAM (${CLAMD_BYTES / MiB} MiB made as the large file is)`, fmt(clamd.mbPerSec, 'MB/s'), c(clamdRun.cost)],
    [`REST ${LARGE_BYTES / MiB} MiB upload`, fmt(mbps(LARGE_BYTES, large.seconds), 'MB/s'), c(largeRun.cost)],
    [`REST ${LARGE_BYTES / MiB} MiB upload → available`, `${avail.seconds.toFixed(2)} s (${fmt(availRate, 'MB/s')})`, c(availRun.cost)],
    [`REST ${LARGE_BYTES / MiB} MiB download (warm)`, fmt(mbps(LARGE_BYTES, dl2.seconds), 'MB/s'), c(dl2Run.cost)],
    [`REST ${SMALL_COUNT} × 4 KiB uploads, scanning`, fmt(smallOn, 'files/s'), c(up1Run.cost)],
    [`REST ${SMALL_COUNT} × 4 KiB uploads, scan deferred`, fmt(smallOff, 'files/s'), c(up2Run.cost)],
    [`REST ${SMALL_COUNT} × 4 KiB downloads`, fmt(perSec(down1), 'files/s'), c(down1Run.cost)],
    ['server peak RSS (VmHWM)', fmt(mb(rss.hwmBytes), 'MB'), ''],
    ['clamd peak RSS (VmHWM)', fmt(clamdHwm ? mb(clamdHwm) : null, 'MB'), ''],
    ...audit.map((a) => [`audit integrate ${a.events} events`, fmt(a.eventsPerSec, 'events/s'), '']),
  ];
  await finish(entry, aims, figures, dav);
}

/**
 * WebDAV on Strongroom (the running server), Apache mod_dav and rclone crypt, interleaved round by
 * round with the same client and workload (bench/lib/dav-compare.ts); Apache and rclone are
 * started here and stopped after. Null when there is nothing to compare.
 */
async function webdavComparison(s: RunningServer, seeded: Seeded, base: Buffer): Promise<DavComparison | null> {
  const targets: DavTarget[] = [];
  const dav: Endpoint = { baseUrl: s.baseUrl, authorization: `Basic ${Buffer.from(`${seeded.email}:${seeded.appPassword}`).toString('base64')}` };
  const davStatus = await davAnswers(dav).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  if (typeof davStatus === 'number' && davStatus !== 404 && davStatus < 500) {
    const folder = await findDavCollection(dav, [seeded.collectionName, seeded.collectionId]);
    if (folder) {
      log(`WebDAV: collection at ${folder}`);
      targets.push({
        name: 'strongroom', label: 'Strongroom', endpoint: dav, folder,
        sources: { server: () => cpuOf(s.pid), clamd: () => cpuOf(s.clamdPid()), bench: clientCpu }, serverKeys: ['server', 'clamd'],
        // A large file is readable once its background malware scan is done.
        waitReadable: (url) => davWaitReadable(dav, url, 900_000),
      });
    } else {
      notes.push(`WebDAV answered (OPTIONS /dav/ ${davStatus}) but no folder for the collection "${seeded.collectionName}" was found by PROPFIND; Strongroom WebDAV figures skipped.`);
    }
  } else {
    notes.push(`Strongroom WebDAV not measured: OPTIONS /dav/ answered ${davStatus} (the WebDAV interface was not yet mounted in this build).`);
    log(`WebDAV: OPTIONS /dav/ answered ${davStatus}; Strongroom WebDAV skipped`);
  }
  let apache: RunningApache | undefined;
  let rclone: RunningRclone | undefined;
  try {
    if (env.BENCH_SKIP_APACHE !== '1') {
      apache = await startApache();
      const a = apache;
      log(`Apache mod_dav: pid ${a.pid} on ${a.baseUrl.href}`);
      targets.push({ name: 'apache', label: 'Apache mod_dav', endpoint: { baseUrl: a.baseUrl, authorization: a.authorization }, folder: a.davPath, sources: { apache: () => cpuOfTree(a.pid), bench: clientCpu }, serverKeys: ['apache'] });
    }
    if (env.BENCH_SKIP_RCLONE !== '1') {
      rclone = await startRcloneCrypt();
      const r = rclone;
      log(`${r.version} serve webdav over crypt: pid ${r.pid} on ${r.baseUrl.href}`);
      targets.push({ name: 'rclone', label: 'rclone crypt', endpoint: { baseUrl: r.baseUrl, authorization: r.authorization }, folder: r.davPath, sources: { rclone: () => cpuOf(r.pid), bench: clientCpu }, serverKeys: ['rclone'] });
    }
    if (targets.length === 0) return null;
    const comparison = await compareDav(targets, { rounds: DAV_ROUNDS, smallCount: SMALL_COUNT, smallBytes: SMALL_BYTES, largeBytes: LARGE_BYTES, clients: CLIENTS, base, log });
    results.webdav = {
      ...comparison,
      versions: {
        ...(apache ? { apache: 'Apache/2.4 mod_dav_fs, mpm_event, Basic auth (htpasswd {SHA}), defaults otherwise (no fsync on PUT)' } : {}),
        ...(rclone ? { rclone: `${rclone.version} serve webdav over a crypt remote on the local disk (contents and names encrypted), Basic auth (htpasswd {SHA}), no VFS cache, defaults otherwise (no fsync)` } : {}),
      },
    };
    return comparison;
  } finally {
    await rclone?.stop();
    await apache?.stop();
  }
}

/** A phase's server CPU per small file, in ms. */
function msPerFile(cost: PhaseCost): number | null {
  const cpu = cost.cpuSeconds.server;
  return cpu === undefined ? null : r1((cpu / SMALL_COUNT) * 1000, 2);
}

/**
 * Issue #16's REST aims against Apache mod_dav: its small PUT and GET and its 1 GiB GET come from the
 * WebDAV comparison later in the same run (same machine, the same node:http client for small files
 * and curl for the large one).
 */
function restVersusApacheAims(rest: { smallUploadFilesPerSec: number; smallDownloadFilesPerSec: number; largeDownloadMBps: number }, c: DavComparison | null): Aim[] {
  const apache = c?.servers.apache;
  const ratio = (ours: number, theirs: number | undefined): number | null => (theirs ? r1(ours / theirs, 2) : null);
  const none = apache ? {} : { note: 'Apache not run' };
  return [
    aim({ id: 'small-upload-vs-apache', description: '4 KiB REST upload ≥ 0.5 × Apache PUT', measured: ratio(rest.smallUploadFilesPerSec, apache?.smallPutFilesPerSec), unit: '×', target: 0.5, comparator: '>=', basis: `Apache ${apache?.smallPutFilesPerSec.toFixed(0) ?? '—'} files/s`, ...none }),
    aim({ id: 'small-download-vs-apache', description: '4 KiB REST download ≥ 0.5 × Apache GET', measured: ratio(rest.smallDownloadFilesPerSec, apache?.smallGetFilesPerSec), unit: '×', target: 0.5, comparator: '>=', basis: `Apache ${apache?.smallGetFilesPerSec.toFixed(0) ?? '—'} files/s`, ...none }),
    aim({ id: 'large-download-vs-apache', description: '1 GiB REST download (warm) ≥ 0.8 × Apache GET', measured: ratio(rest.largeDownloadMBps, apache?.largeGetMBps), unit: '×', target: 0.8, comparator: '>=', basis: `Apache ${apache?.largeGetMBps.toFixed(0) ?? '—'} MB/s`, ...none }),
  ];
}

/** The WebDAV aims from the comparison (each ratio a median of per-round ratios); the PUT-vs-dd aim only when dd ran. */
function davAims(c: DavComparison | null, ddMBps: number | null): Aim[] {
  const sr = c?.servers.strongroom;
  const apache = c?.servers.apache;
  const rclone = c?.servers.rclone;
  const vsA = sr && apache ? c?.ratios.strongroomVsApache : undefined;
  const vsR = sr && rclone ? c?.ratios.strongroomVsRclone : undefined;
  const none = sr ? {} : { note: 'no Strongroom WebDAV' };
  const onApache = apache ? (what: string): string => `Apache ${what}` : (): string => 'Apache not run';
  const onRclone = rclone ? (what: string): string => `rclone crypt ${what}` : (): string => 'rclone not run';
  return [
    aim({ id: 'dav-large-get', description: 'WebDAV 1 GiB GET ≥ 0.8 × Apache', measured: vsA?.largeGet ?? null, unit: '×', target: 0.8, comparator: '>=', basis: onApache(`${apache?.largeGetMBps.toFixed(0)} MB/s`), ...none }),
    aim({ id: 'dav-small-put', description: 'WebDAV 4 KiB PUT ≥ 0.5 × Apache', measured: vsA?.smallPut ?? null, unit: '×', target: 0.5, comparator: '>=', basis: onApache(`${apache?.smallPutFilesPerSec.toFixed(0)} files/s`), ...none }),
    aim({ id: 'dav-small-get', description: 'WebDAV 4 KiB GET ≥ 0.5 × Apache', measured: vsA?.smallGet ?? null, unit: '×', target: 0.5, comparator: '>=', basis: onApache(`${apache?.smallGetFilesPerSec.toFixed(0)} files/s`), ...none }),
    ...(ddMBps === null ? [] : [aim({ id: 'dav-large-put', description: 'WebDAV 1 GiB PUT ≥ 0.9 × dd', measured: sr?.largePutMBps ?? null, unit: 'MB/s', target: r1(0.9 * ddMBps), comparator: '>=', basis: `dd ${ddMBps.toFixed(0)} MB/s`, ...none })]),
    aim({ id: 'dav-small-put-vs-rclone', description: 'WebDAV 4 KiB PUT ≥ 1.5 × rclone crypt', measured: vsR?.smallPut ?? null, unit: '×', target: 1.5, comparator: '>=', basis: onRclone(`${rclone?.smallPutFilesPerSec.toFixed(0)} files/s`), ...none }),
    aim({ id: 'dav-small-get-vs-rclone', description: 'WebDAV 4 KiB GET ≥ 1.5 × rclone crypt', measured: vsR?.smallGet ?? null, unit: '×', target: 1.5, comparator: '>=', basis: onRclone(`${rclone?.smallGetFilesPerSec.toFixed(0)} files/s`), ...none }),
  ];
}

/** BENCH_ONLY=webdav: a vault and its server, then only the WebDAV comparison. */
async function mainWebdavOnly(): Promise<void> {
  const { entry, root } = await prepare();
  const d1 = path.join(root, 'd1');
  await mkdir(d1, { recursive: true });
  log('seeding the vault through the CLI');
  const seeded = await seed(d1);
  const s1 = await startServer({ dataDir: d1, logFile: path.join(root, 'server1.log') });
  log(`server pid ${s1.pid} on ${s1.baseUrl.href}, clamd pid ${s1.clamdPid() ?? '?'}`);
  const dav = await webdavComparison(s1, seeded, randomBuffer(64 * MiB));
  await s1.stop();
  const aims = davAims(dav, null);
  results.aims = aims;
  await finish(entry, aims, null, dav);
}

/** Writes the results (JSON, and the same tables as markdown) and prints the tables. */
async function finish(entry: ReturnType<typeof entryForRun>, aims: Aim[], figures: string[][] | null, dav: DavComparison | null): Promise<void> {
  results.run = { ...(results.run as object), finishedAt: new Date().toISOString(), durationSeconds: r1((Date.now() - t0) / 1000), loadavgAtEnd: loadavg().map((n) => round(n, 2)) };
  results.notes = notes;
  const out = resultsFile();
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);

  const aimRows = aimsRows(aims);
  const davRows = dav ? davComparisonRows(dav) : null;
  const davTitle = dav
    ? `WebDAV, same client and workload on each server (${dav.rounds} interleaved round${dav.rounds === 1 ? '' : 's'}, ${CLIENTS} keep-alive clients; rates are medians over rounds, CPU per file or GiB over all rounds)`
    : 'WebDAV: not measured';
  const allocator = Object.keys(launcherAllocatorEnv()).length > 0 ? "bin/strongroom's allocator settings" : "glibc's allocator defaults";
  const title = `Strongroom benchmark ${date}${ONLY ? ` (only ${ONLY})` : ''} (${cpus().length} cores, server from ${entry.kind}, ${allocator})`;
  const load = `load average ${(results.run as { loadBeforeStart?: { loadavg1: number } }).loadBeforeStart?.loadavg1 ?? '?'} before, ${loadavg()[0]?.toFixed(2)} at the end`;
  const md = [
    `# ${title}`, '', `${load}; results in \`${path.basename(out)}\`.`, '',
    ...(figures ? [markdownTable(figures), ''] : []),
    `## ${davTitle}`, '', ...(davRows ? [markdownTable(davRows), ''] : []),
    '## Aims', '', markdownTable(aimRows), '',
    ...notes.map((n) => `Note: ${n}`),
  ].join('\n');
  const mdOut = out.replace(/\.json$/, '') + '.md';
  await writeFile(mdOut, `${md.trimEnd()}\n`);
  const text = [
    '', `${title}; ${load}`, '',
    ...(figures ? [table(figures), ''] : []),
    davTitle, '', ...(davRows ? [table(davRows), ''] : []),
    table(aimRows), '',
    ...notes.map((n) => `Note: ${n}`),
    `Results written to ${path.relative(process.cwd(), out) || out} and ${path.relative(process.cwd(), mdOut) || mdOut}`, '',
  ].join('\n');
  process.stdout.write(text);
}

async function failed(reason: string): Promise<never> {
  log(`FAILED: ${reason}`);
  results.error = reason;
  results.notes = notes;
  const out = resultsFile(true);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`).catch(() => undefined);
  log(`partial results in ${out}; cleaning up`);
  await cleanupAll(log);
  process.exit(1);
}

process.on('exit', cleanupSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void failed(`interrupted (${signal})`));
const watchdog = setTimeout(() => void failed(`time limit of ${TIME_LIMIT_MS / 1000} s reached`), TIME_LIMIT_MS);
watchdog.unref();

(ONLY === 'webdav' ? mainWebdavOnly() : main()).then(
  async () => {
    clearTimeout(watchdog);
    await cleanupAll(log);
    await sleep(0);
    log('done');
    process.exit(0);
  },
  (error: unknown) => failed(error instanceof Error ? error.stack ?? error.message : String(error)),
);
