// Many nodes and the S3 store (make bench, issue #14): `strongroom serve` as child processes over
// PostgreSQL, measured through the REST API.
//   1. S3 store: one `all` process with STRONGROOM_BLOBS on s3rver (loopback, in its own process):
//      a large upload and download (default 1 GiB), then small-file upload and download rates.
//   2. One vs two web nodes (plus one worker) on PostgreSQL, blobs in one shared folder, so the
//      figure is the web nodes' and not s3rver's: small-file uploads and downloads, same clients.
// Writes bench/results/<date>-nodes.json (BENCH_OUT) and prints a table.
//
// Environment: BENCH_NODES_LARGE_MIB (1024), BENCH_NODES_SMALL_COUNT (2000), BENCH_NODES_CLIENTS (8),
// STRONGROOM_TEST_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres; without a server
// answering, the S3 figures run on SQLite and the node figures are skipped, saying so).
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/storage/s3.blob-store.js';
import { adminUrl, createTestDatabase, withAdminClient, type TestDatabase } from '../test/support/postgres.js';
import { onCleanup, runBench, trackDir, untrackDir } from './lib/cleanup.js';
import { costed, cpuOf, clientCpu, type PhaseCost, type Sources } from './lib/cpu.js';
import { MiB, randomBuffer, smallFiles } from './lib/data.js';
import type { PoolResult } from './lib/http.js';
import { fmt, table } from './lib/report.js';
import { round } from './lib/rss.js';
import { S3RVER_CREDENTIALS, startS3rverChild } from './lib/s3rver.js';
import { REPO_ROOT, entryForRun, seed, startServer, type RunningServer } from './lib/strongroom.js';
import { restLargeDownload, restLargeUpload, restSmallDownloads, restSmallUploads, waitAvailable, type Endpoint } from './lib/workloads.js';

