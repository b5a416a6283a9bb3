// A council's whole file share poured in with one command (issue #16, "Done means"): BENCH_SHARE_FILES
// (100,000) small text files in a tree of departments and teams, imported through a running server
// (`strongroom import --server --jobs 4 --report`), the import killed (SIGKILL) halfway and run again
// to resume, then the server left to finish what the uploads queued (text extraction and indexing,
// replication) until its job queue is empty, then searched until the last file is found. Records each step's
// wall time, the server's and the import's peak resident memory, how the resumed run's report accounts
// for every file exactly once, and the data directory's size. Writes bench/results/<date>-import-share.json
// (BENCH_OUT). Not part of `make bench` (a quiet machine takes about half an hour at 100,000 files).
//
// Environment: BENCH_SHARE_FILES (100000), BENCH_SHARE_BYTES (about 4 KiB of text each), BENCH_CLIENTS (4),
// BENCH_SHARE_KILL_AT (0.5: the fraction of files reported when the first run is killed; 0 runs it once),
// BENCH_MEMORY_MAP_SECONDS (30: how often the server's memory map is sampled, split into the main thread's
// malloc heap, the other arenas, other anonymous memory and files, beside V8's heap: bench/lib/memory-map.ts).
// Usage: node --no-warnings --import tsx bench/import-share.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { runBench, temporaryFolder, trackPid, untrackPid } from './lib/cleanup.js';
import { memoryMapOf } from './lib/memory-map.js';
import { RssSampler, mb, round, v8HeapOf, type V8Heap } from './lib/rss.js';
import { REPO_ROOT, entryForRun, launcherAllocatorEnv, seed, startServer } from './lib/strongroom.js';

