import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseKeyError, openEncryptedSqlite } from './sqlite-cipher.js';

const MODULE = new URL('./sqlite-cipher.ts', import.meta.url).href;

/** Runs openEncryptedSqlite in a process of its own (a second server, a CLI command): resolves with its output, or its error. */
function openInAnotherProcess(file: string, key: Buffer, { env = {}, writes = false, staysOpenMs = 0 }: { env?: Record<string, string>; writes?: boolean; staysOpenMs?: number } = {}): Promise<string> {
  // `writes`: as a server would, it writes a row as soon as it has the file open, and reports the count
  // it then reads. `staysOpenMs`: it keeps the file open that long after (its log stays beside it).
  const write = writes ? `d.prepare("insert into t (note) values ('written by ' || ?)").run(String(process.pid));` : '';
  const code = `import { openEncryptedSqlite } from ${JSON.stringify(MODULE)};
    try { const d = openEncryptedSqlite(${JSON.stringify(file)}, Buffer.from(${JSON.stringify(key.toString('hex'))}, 'hex'));
      ${write} console.log('opened ' + d.prepare('select count(*) from t').pluck().get()); setTimeout(() => d.close(), ${staysOpenMs}); }
    catch (e) { console.log('refused ' + e.message); }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', () => resolve(out.trim()));
  });
}

const MARKER = 'personnel-file-of-J-Bloggs';

/** A file as Strongroom wrote it before 3 December 2026: ChaCha20-Poly1305, the key's hex as a passphrase. */
function openLegacy(file: string, key: Buffer): Database.Database {
  const database = new Database(file);
  database.pragma(`cipher = 'chacha20'`);
  database.pragma(`hexkey = '${key.toString('hex')}'`);
  return database;
}

function openCurrent(file: string, key: Buffer): Database.Database {
  const database = new Database(file);
  database.pragma(`cipher = 'aegis'`);
  database.pragma(`algorithm = 'aegis-256'`);
  database.pragma(`key = 'raw:${key.toString('hex')}'`);
  return database;
}

const rows = (database: Database.Database): number => (database.prepare('select count(*) as n from t').get() as { n: number }).n;
const refuses = (database: Database.Database): void => {
  try {
    expect(() => database.prepare('select count(*) from sqlite_master').get()).toThrow(/not a database/);
  } finally {
    database.close();
  }
};
const digest = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const onDisk = (file: string): Buffer => Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)));

describe('the database page cipher', () => {
  let dir: string;
  let file: string;
  const key = randomBytes(32);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sr-cipher-'));
    file = path.join(dir, 'strongroom.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A legacy file in WAL mode whose last rows are only in its log, as a crash or a kill leaves it. */
  function legacyWithRowsInTheLog(count: number, noteBytes = 0): void {
    const writer = openLegacy(path.join(dir, 'writer.db'), key);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec(`create table t (id integer primary key, note text)`);
    writer.pragma('wal_checkpoint(TRUNCATE)');
    const insert = writer.prepare('insert into t (note) values (?)');
    const padding = 'x'.repeat(noteBytes);
    writer.transaction(() => {
      for (let i = 0; i < count; i++) insert.run(`${MARKER} ${i}${padding}`);
    })();
    copyFileSync(path.join(dir, 'writer.db'), file);
    copyFileSync(path.join(dir, 'writer.db-wal'), `${file}-wal`);
    writer.close();
  }

  it('writes a new file under AEGIS-256 with the raw key: no plaintext on disk, and the old cipher cannot read it', () => {
    const database = openEncryptedSqlite(file, key);
    database.pragma('journal_mode = WAL');
    database.exec(`create table t (id integer primary key, note text)`);
    database.prepare('insert into t (note) values (?)').run(MARKER);
    expect(onDisk(file).includes(MARKER)).toBe(false);
    database.close();
    expect(readFileSync(file).includes(MARKER)).toBe(false);
    const current = openCurrent(file, key);
    expect(rows(current)).toBe(1);
    current.close();
    refuses(openLegacy(file, key));
  });

  it('refuses a page changed on disk', () => {
    const database = openEncryptedSqlite(file, key);
    database.exec(`create table t (id integer primary key, note text)`);
    database.prepare('insert into t (note) values (?)').run(MARKER);
    database.close();
    const bytes = readFileSync(file);
    const page = 4096;
    expect(bytes.length).toBeGreaterThanOrEqual(2 * page);
    bytes[page + 100] = (bytes[page + 100] as number) ^ 1; // the table's page, not the header
    writeFileSync(file, bytes);
    const tampered = openEncryptedSqlite(file, key);
    try {
      expect(() => rows(tampered)).toThrow(/malformed|not a database|corrupt/i);
    } finally {
      tampered.close();
    }
  });

  it('converts a file written under the earlier cipher, rows still only in its log included, and leaves nothing behind', () => {
    legacyWithRowsInTheLog(500);
    const database = openEncryptedSqlite(file, key);
    expect(rows(database)).toBe(500);
    expect(database.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(String(database.pragma('journal_mode', { simple: true }))).toBe('wal');
    database.close();
    expect(existsSync(`${file}.converting`)).toBe(false);
    expect(onDisk(file).includes(MARKER)).toBe(false);
    const current = openCurrent(file, key);
    expect(rows(current)).toBe(500);
    current.close();
    refuses(openLegacy(file, key));
  });

  it('finishes a conversion a crash cut short: the half-made copy is replaced, the original was never touched', () => {
    legacyWithRowsInTheLog(50);
    writeFileSync(`${file}.converting`, randomBytes(10_000));
    const database = openEncryptedSqlite(file, key);
    expect(rows(database)).toBe(50);
    database.close();
    expect(existsSync(`${file}.converting`)).toBe(false);
  });

  it('refuses a wrong key on either cipher and changes nothing', () => {
    legacyWithRowsInTheLog(10);
    const before = [digest(file), digest(`${file}-wal`)];
    expect(() => openEncryptedSqlite(file, randomBytes(32))).toThrow(DatabaseKeyError);
    expect([digest(file), digest(`${file}-wal`)]).toEqual(before);
    expect(existsSync(`${file}.converting`)).toBe(false);

    const converted = openEncryptedSqlite(file, key);
    converted.close();
    const after = digest(file);
    expect(() => openEncryptedSqlite(file, randomBytes(32))).toThrow(/key does not match/);
    expect(digest(file)).toBe(after);
  });

  it('will not convert a file another process still has open, and leaves it readable as it was', () => {
    legacyWithRowsInTheLog(20);
    const olderServer = openLegacy(file, key);
    olderServer.pragma('journal_mode = WAL');
    expect(rows(olderServer)).toBe(20);
    try {
      expect(() => openEncryptedSqlite(file, key)).toThrow(/another process has it open/);
      expect(rows(olderServer)).toBe(20);
      expect(existsSync(`${file}.converting`)).toBe(false);
    } finally {
      olderServer.close();
    }
    const later = openEncryptedSqlite(file, key);
    expect(rows(later)).toBe(20);
    later.close();
  });

  it('keeps the connection it returns, and the conversion, off disk for temporary data', async () => {
    const database = openEncryptedSqlite(file, key);
    expect(database.pragma('temp_store', { simple: true })).toBe(2);
    database.close();
    rmSync(file);

    // A rekey that changes the cipher rebuilds the whole file through a temporary database, which
    // SQLite writes unencrypted to its temporary folder unless told to keep it in memory.
    legacyWithRowsInTheLog(2_000, 200);
    const temporary = path.join(dir, 'sqlite-tmp');
    mkdirSync(temporary);
    const created: string[] = [];
    const watcher = watch(temporary, (_event, name) => void (name && created.push(name)));
    try {
      expect(await openInAnotherProcess(file, key, { env: { SQLITE_TMPDIR: temporary } })).toBe('opened 2000');
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      watcher.close();
    }
    expect(created).toEqual([]);
    expect(readdirSync(temporary)).toEqual([]);
  });

  it('shuts every other process out for the whole conversion: two converting at once, and a writer of the earlier build, lose nothing', async () => {
    legacyWithRowsInTheLog(20_000, 1_000);
    const attempts = { refused: 0, wrote: 0 };
    let converting = true;
    const olderBuild = (async () => {
      while (converting) {
        const writer = openLegacy(file, key);
        try {
          writer.prepare('insert into t (note) values (?)').run('written by an older server during the upgrade');
          attempts.wrote += 1;
        } catch {
          attempts.refused += 1;
        } finally {
          writer.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const results = await Promise.all([openInAnotherProcess(file, key), openInAnotherProcess(file, key)]);
    converting = false;
    await olderBuild;
    // Whatever the older server managed to write before the conversion began was folded in; nothing it
    // wrote went to a file the conversion then replaced.
    const expected = 20_000 + attempts.wrote;
    for (const result of results) expect(result).toMatch(new RegExp(`^(opened ${expected}|refused .*(another process|holds it exclusively).*)$`));
    expect(results.filter((r) => r === `opened ${expected}`).length).toBeGreaterThanOrEqual(1);
    const converted = openEncryptedSqlite(file, key);
    try {
      expect(rows(converted)).toBe(expected);
      expect(converted.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      converted.close();
    }
    refuses(openLegacy(file, key));
    expect(attempts.refused).toBeGreaterThan(0);
  });

  it('loses no row when processes that each write as soon as they have it open race to convert it', async () => {
    legacyWithRowsInTheLog(5_000, 1_000);
    const processes = 4;
    const results = await Promise.all(Array.from({ length: processes }, () => openInAnotherProcess(file, key, { writes: true })));
    const opened = results.filter((r) => r.startsWith('opened '));
    for (const result of results) expect(result).toMatch(/^(opened \d+|refused .*(another process|holds it exclusively).*)$/);
    expect(opened.length).toBeGreaterThanOrEqual(1);
    const converted = openEncryptedSqlite(file, key);
    try {
      // Every row a process wrote after it opened is in the file the path names.
      expect(rows(converted)).toBe(5_000 + opened.length);
      expect(converted.prepare(`select count(*) from t where note like 'written by %'`).pluck().get()).toBe(opened.length);
      expect(converted.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      converted.close();
    }
  });

  it('refuses a process of the earlier build that opened the file during the conversion, at once or later, rather than let it write into the converted file', async () => {
    legacyWithRowsInTheLog(20_000, 1_000);
    const converting = openInAnotherProcess(file, key, { writes: true, staysOpenMs: 3_000 });
    while (!existsSync(`${file}.converting`)) await new Promise((resolve) => setTimeout(resolve, 1));
    // Two processes of the earlier build (its openSqlite: the cipher, the key, then WAL mode), started
    // now: they open the file the conversion holds. One goes on at once and waits for the lock; the
    // other goes on only once the converted file is in use, its log beside it.
    const atOnce = openLegacy(file, key);
    const later = openLegacy(file, key);
    const writeAsTheEarlierBuild = (database: Database.Database): string => {
      try {
        database.pragma('journal_mode = WAL');
        database.prepare('insert into t (note) values (?)').run('written by the earlier build');
        return 'wrote';
      } catch (error) {
        return String((error as { code?: unknown }).code);
      } finally {
        database.close();
      }
    };
    expect(writeAsTheEarlierBuild(atOnce)).toBe('SQLITE_NOTADB');
    // Until the converted file is in use, its log beside it (the converter then keeps it open 3 s):
    // waited for rather than slept on, since a loaded machine converts more slowly.
    const inUse = () => !existsSync(`${file}.converting`) && existsSync(`${file}-wal`) && readFileSync(`${file}-wal`).length > 0;
    for (const giveUp = Date.now() + 60_000; !inUse() && Date.now() < giveUp;) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(readFileSync(`${file}-wal`).length).toBeGreaterThan(0);
    expect(writeAsTheEarlierBuild(later)).toBe('SQLITE_NOTADB');
    expect(await converting).toBe('opened 20001');
    const converted = openEncryptedSqlite(file, key);
    try {
      expect(converted.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(rows(converted)).toBe(20_001);
    } finally {
      converted.close();
    }
  });

  it('leaves alone a hard link to the file kept as a backup before the upgrade', () => {
    legacyWithRowsInTheLog(40);
    const folded = openLegacy(file, key); // a backup taken the usual way: the log folded in first
    folded.pragma('wal_checkpoint(TRUNCATE)');
    folded.close();
    const backup = path.join(dir, 'before-upgrade.db');
    linkSync(file, backup);
    const database = openEncryptedSqlite(file, key);
    try {
      expect(rows(database)).toBe(40);
    } finally {
      database.close();
    }
    const kept = openLegacy(backup, key);
    try {
      expect(rows(kept)).toBe(40);
    } finally {
      kept.close();
    }
  });

  it('converts a file of the earlier cipher that a crash left with a hot rollback journal, rolled back', () => {
    const original = path.join(dir, 'writer.db');
    const writer = openLegacy(original, key);
    writer.pragma('journal_mode = DELETE');
    writer.exec(`create table t (id integer primary key, note text)`);
    const insert = writer.prepare('insert into t (note) values (?)');
    writer.transaction(() => {
      for (let i = 0; i < 100; i++) insert.run(`${MARKER} ${i}`);
    })();
    // A transaction big enough to spill changed pages into the file before it commits: the journal
    // beside it then holds the pages it overwrote, and a copy taken now is what a crash leaves.
    writer.pragma('cache_size = 10');
    writer.exec('begin');
    for (let i = 0; i < 2_000; i++) insert.run(`uncommitted ${'y'.repeat(500)}`);
    expect(existsSync(`${original}-journal`)).toBe(true);
    copyFileSync(original, file);
    copyFileSync(`${original}-journal`, `${file}-journal`);
    writer.exec('rollback');
    writer.close();

    const database = openEncryptedSqlite(file, key);
    try {
      expect(rows(database)).toBe(100);
      expect(database.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      database.close();
    }
    expect(existsSync(`${file}-journal`)).toBe(false);
  });

  it('removes, without following, a symlink or a crashed rekey\'s journal planted beside the file', () => {
    legacyWithRowsInTheLog(300);
    const outside = path.join(dir, 'important.conf');
    writeFileSync(outside, 'IMPORTANT CONFIG', { mode: 0o600 });
    symlinkSync(outside, `${file}.converting`);
    writeFileSync(`${file}.converting-journal`, randomBytes(8192));
    const database = openEncryptedSqlite(file, key);
    try {
      expect(rows(database)).toBe(300);
    } finally {
      database.close();
    }
    expect(readFileSync(outside, 'utf8')).toBe('IMPORTANT CONFIG');
    expect(existsSync(`${file}.converting`)).toBe(false);
    expect(existsSync(`${file}.converting-journal`)).toBe(false);
  });
});
