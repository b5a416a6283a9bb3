import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMigratedSqlite } from '../../test/support/store.js';
import { openSqlite, type DatabaseHandle } from './kysely.js';
import { SqliteSearchIndex } from './repos/search.sqlite.js';
import { ReadTimedOutError, SEARCH_READER_DOWN, SqliteReadWorker, readerKysely } from './sqlite-read-worker.js';

/** This process's threads, as Linux lists them. */
const threads = async (): Promise<number> => (await readdir('/proc/self/task')).length;

describe('the SQLite search reader', () => {
  let opened: Awaited<ReturnType<typeof openMigratedSqlite>>;
  let file: string;
  let key: Buffer;
  let handle: DatabaseHandle;
  beforeEach(async () => {
    opened = await openMigratedSqlite();
    ({ file, key, handle } = opened);
  });
  afterEach(() => opened.remove());

  it('sees every transaction committed before its statement, and holds no read open between statements: compaction empties the log', async () => {
    const reads = handle.searchReads!();
    const names = () => sql<{ text: string }>`select text from search_sections order by id`.execute(reads).then((r) => r.rows.map((row) => row.text));
    expect(await names()).toEqual([]);
    await sql`insert into search_sections (document_id, version_id, organisation_id, section, page, text) values ('d', 'v', 'o', -1, null, 'Old name')`.execute(handle.db);
    expect(await names()).toEqual(['Old name']);
    await handle.db.transaction().execute((trx) => sql`update search_sections set text = 'New name'`.execute(trx));
    expect(await names()).toEqual(['New name']);
    // An idle reader that kept its snapshot would make the truncating checkpoint report busy.
    await new SqliteSearchIndex(handle.db).compact();
    expect((await stat(`${file}-wal`)).size).toBe(0);
  });

  it('refuses to write', async () => {
    await expect(sql`insert into search_documents (document_id, version_id, organisation_id, type) values ('d', 'v', 'o', 'text') returning document_id`.execute(handle.searchReads!()))
      .rejects.toThrow(/readonly|read-only/);
  });

  it('starts its thread with the first statement and ends it when the database is closed', async () => {
    // The thread pool's threads, started by the first asynchronous file operation, are up already.
    const before = await threads();
    const reader = new SqliteReadWorker({ file, key, busyTimeoutMs: 5000 });
    expect([reader.threads, await threads()]).toEqual([0, before]);
    expect(await reader.execute({ sql: 'select count(*) as n from search_sections', parameters: [] })).toEqual([{ n: 0 }]);
    // One thread, and from the TypeScript source tsx's loader thread beside it.
    expect(reader.threads).toBe(1);
    expect(await threads()).toBeGreaterThan(before);
    await reader.close();
    expect([reader.threads, await threads()]).toEqual([0, before]);
    // The handle's own reader, the same way, through its close().
    await sql`select 1`.execute(handle.searchReads!());
    expect(await threads()).toBeGreaterThan(before);
    await handle.close();
    expect(await threads()).toBe(before);
    opened.handle = openSqlite({ file, key });
  });

  it('fails a statement with "try again" (UNAVAILABLE) when its thread cannot open the database, never hangs, and tries again with the next', async () => {
    const reader = new SqliteReadWorker({ file, key: randomBytes(32), busyTimeoutMs: 5000 });
    try {
      const failed = sql`select id from search_sections`.execute(readerKysely(reader));
      await expect(failed).rejects.toMatchObject({ code: 'UNAVAILABLE', message: SEARCH_READER_DOWN, details: { retryAfterSeconds: 5 } });
      await expect(failed.catch((error: Error) => { throw error.cause; })).rejects.toThrow(/could not open the database.*key does not match/);
      await expect(reader.execute({ sql: 'select 1', parameters: [] })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await reader.close();
    }
    expect(reader.threads).toBe(0);
  });

  it('counts a statement past its timeout as abandoned until it returns: its thread runs on, and the next statement has another', async () => {
    const reader = new SqliteReadWorker({ file, key, busyTimeoutMs: 5000 });
    // A statement better-sqlite3 cannot interrupt, as a long search would be: seconds of native work.
    const long = { sql: 'with recursive n(i) as (select 1 union all select i + 1 from n where i < 30000000) select count(*) as n from n', parameters: [] };
    try {
      expect(await reader.execute({ sql: 'select 1 as one', parameters: [] })).toEqual([{ one: 1 }]);
      await expect(reader.execute(long, 100)).rejects.toBeInstanceOf(ReadTimedOutError);
      expect(reader.abandoned).toBe(1);
      expect(await reader.execute({ sql: 'select 1 as one', parameters: [] })).toEqual([{ one: 1 }]);
      // Still running well after the next statement was answered on a thread of its own.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect([reader.abandoned, reader.threads]).toEqual([1, 2]);
      for (let waited = 0; reader.abandoned > 0; waited += 50) {
        if (waited > 60_000) throw new Error('the abandoned statement never returned');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(reader.threads).toBe(1);
    } finally {
      await reader.close();
    }
  });

  it('holds compaction back while a statement past its timeout still runs, saying so, and not once it has returned', async () => {
    const reader = new SqliteReadWorker({ file, key, busyTimeoutMs: 5000 });
    const index = new SqliteSearchIndex(handle.db);
    // Reads the table first, so its read of the database stays open for the seconds the rest takes.
    const long = { sql: 'with recursive n(i) as (select (select count(*) from search_sections) union all select i + 1 from n where i < 30000000) select count(*) as n from n', parameters: [] };
    try {
      await expect(reader.execute(long, 100)).rejects.toBeInstanceOf(ReadTimedOutError);
      await sql`insert into search_fts (rowid, terms) values (1, 'removed words')`.execute(handle.db);
      await sql`delete from search_fts where rowid = 1`.execute(handle.db);
      await expect(index.compact()).rejects.toThrow('The search index was compacted, but another connection (a search still finishing, or another process) was reading or writing the database, so the log still holding removed text could not be emptied; the compaction will run again.');
      for (let waited = 0; reader.abandoned > 0; waited += 50) {
        if (waited > 60_000) throw new Error('the abandoned statement never returned');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await index.compact();
      expect((await stat(`${file}-wal`)).size).toBe(0);
    } finally {
      await reader.close();
    }
  });
});
