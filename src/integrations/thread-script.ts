// Starting one of our own modules on a worker thread, from the TypeScript source (tests, tsx) or built.
// Used by the search reader (db/sqlite-read-worker.ts) and the SAML thread (saml/saml-verify-worker.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const FROM_SOURCE_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((api) => api.register()).then(() => import(workerData.entry));`;

/** tsx's ES module API, as its package's exports name it (its CommonJS one cannot register the ES loader in a thread). */
function tsxModuleApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifest), exports['./esm/api']!.import.default)).href;
}

/**
 * Starts the thread module `name` (no extension) that sits beside the module at `moduleUrl` (its
 * import.meta.url). Run from the TypeScript source the thread needs tsx's loader too; built, it does not:
 * the thread's module stays unbundled in dist/, found beside the caller's file (scripts/bundle-cli.mjs
 * rewrites each module's import.meta.url to its file in dist/). `options.workerData` must be an object.
 */
export function startThread(moduleUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const fromSource = moduleUrl.endsWith('.ts');
  const script = fileURLToPath(new URL(`${name}.${fromSource ? 'ts' : 'js'}`, moduleUrl));
  if (!fromSource) return new Worker(script, options);
  const workerData = { ...(options.workerData as object | undefined), tsxApi: tsxModuleApi(), entry: pathToFileURL(script).href };
  return new Worker(FROM_SOURCE_BOOTSTRAP, { ...options, eval: true, workerData });
}

/** What a thread run by ThreadJobs sends back: 'ready' once it takes work, or the answer to the job `id`. */
export type ThreadReply = { kind: 'ready' } | { kind: 'failed'; error: { message: string; code?: string } } | { kind: string; id: number };

export interface ThreadJobsOptions<Reply extends ThreadReply, Result> {
  start: () => Worker;
  /** The running job's outcome from the thread's answer to it. */
  answer: (reply: Exclude<Reply, { kind: 'ready' | 'failed' }>) => { result: Result } | { error: unknown };
  /** What a job fails with when its thread is ended under it (`cause`: why, null when timed out) or it is refused for a closed runner. */
  down: (cause: Error | null) => unknown;
  /** What a thread that answers 'failed' could not do, said before its error (the job fails with `down` of it). */
  startFailure?: string;
  /** What a job past its timeout fails with. */
  timedOut: () => unknown;
  /** How long an idle thread is kept (read at each job's end); kept until replaced or closed if absent. */
  idleMs?: () => number;
}

interface Job<Result> {
  request: object;
  timeoutMs: number | undefined;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

interface Thread<Result> {
  worker: Worker;
  exited: Promise<void>;
  /** Taking work: jobs sent before are waiting in the thread's queue. */
  ready: boolean;
  running: { id: number; job: Job<Result>; timer: NodeJS.Timeout | undefined } | null;
  idle: NodeJS.Timeout | undefined;
}

/**
 * Runs jobs, one at a time in the order given, on a thread of its own (the search reader's, the SAML
 * thread's). A job's timeout counts from when it is sent to a ready thread, not while it waits behind
 * another or for a new thread to start. A thread that failed to start, died, or ran past a timeout fails
 * its job and is ended; the next job starts a new one. An idle thread never keeps the process alive.
 */
export class ThreadJobs<Request extends object, Reply extends ThreadReply, Result> {
  #thread: Thread<Result> | null = null;
  /** Threads replaced or failed, until they have ended: a terminated one ends only when its job returns to JavaScript. */
  readonly #ending = new Set<Promise<void>>();
  readonly #queue: Job<Result>[] = [];
  #nextId = 1;
  #closed = false;

  constructor(private readonly o: ThreadJobsOptions<Reply, Result>) {}

  run(request: Request, timeoutMs?: number): Promise<Result> {
    if (this.#closed) return Promise.reject(this.o.down(new Error('closed')));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, timeoutMs, resolve, reject });
      this.#next();
    });
  }

