// An encrypted SQLite database with the real schema in a temporary folder, for the benches that time reads on a
// large database they build (replica-ledger-reads.ts, audit-page-reads.ts, bin-purge-reads.ts, …), and the batched
// inserts they build it with; the folder is removed afterwards, whatever happens.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Transaction } from 'kysely';
import { openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import type { Schema } from '../../src/db/schema.js';
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

/** Rows go in 500 to a statement, 10,000 to a transaction: far faster than one by one, and no transaction grows with the count. */
const ROWS_A_STATEMENT = 500;
const ROWS_A_TRANSACTION = 10_000;

/**
 * Calls `write` for indexes 0 to count - 1, a batch of up to 500 consecutive ones at a time (from `first`, `size`
 * of them), inside transactions of 10,000: for a bench that builds a table of a million rows.
 */
export async function inBatches(build: DatabaseHandle, count: number, write: (trx: Transaction<Schema>, first: number, size: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < count; from += ROWS_A_TRANSACTION) {
    await build.db.transaction().execute(async (trx) => {
      for (let first = from; first < Math.min(count, from + ROWS_A_TRANSACTION); first += ROWS_A_STATEMENT) {
        await write(trx, first, Math.min(ROWS_A_STATEMENT, count - first));
      }
    });
  }
}

/** Inserts `count` rows into `table`, the i-th made by `row(i)`, in batches (inBatches). */
export async function insertRows(build: DatabaseHandle, table: keyof Schema & string, count: number, row: (i: number) => object): Promise<void> {
  await inBatches(build, count, (trx, first, size) => trx.insertInto(table).values(Array.from({ length: size }, (_, k) => row(first + k)) as never).execute().then(() => undefined));
}
