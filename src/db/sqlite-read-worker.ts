// The search's reads on SQLite, off the main thread: a worker thread with its own read-only connection
// to the same encrypted file runs them, so a long full-text search no longer stalls every other request
// (docs/architecture.md "Search reads on a second connection"). Started with the first search, replaced
// when a statement outlives its timeout (better-sqlite3 cannot interrupt one), ended with the vault.
import type { Worker } from 'node:worker_threads';
import {
  Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type QueryResult,
} from 'kysely';
import { startThread } from '../integrations/thread-script.js';
import { DatabaseUnavailableError, translatingDriverErrors } from './driver-errors.js';
import { nulGuard } from './nul-guard.js';
import type { ReaderReply, ReaderRequest, ReaderSettings } from './sqlite-read-protocol.js';
import type { Schema } from './schema.js';

export const SEARCH_READER_DOWN = 'Search is not available at the moment. Try again in a few seconds.';

/** A statement ran past its timeout; the thread running it was replaced. */
export class ReadTimedOutError extends Error {
  constructor() {
    super('The statement ran past its timeout on the search reader.');
    this.name = 'ReadTimedOutError';
  }
}

interface Pending {
  request: Omit<ReaderRequest, 'id'>;
  timeoutMs: number | undefined;
  resolve: (rows: unknown[]) => void;
  reject: (error: unknown) => void;
}

interface Thread {
  worker: Worker;
  exited: Promise<void>;
  /** The connection is open: statements sent before are waiting in the thread's queue. */
  ready: boolean;
  running: { id: number; pending: Pending; timer: NodeJS.Timeout | undefined } | null;
}

/**
 * Runs read statements, one at a time in the order given, on a thread of its own. A statement's
 * timeout counts from when it is sent to a ready thread, not while it waits behind another or for a
 * new thread to open the database. A thread that failed to open the file, died, or ran past a
 * timeout fails its statement (UNAVAILABLE, 503, or ReadTimedOutError) and is left to end; the next
 * statement starts a new one.
 */
export class SqliteReadWorker {
  #thread: Thread | null = null;
  /** Threads replaced or failed, until they have ended: a terminated one ends only when its statement returns. */
  readonly #ending = new Set<Promise<void>>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(private readonly settings: ReaderSettings) {}

