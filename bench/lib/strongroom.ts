// Driving Strongroom as a user would: the CLI for seeding and `strongroom serve` as a child process.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, trackPid, untrackPid } from './cleanup.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The built CLI when there is one and it is not older than the source (make bench builds it first),
 * otherwise the TypeScript source through tsx. BENCH_SERVER=dist or =tsx forces the choice.
 */
export function cliEntry(): { kind: 'dist' | 'tsx'; args: string[]; reason: string } {
  const dist = path.join(REPO_ROOT, 'dist', 'bundle', 'strongroom.js');
  const tsx = { kind: 'tsx' as const, args: ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'index.ts')] };
  const forced = process.env.BENCH_SERVER;
  if (forced === 'tsx') return { ...tsx, reason: 'BENCH_SERVER=tsx' };
  if (!existsSync(dist)) return { ...tsx, reason: 'no dist/ build' };
  if (forced === 'dist') return { kind: 'dist', args: [dist], reason: 'BENCH_SERVER=dist' };
  const built = statSync(dist).mtimeMs;
  const newest = newestSource(path.join(REPO_ROOT, 'src'));
  if (newest.mtimeMs > built) return { ...tsx, reason: `dist/ is older than ${path.relative(REPO_ROOT, newest.file)}` };
  return { kind: 'dist', args: [dist], reason: 'dist/ is up to date' };
}

function newestSource(dir: string): { file: string; mtimeMs: number } {
  let best = { file: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = newestSource(full);
      if (inner.mtimeMs > best.mtimeMs) best = inner;
    } else if (/\.(ts|njk|css|js)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
      const m = statSync(full).mtimeMs;
      if (m > best.mtimeMs) best = { file: full, mtimeMs: m };
    }
  }
  return best;
}

export interface Entry {
  args: string[];
  /** Where the command runs (a checkout with its own node_modules); REPO_ROOT by default. */
  cwd?: string;
}

/**
 * Another checkout, e.g. the code before a change, for a side-by-side run: its dist/ build, as this
 * checkout's own server runs, or its source through tsx when it has none. tsx's loader adds tens of
 * MB to the resident set and installs source-map support, which makes every Error dearer, so a
 * comparison of a built checkout with one run through tsx measures tsx as well as the change.
 */
export function entryAt(root: string): Entry {
  // A checkout from before the command line was bundled has only dist/cli/index.js.
  const dist = [path.join(root, 'dist', 'bundle', 'strongroom.js'), path.join(root, 'dist', 'cli', 'index.js')].find((file) => existsSync(file));
  if (dist !== undefined) return { args: [dist], cwd: root };
  process.stderr.write(`[bench] ${root} has no dist/ build: running its source through tsx, which costs memory and CPU of its own\n`);
  return { args: ['--import', 'tsx', path.join(root, 'src', 'cli', 'index.ts')], cwd: root };
}

let chosen: ReturnType<typeof cliEntry> | undefined;
/** The entry chosen once per run, so every command and server uses the same code. */
export function entryForRun(): ReturnType<typeof cliEntry> {
  chosen ??= cliEntry();
  return chosen;
}

export interface CliOptions {
  dataDir: string;
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** The code to run (default: this checkout, as entryForRun chooses). */
  entry?: Entry;
}

/** Runs one CLI command (`strongroom --data DIR ...args`) and returns its standard output, trimmed. */
export function runCli(args: string[], o: CliOptions): Promise<string> {
  const entry: Entry = o.entry ?? entryForRun();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entry.args, '--data', o.dataDir, ...args], {
      cwd: entry.cwd ?? REPO_ROOT,
      env: { ...process.env, ...launcherAllocatorEnv(), STRONGROOM_LOG_LEVEL: 'warn', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackPid(child.pid);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 90_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      untrackPid(child.pid);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrackPid(child.pid);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`strongroom ${args.slice(0, 2).join(' ')} failed (${signal ?? `exit ${code}`}): ${err.trim().slice(-1000)}`));
    });
    child.stdin.end(o.stdin ?? '');
  });
}

export interface Seeded {
  orgSlug: string;
  collectionId: string;
  email: string;
  token: string;
  appPassword: string;
  collectionName: string;
}

/** init, org add, collection add, user add --password-stdin, token create, app-password create. */
export async function seed(dataDir: string, env: NodeJS.ProcessEnv = {}, entry?: Entry): Promise<Seeded> {
  const orgSlug = 'bench-council';
  const email = 'bench.user@bench-council.example';
  const collectionName = 'Bench payroll';
  const password = `Bench-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}-Pw!`;
  const o = { dataDir, env, ...(entry ? { entry } : {}) };
  await runCli(['init'], o);
  await runCli(['org', 'add', '--slug', orgSlug, '--name', 'Bench Council'], o);
  const collectionId = (await runCli(['collection', 'add', '--org', orgSlug, '--name', collectionName, '--service', 'payroll'], o)).split('\n').pop() as string;
  await runCli(['user', 'add', '--org', orgSlug, '--email', email, '--name', 'Bench User', '--role', 'member', '--team', 'payroll', '--password-stdin'], { ...o, stdin: `${password}\n` });
  const token = (await runCli(['token', 'create', '--user', email, '--name', 'bench'], o)).split('\n').pop() as string;
  const appPassword = (await runCli(['app-password', 'create', '--user', email, '--name', 'bench-dav'], o)).split('\n').pop() as string;
  return { orgSlug, collectionId, email, token, appPassword, collectionName };
}

