// The embedded database's page cipher: opening the file under it, and converting, once, a file
// written under the cipher Strongroom used before (docs/architecture.md "The database's page cipher").
import { closeSync, fstatSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';

/**
 * AEGIS-256 (SQLite3 Multiple Ciphers' `aegis`): every page is encrypted, each time it is written,
 * under a one-time key drawn from a fresh random nonce, with a 32-byte tag that is checked whenever
 * the page is read, so a page whose content was changed on disk is refused, as under
 * ChaCha20-Poly1305 before. What a per-page tag cannot show (a log cut short, an older copy of a page
 * or of the whole file put back) is in docs/architecture.md. It runs on the processor's AES
 * instructions: a small upload's commits cost about a tenth of its server CPU in page encryption under
 * ChaCha20 and almost nothing under AEGIS (docs/performance.md, "The database's page cipher"). The
 * algorithm is named rather than left to the library's default, which a later release could change
 * under existing files.
 *
 * The key is handed over raw (`raw:` and 64 hex digits): it is already a 256-bit subkey of the master
 * key, and a passphrase would put SQLite3 Multiple Ciphers' Argon2id in front of every open.
 */
function keyCurrent(database: Database.Database, key: Buffer): void {
  database.pragma(`cipher = 'aegis'`);
  database.pragma(`algorithm = 'aegis-256'`);
  database.pragma(`key = 'raw:${key.toString('hex')}'`);
}

/**
 * The cipher of files written before 3 December 2026: ChaCha20-Poly1305 (`chacha20`), with the key's
 * 32 bytes (given as hex) used as a passphrase, which ran PBKDF2-SHA256 (64,007 rounds) at every open.
 * Kept only to convert such a file.
 */
function keyLegacy(database: Database.Database, key: Buffer): void {
  database.pragma(`cipher = 'chacha20'`);
  database.pragma(`hexkey = '${key.toString('hex')}'`);
}

/**
 * Opens a connection to `file` under one cipher. SQLite writes the temporary tables, indexes and
 * sorts of a big query, and a rekey's whole rebuilt database, to unencrypted files in the temporary
 * directory unless told to keep them in memory: every connection to an encrypted file is told so.
 */
function connect(file: string, keying: (database: Database.Database, key: Buffer) => void, key: Buffer): Database.Database {
  const database = new Database(file);
  try {
    database.pragma('temp_store = MEMORY');
    keying(database, key);
    return database;
  } catch (error) {
    database.close();
    throw error;
  }
}

/**
 * Whether the key opens the file: false for SQLite's "file is not a database", which is what a wrong
 * key or cipher reads as, and for "malformed", which is what a file under the other cipher can read as
 * when SQLite first rolls back a journal a crash left beside it.
 */
function opens(database: Database.Database): boolean {
  try {
    database.prepare('select count(*) from sqlite_master').get();
    return true;
  } catch (error) {
    const code = sqliteCode(error);
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return false;
    if (code === 'SQLITE_BUSY') throw new DatabaseBusyError(error);
    throw error;
  }
}

/** The file stayed locked by another process for longer than a connection's busy timeout. */
class DatabaseBusyError extends Error {
  constructor(cause: unknown, message = 'Cannot open the database: another process holds a lock on it (for example a Strongroom process converting it to the current cipher). Try again in a moment.') {
    super(message, { cause });
    this.name = 'DatabaseBusyError';
  }
}

const sqliteCode = (error: unknown): unknown => (error as { code?: unknown }).code;

/**
 * Which file the path names now: device and inode, or null if there is none. A conversion renames its
 * copy over the path, so a connection opened before the rename is to the replaced file, which is
 * unlinked but still readable through it, while the log and shared memory it finds by name are the
 * new file's. Comparing the path's file before a connection opens with the path's file after the
 * connection has read tells whether the connection is to the file the path names.
 */
function fileAt(file: string): string | null {
  const stats = statSync(file, { throwIfNoEntry: false });
  return stats === undefined ? null : `${stats.dev}:${stats.ino}`;
}

/** Returned when the path was renamed over while a connection was being opened to it: open again. */
const REPLACED = Symbol('replaced while opening');

/**
 * How many times the path is opened again, when it was renamed over mid-open or stayed locked past a
 * busy timeout, before giving up: a conversion renames it once, and holds it for less than one busy
 * timeout unless the file is large.
 */
const ATTEMPTS = 5;

/** What is overwritten with zeros at the start of a file a conversion replaced: page 1, whatever the page size. */
const HEADER_BYTES = 65_536;

export class DatabaseKeyError extends Error {
  constructor() {
    super('Cannot open the database: the key does not match (is keys/master.key the one this data directory was created with?), or the file is damaged or not a Strongroom database.');
    this.name = 'DatabaseKeyError';
  }
}

/**
 * Opens (or creates) the encrypted database file with the current cipher. A file written under the
 * earlier cipher is converted first; a file neither opens is refused with DatabaseKeyError.
 */
export function openEncryptedSqlite(file: string, key: Buffer): Database.Database {
  let underNeither = false;
  let failure: Error = new Error(`Cannot open ${file}: it was replaced ${ATTEMPTS} times while being opened. Is another program writing to the data directory?`);
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    try {
      const opened = openCurrent(file, key);
      if (opened === REPLACED) continue;
      if (opened) return opened;
      // Not under the earlier cipher either; but another process may have converted it in between, so
      // the current cipher is tried once more before the key is called wrong.
      if (underNeither) throw new DatabaseKeyError();
      const conversion = convertFromLegacy(file, key);
      if (conversion === 'not-legacy') underNeither = true;
      if (conversion === 'converted') {
        const converted = openCurrent(file, key);
        if (converted === null) throw new Error(`Converting ${file} to the current cipher left a file the key does not open.`);
        if (converted !== REPLACED) return converted;
      }
    } catch (error) {
      if (!(error instanceof DatabaseBusyError)) throw error;
      failure = error;
    }
  }
  throw failure;
}

