// PostgreSQL connections that die while idle in the pool (a server restart, a failover, an
// administrator's pg_terminate_backend) must not end the process: the pool drops them, reports
// them, and the next query opens a new connection. The embedded database keeps the page cache it is given.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDescriptorsOn } from '../../test/support/descriptors.js';
import { adminUrl, createTestDatabase, withAdminClient, type TestDatabase } from '../../test/support/postgres.js';
import { openPostgres, openSqlite, STATEMENT_CACHE_SIZE, type DatabaseHandle } from './kysely.js';

describe('a PostgreSQL pool whose idle connections are ended by the server', () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  const reported: Error[] = [];
  beforeAll(async () => {
    database = await createTestDatabase('sr_idle');
    handle = openPostgres(database.url, 2, (error) => reported.push(error));
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it('reports the ended connection and answers the next query on a new one', async () => {
    const name = new URL(database.url).pathname.slice(1);
    await sql`select 1`.execute(handle.db);
    const ended = await withAdminClient(adminUrl(), async (client) =>
      (await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])).rowCount);
    expect(ended).toBeGreaterThan(0);
    await expect.poll(() => reported.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect((reported[0] as Error & { code?: string }).code).toBe('57P01');
    const { rows } = await sql<{ answer: number }>`select 42 as answer`.execute(handle.db);
    expect(rows).toEqual([{ answer: 42 }]);
  });
});

