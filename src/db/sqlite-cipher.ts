// The embedded database's page cipher: opening the file under it, and converting, once, a file
// written under the cipher Strongroom used before (docs/architecture.md "The database's page cipher").
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
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

/** True if the key opens the file; false only for SQLite's "file is not a database", which is what a wrong key or cipher reads as. */
function opens(database: Database.Database): boolean {
  try {
    database.prepare('select count(*) from sqlite_master').get();
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB') return false;
    if (code === 'SQLITE_BUSY') {
      throw new Error('Cannot open the database: another process holds it exclusively (a Strongroom process converting it to the current cipher). Try again in a moment.', { cause: error });
    }
    throw error;
  }
}

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
  const opened = openCurrent(file, key);
  if (opened) return opened;
  const converted = convertFromLegacy(file, key);
  // Not under the earlier cipher either; but another process may have converted it in between.
  const reopened = openCurrent(file, key);
  if (reopened) return reopened;
  throw converted ? new Error(`Converting ${file} to the current cipher left a file the key does not open.`) : new DatabaseKeyError();
}

function openCurrent(file: string, key: Buffer): Database.Database | null {
  const database = connect(file, keyCurrent, key);
  try {
    if (opens(database)) return database;
  } catch (error) {
    database.close();
    throw error;
  }
  database.close();
  return null;
}

/**
 * Rewrites a file written under the earlier cipher under the current one, or returns false if the key
 * does not open it under the earlier cipher either.
 *
 * The file itself is never rewritten in place: SQLite3 Multiple Ciphers changes a cipher with a rekey
 * that cannot run in WAL mode, and a crash in the middle of one would leave a rollback journal whose
 * pages are under one cipher and a file partly under the other. Instead, with every other connection
 * shut out for the whole conversion, the file is copied through SQLite (`VACUUM INTO`, still under the
 * earlier cipher), the copy is rekeyed, checked against the original table by table, made durable and
 * renamed over the original. A crash at any point leaves either the original, complete, or the
 * converted copy; whatever a crash left of a copy is removed before the next attempt.
 */
function convertFromLegacy(file: string, key: Buffer): boolean {
  const legacy = connect(file, keyLegacy, key);
  try {
    if (!opens(legacy)) return false;
    try {
      // Leaving WAL mode folds the whole log into the file, and fails while any other connection has
      // the file open: a server still running the earlier build stops the conversion here. In
      // exclusive locking mode the lock taken by the first write is kept until this connection
      // closes, after the rename, so no process opens the file meanwhile. The lock is SQLite's on its
      // own descriptor: nothing here may open and close another descriptor on the file (a copy with
      // fs would), since closing any of a process's descriptors on a file drops all its locks on it.
      legacy.pragma('journal_mode = DELETE');
      legacy.pragma('locking_mode = EXCLUSIVE');
      legacy.exec('begin exclusive; commit');
    } catch (error) {
      throw new Error(`Cannot convert ${file} to the current cipher: another process has it open. Stop every Strongroom process using this data directory and start again.`, { cause: error });
    }
    const copy = `${file}.converting`;
    removeWithSidecars(copy);
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
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    renameSync(copy, file);
    syncPath(path.dirname(file));
    return true;
  } finally {
    legacy.close();
  }
}

/** A copy left by a crash, and its journal or log: unlinked, never followed (a symlink planted there is removed, not written through). */
function removeWithSidecars(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

/** The converted copy must open under the current cipher, pass SQLite's integrity check and hold as many rows in every table as the original. */
function requireSameContent(original: Database.Database, copy: string, key: Buffer): void {
  const converted = openCurrent(copy, key);
  if (!converted) throw new Error(`Converting the database to the current cipher failed: the copy ${copy} does not open under it.`);
  try {
    const check = converted.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`Converting the database to the current cipher failed: the copy ${copy} fails SQLite's integrity check (${String(check)}).`);
    const tables = original.prepare(`select name from sqlite_master where type = 'table' and sql not like 'CREATE VIRTUAL TABLE%'`).pluck().all() as string[];
    for (const table of tables) {
      const count = (database: Database.Database): unknown => database.prepare(`select count(*) from "${table.replaceAll('"', '""')}"`).pluck().get();
      if (count(original) !== count(converted)) throw new Error(`Converting the database to the current cipher failed: table ${table} of the copy ${copy} does not hold the original's rows.`);
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
