// The search reader's thread (started by sqlite-read-worker.ts): its own read-only connection to the
// encrypted database file, running the read statements it is sent, one at a time, and answering each
// with its rows or its error. Loads nothing but the driver and the cipher's settings, so a server pays
// for the thread only once it searches.
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3-multiple-ciphers';
import { openEncryptedSqliteReader } from './sqlite-cipher.js';
import type { ReaderReply, ReaderRequest, ReaderSettings } from './sqlite-read-protocol.js';
import { waitAtGate } from './thread-test-gate.js';

const settings = workerData as ReaderSettings;
const port = parentPort!;

const failure = (error: unknown): { message: string; code?: string } => {
  const code = (error as { code?: unknown } | null)?.code;
  return { message: error instanceof Error ? error.message : String(error), ...(typeof code === 'string' ? { code } : {}) };
};

/** The prepared statements, kept as the main connection keeps its own (kysely.ts): the same few run on every search. */
function preparing(database: Database.Database, limit = 100): (source: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (source) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = database.prepare(source);
      if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
      cache.set(source, statement);
    }
    return statement;
  };
}

let database: Database.Database;
try {
  database = openEncryptedSqliteReader(settings.file, Buffer.from(settings.key));
  database.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
  if (settings.cacheMib !== undefined) database.pragma(`cache_size = ${-Math.trunc(settings.cacheMib) * 1024}`);
} catch (error) {
  port.postMessage({ kind: 'failed', error: failure(error) } satisfies ReaderReply);
  process.exit(1);
}
const prepare = preparing(database);
port.postMessage({ kind: 'ready' } satisfies ReaderReply);

// Each statement runs to its end and is reset (all()), so between statements the connection holds no
// read transaction: a checkpoint is never held back by an idle reader (search.sqlite.ts compact()).
port.on('message', ({ id, sql, parameters }: ReaderRequest) => {
  try {
    waitAtGate(settings.gate);
    const statement = prepare(sql);
    if (!statement.reader) throw new Error('The search reader runs only statements that return rows.');
    port.postMessage({ kind: 'rows', id, rows: statement.all(...parameters) } satisfies ReaderReply);
  } catch (error) {
    port.postMessage({ kind: 'error', id, error: failure(error) } satisfies ReaderReply);
  }
});
