// The SAML answers' check, off the main thread (docs/threat-model.md "SAML"): a worker thread runs the
// library on each answer, one at a time, under a memory limit and a time limit, so a large signed answer
// (a second of XPath and digest) holds that thread and not every request of every organisation. Started
// with the first SAML sign-in, ended once idle (a vault without SAML keeps no second isolate), replaced
// when an answer runs past its time limit or the thread runs out of memory, ended with the vault.
import type { Worker } from 'node:worker_threads';
import type { SamlSettings } from '../../domain/identity/federation.js';
import { SamlRefused, type SamlAssertion, type SamlRefusal, type SamlServiceProvider } from '../../domain/identity/saml.js';
import { startThread } from '../thread-script.js';

export interface SamlThreadLimits {
  /** An answer's check, from when the thread is ready to take it; past it the thread is ended and the answer refused (`timeout`). */
  timeLimitMs: number;
  /** The thread's JavaScript heap (Worker resourceLimits.maxOldGenerationSizeMb); past it the answer is refused (`too_large`). */
  memoryMb: number;
  /** The thread is ended after this long without an answer to check. */
  idleMs: number;
}

/**
 * The 512 KiB answers the pre-check admits take 0.5-1.5 s on a loaded machine (bench/saml-size.ts); five
 * seconds leaves room for a slow moment, and bounds what an answer beyond the measured ones can hold the
 * thread for. 64 MB of heap holds the largest admitted answer's DOM several times over.
 */
export const SAML_THREAD_LIMITS: SamlThreadLimits = { timeLimitMs: 5000, memoryMb: 64, idleMs: 60_000 };

/** One answer to check: plain data only (the library's request-id cache is rebuilt from `expected` in the thread). */
export interface SamlThreadRequest {
  id: number;
  settings: SamlSettings;
  sp: SamlServiceProvider;
  samlResponse: string;
  expected: { requestId: string; issuedAt: number };
}

export type SamlThreadReply =
  | { kind: 'ready' }
  | { kind: 'assertion'; id: number; assertion: SamlAssertion }
  | { kind: 'refused'; id: number; reason: SamlRefusal; why: string }
  | { kind: 'error'; id: number; message: string };

interface Pending {
  request: Omit<SamlThreadRequest, 'id'>;
  resolve: (assertion: SamlAssertion) => void;
  reject: (error: unknown) => void;
}

interface Thread {
  worker: Worker;
  exited: Promise<void>;
  ready: boolean;
  running: { id: number; pending: Pending; timer: NodeJS.Timeout | undefined } | null;
  idle: NodeJS.Timeout | undefined;
}

/** Checks SAML answers on a thread of its own, one at a time in the order given. */
export class SamlVerifyWorker {
  #thread: Thread | null = null;
  /** Threads ended or being ended: a terminated thread ends at once, even in the middle of an answer. */
  readonly #ending = new Set<Promise<void>>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(readonly limits: SamlThreadLimits = SAML_THREAD_LIMITS) {}

  verify(request: Omit<SamlThreadRequest, 'id'>): Promise<SamlAssertion> {
    if (this.#closed) return Promise.reject(new Error('the SAML thread is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#next();
    });
  }

  /** Threads started and not yet ended: for tests. */
  get threads(): number {
    return (this.#thread === null ? 0 : 1) + this.#ending.size;
  }

  /** Fails what is queued and ends the thread, waiting for it to end. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) pending.reject(new Error('the SAML thread was closed'));
    if (this.#thread) this.#retire(this.#thread, new Error('the SAML thread was closed'));
    await Promise.all([...this.#ending]);
  }

  #next(): void {
    if (this.#closed || this.#queue.length === 0 || this.#thread?.running) return;
    const pending = this.#queue.shift()!;
    let thread: Thread;
    try {
      thread = this.#thread ?? (this.#thread = this.#start());
    } catch (error) {
      pending.reject(error);
      this.#next();
      return;
    }
    clearTimeout(thread.idle);
    thread.running = { id: this.#nextId++, pending, timer: undefined };
    // Held only while an answer is checked: an idle thread never keeps the process alive.
    thread.worker.ref();
    thread.worker.postMessage({ id: thread.running.id, ...pending.request } satisfies SamlThreadRequest);
    if (thread.ready) this.#time(thread);
  }

  /** Starts the running answer's time limit: once the thread is ready, so its start-up is not counted against it. */
  #time(thread: Thread): void {
    const running = thread.running;
    if (running === null) return;
    running.timer = setTimeout(() => {
      if (thread.running !== running) return;
      thread.running = null;
      running.pending.reject(new SamlRefused('timeout', `the check took longer than ${this.limits.timeLimitMs} ms`));
      this.#retire(thread, null);
    }, this.limits.timeLimitMs);
  }

  #start(): Thread {
    const worker = startThread(import.meta.url, 'saml-verify-thread', { workerData: {}, resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb } });
    let exited!: () => void;
    const thread: Thread = { worker, exited: new Promise((resolve) => { exited = resolve; }), ready: false, running: null, idle: undefined };
    worker.on('message', (reply: SamlThreadReply) => {
      if (reply.kind === 'ready') {
        thread.ready = true;
        this.#time(thread);
        return;
      }
      const running = thread.running;
      if (running?.id !== reply.id) return;
      clearTimeout(running.timer);
      thread.running = null;
      worker.unref();
      if (reply.kind === 'assertion') running.pending.resolve(reply.assertion);
      else if (reply.kind === 'refused') running.pending.reject(new SamlRefused(reply.reason, reply.why));
      else running.pending.reject(new Error(reply.message));
      thread.idle = setTimeout(() => this.#retire(thread, null), this.limits.idleMs).unref();
      this.#next();
    });
    worker.on('error', (error: Error & { code?: string }) => this.#retire(thread, error.code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? new SamlRefused('too_large', `the check needed more than ${this.limits.memoryMb} MB`) : error));
    worker.on('exit', (code) => {
      exited();
      this.#retire(thread, new Error(`the SAML thread ended (exit code ${code})`));
    });
    return thread;
  }

  /** Stops using `thread`: its running answer, if any, fails with `cause` unless it already failed otherwise, and the thread is ended. */
  #retire(thread: Thread, cause: Error | null): void {
    if (this.#thread === thread) this.#thread = null;
    clearTimeout(thread.idle);
    const running = thread.running;
    thread.running = null;
    if (running) {
      clearTimeout(running.timer);
      running.pending.reject(cause);
    }
    if (!this.#ending.has(thread.exited)) {
      this.#ending.add(thread.exited);
      void thread.exited.then(() => this.#ending.delete(thread.exited));
      void thread.worker.terminate();
    }
    this.#next();
  }
}
