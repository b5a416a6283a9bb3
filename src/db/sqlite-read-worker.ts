// The search's reads on SQLite, off the main thread: a worker thread with its own read-only connection
// to the same encrypted file runs them, so a long full-text search no longer stalls every other request
// (docs/architecture.md "Search reads on a second connection"). Started with the first search, replaced
// when a statement outlives its timeout (better-sqlite3 cannot interrupt one), ended with the vault.
import {
  Kysely, SqliteAdapter, SqliteIntrospector,
  type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type QueryResult,
} from 'kysely';
import { ThreadJobs, startThread } from '../integrations/thread-script.js';
import { DatabaseUnavailableError, translatingDriverErrors } from './driver-errors.js';
import { nulGuard } from './nul-guard.js';
import type { ReaderReply, ReaderRequest, ReaderSettings } from './sqlite-read-protocol.js';
import { LiteralLimitSqliteQueryCompiler } from './sqlite-query-compiler.js';
import type { Schema } from './schema.js';

export const SEARCH_READER_DOWN = 'Search is not available at the moment. Try again in a few seconds.';

/** A statement ran past its timeout; the thread running it was replaced. */
export class ReadTimedOutError extends Error {
  constructor() {
    super('The statement ran past its timeout on the search reader.');
    this.name = 'ReadTimedOutError';
  }
}

/**
 * Runs read statements, one at a time in the order given, on a thread of its own (integrations/thread-script.ts
 * ThreadJobs). A statement's timeout counts from when it is sent to a ready thread, not while it waits behind
 * another or for a new thread to open the database. A thread that failed to open the file, died, or ran past a
 * timeout fails its statement (UNAVAILABLE, 503, or ReadTimedOutError) and is left to end; the next statement
 * starts a new one.
 */
export class SqliteReadWorker {
  readonly #jobs: ThreadJobs<Omit<ReaderRequest, 'id'>, ReaderReply, unknown[]>;

  constructor(settings: ReaderSettings) {
    this.#jobs = new ThreadJobs<Omit<ReaderRequest, 'id'>, ReaderReply, unknown[]>({
      // Built, the thread's module stays unbundled in dist/db beside this one's file (integrations/thread-script.ts).
      start: () => startThread(import.meta.url, 'sqlite-read-thread', { workerData: settings }),
      answer: (reply) => (reply.kind === 'rows' ? { result: reply.rows }
        : { error: Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code }) }),
      down: (cause) => new DatabaseUnavailableError(SEARCH_READER_DOWN, 5, cause),
      startFailure: 'The search reader could not open the database',
      timedOut: () => new ReadTimedOutError(),
    });
  }

  execute(request: Omit<ReaderRequest, 'id'>, timeoutMs?: number): Promise<unknown[]> {
    return this.#jobs.run(request, timeoutMs);
  }

  /** Threads started and not yet ended (the current one and any being replaced): for tests. */
  get threads(): number {
    return this.#jobs.threads;
  }

  /**
   * Threads replaced and not yet ended: each may still be running a statement past its timeout, with
   * its connection, page cache and a core (the search budget counts them against the node's cap).
   */
  get abandoned(): number {
    return this.#jobs.abandoned;
  }

  /** Fails what is queued and ends every thread, waiting for each to end. */
  close(): Promise<void> {
    return this.#jobs.close();
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
    createQueryCompiler: () => new LiteralLimitSqliteQueryCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
  return new Kysely<Schema>({ dialect: translatingDriverErrors(dialect), plugins: [nulGuard] });
}