describe('the embedded SQLite database', () => {
  it('keeps the page cache it is given (STRONGROOM_SQLITE_CACHE_MIB), and the build’s own 16 MB when given none', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-sqlite-cache-'));
    try {
      for (const [cacheMib, expected] of [[64, -65536], [undefined, -16000]] as const) {
        const opened = openSqlite({ file: path.join(dir, `cache-${cacheMib}.db`), key: randomBytes(32), ...(cacheMib ? { cacheMib } : {}) });
        const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(opened.db);
        const { rows: reader } = await sql<{ cache_size: number }>`pragma cache_size`.execute(opened.searchReads!());
        await opened.close();
        expect(rows).toEqual([{ cache_size: expected }]);
        expect(reader).toEqual([{ cache_size: expected }]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the main connection its own page cache (STRONGROOM_SQLITE_MAIN_CACHE_MIB) and the search reader the other', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-sqlite-cache-'));
    try {
      const opened = openSqlite({ file: path.join(dir, 'strongroom.db'), key: randomBytes(32), cacheMib: 64, mainCacheMib: 8 });
      const { rows: main } = await sql<{ cache_size: number }>`pragma cache_size`.execute(opened.db);
      const { rows: reader } = await sql<{ cache_size: number }>`pragma cache_size`.execute(opened.searchReads!());
      await opened.close();
      expect({ main, reader }).toEqual({ main: [{ cache_size: -8192 }], reader: [{ cache_size: -65536 }] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the embedded SQLite database’s prepared statements', () => {
  it('keeps the ones run most recently: a burst of more statements than it holds, each run once, does not push out one run all along', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-sqlite-statements-'));
    const opened = openSqlite({ file: path.join(dir, 'strongroom.db'), key: randomBytes(32) });
    const prepared: string[] = [];
    const prepare = Database.prototype.prepare;
    Database.prototype.prepare = function (this: Database.Database, source: string) {
      prepared.push(source);
      return prepare.call(this, source);
    } as typeof prepare;
    try {
      const everyRequest = sql<{ n: number }>`select 1 as n`;
      await everyRequest.execute(opened.db);
      // More statements than the cache holds, each run once, with the one every request runs between them.
      for (let k = 0; k < STATEMENT_CACHE_SIZE + 100; k += 1) {
        await sql.raw(`select ${k} as once`).execute(opened.db);
        await everyRequest.execute(opened.db);
      }
      expect(prepared.filter((source) => source === 'select 1 as n')).toHaveLength(1);
      // The ones run once were pushed out in turn: the first is prepared again.
      await sql.raw('select 0 as once').execute(opened.db);
      expect(prepared.filter((source) => source === 'select 0 as once')).toHaveLength(2);
    } finally {
      Database.prototype.prepare = prepare;
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the embedded SQLite database’s deletions', () => {
  it('overwrites deleted rows and freed pages with zeros (secure_delete), so removing text needs no VACUUM', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-sqlite-delete-'));
    try {
      const opened = openSqlite({ file: path.join(dir, 'strongroom.db'), key: randomBytes(32) });
      const { rows } = await sql<{ secure_delete: number }>`pragma secure_delete`.execute(opened.db);
      await opened.close();
      expect(rows).toEqual([{ secure_delete: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the embedded SQLite database’s group commit', () => {
  it('commits without fsync (synchronous = NORMAL) and syncs the write-ahead log for a committed write, not for reads or a transaction still open', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-sqlite-sync-'));
    const file = path.join(dir, 'strongroom.db');
    const synced: string[] = [];
    const opened = openSqlite({ file, key: randomBytes(32), syncFile: async (wal) => void synced.push(wal) });
    try {
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(opened.db);
      expect(rows).toEqual([{ synchronous: 1 }]);
      // The log is checkpointed every 10,000 pages, not SQLite's 1,000 (docs/performance.md, "Checkpoints").
      const { rows: checkpoint } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(opened.db);
      expect(checkpoint).toEqual([{ wal_autocheckpoint: 10_000 }]);
      await sql`create table notes (id integer primary key, body text)`.execute(opened.db);
      await opened.durable();
      expect(synced).toEqual([`${file}-wal`]);

      // An autocommit write, and one through RETURNING (a statement that reads as it writes).
      await sql`insert into notes (body) values ('one')`.execute(opened.db);
      await opened.durable();
      expect(synced).toHaveLength(2);
      await sql`insert into notes (body) values ('two') returning id`.execute(opened.db);
      await opened.durable();
      expect(synced).toHaveLength(3);

      // Reads commit nothing.
      await sql`select * from notes`.execute(opened.db);
      await opened.durable();
      expect(synced).toHaveLength(3);

      // A write inside an open transaction is not committed yet: a sync now could not cover it, so it
      // is counted at COMMIT, and only then is a sync owed.
      await opened.db.transaction().execute(async (trx) => {
        await sql`insert into notes (body) values ('three')`.execute(trx);
        await opened.durable();
        expect(synced, 'synced for a write not yet committed').toHaveLength(3);
      });
      await opened.durable();
      expect(synced).toHaveLength(4);
    } finally {
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('syncs the log by default through one descriptor of its own, which it lets go when closed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-sqlite-kept-'));
    const file = path.join(dir, 'strongroom.db');
    const opened = openSqlite({ file, key: randomBytes(32) });
    try {
      await sql`create table notes (id integer primary key, body text)`.execute(opened.db);
      const ownDescriptors = await openDescriptorsOn(`${file}-wal`); // SQLite's own
      expect(ownDescriptors).toBeGreaterThan(0);
      for (let i = 0; i < 20; i++) {
        await sql`insert into notes (body) values (${`note ${i}`})`.execute(opened.db);
        await opened.durable();
      }
      expect(await openDescriptorsOn(`${file}-wal`)).toBe(ownDescriptors + 1);
      await opened.close();
      expect(await openDescriptorsOn(`${file}-wal`)).toBe(0);
      expect(await openDescriptorsOn(`${file}-wal (deleted)`)).toBe(0);
    } finally {
      await opened.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is a no-op on PostgreSQL, whose commits wait for their own WAL flush', async () => {
    const database = await createTestDatabase('sr_durable');
    const handle = openPostgres(database.url, 1);
    try {
      await sql`create table notes (id serial primary key)`.execute(handle.db);
      await expect(handle.durable()).resolves.toBeUndefined();
    } finally {
      await handle.close();
      await database.drop();
    }
  });
});
