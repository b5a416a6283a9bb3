// Database factory: embedded, encrypted SQLite by default; PostgreSQL when a postgres:// URL is given.
// Dialect differences are gathered in `caps`, not scattered through the repositories.
import type Database from 'better-sqlite3-multiple-ciphers';
import { Kysely, PostgresDialect, sql, type PostgresPool } from 'kysely';
import type { GatherBehind } from './coalesced-inserts.js';
import { translatingDriverErrors } from './driver-errors.js';
import { GroupCommit, KeptFileSync, type SyncFile } from './group-commit.js';
import { nulGuard } from './nul-guard.js';
import { openEncryptedSqlite } from './sqlite-cipher.js';
import { LiteralLimitSqliteDialect } from './sqlite-query-compiler.js';
import { snapshotOnThread } from './sqlite-snapshot.js';
import { readerKysely, SqliteReadWorker } from './sqlite-read-worker.js';
import type { Schema } from './schema.js';

export interface DialectCaps {
  dialect: 'sqlite' | 'postgres';
  /** Column type for binary data. */
  binary: 'blob' | 'bytea';
  /** Column type for 64-bit integers. */
  bigint: 'integer' | 'bigint';
  /** Row locks (`FOR UPDATE SKIP LOCKED`) exist; SQLite serialises writers instead. */
  rowLocks: boolean;
}

export interface DatabaseHandle {
  db: Kysely<Schema>;
  caps: DialectCaps;
  /**
   * Resolves once every write committed before the call is on disk. SQLite: group commit (one shared
   * fdatasync of the write-ahead log, off the event loop); PostgreSQL: at once, since its commit
   * already waited for its own WAL flush.
   */
  durable(): Promise<void>;
  /**
   * SQLite only: lets a writer whose callers await durable() gather them behind the log's sync in
   * flight and commit once when it ends (GroupCommit.commitAfterSync). PostgreSQL flushes its WAL at
   * each commit, so there is no sync to gather behind.
   */
  commitAfterSync?: GatherBehind;
  /**
   * SQLite only: a Kysely whose statements run on the search reader's thread and connection
   * (sqlite-read-worker.ts), each stopped after `timeoutMs` (ReadTimedOutError), for the search's
   * reads. PostgreSQL's search has connections of its own in the pool.
   */
  searchReads?: (timeoutMs?: number) => Kysely<Schema>;
  /** SQLite only: search reader threads replaced (a statement past its timeout) and still running (SqliteReadWorker.abandoned). */
  abandonedSearchReads?: () => number;
  /**
   * SQLite only: a consistent copy of the database in the new file `into`, encrypted as the original,
   * made on a thread and connection of its own (sqlite-snapshot.ts). PostgreSQL's snapshot is a transaction (snapshot.ts).
   */
  snapshotInto?: (into: string) => Promise<void>;
  close(): Promise<void>;
}

export interface SqliteOptions {
  file: string;
  /** 32-byte key derived from the master key; the file is unreadable without it. */
  key: Buffer;
  /**
   * Page cache in MiB (this build's default is 16 MB): pages past it are read and decrypted again.
   * The search reader's connection keeps this; the main connection too, unless mainCacheMib is given.
   */
  cacheMib?: number;
  /** The main connection's page cache in MiB, when it is to differ from the search reader's (cacheMib). */
  mainCacheMib?: number;
  /** How the write-ahead log is made durable (tests hold it back); fdatasync through a kept descriptor by default. */
  syncFile?: SyncFile;
  /** Test seam: holds the search reader's statements (sqlite-read-protocol.ts ReaderSettings.gate). */
  searchReadGate?: Int32Array;
  /** Test seam: holds the snapshot's thread before it copies (sqlite-snapshot.ts). */
  snapshotGate?: Int32Array;
}

