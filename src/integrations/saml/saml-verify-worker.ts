// The SAML answers' check, off the main thread (docs/threat-model.md "SAML"): a worker thread runs the
// library on each answer, one at a time, under a memory limit and a time limit, so a large signed answer
// (a second of XPath and digest) holds that thread and not every request of every organisation. Started
// with the first SAML sign-in, ended once idle (a vault without SAML keeps no second isolate), replaced
// when an answer runs past its time limit or the thread runs out of memory, ended with the vault.
import type { SamlSettings } from '../../domain/identity/federation.js';
import { SamlRefused, type SamlAssertion, type SamlRefusal, type SamlServiceProvider } from '../../domain/identity/saml.js';
import { ThreadJobs, startThread } from '../thread-script.js';

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
 * thread for. 64 MB of heap checks the largest admitted answers measured (bench, `limited`: 2,400 groups, 512 KiB).
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

/** Checks SAML answers on a thread of its own, one at a time in the order given (thread-script.ts ThreadJobs). */
export class SamlVerifyWorker {
  readonly #jobs: ThreadJobs<Omit<SamlThreadRequest, 'id'>, SamlThreadReply, SamlAssertion>;

  constructor(readonly limits: SamlThreadLimits = SAML_THREAD_LIMITS) {
    this.#jobs = new ThreadJobs<Omit<SamlThreadRequest, 'id'>, SamlThreadReply, SamlAssertion>({
      start: () => startThread(import.meta.url, 'saml-verify-thread', { workerData: {}, resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb } }),
      answer: (reply) => (reply.kind === 'assertion' ? { result: reply.assertion }
        : { error: reply.kind === 'refused' ? new SamlRefused(reply.reason, reply.why) : new Error(reply.message) }),
      // A thread out of memory refuses its answer as too large; any other end of the thread is our fault (500).
      down: (cause) => ((cause as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new SamlRefused('too_large', `the check needed more than ${limits.memoryMb} MB`) : new Error('the SAML thread ended', { cause })),
      timedOut: () => new SamlRefused('timeout', `the check took longer than ${limits.timeLimitMs} ms`),
      idleMs: () => limits.idleMs,
    });
  }

  verify(request: Omit<SamlThreadRequest, 'id'>): Promise<SamlAssertion> {
    return this.#jobs.run(request, this.limits.timeLimitMs);
  }

  /** Threads started and not yet ended: for tests. */
  get threads(): number {
    return this.#jobs.threads;
  }

  /** Fails what is queued and ends the thread, waiting for it to end. */
  close(): Promise<void> {
    return this.#jobs.close();
  }
}
