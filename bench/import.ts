// The bulk migration tool's rate (make bench-import, part of make bench; issue #16): `strongroom
// import` of BENCH_IMPORT_COUNT (10,000) small files from a folder tree, through a running server
// (--server, --jobs = BENCH_CLIENTS) and straight into the data directory (--as, the server stopped),
// beside the REST small-upload rate of the same server measured in the same run with the same number
// of clients (the aim: import ≥ 0.8× REST). Every file is scanned, encrypted, audited and durable
// on every path. Writes bench/results/<date>-import.json (BENCH_OUT).
//
// Environment: BENCH_IMPORT_COUNT (10000), BENCH_IMPORT_REST_COUNT (2000 REST uploads), BENCH_IMPORT_BYTES (4096),
// BENCH_CLIENTS (4), BENCH_IMPORT_DIRECT=0 to leave out the data-directory run.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { runBench, temporaryFolder, trackPid, untrackPid } from './lib/cleanup.js';
import { smallFiles } from './lib/data.js';
import { fmt, table } from './lib/report.js';
import { round } from './lib/rss.js';
import { REPO_ROOT, entryForRun, launcherAllocatorEnv, runCli, seed, startServer } from './lib/strongroom.js';
import { restSmallUploads, type Endpoint } from './lib/workloads.js';

const env = process.env;
const COUNT = Number(env.BENCH_IMPORT_COUNT ?? 10_000);
const REST_COUNT = Number(env.BENCH_IMPORT_REST_COUNT ?? 2000);
const BYTES = Number(env.BENCH_IMPORT_BYTES ?? 4096);
const CLIENTS = Number(env.BENCH_CLIENTS ?? 4);
const FOLDERS = 20;
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[bench-import ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

/** Runs `strongroom import …` and returns its wall time and its own summary line. */
async function timedImport(dataDir: string, args: string[]): Promise<{ seconds: number; summary: string }> {
  const entry = entryForRun();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...entry.args, '--data', dataDir, 'import', ...args], {
    cwd: REPO_ROOT, env: { ...process.env, ...launcherAllocatorEnv(), STRONGROOM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  trackPid(child.pid);
  let stderr = '';
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    // The tail is kept for the summary and any error; progress lines are passed on as they complete.
    stderr = (stderr + text).slice(-20_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('import: ')) log(line);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  untrackPid(child.pid);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = /^(Imported .*)$/m.exec(stderr)?.[1] ?? '';
  if (code !== 0) throw new Error(`strongroom import exited ${code}: ${stderr.slice(-2000)}`);
  return { seconds, summary };
}

async function main(): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const root = await temporaryFolder('sri-');
  const results: Record<string, unknown> = {
    date, host: { cpus: cpus().length, model: cpus()[0]?.model ?? '?' }, cli: entryForRun().kind,
    settings: { files: COUNT, restFiles: REST_COUNT, bytes: BYTES, clients: CLIENTS, folders: FOLDERS },
  };
  const loadBefore = loadavg();

  log(`writing ${COUNT} files of ${BYTES} bytes in ${FOLDERS} folders`);
  const share = path.join(root, 'share');
  const files = smallFiles(COUNT, BYTES);
  for (let f = 0; f < FOLDERS; f += 1) await mkdir(path.join(share, `folder-${f}`), { recursive: true });
  for (let i = 0; i < COUNT; i += 1) await writeFile(path.join(share, `folder-${i % FOLDERS}`, `file-${String(i).padStart(5, '0')}.bin`), files[i]!);

  log('seeding a vault through the CLI');
  const dataDir = path.join(root, 'data');
  const seeded = await seed(dataDir);
  const o = { dataDir };
  const viaServer = (await runCli(['collection', 'add', '--org', seeded.orgSlug, '--name', 'Import via server', '--service', 'payroll'], o)).split('\n').pop()!;
  const direct = (await runCli(['collection', 'add', '--org', seeded.orgSlug, '--name', 'Import direct', '--service', 'payroll'], o)).split('\n').pop()!;

  const server = await startServer({ dataDir, logFile: path.join(root, 'server.log') });
  try {
    const api: Endpoint = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    log(`REST: ${REST_COUNT} small uploads, ${CLIENTS} clients`);
    const rest = await restSmallUploads(api, seeded.collectionId, smallFiles(REST_COUNT, BYTES), CLIENTS, 'rest');
    if (rest.errors.length > 0) throw new Error(`REST uploads failed: ${rest.errors.slice(0, 3).join(' | ')}`);
    const restRate = rest.done / rest.seconds;
    log(`REST: ${restRate.toFixed(1)} files/s`);

    log(`strongroom import --server, ${COUNT} files, --jobs ${CLIENTS}`);
    const served = await timedImport(dataDir, [share, '--collection', viaServer, '--server', server.baseUrl.href, '--token', seeded.token, '--jobs', String(CLIENTS)]);
    const servedRate = COUNT / served.seconds;
    log(`import --server: ${servedRate.toFixed(1)} files/s (${served.summary})`);
    results.rest = { files: rest.done, seconds: round(rest.seconds, 2), filesPerSecond: round(restRate, 1) };
    results.importServer = { files: COUNT, seconds: round(served.seconds, 2), filesPerSecond: round(servedRate, 1), vsRest: round(servedRate / restRate, 2), summary: served.summary };
  } finally {
    await server.stop();
  }

  if (env.BENCH_IMPORT_DIRECT !== '0') {
    log(`strongroom import --as (server stopped), ${COUNT} files, --jobs ${CLIENTS}`);
    const straight = await timedImport(dataDir, [share, '--collection', direct, '--as', seeded.email, '--jobs', String(CLIENTS)]);
    const rate = COUNT / straight.seconds;
    log(`import --as: ${rate.toFixed(1)} files/s (${straight.summary})`);
    results.importDirect = { files: COUNT, seconds: round(straight.seconds, 2), filesPerSecond: round(rate, 1), summary: straight.summary };
  }
  results.loadavg = { before: loadBefore.map((l) => round(l, 2)), after: loadavg().map((l) => round(l, 2)) };
  results.note = 'Import wall time includes the CLI start (node, opening the vault or reaching the server) and its walk of the tree; '
    + 'the REST figure is the same server\'s upload rate with the same number of clients, files sent from memory.';

  const restRate = (results.rest as { filesPerSecond: number }).filesPerSecond;
  const importServer = results.importServer as { filesPerSecond: number; vsRest: number };
  const importDirect = results.importDirect as { filesPerSecond: number } | undefined;
  process.stdout.write(`\n${table([
    ['figure', 'files/s', 'vs REST', 'aim'],
    [`REST small upload (${CLIENTS} clients)`, fmt(restRate, ''), '1.00', ''],
    [`strongroom import --server (--jobs ${CLIENTS})`, fmt(importServer.filesPerSecond, ''), fmt(importServer.vsRest, '×'), '≥ 0.8×'],
    ...(importDirect ? [[`strongroom import --as (--jobs ${CLIENTS})`, fmt(importDirect.filesPerSecond, ''), fmt(round(importDirect.filesPerSecond / restRate, 2), '×'), '≥ 0.8×']] : []),
  ])}\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const out = env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${date}-import.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${out}`);
}

runBench(main, log);
