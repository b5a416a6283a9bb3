// PostgreSQL connections that die while idle in the pool (a server restart, a failover, an
// administrator's pg_terminate_backend) must not end the process: the pool drops them, reports
// them, and the next query opens a new connection. The embedded database keeps the page cache it is given.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl, createTestDatabase, withAdminClient, type TestDatabase } from '../../test/support/postgres.js';
import { openPostgres, openSqlite, type DatabaseHandle } from './kysely.js';

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
        await opened.close();
        expect(rows).toEqual([{ cache_size: expected }]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