const env = process.env;
const LARGE_BYTES = Number(env.BENCH_NODES_LARGE_MIB ?? 1024) * MiB;
const SMALL_COUNT = Number(env.BENCH_NODES_SMALL_COUNT ?? 2000);
const SMALL_BYTES = 4096;
const CLIENTS = Number(env.BENCH_NODES_CLIENTS ?? 8);
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[bench-nodes ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
const mbps = (bytes: number, seconds: number): number => bytes / seconds / 1e6;
const perSec = (p: PoolResult): number => p.done / p.seconds;
const r1 = (n: number | null | undefined, d = 1): number | null => (n == null || !Number.isFinite(n) ? null : round(n, d));
// Many clients on one account: lift the per-account and per-client upload limits (docs/operations.md).
const LIMITS = { STRONGROOM_UPLOADS_PER_ACCOUNT: '64', STRONGROOM_UPLOADS_PER_CLIENT: '64', STRONGROOM_UPLOADS_PER_ORGANISATION: '64', STRONGROOM_LOG_LEVEL: 'warn' };

function check(what: string, p: PoolResult, expected: number): void {
  if (p.errors.length > 0 || p.done !== expected) throw new Error(`${what}: ${p.done}/${expected} succeeded; first errors: ${p.errors.slice(0, 3).join(' | ')}`);
}

async function postgresAnswers(): Promise<boolean> {
  return withAdminClient(adminUrl(), async (client) => client.query('select 1')).then(() => true, () => false);
}

async function database(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  onCleanup(`database ${prefix}`, () => db.drop());
  return db;
}

/** One node: its own data directory with a copy of the keys of the seeded one, and its own clamd. */
async function startNode(root: string, seededDir: string, name: string, nodeEnv: NodeJS.ProcessEnv): Promise<RunningServer> {
  const dataDir = path.join(root, name);
  await mkdir(dataDir, { recursive: true });
  await cp(path.join(seededDir, 'keys'), path.join(dataDir, 'keys'), { recursive: true });
  return startServer({ dataDir, logFile: path.join(root, `${name}.log`), env: nodeEnv });
}

const results: Record<string, unknown> = {};
const notes: string[] = [];
const rows: string[][] = [['Figure', 'Result', 'CPU seconds used']];
const c = (cost: PhaseCost): string => `${Object.entries(cost.cpuSeconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')} (of ${cost.wallSeconds.toFixed(1)} s)`;

async function s3Figures(root: string, pg: boolean): Promise<void> {
  const s3dir = path.join(root, 's3rver');
  await mkdir(s3dir, { recursive: true });
  const s3 = await startS3rverChild(s3dir);
  onCleanup('s3rver', () => s3.stop());
  const endpoint = `http://127.0.0.1:${s3.port}`;
  const client = createS3Client({ bucket: 'bench', prefix: '', endpoint, region: 'us-east-1', forcePathStyle: true }, { credentials: S3RVER_CREDENTIALS });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  client.destroy();
  const db = pg ? await database('srbench_s3') : null;
  const nodeEnv = {
    ...LIMITS, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    STRONGROOM_BLOBS: `s3://bench/blobs/?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true`,
    ...(db ? { STRONGROOM_DATABASE_URL: db.url } : {}),
  };
  const dataDir = path.join(root, 's3-vault');
  await mkdir(dataDir, { recursive: true });
  log(`S3 store: seeding a vault on ${db ? 'PostgreSQL' : 'SQLite'} with blobs on s3rver`);
  const seeded = await seed(dataDir, nodeEnv);
  const server = await startServer({ dataDir, logFile: path.join(root, 's3-server.log'), env: nodeEnv });
  const api: Endpoint = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
  const src: Sources = { server: () => cpuOf(server.pid), s3rver: () => cpuOf(s3.pid), clamd: () => cpuOf(server.clamdPid()), bench: clientCpu };

  log(`S3 store: uploading ${LARGE_BYTES / MiB} MiB`);
  const up = await costed(src, () => restLargeUpload(api, seeded.collectionId, LARGE_BYTES, randomBuffer(64 * MiB), 'large-s3.bin'));
  const avail = await waitAvailable(api, up.value.answer.id, 900_000);
  const down = await costed(src, () => restLargeDownload(api, up.value.answer.id, { size: LARGE_BYTES, sha256: up.value.answer.sha256 }));
  const files = smallFiles(SMALL_COUNT, SMALL_BYTES);
  log(`S3 store: ${SMALL_COUNT} small uploads and downloads with ${CLIENTS} clients`);
  const smallUp = await costed(src, () => restSmallUploads(api, seeded.collectionId, files, CLIENTS, 'small-s3'));
  check('S3 small uploads', smallUp.value, SMALL_COUNT);
  const smallDown = await costed(src, () => restSmallDownloads(api, smallUp.value.ids, files, CLIENTS));
  check('S3 small downloads', smallDown.value, SMALL_COUNT);
  await server.stop();
  s3.stop();

  results.s3 = {
    database: db ? 'postgres' : 'sqlite',
    largeUpload: { bytes: LARGE_BYTES, seconds: r1(up.value.seconds, 2), MBps: r1(mbps(LARGE_BYTES, up.value.seconds)), cost: up.cost },
    largeAvailableSecondsAfterResponse: r1(avail.seconds, 2),
    largeDownload: { seconds: r1(down.value.seconds, 2), MBps: r1(mbps(LARGE_BYTES, down.value.seconds)), cost: down.cost },
    smallUpload: { count: SMALL_COUNT, bytes: SMALL_BYTES, clients: CLIENTS, filesPerSec: r1(perSec(smallUp.value)), statuses: smallUp.value.statuses, cost: smallUp.cost },
    smallDownload: { count: SMALL_COUNT, clients: CLIENTS, filesPerSec: r1(perSec(smallDown.value)), cost: smallDown.cost },
    note: 's3rver (loopback, one Node process) stores every part as a file, copies the parts into the object on completion and MD5-hashes what it serves; it runs on the same 2 cores as the server, so these figures are a floor for a real S3, not an estimate of it',
  };
  rows.push(
    [`S3 store: REST ${LARGE_BYTES / MiB} MiB upload`, fmt(mbps(LARGE_BYTES, up.value.seconds), 'MB/s'), c(up.cost)],
    [`S3 store: REST ${LARGE_BYTES / MiB} MiB download`, fmt(mbps(LARGE_BYTES, down.value.seconds), 'MB/s'), c(down.cost)],
    [`S3 store: ${SMALL_COUNT} × 4 KiB uploads`, fmt(perSec(smallUp.value), 'files/s'), c(smallUp.cost)],
    [`S3 store: ${SMALL_COUNT} × 4 KiB downloads`, fmt(perSec(smallDown.value), 'files/s'), c(smallDown.cost)],
  );
}

/** Small uploads then downloads, the clients spread over the given web nodes round-robin. */
async function smallOver(webs: RunningServer[], token: string, collectionId: string, label: string, sources: Sources) {
  const files = smallFiles(SMALL_COUNT, SMALL_BYTES);
  const share = (i: number) => files.filter((_, j) => j % webs.length === i);
  const clientsEach = Math.max(1, Math.floor(CLIENTS / webs.length));
  const endpoints = webs.map((w): Endpoint => ({ baseUrl: w.baseUrl, authorization: `Bearer ${token}` }));
  const upload = await costed(sources, () => timedAll(endpoints.map((api, i) => restSmallUploads(api, collectionId, share(i), clientsEach, `${label}-${i}`))));
  upload.value.parts.forEach((p, i) => check(`${label} uploads via node ${i}`, p, share(i).length));
  // Each node reads what the other stored (or itself, with one node).
  const download = await costed(sources, () => timedAll(endpoints.map((api, i) => {
    const from = (i + 1) % webs.length;
    return restSmallDownloads(api, upload.value.parts[from]!.ids, share(from), clientsEach);
  })));
  download.value.parts.forEach((p, i) => check(`${label} downloads via node ${i}`, p, share((i + 1) % webs.length).length));
  return { uploadPerSec: SMALL_COUNT / upload.value.seconds, downloadPerSec: SMALL_COUNT / download.value.seconds, uploadCost: upload.cost, downloadCost: download.cost };
}

async function timedAll<T>(work: Promise<T>[]): Promise<{ seconds: number; parts: T[] }> {
  const started = process.hrtime.bigint();
  const parts = await Promise.all(work);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, parts };
}