const env = process.env;
const FILES = Number(env.BENCH_SHARE_FILES ?? 100_000);
const BYTES = Number(env.BENCH_SHARE_BYTES ?? 4000);
const CLIENTS = Number(env.BENCH_CLIENTS ?? 4);
const KILL_AT = Number(env.BENCH_SHARE_KILL_AT ?? 0.5);
const MEMORY_MAP_SECONDS = Number(env.BENCH_MEMORY_MAP_SECONDS ?? 30);
const DEPARTMENTS = ['finance', 'payroll', 'hr', 'legal', 'procurement', 'revenues', 'benefits', 'housing', 'planning', 'waste'];
const TEAMS_PER_DEPARTMENT = 10;
const WORDS = ('invoice payment supplier contract council tenancy arrears benefit claim assessment salary overtime pension grievance '
  + 'appraisal planning application decision waste collection route licence agreement schedule budget forecast variance audit review '
  + 'minutes meeting officer report procurement tender evaluation award notice appeal hearing complaint resolution').split(' ');
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[bench-import-share ${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} s] ${line}\n`);

/** File `i`'s text: words of a council's papers, with a reference no other file has, so search can find each one. */
function fileText(i: number): string {
  let text = `Reference SHARE${i} `;
  let state = (i * 2_654_435_761) >>> 0;
  while (text.length < BYTES) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    text += WORDS[state % WORDS.length]! + (state % 13 === 0 ? '.\n' : ' ');
  }
  return text.slice(0, BYTES);
}

function relativePath(i: number): string {
  const folder = i % (DEPARTMENTS.length * TEAMS_PER_DEPARTMENT);
  return path.join(DEPARTMENTS[folder % DEPARTMENTS.length]!, `team-${Math.floor(folder / DEPARTMENTS.length) + 1}`, `paper-${String(i).padStart(6, '0')}.txt`);
}

interface ImportRun { seconds: number; exitCode: number | null; signal: string | null; summary: string; peakRssMb: number; killedAtRows: number | null }

/** Runs the import, killing it (SIGKILL) once its report holds `killAtRows` rows, when given. */
async function runImport(dataDir: string, args: string[], report: string, killAtRows: number | null): Promise<ImportRun> {
  const entry = entryForRun();
  const started = process.hrtime.bigint();
  const child: ChildProcess = spawn(process.execPath, [...entry.args, '--data', dataDir, 'import', ...args, '--report', report], {
    cwd: REPO_ROOT, env: { ...process.env, ...launcherAllocatorEnv(), STRONGROOM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  trackPid(child.pid);
  const sampler = new RssSampler(child.pid!, 500).start();
  let tail = '';
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    tail = (tail + text).slice(-20_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('import: ')) log(line);
  });
  let killedAtRows: number | null = null;
  const watch = killAtRows === null ? undefined : setInterval(() => {
    let rows = 0;
    try {
      rows = readFileSync(report, 'utf8').split('\n').length - 2; // the header, and the line being written
    } catch {
      return;
    }
    if (rows >= killAtRows && killedAtRows === null) {
      killedAtRows = rows;
      log(`killing the import (SIGKILL) with ${rows} rows in its report`);
      child.kill('SIGKILL');
    }
  }, 1000);
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
  clearInterval(watch);
  sampler.stop();
  untrackPid(child.pid);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, exitCode, signal, summary: /^(Imported .*)$/m.exec(tail)?.[1] ?? tail.slice(-500), peakRssMb: round(mb(sampler.hwmBytes), 1), killedAtRows };
}

/** The report's rows by outcome, and how many distinct documents they name. */
async function readReport(file: string): Promise<{ rows: number; outcomes: Record<string, number>; documents: number; paths: number }> {
  const lines = (await readFile(file, 'utf8')).split('\n').slice(1).filter(Boolean);
  const outcomes: Record<string, number> = {};
  const documents = new Set<string>();
  const paths = new Set<string>();
  for (const line of lines) {
    // path,outcome,document id,version,detail: the generated paths hold no commas or quotes.
    const [file, outcome, documentId] = line.split(',');
    outcomes[outcome!] = (outcomes[outcome!] ?? 0) + 1;
    if (documentId) documents.add(documentId);
    paths.add(file!);
  }
  return { rows: lines.length, outcomes, documents: documents.size, paths: paths.size };
}

async function queuedJobs(baseUrl: URL): Promise<number> {
  const text = await (await fetch(new URL('/metrics', baseUrl))).text();
  const m = /^strongroom_jobs_queued (\d+)/m.exec(text);
  if (!m) throw new Error('no strongroom_jobs_queued in /metrics');
  return Number(m[1]);
}

async function found(baseUrl: URL, token: string, word: string): Promise<boolean> {
  const reply = await fetch(new URL(`/api/v1/search?q=${encodeURIComponent(word)}`, baseUrl), { headers: { authorization: `Bearer ${token}` } });
  if (!reply.ok) return false;
  return ((await reply.json()) as { total: number }).total > 0;
}

async function duBytes(dir: string): Promise<number> {
  const child = spawn('du', ['-sb', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  return Number(out.split('\t')[0]);
}

async function main(): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const root = await temporaryFolder('sris-');
  const results: Record<string, unknown> = {
    date, host: { cpus: cpus().length, model: cpus()[0]?.model ?? '?' }, cli: entryForRun().kind,
    settings: { files: FILES, bytes: BYTES, clients: CLIENTS, folders: DEPARTMENTS.length * TEAMS_PER_DEPARTMENT, killAt: KILL_AT },
    loadavg: { before: loadavg().map((l) => round(l, 2)) },
  };

  log(`writing ${FILES} text files of ${BYTES} bytes in ${DEPARTMENTS.length * TEAMS_PER_DEPARTMENT} folders`);
  const share = path.join(root, 'share');
  for (const department of DEPARTMENTS) for (let t = 1; t <= TEAMS_PER_DEPARTMENT; t += 1) await mkdir(path.join(share, department, `team-${t}`), { recursive: true });
  for (let i = 0; i < FILES; i += 1) await writeFile(path.join(share, relativePath(i)), fileText(i));

  log('seeding a vault through the CLI');
  const dataDir = path.join(root, 'data');
  const seeded = await seed(dataDir);
  const server = await startServer({ dataDir, logFile: path.join(root, 'server.log') });
  const serverRss = new RssSampler(server.pid, 1000).start();
  /** The server's memory map through the run, with V8's heap and the queue beside it: what grows, and when. */
  const memoryMaps: Record<string, number | string>[] = [];
  const sampleMemoryMap = async (): Promise<void> => {
    const map = memoryMapOf(server.pid);
    if (!map) return;
    const heap = await v8HeapOf(server.baseUrl);
    const queued = await queuedJobs(server.baseUrl).catch(() => NaN);
    const sample = {
      seconds: round((Date.now() - t0) / 1000, 0), phase: serverRss.currentPhase, mainHeapMb: round(mb(map.mainHeap)), arenasMb: round(mb(map.arenas)),
      otherAnonymousMb: round(mb(map.otherAnonymous)), filesMb: round(mb(map.files)), v8HeapTotalMb: heap?.heapTotalMB ?? NaN, jobsQueued: queued,
    };
    memoryMaps.push(sample);
    log(`memory map: ${JSON.stringify(sample)}`);
  };
  const memoryMapTimer = setInterval(() => void sampleMemoryMap(), MEMORY_MAP_SECONDS * 1000);
  memoryMapTimer.unref();
  try {
    const args = [share, '--collection', seeded.collectionId, '--server', server.baseUrl.href, '--token', seeded.token, '--jobs', String(CLIENTS)];
    const runs: ImportRun[] = [];
    /** V8's heap at the end of each phase, from /metrics: what of the resident set is JavaScript's. */
    const heaps: Record<string, V8Heap | undefined> = {};
    if (KILL_AT > 0) {
      serverRss.phase('import, killed');
      log(`strongroom import --server --jobs ${CLIENTS}, to be killed at ${Math.round(FILES * KILL_AT)} files`);
      runs.push(await runImport(dataDir, args, path.join(root, 'report-1.csv'), Math.round(FILES * KILL_AT)));
      heaps['import, killed'] = await v8HeapOf(server.baseUrl);
    }
    serverRss.phase('import, resumed');
    log('strongroom import again (resuming)');
    const resumed = await runImport(dataDir, args, path.join(root, 'report-2.csv'), null);
    runs.push(resumed);
    heaps['import, resumed'] = await v8HeapOf(server.baseUrl);
    log(resumed.summary);
    const report = await readReport(path.join(root, 'report-2.csv'));
    log(`resumed run's report: ${report.rows} rows, ${report.paths} paths, ${report.documents} documents, ${JSON.stringify(report.outcomes)}`);

    serverRss.phase('queued work');
    log('waiting for the queued work (text, index, replica) to finish');
    const drainStart = Date.now();
    let queued = await queuedJobs(server.baseUrl);
    const queuedAtEnd = queued;
    let lastLog = 0;
    while (queued > 0) {
      if (Date.now() - lastLog > 30_000) {
        log(`${queued} jobs queued`);
        lastLog = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
      queued = await queuedJobs(server.baseUrl);
    }
    heaps['queued work'] = await v8HeapOf(server.baseUrl);
    // The first searches start the search reader (its thread and page cache): a phase of their own.
    serverRss.phase('first searches');
    while (!(await found(server.baseUrl, seeded.token, `SHARE${FILES - 1}`))) await new Promise((resolve) => setTimeout(resolve, 2000));
    const drainSeconds = (Date.now() - drainStart) / 1000;
    log(`queue empty and the last file found by search after ${drainSeconds.toFixed(0)} s`);
    const firstFound = await found(server.baseUrl, seeded.token, 'SHARE0');
    heaps['first searches'] = await v8HeapOf(server.baseUrl);
    await sampleMemoryMap();
    serverRss.stop();

    results.runs = runs;
    results.resumedReport = { ...report, everyFileOnce: report.rows === FILES && report.paths === FILES && report.documents === FILES };
    results.queuedWork = { jobsQueuedWhenImportEnded: queuedAtEnd, secondsToEmptyAndSearchable: round(drainSeconds, 1), firstFileFound: firstFound };
    results.serverRss = {
      peakMb: round(mb(serverRss.hwmBytes), 1), byPhaseMb: serverRss.byPhaseMB(), v8HeapAtPhaseEnd: heaps,
      atPeak: serverRss.atMax && { anonymousMb: round(mb(serverRss.atMax.anonymousBytes), 1), fileBackedMb: round(mb(serverRss.atMax.fileBackedBytes), 1), phase: serverRss.atMax.phase },
      memoryMaps,
    };
  } finally {
    clearInterval(memoryMapTimer);
    await server.stop();
  }
  results.dataDirBytes = await duBytes(dataDir);
  results.databaseBytes = await duBytes(path.join(dataDir, 'strongroom.db'));
  (results.loadavg as Record<string, unknown>).after = loadavg().map((l) => round(l, 2));
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  const out = env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${date}-import-share.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${out}`);
}

runBench(main, log);