/** How long a statement waits for a lock another connection holds before failing SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/**
 * The page cache of the connection that copies the database for a backup (snapshotInto). VACUUM INTO
 * reads each page once, so a larger cache buys nothing: with SQLite's default of 16 MB, copying a 1 GB
 * vault held 32 MB more, and took longer (docs/performance.md "The scheduled backup's copy, off the event loop").
 */
export const SNAPSHOT_CACHE_MIB = 2;
/** Prepared statements the main connection keeps (withStatementCache). */
export const STATEMENT_CACHE_SIZE = 500;

/**
 * How many pages the write-ahead log grows to before the commit that crosses the mark copies it into
 * the database (a checkpoint, on the event loop, synced). A checkpoint copies each page the log holds
 * once, however often it changed since the last: the hot pages of a small upload's tables and indexes
 * change with every upload, so a longer log copies them less often. SQLite's 1,000 pages checkpointed
 * every 70-odd commits of a small upload's size; 10,000 (about 40 MB of log on disk, encrypted as
 * the database is) costs 8 % less CPU per small upload, measured side by side, and stalls the loop
 * seven times less often, for up to a tenth of a second each time (docs/performance.md,
 * "Checkpoints, and blob reads that end where the file does").
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

export function openSqlite({ file, key, cacheMib, mainCacheMib, syncFile, searchReadGate, snapshotGate }: SqliteOptions): DatabaseHandle {
  const database = openEncryptedSqlite(file, key);
  try {
    database.pragma('journal_mode = WAL');
  } catch (error) {
    database.close();
    throw error;
  }
  // NORMAL in WAL mode: a commit writes the log but does not fsync it (checkpoints still sync), so
  // commits never block the event loop on the disk; durability comes from the group commit's
  // durable(), which every acknowledgement awaits (docs/architecture.md "Durability").
  database.pragma('synchronous = NORMAL');
  database.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  database.pragma('foreign_keys = ON');
  // Deleted rows, and pages freed (an FTS5 segment merged away, a row's overflow), are overwritten
  // with zeros as they go, so they hold no removed text once the log holding the change is
  // checkpointed. This stands in for a VACUUM, which rebuilds the whole database in temporary
  // storage, here memory (sqlite-cipher.ts), so would need as much RAM as the file is large; what it
  // does not reach (copies a b-tree rebalance left in a live page's free space) is in docs/search.md.
  database.pragma('secure_delete = ON');
  database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // A negative cache_size is in KiB. A page is decrypted once when it enters the cache, so a search
  // that walks tens of MB of index is decrypting, not reading, when the cache is too small for it.
  const mainCache = mainCacheMib ?? cacheMib;
  if (mainCache !== undefined) database.pragma(`cache_size = ${-Math.trunc(mainCache) * 1024}`);
  const keptLog = new KeptFileSync();
  const commits = new GroupCommit(`${file}-wal`, syncFile ?? keptLog.sync);
  const db = new Kysely<Schema>({ dialect: translatingDriverErrors(new LiteralLimitSqliteDialect({ database: withStatementCache(database, () => commits.noteCommit()) })), plugins: [nulGuard] });
  // Started with the first search: a process that never searches pays nothing for it.
  const reader = new SqliteReadWorker({
    file, key, busyTimeoutMs: BUSY_TIMEOUT_MS, ...(cacheMib === undefined ? {} : { cacheMib }), ...(searchReadGate ? { gate: searchReadGate } : {}),
  });
  return {
    db,
    caps: { dialect: 'sqlite', binary: 'blob', bigint: 'integer', rowLocks: false },
    durable: () => commits.durable(),
    commitAfterSync: () => commits.commitAfterSync(),
    searchReads: (timeoutMs) => readerKysely(reader, timeoutMs),
    abandonedSearchReads: () => reader.abandoned,
    snapshotInto: (into) => snapshotOnThread({ file, key, into, busyTimeoutMs: BUSY_TIMEOUT_MS, cacheMib: SNAPSHOT_CACHE_MIB, ...(snapshotGate ? { gate: snapshotGate } : {}) }),
    close: async () => {
      try {
        await reader.close();
        await db.destroy();
      } finally {
        await keptLog.close();
      }
    },
  };
}

/**
 * Kysely's SQLite driver prepares every statement afresh; the same few hundred statements run on
 * every request, so keep the prepared ones (better-sqlite3 statements are reusable), the least
 * recently run one making way for a new one: a burst of statements run once (a report, a sweep of
 * many shapes) then pushes out only each other, never what every request runs. Every statement
 * also reports when a write has been committed (`onCommit`): at once for an autocommit write, at the
 * end of the transaction for one inside it, so the group commit knows what its next sync must cover.
 */
