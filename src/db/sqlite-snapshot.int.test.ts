// The database copied on a thread of its own (sqlite-snapshot.ts): the copy is the database, encrypted
// under the same key, and every way the copy can fail is a rejection that says so, not a hang.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigratedSqlite } from '../../test/support/store.js';
import { openEncryptedSqliteReader } from './sqlite-cipher.js';
import { snapshotOnThread } from './sqlite-snapshot.js';

describe('a copy of the SQLite database made on its own thread', () => {
  let source: Awaited<ReturnType<typeof openMigratedSqlite>>;
  let work: string;
  beforeAll(async () => {
    source = await openMigratedSqlite();
    work = await mkdtemp(path.join(tmpdir(), 'sr-snapshot-'));
    await sql`insert into key_values (key, value) values ('snapshot.test', 'copied')`.execute(source.handle.db);
  });
  afterAll(async () => {
    await source?.remove();
    await rm(work, { recursive: true, force: true });
  });
  const settings = (into: string, key: Buffer = source.key) => ({ file: source.file, key, into, busyTimeoutMs: 1000, cacheMib: 2 });

  it('holds what the database held, encrypted under the same key', async () => {
    const into = path.join(work, 'copy.db');
    await snapshotOnThread(settings(into));
    const copy = openEncryptedSqliteReader(into, source.key);
    try {
      expect(copy.prepare(`select value from key_values where key = 'snapshot.test'`).get()).toEqual({ value: 'copied' });
    } finally {
      copy.close();
    }
    expect(() => openEncryptedSqliteReader(into, randomBytes(32))).toThrow();
  });

  it('rejects, leaving the file there as it was, when the copy\'s path is taken', async () => {
    const into = path.join(work, 'taken.db');
    await writeFile(into, 'not a database');
    await expect(snapshotOnThread(settings(into))).rejects.toThrow('The database could not be copied: file is not a database');
    expect(await readFile(into, 'utf8')).toBe('not a database');
  });

  it('rejects without writing a copy when the key does not open the database', async () => {
    const into = path.join(work, 'wrong-key.db');
    await expect(snapshotOnThread(settings(into, randomBytes(32)))).rejects.toThrow(/^The database could not be copied: /);
    expect(existsSync(into)).toBe(false);
  });
});
