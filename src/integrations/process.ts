// The one way Strongroom starts external programs (clamd, tesseract, pdftoppm): a clean environment,
// time limits, output limits and a kill that escalates, so a stuck or chatty program cannot hang a worker.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export type ProgramFailure = 'spawn' | 'timeout' | 'output_limit' | 'aborted' | 'exit';

export class ProgramError extends Error {
  readonly kind: ProgramFailure;
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The end of what the program wrote to stderr, for logs (may contain file names; not for clients). */
  readonly stderr: string;

  constructor(kind: ProgramFailure, command: string, message: string, details: { exitCode?: number | null; signal?: NodeJS.Signals | null; stderr?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ProgramError';
    this.kind = kind;
    this.command = command;
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
    this.stderr = details.stderr ?? '';
  }
}

interface CommonOptions {
  cwd?: string;
  /**
   * The child's complete environment. Defaults to PATH and a UTF-8 locale only: the server's own
   * environment may hold secrets (database URLs, key passphrases) that a helper must never see.
   */
  env?: Record<string, string>;
  /** Run as another user (only when we are root), e.g. to keep clamd away from our keys. */
  uid?: number;
  gid?: number;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

export interface RunOptions extends CommonOptions {
  /** Data for stdin; the stream is piped with backpressure. */
  input?: Buffer | Readable;
  timeoutMs: number;
  /** Most stdout bytes kept; more is a failure (`output_limit`), not silent truncation. */
  maxOutputBytes?: number;
  /** stderr is only diagnostics: its last this-many bytes are kept. */
  maxErrorBytes?: number;
  /** Exit codes that count as success (default [0]). */
  okExitCodes?: readonly number[];
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
  durationMs: number;
}

export function defaultEnvironment(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
}

/** Keeps the last `limit` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.length - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.length -= (this.chunks.shift() as Buffer).length;
    }
  }

  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** SIGTERM now, SIGKILL after `graceMs` if it is still there. */
function terminate(child: ChildProcess, graceMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceMs);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}

/** Runs a program to completion and returns its output; rejects with ProgramError on any failure. */
export function runProgram(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const maxOutput = options.maxOutputBytes ?? 16 * 1024 * 1024;
  const okCodes = options.okExitCodes ?? [0];
  const grace = options.killGraceMs ?? 2000;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new ProgramError('aborted', command, `${command} was not started: aborted`));
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? defaultEnvironment(),
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      uid: options.uid,
      gid: options.gid,
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const stderr = new Tail(options.maxErrorBytes ?? 64 * 1024);
    let failure: ProgramError | undefined;

    const fail = (error: ProgramError): void => {
      failure ??= error;
      terminate(child, grace);
    };
    const timer = setTimeout(() => fail(new ProgramError('timeout', command, `${command} took longer than ${options.timeoutMs} ms`)), options.timeoutMs);
    const onAbort = (): void => fail(new ProgramError('aborted', command, `${command} was aborted`, { cause: options.signal?.reason }));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxOutput) {
        fail(new ProgramError('output_limit', command, `${command} wrote more than ${maxOutput} bytes`));
        return;
      }
      stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

    if (options.input && child.stdin) {
      // A program that exits without reading all its input gives EPIPE: its exit status tells the story.
      child.stdin.on('error', () => {});
      if (Buffer.isBuffer(options.input)) child.stdin.end(options.input);
      else options.input.on('error', (error) => fail(new ProgramError('aborted', command, `input for ${command} failed`, { cause: error }))).pipe(child.stdin);
    }

    child.on('error', (error) => {
      // Spawn failures (ENOENT, EACCES) arrive here, without an 'exit'.
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(failure ?? new ProgramError('spawn', command, `could not start ${command}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const details = { exitCode: code, signal, stderr: stderr.toString() };
      if (failure) {
        reject(new ProgramError(failure.kind, command, failure.message, { ...details, cause: failure.cause }));
      } else if (code === null || !okCodes.includes(code)) {
        reject(new ProgramError('exit', command, `${command} exited with ${code === null ? `signal ${signal}` : `code ${code}`}`, details));
      } else {
        resolve({ exitCode: code, stdout: Buffer.concat(stdout), stderr: details.stderr, durationMs: Date.now() - started });
      }
    });
  });
}

export interface StartOptions extends CommonOptions {
  /** Called with each line the program writes (stdout and stderr), e.g. to forward to our log. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Bytes of combined output kept for `outputTail()` (default 16 KiB). */
  tailBytes?: number;
}

export interface ProgramExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  error?: Error;
}

/** A long-running program (a daemon in the foreground) that we own and must stop. */
export interface RunningProgram {
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Resolves (never rejects) when the program has gone, however it went. */
  readonly exited: Promise<ProgramExit>;
  /** The end of its recent output, for error messages. */
  outputTail(): string;
  /** SIGTERM, then SIGKILL after the grace period; resolves once it has exited. */
  stop(graceMs?: number): Promise<ProgramExit>;
}

export function startProgram(command: string, args: readonly string[], options: StartOptions = {}): RunningProgram {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? defaultEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
    windowsHide: true,
  });
  const tail = new Tail(options.tailBytes ?? 16 * 1024);
  let running = true;
  const exited = new Promise<ProgramExit>((resolve) => {
    child.once('error', (error) => {
      running = false;
      resolve({ code: null, signal: null, error });
    });
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  for (const name of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[name]?.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      if (!options.onLine) return;
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > 4096) partial = ''; // a line without end is noise, not memory to keep
      for (const line of lines) if (line.trim()) options.onLine(line.trimEnd(), name);
    });
  }
  return {
    get pid() {
      return child.pid;
    },
    get running() {
      return running;
    },
    exited,
    outputTail: () => tail.toString(),
    stop(graceMs = options.killGraceMs ?? 5000) {
      if (running) terminate(child, graceMs);
      return exited;
    },
  };
}