async function nodeFigures(root: string): Promise<void> {
  const db = await database('srbench_nodes');
  const blobs = path.join(root, 'shared-blobs');
  await mkdir(blobs, { recursive: true });
  const nodeEnv = { ...LIMITS, STRONGROOM_DATABASE_URL: db.url, STRONGROOM_BLOBS: blobs };
  const seededDir = path.join(root, 'nodes-seed');
  await mkdir(seededDir, { recursive: true });
  log('nodes: seeding the shared PostgreSQL database');
  const seeded = await seed(seededDir, nodeEnv);
  const worker = await startNode(root, seededDir, 'worker', { ...nodeEnv, STRONGROOM_ROLE: 'worker' });
  const a = await startNode(root, seededDir, 'web-a', { ...nodeEnv, STRONGROOM_ROLE: 'web' });
  const cpuAll = (servers: RunningServer[]): Sources => Object.fromEntries([
    ...servers.map((s, i) => [`node${i}`, () => cpuOf(s.pid)] as const), ['worker', () => cpuOf(worker.pid)] as const, ['bench', clientCpu] as const,
  ]);
  log(`nodes: one web node, ${CLIENTS} clients`);
  const one = await smallOver([a], seeded.token, seeded.collectionId, 'one', cpuAll([a]));
  const b = await startNode(root, seededDir, 'web-b', { ...nodeEnv, STRONGROOM_ROLE: 'web' });
  log(`nodes: two web nodes, ${CLIENTS} clients split between them`);
  const two = await smallOver([a, b], seeded.token, seeded.collectionId, 'two', cpuAll([a, b]));
  await Promise.all([a.stop(), b.stop(), worker.stop()]);

  results.nodes = {
    count: SMALL_COUNT, bytes: SMALL_BYTES, clients: CLIENTS,
    oneWebNode: { uploadFilesPerSec: r1(one.uploadPerSec), downloadFilesPerSec: r1(one.downloadPerSec), costs: { upload: one.uploadCost, download: one.downloadCost } },
    twoWebNodes: { uploadFilesPerSec: r1(two.uploadPerSec), downloadFilesPerSec: r1(two.downloadPerSec), costs: { upload: two.uploadCost, download: two.downloadCost } },
    ratios: { upload: r1(two.uploadPerSec / one.uploadPerSec, 3), download: r1(two.downloadPerSec / one.downloadPerSec, 3) },
    note: `every process (web nodes, worker with its clamd each, PostgreSQL, the benchmark's clients) shares the machine's ${cpus().length} cores: a second web node adds no CPU here, so the ratio shows the cost or gain of spreading the same load over two processes, not what a second machine would add; blobs are in one shared folder so that s3rver is not the bottleneck`,
  };
  rows.push(
    [`1 web node: ${SMALL_COUNT} × 4 KiB uploads / downloads`, `${fmt(one.uploadPerSec, 'files/s')} / ${fmt(one.downloadPerSec, 'files/s')}`, c(one.uploadCost)],
    [`2 web nodes: ${SMALL_COUNT} × 4 KiB uploads / downloads`, `${fmt(two.uploadPerSec, 'files/s')} / ${fmt(two.downloadPerSec, 'files/s')}`, c(two.uploadCost)],
  );
}

async function main(): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const entry = entryForRun();
  results.run = { date, startedAt: new Date(t0).toISOString(), cpus: cpus().length, server: entry.kind, parameters: { largeBytes: LARGE_BYTES, smallCount: SMALL_COUNT, smallBytes: SMALL_BYTES, clients: CLIENTS }, units: 'MB = 10^6 bytes' };
  const root = await mkdtemp(path.join(tmpdir(), 'srn-'));
  trackDir(root);
  onCleanup('temporary directory', async () => {
    await rm(root, { recursive: true, force: true });
    untrackDir(root);
  });
  const pg = await postgresAnswers();
  if (!pg) notes.push(`No PostgreSQL answered at ${adminUrl().replace(/\/\/[^@]*@/, '//')}: the S3 figures ran on SQLite and the one-vs-two web node figures were skipped.`);
  await s3Figures(root, pg);
  if (pg) await nodeFigures(root);
  results.run = { ...(results.run as object), durationSeconds: r1((Date.now() - t0) / 1000), loadavgAtEnd: loadavg().map((n) => round(n, 2)) };
  results.notes = notes;
  const out = env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${date}-nodes.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nStrongroom many-nodes and S3 benchmark ${date} (${cpus().length} cores, server from ${entry.kind})\n\n${table(rows)}\n\n${notes.map((n) => `Note: ${n}`).join('\n')}\nResults written to ${path.relative(process.cwd(), out) || out}\n`);
}

runBench(main, log);