function withStatementCache(database: Database.Database, onCommit: () => void, limit = STATEMENT_CACHE_SIZE): Database.Database {
  const cache = new Map<string, Database.Statement>();
  // A write inside a transaction counts once the transaction ends. A rollback also ends it and is then
  // reported as a commit: one sync too many, never one too few.
  let writtenInTransaction = false;
  const afterStatement = (statement: Database.Statement) => {
    if (!statement.readonly) writtenInTransaction = true;
    if (writtenInTransaction && !database.inTransaction) {
      writtenInTransaction = false;
      onCommit();
    }
  };
  const prepare = (source: string) => noticingCommits(database.prepare(source), afterStatement);
  return new Proxy(database, {
    get(target, property, receiver) {
      if (property !== 'prepare') return Reflect.get(target, property, receiver);
      return (source: string) => {
        let statement = cache.get(source);
        if (statement) {
          // A Map keeps its keys in the order they were set: set again, the statement is the newest.
          cache.delete(source);
        } else {
          statement = prepare(source);
          if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
        }
        cache.set(source, statement);
        return statement;
      };
    },
  });
}

/** Wraps a statement so that each execution is reported after it ran; the rest goes to the statement itself. */
function noticingCommits(statement: Database.Statement, afterStatement: (statement: Database.Statement) => void): Database.Statement {
  const afterwards = () => afterStatement(statement);
  const execute = (method: 'run' | 'all' | 'get') => (...parameters: unknown[]) => {
    try {
      return (statement[method] as (...p: unknown[]) => unknown)(...parameters);
    } finally {
      afterwards();
    }
  };
  const run = execute('run');
  const all = execute('all');
  const get = execute('get');
  return new Proxy(statement, {
    get(target, property) {
      if (property === 'run') return run;
      if (property === 'all') return all;
      if (property === 'get') return get;
      // better-sqlite3 statements are native objects: their methods must be called on the target.
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * `onIdleClientError`: a pooled connection that dies while idle (PostgreSQL restarted, an
 * administrator ended it, a failover) is dropped from the pool and reported here; the next query
 * opens a new one. Without a listener pg would raise it as an unhandled 'error' and end the process.
 */
export function openPostgres(url: string, poolSize = 10, onIdleClientError: (error: Error) => void = () => undefined): DatabaseHandle {
  // The driver is loaded with the first connection, so an embedded (SQLite) server never loads it.
  const pool = async (): Promise<PostgresPool> => {
    const pg = (await import('pg')).default;
    // pg returns int8 as strings to be safe beyond 2^53; our counts and sizes stay well below that.
    pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
    const created = new pg.Pool({ connectionString: url, max: poolSize });
    created.on('error', onIdleClientError);
    return created;
  };
  const db = new Kysely<Schema>({ dialect: translatingDriverErrors(new PostgresDialect({ pool })), plugins: [nulGuard] });
  return {
    db,
    caps: { dialect: 'postgres', binary: 'bytea', bigint: 'bigint', rowLocks: true },
    durable: () => Promise.resolve(),
    close: () => db.destroy(),
  };
}

export async function ping(db: Kysely<Schema>): Promise<void> {
  await sql`select 1`.execute(db);
}
