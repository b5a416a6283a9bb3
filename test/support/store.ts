// A bare Store (every repository, no services, no HTTP) on a fresh database of either dialect,
// for the repository contract suite and the db/ tests: SQLite in a temporary file, PostgreSQL
// cloned from the run's migrated template.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SyncFile } from '../../src/db/group-commit.js';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { Store } from '../../src/db/store.js';
import { DerivedSignInSeals } from '../../src/storage/sign-in-seals.js';
import { createMigratedDatabase, createTestDatabase } from './postgres.js';
import type { Dialect } from './vault.js';

export interface TestHandle {
  handle: DatabaseHandle;
  /** Closes the connection(s) and removes the database. */
  remove(): Promise<void>;
}

/**
 * An open, empty database (no tables) of the dialect: for migration tests. `syncDatabaseLog`: how
 * SQLite's write-ahead log is synced (a test/support/sync-gate.ts gate holds it); PostgreSQL has none.
 */
export async function openEmptyDatabase(dialect: Dialect, options: { poolSize?: number; syncDatabaseLog?: SyncFile } = {}): Promise<TestHandle> {
  if (dialect === 'postgres') {
    const database = await createTestDatabase('srdb');
    const handle = openPostgres(database.url, options.poolSize ?? 4);
    return { handle, async remove() { await handle.close(); await database.drop(); } };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'sr-db-'));
  const handle = openSqlite({ file: path.join(dir, 'test.db'), key: randomBytes(32), ...(options.syncDatabaseLog ? { syncFile: options.syncDatabaseLog } : {}) });
  return { handle, async remove() { await handle.close(); await rm(dir, { recursive: true, force: true }); } };
}

/** A migrated SQLite database in a temporary file, with the file's path and key (for a second connection to it). */
export async function openMigratedSqlite(): Promise<TestHandle & { file: string; key: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sr-db-'));
  const file = path.join(dir, 'test.db');
  const key = randomBytes(32);
  const opened = { file, key, handle: openSqlite({ file, key }), async remove() { await opened.handle.close(); await rm(dir, { recursive: true, force: true }); } };
  await migrate(opened.handle.db, opened.handle.caps);
  return opened;
}

export interface TestStore {
  store: Store;
  dialect: Dialect;
  remove(): Promise<void>;
}

/** A Store on a migrated database of the dialect (`syncDatabaseLog` as openEmptyDatabase's). */
export async function openTestStore(dialect: Dialect, options: { syncDatabaseLog?: SyncFile } = {}): Promise<TestStore> {
  if (dialect === 'postgres') {
    const database = await createMigratedDatabase('srrepo');
    const handle = openPostgres(database.url, 4);
    const store = new Store(handle, randomBytes(32), undefined, randomSignInSeals());
    return { store, dialect, async remove() { await store.close(); await database.drop(); } };
  }
  const { handle, remove } = await openEmptyDatabase('sqlite', options);
  await migrate(handle.db, handle.caps);
  return { store: new Store(handle, randomBytes(32), undefined, randomSignInSeals()), dialect, remove };
}

/** Sign-in seals under a key of this Store's own, as a vault's are under its master key. */
export function randomSignInSeals(): DerivedSignInSeals {
  const master = randomBytes(32);
  return new DerivedSignInSeals({ derive: (purpose: string) => createHmac('sha256', master).update(purpose).digest() });
}