/**
 * A read-only connection to a file the server's own connection has already opened (and converted, if it
 * was under the earlier cipher), under the current cipher: the search reader's (sqlite-read-worker.ts).
 * It never converts or creates anything; a key that does not open the file is DatabaseKeyError.
 */
export function openEncryptedSqliteReader(file: string, key: Buffer): Database.Database {
  const database = new Database(file, { readonly: true, fileMustExist: true });
  try {
    database.pragma('temp_store = MEMORY');
    keyCurrent(database, key);
    if (!opens(database)) throw new DatabaseKeyError();
    return database;
  } catch (error) {
    database.close();
    throw error;
  }
}

/** A connection under the current cipher, null if the key does not open the file under it, or REPLACED. */
function openCurrent(file: string, key: Buffer): Database.Database | null | typeof REPLACED {
  const before = fileAt(file);
  const database = connect(file, keyCurrent, key);
  let opened: boolean;
  try {
    opened = opens(database);
  } catch (error) {
    database.close();
    if (fileAt(file) !== before) return REPLACED;
    throw error;
  }
  // Once this connection has read a file in WAL mode, it keeps a shared lock on it until it closes,
  // and no conversion can take the file from under it; so the check is needed only once, here.
  if (fileAt(file) !== before) {
    database.close();
    return REPLACED;
  }
  if (opened) return database;
  database.close();
  return null;
}

/**
 * Rewrites a file written under the earlier cipher under the current one; 'not-legacy' if the key
 * does not open it under the earlier cipher either, REPLACED if another process converted it first.
 *
 * The file's pages are never rewritten in place (leaving WAL mode changes two bytes of its header):
 * SQLite3 Multiple Ciphers changes a cipher with a rekey that cannot run in WAL mode, and a crash in the middle of one would leave a rollback journal whose
 * pages are under one cipher and a file partly under the other. Instead, with every other connection
 * shut out for the whole conversion, the file is copied through SQLite (`VACUUM INTO`, still under the
 * earlier cipher), the copy is rekeyed, checked against the original table by table, made durable and
 * renamed over the original. A crash at any point leaves either the original, complete, or the
 * converted copy; whatever a crash left of a copy is removed before the next attempt.
 */