  /** Threads started and not yet ended (the current one and any being replaced). */
  get threads(): number {
    return (this.#thread === null ? 0 : 1) + this.#ending.size;
  }

  /** Threads replaced and not yet ended: each may still be running a job past its timeout. */
  get abandoned(): number {
    return this.#ending.size;
  }

  /** Fails what is queued and ends every thread, waiting for each to end. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(this.o.down(new Error('closed')));
    if (this.#thread) this.#retire(this.#thread, new Error('closed'));
    await Promise.all([...this.#ending]);
  }

  #next(): void {
    if (this.#closed || this.#queue.length === 0 || this.#thread?.running) return;
    const job = this.#queue.shift()!;
    let thread: Thread<Result>;
    try {
      thread = this.#thread ?? (this.#thread = this.#start());
    } catch (error) {
      job.reject(this.o.down(error as Error));
      this.#next();
      return;
    }
    clearTimeout(thread.idle);
    thread.running = { id: this.#nextId++, job, timer: undefined };
    // Held only while a job runs: an idle thread never keeps the process alive, a running one does.
    thread.worker.ref();
    thread.worker.postMessage({ id: thread.running.id, ...job.request });
    if (thread.ready) this.#time(thread);
  }

  /** Starts the running job's timeout: once the thread is ready, so a new thread's start-up is not counted against it. */
  #time(thread: Thread<Result>): void {
    const running = thread.running;
    if (running === null || running.job.timeoutMs === undefined) return;
    running.timer = setTimeout(() => {
      if (thread.running !== running) return;
      thread.running = null;
      running.job.reject(this.o.timedOut());
      this.#retire(thread, null);
    }, running.job.timeoutMs);
  }

  #start(): Thread<Result> {
    const worker = this.o.start();
    let exited!: () => void;
    const thread: Thread<Result> = { worker, exited: new Promise((resolve) => { exited = resolve; }), ready: false, running: null, idle: undefined };
    worker.on('message', (reply: Reply) => {
      if (reply.kind === 'ready') {
        thread.ready = true;
        this.#time(thread);
        return;
      }
      if (reply.kind === 'failed') {
        const { error } = reply as Extract<ThreadReply, { kind: 'failed' }>;
        const message = `${this.o.startFailure ?? 'The thread could not start'}: ${error.message}`;
        this.#retire(thread, Object.assign(new Error(message), error.code === undefined ? {} : { code: error.code }));
        return;
      }
      const running = thread.running;
      if (running?.id !== (reply as { id: number }).id) return;
      clearTimeout(running.timer);
      thread.running = null;
      worker.unref();
      const outcome = this.o.answer(reply as Exclude<Reply, { kind: 'ready' | 'failed' }>);
      if ('result' in outcome) running.job.resolve(outcome.result);
      else running.job.reject(outcome.error);
      if (this.o.idleMs) thread.idle = setTimeout(() => this.#retire(thread, null), this.o.idleMs()).unref();
      this.#next();
    });
    worker.on('error', (error) => this.#retire(thread, error));
    worker.on('exit', (code) => {
      exited();
      this.#retire(thread, new Error(`the thread ended (exit code ${code})`));
    });
    return thread;
  }

  /**
   * Stops using `thread`: its running job, if any, fails (down, with `cause`) unless it already failed
   * otherwise, and the thread is ended. The next job starts another.
   */
  #retire(thread: Thread<Result>, cause: Error | null): void {
    if (this.#thread === thread) this.#thread = null;
    clearTimeout(thread.idle);
    const running = thread.running;
    thread.running = null;
    if (running) {
      clearTimeout(running.timer);
      running.job.reject(this.o.down(cause));
    }
    if (!this.#ending.has(thread.exited)) {
      this.#ending.add(thread.exited);
      void thread.exited.then(() => this.#ending.delete(thread.exited));
      // Ends the thread now, or, in the middle of a job that is not JavaScript, once it returns to JavaScript.
      void thread.worker.terminate();
    }
    this.#next();
  }
}