  execute(request: Omit<ReaderRequest, 'id'>, timeoutMs?: number): Promise<unknown[]> {
    if (this.#closed) return Promise.reject(new DatabaseUnavailableError(SEARCH_READER_DOWN, 5, new Error('the search reader is closed')));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, timeoutMs, resolve, reject });
      this.#next();
    });
  }

  /** Threads started and not yet ended (the current one and any being replaced): for tests. */
  get threads(): number {
    return (this.#thread === null ? 0 : 1) + this.#ending.size;
  }

  /**
   * Threads replaced and not yet ended: each may still be running a statement past its timeout, with
   * its connection, page cache and a core (the search budget counts them against the node's cap).
   */
  get abandoned(): number {
    return this.#ending.size;
  }

  /** Fails what is queued and ends every thread, waiting for each to end. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) pending.reject(new DatabaseUnavailableError(SEARCH_READER_DOWN, 5, new Error('the search reader was closed')));
    if (this.#thread) this.#retire(this.#thread, new Error('the search reader was closed'));
    await Promise.all([...this.#ending]);
  }

  #next(): void {
    if (this.#closed || this.#queue.length === 0 || this.#thread?.running) return;
    const pending = this.#queue.shift()!;
    let thread: Thread;
    try {
      thread = this.#thread ?? (this.#thread = this.#start());
    } catch (error) {
      pending.reject(new DatabaseUnavailableError(SEARCH_READER_DOWN, 5, error));
      this.#next();
      return;
    }
    thread.running = { id: this.#nextId++, pending, timer: undefined };
    // Held only while a statement runs: an idle reader never keeps the process alive, a running one does.
    thread.worker.ref();
    thread.worker.postMessage({ id: thread.running.id, ...pending.request } satisfies ReaderRequest);
    if (thread.ready) this.#timeStatement(thread);
  }

  /** Starts the running statement's timeout: once the thread is ready, so a new thread's start-up is not counted against it. */
  #timeStatement(thread: Thread): void {
    const running = thread.running;
    if (running === null || running.pending.timeoutMs === undefined) return;
    running.timer = setTimeout(() => {
      if (thread.running !== running) return;
      thread.running = null;
      running.pending.reject(new ReadTimedOutError());
      this.#retire(thread, null);
    }, running.pending.timeoutMs);
  }

  #start(): Thread {
    // Built, the thread's module stays unbundled in dist/db beside this one's file (integrations/thread-script.ts).
    const worker = startThread(import.meta.url, 'sqlite-read-thread', { workerData: this.settings });
    let exited!: () => void;
    const thread: Thread = { worker, exited: new Promise((resolve) => { exited = resolve; }), ready: false, running: null };
    worker.on('message', (reply: ReaderReply) => {
      if (reply.kind === 'ready') {
        thread.ready = true;
        this.#timeStatement(thread);
        return;
      }
      if (reply.kind === 'failed') {
        this.#retire(thread, Object.assign(new Error(`The search reader could not open the database: ${reply.error.message}`), { code: reply.error.code }));
        return;
      }
      const running = thread.running;
      if (running?.id !== reply.id) return;
      clearTimeout(running.timer);
      thread.running = null;
      worker.unref();
      if (reply.kind === 'rows') running.pending.resolve(reply.rows);
      else running.pending.reject(Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code }));
      this.#next();
    });
    worker.on('error', (error) => this.#retire(thread, error));
    worker.on('exit', (code) => {
      exited();
      this.#retire(thread, new Error(`the search reader's thread ended (exit code ${code})`));
    });
    return thread;
  }

  /**
   * Stops using `thread`: its running statement, if any, fails (UNAVAILABLE, with `cause`) unless it
   * already failed otherwise, and the thread is ended. The next statement starts another.
   */
  #retire(thread: Thread, cause: Error | null): void {
    if (this.#thread === thread) this.#thread = null;
    const running = thread.running;
    thread.running = null;
    if (running) {
      clearTimeout(running.timer);
      running.pending.reject(new DatabaseUnavailableError(SEARCH_READER_DOWN, 5, cause));
    }
    if (!this.#ending.has(thread.exited)) {
      this.#ending.add(thread.exited);
      void thread.exited.then(() => this.#ending.delete(thread.exited));
      // Ends the thread now, or, in the middle of a statement, once the statement returns to JavaScript.
      void thread.worker.terminate();
    }
    this.#next();
  }
}

/**
 * A Kysely over the search reader: the same SQLite compiler and NUL guard as the main connection's
 * (kysely.ts), so the statements are the ones the main connection would run; each is sent to the
 * reader with `timeoutMs`. Reads only: no transactions, no streaming.
 */
export function readerKysely(reader: SqliteReadWorker, timeoutMs?: number): Kysely<Schema> {
  const connection: DatabaseConnection = {
    async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
      return { rows: (await reader.execute({ sql: compiled.sql, parameters: compiled.parameters }, timeoutMs)) as R[] };
    },
    async *streamQuery() {
      throw new Error('The search reader does not stream.');
    },
  };
  const readsOnly = (): Promise<never> => Promise.reject(new Error('The search reader runs no transactions.'));
  const driver: Driver = {
    init: async () => undefined,
    acquireConnection: async () => connection,
    beginTransaction: readsOnly,
    commitTransaction: readsOnly,
    rollbackTransaction: readsOnly,
    releaseConnection: async () => undefined,
    destroy: async () => undefined,
  };
  const dialect: Dialect = {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
  return new Kysely<Schema>({ dialect: translatingDriverErrors(dialect), plugins: [nulGuard] });
}
