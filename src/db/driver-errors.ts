// The drivers' errors that mean "the database cannot do this now, try again", turned into UNAVAILABLE
// once, where every statement of both dialects passes (the Kysely driver), so no caller sees SQLite's or
// PostgreSQL's codes and none of them becomes an internal error (docs/architecture.md "The database
// momentarily unavailable").
import type { DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';
import { DomainError, commitOutcomeUnknown } from '../domain/errors.js';

/**
 * The database could not run a statement at that moment, and may well the next (another process holds
 * SQLite's write lock, PostgreSQL ended a transaction or is restarting). A DomainError UNAVAILABLE with
 * `details.retryAfterSeconds`, so every interface answers it as "try again" (503 with Retry-After); a
 * class of its own so that the job worker can tell it from a part that may stay down (clamd, the blob
 * store) and never dead-letters a job for it. `cause` is the driver's error, for the log.
 */
export class DatabaseUnavailableError extends DomainError {
  constructor(message: string, retryAfterSeconds: number, cause: unknown, more: { commitOutcomeUnknown?: true } = {}) {
    super('UNAVAILABLE', message, { cause, details: { retryAfterSeconds, ...more } });
    this.name = 'DatabaseUnavailableError';
  }
}

export const CONCURRENT_CHANGE = 'Someone changed the same records at the same moment, so nothing was changed. Try again.';
export const DATABASE_DOWN = 'The database is not available at the moment. Try again in a few seconds.';
export const COMMIT_UNKNOWN = 'The database stopped answering while this change was being saved, so it may or may not have been saved. '
  + 'Look before trying again in a few seconds.';

/**
 * Contention that ends only the statement (or transaction) that met it, never half-written:
 * - SQLite: another connection (the CLI beside the server: a backup, a sweep) held the file's write lock
 *   past the busy timeout, or committed since this transaction began reading (SQLITE_BUSY and its extended
 *   codes, such as SQLITE_BUSY_SNAPSHOT). Not SQLITE_LOCKED: it is a conflict within one connection (a
 *   table another of its own statements holds), and Strongroom has one connection, used one statement
 *   at a time, so it would be a bug that recurs on every retry: an internal error (a job meeting it is
 *   dead-lettered, and so shown), not "try again".
 * - PostgreSQL: a transaction (or single statement) ended to break a lock cycle (40P01) or because it
 *   could not be ordered with another (40001), or a lock not obtained in time (55P03).
 * SQLite rolls back the statement; PostgreSQL the whole transaction (an autocommit statement is one).
 */
function isContention(code: unknown): boolean {
  return typeof code === 'string' && (/^SQLITE_BUSY(?:_[A-Z]+)?$/.test(code) || code === '40P01' || code === '40001' || code === '55P03');
}

/**
 * PostgreSQL unreachable or restarting: refused or lost connections (node's ECONNREFUSED and friends,
 * SQLSTATE class 08), too many connections (53300), an administrator's or a crash's shutdown and a
 * server still starting (57P01, 57P02, 57P03), and the `pg` driver's own words for a connection that
 * ended under it (it gives those no code). A failover or restart passes in seconds, so this is answered
 * 503 like contention, not as an internal error. Unlike contention, a connection lost during a commit
 * leaves its outcome unknown, so the message does not say that nothing was changed.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const SERVER_CODES = new Set(['53300', '57P01', '57P02', '57P03']);
const PG_CONNECTION_ENDED = /^(?:Connection terminated|Client has encountered a connection error and is not queryable)/;

function isDatabaseDown(error: unknown, code: unknown): boolean {
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  return error instanceof Error && code === undefined && PG_CONNECTION_ENDED.test(error.message);
}

/**
 * The error a caller sees for a driver's `error`: a DatabaseUnavailableError, or `error` itself.
 * `committing`: the error ended a COMMIT. Contention there means the transaction was not committed
 * (PostgreSQL rolls it back; SQLite's stays open and Kysely rolls it back), but a connection lost there
 * leaves the outcome unknown: PostgreSQL may have received the COMMIT and finish it after the client
 * gave up, so a look at once may not see it yet. That error says so (`details.commitOutcomeUnknown`,
 * domain/errors.ts commitOutcomeUnknown), and whoever cleans up after a failed write keeps what a
 * committed row may name (a stored blob is left to the orphan sweep, which is fenced).
 */
export function translateDriverError(error: unknown, committing = false): unknown {
  if (error instanceof DomainError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (isContention(code)) return new DatabaseUnavailableError(CONCURRENT_CHANGE, 1, error);
  if (isDatabaseDown(error, code)) {
    return committing ? new DatabaseUnavailableError(COMMIT_UNKNOWN, 5, error, { commitOutcomeUnknown: true }) : new DatabaseUnavailableError(DATABASE_DOWN, 5, error);
  }
  return error;
}

/**
 * `dialect` with its driver's failures translated (translateDriverError): every statement, the
 * transaction's begin, commit and rollback, and taking a connection from the pool. Only the driver is
 * wrapped; the adapter, compiler and introspector are the dialect's own (prepared-query.ts keys its
 * compiled statements by the adapter).
 */
export function translatingDriverErrors(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new TranslatingDriver(dialect.createDriver()),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

const translated = async <T>(work: () => Promise<T>, committing = false): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw translateDriverError(error, committing);
  }
};

/**
 * Hands each connection out wrapped (its statements' failures translated) and gives the driver back
 * its own when asked to begin, commit or release on it: the driver's connections carry its private
 * state (pg's release, the discard after a failed rollback).
 */
class TranslatingDriver implements Driver {
  readonly #inner = new WeakMap<DatabaseConnection, DatabaseConnection>();
  readonly #wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();
  /** A connection whose COMMIT just failed with its outcome unknown: that error, until the rollback after it. */
  readonly #commitUnknown = new WeakMap<DatabaseConnection, unknown>();

  constructor(private readonly driver: Driver) {}

  init(): Promise<void> {
    return translated(() => this.driver.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await translated(() => this.driver.acquireConnection());
    // Every statement outside a transaction acquires a connection: the drivers hand out the same few
    // (SQLite's one, a pool's clients), so each is wrapped once.
    const known = this.#wrapped.get(connection);
    if (known) return known;
    const wrapped: DatabaseConnection = {
      executeQuery: <R>(query: Parameters<DatabaseConnection['executeQuery']>[0]): Promise<QueryResult<R>> => translated(() => connection.executeQuery<R>(query)),
      streamQuery: <R>(query: Parameters<DatabaseConnection['streamQuery']>[0], chunkSize?: number): AsyncIterableIterator<QueryResult<R>> => streamTranslated(connection.streamQuery<R>(query, chunkSize)),
    };
    this.#inner.set(wrapped, connection);
    this.#wrapped.set(connection, wrapped);
    return wrapped;
  }

  #own(connection: DatabaseConnection): DatabaseConnection {
    return this.#inner.get(connection) ?? connection;
  }

  beginTransaction(connection: DatabaseConnection, settings: Parameters<Driver['beginTransaction']>[1]): Promise<void> {
    return translated(() => this.driver.beginTransaction(this.#own(connection), settings));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const own = this.#own(connection);
    try {
      await translated(() => this.driver.commitTransaction(own), true);
    } catch (error) {
      if (commitOutcomeUnknown(error)) this.#commitUnknown.set(own, error);
      throw error;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const own = this.#own(connection);
    // Kysely rolls back after a failed COMMIT, and throws the rollback's error if that fails too (as it
    // does on a connection that ended): the commit's unknown outcome must not be lost behind it.
    const unknown = this.#commitUnknown.get(own);
    this.#commitUnknown.delete(own);
    try {
      await translated(() => this.driver.rollbackTransaction(own));
    } catch (error) {
      throw unknown ?? error;
    }
  }

  savepoint(connection: DatabaseConnection, name: string, compileQuery: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    return translated(async () => {
      if (!this.driver.savepoint) throw new Error('This database driver has no savepoints.');
      await this.driver.savepoint(this.#own(connection), name, compileQuery);
    });
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]): Promise<void> {
    return translated(async () => {
      if (!this.driver.rollbackToSavepoint) throw new Error('This database driver has no savepoints.');
      await this.driver.rollbackToSavepoint(this.#own(connection), name, compileQuery);
    });
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]): Promise<void> {
    return translated(async () => {
      if (!this.driver.releaseSavepoint) throw new Error('This database driver has no savepoints.');
      await this.driver.releaseSavepoint(this.#own(connection), name, compileQuery);
    });
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.driver.releaseConnection(this.#own(connection));
  }

  destroy(): Promise<void> {
    return this.driver.destroy();
  }
}

async function* streamTranslated<R>(rows: AsyncIterableIterator<QueryResult<R>>): AsyncIterableIterator<QueryResult<R>> {
  try {
    yield* rows;
  } catch (error) {
    throw translateDriverError(error);
  }
}
