// Runs the real command line as a child process, for CLI and crash suites: the build `make test` has
// just made (dist/bundle/strongroom.js, what bin/strongroom runs, when STRONGROOM_TEST_CLI=dist), else
// the sources through tsx. Each spawn through tsx compiles the whole import graph again (about 1.5 s of
// CPU here), and the CLI suites spawn hundreds of them.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** node --import <tsx loader>: one process (no tsx wrapper), so a signal reaches the program itself. */
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const USE_BUILD = process.env.STRONGROOM_TEST_CLI === 'dist';
export const CLI = USE_BUILD ? path.join(ROOT, 'dist', 'bundle', 'strongroom.js') : path.join(ROOT, 'src', 'cli', 'index.ts');
/** How node is asked to run the CLI: directly when built, else with the tsx loader. */
const CLI_NODE_ARGS = USE_BUILD ? [CLI] : ['--import', TSX_LOADER, CLI];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STRONGROOM_LOG_LEVEL: 'warn' };
  // A parent test's vault settings must not leak into the child.
  delete env.STRONGROOM_DATA;
  delete env.STRONGROOM_DATABASE_URL;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Spawns `strongroom ...args` and resolves with exit code and output. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd: options.cwd ?? ROOT, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Spawns a long-running `strongroom serve` (or other) process; the caller kills it. */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd: options.cwd ?? ROOT, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Waits for `strongroom serve` to say where it listens; resolves with the port. */
export function listeningPort(child: ChildProcess, timeoutMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = /listening on https?:\/\/[^\s]*:(\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${seen}`));
    });
  });
}

/** Seeds an organisation with a payroll collection and a payroll team member with an API token, through the CLI. */
export async function seedWithCli(dataDir: string, env: Record<string, string>, slug: string): Promise<{ collectionId: string; token: string; email: string }> {
  const ok = async (args: string[], input?: string) => {
    const r = await runCli(['--data', dataDir, ...args], { env, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Error(`strongroom ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  };
  await ok(['init']);
  await ok(['org', 'add', '--slug', slug, '--name', `Council ${slug}`, '--region', 'Test']);
  const collectionId = await ok(['collection', 'add', '--org', slug, '--name', 'payroll', '--service', 'payroll', '--classification', 'OFFICIAL']);
  const email = `payroll@${slug}.test`;
  await ok(['user', 'add', '--org', slug, '--email', email, '--name', 'Pay Roll', '--team', 'payroll', '--clearance', 'OFFICIAL-SENSITIVE', '--password-stdin'], 'a-long-test-passphrase-123');
  const token = await ok(['token', 'create', '--user', email]);
  return { collectionId, token, email };
}
