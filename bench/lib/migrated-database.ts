// An encrypted SQLite database with the real schema in a temporary folder, for the benches that time reads on a
// large database they build (replica-ledger-reads.ts, audit-page-reads.ts, bin-purge-reads.ts, …); the folder is
// removed afterwards, whatever happens.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';

export interface MigratedDatabase {
  file: string;
  key: Buffer;
  /** Open on the file, migrated: to build the rows with, then close. */
  build: DatabaseHandle;
}

export async function onMigratedDatabase(prefix: string, work: (made: MigratedDatabase) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  try {
    const file = path.join(dir, 'bench.db');
    const key = randomBytes(32);
    const build = openSqlite({ file, key });
    await migrate(build.db, build.caps);
    await work({ file, key, build });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