export interface RunningServer {
  pid: number;
  baseUrl: URL;
  dataDir: string;
  logFile: string;
  /** The clamd this server started (from its pid file), if it is running. */
  clamdPid(): number | undefined;
  stop(): Promise<void>;
}

/**
 * The allocator settings `bin/strongroom` gives the process it starts (the `: "${NAME:=VALUE}"`
 * lines), read from that script so the benchmark cannot drift from it. Every server the benchmark
 * starts gets them, whichever checkout it runs, as one started through the launcher would; only
 * Strongroom's servers do, not Apache or rclone. BENCH_ALLOCATOR=glibc leaves glibc's defaults
 * instead, to measure what the settings change.
 */
export function launcherAllocatorEnv(): Record<string, string> {
  if (process.env.BENCH_ALLOCATOR === 'glibc') return {};
  const script = readFileSync(path.join(REPO_ROOT, 'bin', 'strongroom'), 'utf8');
  const settings = Object.fromEntries([...script.matchAll(/^: "\$\{(MALLOC_[A-Z_]+):=(\d+)\}"$/gm)].map((m) => [m[1]!, m[2]!]));
  if (Object.keys(settings).length === 0) throw new Error('bin/strongroom sets no MALLOC_ variables: the benchmark would not run servers as the launcher does');
  return settings;
}

export interface ServerOptions {
  dataDir: string;
  logFile: string;
  /** Added to the benchmark's own environment and the launcher's allocator settings (launcherAllocatorEnv). */
  env?: NodeJS.ProcessEnv;
  /** Extra options for node itself, e.g. --cpu-prof (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
  /** The code to run (default: this checkout, as entryForRun chooses). */
  entry?: Entry;
}

/** `strongroom --data DIR serve --port 0`, waiting for the "listening" line and then /readyz with clamd ok. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const entry: Entry = o.entry ?? entryForRun();
  const logFd = openSync(o.logFile, 'a');
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...entry.args, '--data', o.dataDir, 'serve', '--host', '127.0.0.1', '--port', '0'], {
    cwd: entry.cwd ?? REPO_ROOT,
    env: { ...process.env, ...launcherAllocatorEnv(), ...o.env },
    stdio: ['ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  const pid = child.pid;
  const stderrStream = child.stderr;
  if (!pid || !stderrStream) throw new Error('could not start strongroom serve');
  trackPid(pid);
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
    untrackPid(pid);
  });

  const clamdPid = (): number | undefined => {
    try {
      const p = Number.parseInt(readFileSync(path.join(o.dataDir, 'clamd', 'clamd.pid'), 'utf8'), 10);
      if (!Number.isInteger(p) || p <= 1) return undefined;
      // Only a clamd started with this data directory's config: a recycled pid is not ours.
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return cmdline.includes(o.dataDir) ? p : undefined;
    } catch {
      return undefined;
    }
  };

  const stop = async (): Promise<void> => {
    if (alive) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    // If the server had to be killed, its clamd is an orphan: stop it too.
    const orphan = clamdPid();
    if (orphan) {
      try {
        process.kill(orphan, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  };
  const unregister = onCleanup(`strongroom serve (pid ${pid})`, stop);

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`strongroom serve did not start within ${(o.startTimeoutMs ?? 120_000) / 1000} s: ${stderr.slice(-2000)}`)), o.startTimeoutMs ?? 120_000);
    stderrStream.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`strongroom serve exited during start-up: ${stderr.slice(-2000)}`));
    });
  });
  const baseUrl = new URL(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + (o.startTimeoutMs ?? 120_000);
  for (;;) {
    const ready = await getJson(baseUrl, '/readyz').catch(() => undefined);
    if (ready && ready.status === 200 && (ready.body as { checks?: { scanner?: string } }).checks?.scanner === 'ok') break;
    if (!alive) throw new Error(`strongroom serve exited before it was ready: ${stderr.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`strongroom serve not ready (database and scanner) in time: ${JSON.stringify(ready?.body)}`);
    await sleep(200);
  }
  return {
    pid, baseUrl, dataDir: o.dataDir, logFile: o.logFile, clamdPid,
    stop: async () => {
      unregister();
      await stop();
    },
  };
}

function getJson(base: URL, p: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: base.hostname, port: base.port, path: p, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `work` against a fresh vault in a temporary folder named after `prefix`, seeded and served by `entry`'s build
 * (this checkout's when undefined) with `env`; afterwards the server is stopped and the folder removed, with
 * the offsite folder the server made beside it (STRONGROOM_OFFSITE's default).
 */
export async function withSeededServer<T>(prefix: string, env: Record<string, string>, entry: Entry | undefined, work: (server: RunningServer, seeded: Seeded, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  try {
    const seeded = await seed(dataDir, env, entry);
    const server = await startServer({ dataDir, logFile: path.join(dataDir, 'server.log'), env, ...(entry ? { entry } : {}) });
    try {
      return await work(server, seeded, dataDir);
    } finally {
      await server.stop();
    }
  } finally {
    for (const dir of [dataDir, `${dataDir}-offsite`]) await rm(dir, { recursive: true, force: true });
  }
}
