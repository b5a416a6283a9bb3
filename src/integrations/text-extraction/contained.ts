// Runs one request in a fresh parser process (parse-child): its own heap limit and a limit on all the
// memory it may write to (RLIMIT_DATA, through prlimit: buffers and native allocations are outside the
// heap), a clean environment, its own process group, and a deadline after which the whole group is
// killed. The file goes to it through a pipe of its own (INPUT_FD), streamed from the store, so the
// server never holds it whole.
// Never rejects for anything the file does: a crash, a hang or a heap overflow comes back as an
// outcome with a reason. It rejects only when the file cannot be read from the store.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { defaultEnvironment } from '../process.js';
import { streamInto, type ContentInput } from './content-input.js';
import { INPUT_FD, type ParserMessage, type ParserRequest } from './protocol.js';

const HEAP_EXHAUSTED = /heap out of memory|Reached heap limit|allocation failed/i;
/** What the parser reports when an allocation outside the heap was refused (RLIMIT_DATA). */
const ALLOCATION_REFUSED = /allocation failed|out of memory|Cannot allocate memory|ENOMEM/i;
const MIB = 1024 * 1024;

export type ParserOutcome =
  | { kind: 'ended' }
  | { kind: 'error'; reason: string }
  | { kind: 'timeout'; reason: string }
  | { kind: 'crashed'; reason: string }
  | { kind: 'aborted' };

export interface ParserRun {
  /** The file the parser reads. */
  input: ContentInput;
  timeoutMs: number;
  /** The JavaScript heap (--max-old-space-size). */
  memoryMb: number;
  /**
   * All the memory the process may write to (RLIMIT_DATA): the heap, and what lies outside it, which
   * the heap limit does not see: the file and its copies, pdfjs's decoded streams, zip and image
   * buffers, libvips's pixels. A file that makes a parser allocate past it fails that allocation.
   */
  dataMb: number;
  signal: AbortSignal;
  onMessage: (message: ParserMessage) => void;
  /** The parser script; tests point it at a script that misbehaves on purpose. */
  script?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Run from the TypeScript source (tests, tsx), the child needs tsx's loader too; built, it does not.
const fromSource = import.meta.url.endsWith('.ts');
const DEFAULT_SCRIPT = path.join(here, fromSource ? 'parse-child.ts' : 'parse-child.js');
const PROJECT_ROOT = path.resolve(here, '../../..');

/** SIGKILL for the parser's whole process group (it has none of its own children today, but may). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function runParser(request: ParserRequest, run: ParserRun): Promise<ParserOutcome> {
  return new Promise((resolve, reject) => {
    if (run.signal.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    const script = run.script ?? DEFAULT_SCRIPT;
    const execArgv = [`--max-old-space-size=${run.memoryMb}`, '--max-semi-space-size=16', ...(script.endsWith('.ts') ? ['--import', 'tsx'] : [])];
    // prlimit sets the limit and execs node in its place (same process, same group); the IPC channel
    // (NODE_CHANNEL_FD in the environment, and its descriptor) passes through the exec.
    const child = spawn('prlimit', [`--data=${run.dataMb * MIB}`, '--', process.execPath, ...execArgv, script], {
      cwd: PROJECT_ROOT,
      env: defaultEnvironment(),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'], // INPUT_FD is the last
      detached: true,
    });
    // V8's "heap out of memory" line comes before a native stack trace of any length, so it is looked
    // for as the output arrives (with a little of the previous chunk, in case it straddles two).
    let stderrTail = '';
    let heapExhausted = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      const seen = stderrTail + chunk.toString('utf8');
      if (HEAP_EXHAUSTED.test(seen)) heapExhausted = true;
      stderrTail = seen.slice(-200);
    });
    let settled: ParserOutcome | null = null;
    let sawEnd = false;
    let sendError: Error | null = null;
    let unreadable: unknown = null;
    const finish = (outcome: ParserOutcome): void => {
      if (settled) return;
      settled = outcome;
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
      killGroup(child.pid);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', reason: `the parser took longer than ${run.timeoutMs} ms and was stopped` }), run.timeoutMs);
    const onAbort = (): void => finish({ kind: 'aborted' });
    run.signal.addEventListener('abort', onAbort, { once: true });

    child.on('message', (message: ParserMessage) => {
      if (settled) return;
      if (message.type === 'end') {
        sawEnd = true;
        finish({ kind: 'ended' });
      } else if (message.type === 'error') {
        finish({ kind: 'error', reason: ALLOCATION_REFUSED.test(message.message) ? `the parser ran out of memory (${run.dataMb} MiB in all)` : message.message });
      } else {
        run.onMessage(message);
      }
    });
    child.on('error', (error) => finish({ kind: 'crashed', reason: `the parser could not run: ${error.message}` }));
    // 'close', not 'exit': it comes after the IPC channel has delivered everything the parser sent.
    child.on('close', (code, signal) => {
      if (!settled && !sawEnd) {
        // A parser that died is reported by how it died, whether or not the file was still being
        // sent to it then (which decides only whether the send also failed with EPIPE: a race).
        const died = signal !== null || code !== 0;
        const reason = heapExhausted
          ? `the parser ran out of memory (${run.memoryMb} MiB)`
          : sendError && !died
            ? `the parser did not take the file: ${sendError.message}`
            : `the parser stopped unexpectedly (${signal ?? `exit code ${code}`})`;
        finish({ kind: 'crashed', reason });
      }
      // The group may hold a grandchild; the parser is gone, so take the rest with it.
      killGroup(child.pid);
      if (unreadable) reject(unreadable);
      else resolve(settled ?? { kind: 'ended' });
    });
    // A send fails when the channel closed under it: the parser died while taking the file (a heap
    // limit met while reading a large request, say). Its exit says why, so 'close' reports it.
    child.send(request, (error) => {
      if (error) sendError = error;
    });
    // The store could not give the file (or gave more than its size on record): not the file's doing.
    streamInto(run.input, child.stdio[INPUT_FD] as Writable, run.signal).catch((error: unknown) => {
      unreadable = error;
      finish({ kind: 'error', reason: 'the file could not be read from the store' });
    });
  });
}