function convertFromLegacy(file: string, key: Buffer): 'converted' | 'not-legacy' | typeof REPLACED {
  const before = fileAt(file);
  const legacy = connect(file, keyLegacy, key);
  let replaced: number | null = null;
  try {
    let opened: boolean;
    try {
      opened = opens(legacy);
    } catch (error) {
      if (fileAt(file) !== before) return REPLACED;
      throw error;
    }
    // A connection opened to a file another conversion has since renamed over must not write: leaving
    // WAL mode below would fold the new file's log, found by name, into the replaced one.
    if (fileAt(file) !== before) return REPLACED;
    if (!opened) return 'not-legacy';
    try {
      // Leaving WAL mode folds the whole log into the file, and fails while any other connection has
      // the file open: a server still running the earlier build stops the conversion here. In
      // exclusive locking mode the lock taken by the first write is kept until this connection
      // closes, after the rename, so no process reads or writes the file meanwhile (one that waits for
      // the lock finds, once it has it, a file that is no database, below). The lock is SQLite's on its
      // own descriptor: nothing here may close another descriptor on the file before that connection
      // closes (a copy with fs would), since closing any of a process's descriptors on a file drops
      // all its locks on it.
      legacy.pragma('journal_mode = DELETE');
      legacy.pragma('locking_mode = EXCLUSIVE');
      legacy.exec('begin exclusive; commit');
    } catch (error) {
      // Converted by another process while this one waited for the lock: the replaced file it then
      // got reads as no database at all (its first page zeroed, below).
      if (fileAt(file) !== before) return REPLACED;
      if (sqliteCode(error) !== 'SQLITE_BUSY') throw error;
      // Another process of this build starting at the same moment, which the next attempt finds
      // converting or done; or a server of the earlier build, which every attempt finds.
      throw new DatabaseBusyError(error, `Cannot convert ${file} to the current cipher: another process has it open. Stop every Strongroom process using this data directory and start again.`);
    }
    // A file not in WAL mode holds no lock between statements: another conversion may have renamed
    // over it before the lock above was taken. Now that it is held, the path cannot change again.
    if (fileAt(file) !== before) return REPLACED;
    replaced = openReplacedFile(file, before);
    const copy = `${file}.converting`;
    removeWithSidecars(copy);
    try {
      legacy.prepare('vacuum into ?').run(copy);
      const rekeyed = connect(copy, keyLegacy, key);
      try {
        rekeyed.pragma(`cipher = 'aegis'`);
        rekeyed.pragma(`algorithm = 'aegis-256'`);
        rekeyed.pragma(`rekey = 'raw:${key.toString('hex')}'`);
        rekeyed.pragma('journal_mode = WAL');
      } finally {
        rekeyed.close();
      }
      requireSameContent(legacy, copy, key);
      syncPath(copy);
    } catch (error) {
      // A copy that failed (a full disk, a check) is not kept taking the disk until the next start.
      try {
        removeWithSidecars(copy);
      } catch {
        // The failure to report is the first one.
      }
      throw error;
    }
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    renameSync(copy, file);
    syncPath(path.dirname(file));
    // A process of the earlier build that opened the file before the rename holds a descriptor on the
    // replaced file, and may take this lock once it is released; it would then read the replaced file
    // but find the new file's log by name, and write its pages, under the earlier cipher, into that
    // log (SQLite refuses a write to a renamed file only in rollback mode). With the replaced file's
    // first page zeroed, such a process fails at the first page it reads, before it writes anything
    // ("file is not a database"); a process of this build opens the path again and finds the new
    // file. Zeroed only now: before the rename the replaced file is the only whole copy. Not
    // truncated: SQLite deletes the log beside an empty database file. And only if the rename
    // unlinked it: one still reachable by another name (the target of a symlink the data directory
    // held, a hard link kept as a backup) is a copy someone may still need.
    const stats = fstatSync(replaced);
    if (stats.nlink === 0) writeSync(replaced, Buffer.alloc(Math.min(HEADER_BYTES, stats.size)), 0, undefined, 0);
    return 'converted';
  } finally {
    legacy.close();
    // Closed after SQLite's connection: closing any descriptor of a process on a file drops every
    // lock the process holds on it.
    if (replaced !== null) closeSync(replaced);
  }
}

/**
 * A descriptor of the process's own on the file the conversion holds locked, opened by its path
 * before the rename (the path cannot change while the lock is held) and checked to be that file.
 */
function openReplacedFile(file: string, expected: string | null): number {
  const fd = openSync(file, 'r+');
  const stats = fstatSync(fd);
  if (`${stats.dev}:${stats.ino}` !== expected) {
    closeSync(fd);
    throw new Error(`Cannot convert ${file} to the current cipher: the file changed while it was locked. Is another program writing to the data directory?`);
  }
  return fd;
}

/** A copy left by a crash, and its journal or log: unlinked, never followed (a symlink planted there is removed, not written through). */
function removeWithSidecars(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) {
    try {
      rmSync(`${file}${suffix}`, { force: true });
    } catch (error) {
      throw new Error(`Cannot convert the database to the current cipher: ${file}${suffix} is in the way and cannot be removed (${(error as Error).message}). Remove it and start again.`, { cause: error });
    }
  }
}

/**
 * The converted copy must open under the current cipher, pass SQLite's integrity check, have the
 * original's schema, and hold as many rows in every table as the original.
 */
function requireSameContent(original: Database.Database, copy: string, key: Buffer): void {
  const converted = connect(copy, keyCurrent, key);
  const failed = (what: string): Error => new Error(`Converting the database to the current cipher failed: the copy ${copy} ${what}.`);
  try {
    if (!opens(converted)) throw failed('does not open under it');
    const check = converted.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw failed(`fails SQLite's integrity check (${String(check)})`);
    const schema = (database: Database.Database): string => JSON.stringify(database.prepare('select type, name, tbl_name, sql from sqlite_master order by type, name').all());
    if (schema(original) !== schema(converted)) throw failed("does not have the original's tables, indexes and triggers");
    const tables = original.prepare(`select name from sqlite_master where type = 'table' and sql not like 'CREATE VIRTUAL TABLE%'`).pluck().all() as string[];
    for (const table of tables) {
      const count = (database: Database.Database): unknown => database.prepare(`select count(*) from "${table.replaceAll('"', '""')}"`).pluck().get();
      if (count(original) !== count(converted)) throw failed(`does not hold the original's rows in table ${table}`);
    }
  } finally {
    converted.close();
  }
}

function syncPath(target: string): void {
  const fd = openSync(target, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
