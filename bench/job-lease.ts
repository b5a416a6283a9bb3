// What one job lease costs as the queue grows, on both dialects: fills a fresh jobs table with N
// finished and N queued jobs (a bulk import leaves about two queued jobs a file), then leases 4 at a
// time as the worker does, completing each, and prints the median and 95th percentile per lease
// over the first 500 leases. A lease whose cost grows with N reads every due job (docs/performance.md
// "The job lease with a long queue"). Times include the statement's commit (a WAL write on SQLite;
// a flush on PostgreSQL, which makes its figures larger).
// Usage: node --no-warnings --import tsx bench/job-lease.ts [N ...]   (default 2000 20000 100000)
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openPostgres, openSqlite, type DatabaseHandle } from '../src/db/kysely.js';
import { migrate } from '../src/db/migrate.js';
import { JobsRepo } from '../src/db/repos/jobs.repo.js';
import { insertJobRows } from '../test/support/job-rows.js';
import { createTestDatabase } from '../test/support/postgres.js';

process.env.STRONGROOM_TEST_PG_ADMIN_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
const sizes = process.argv.slice(2).map(Number);
const LEASES = 500;

async function measure(handle: DatabaseHandle, n: number): Promise<string> {
  await migrate(handle.db, handle.caps);
  const at = new Date(Date.now() - 60_000).toISOString();
  for (const status of ['done', 'queued'] as const) await insertJobRows(handle.db, { count: n, status, at });
  if (handle.caps.dialect === 'postgres') await sql`analyze jobs`.execute(handle.db);
  const jobs = new JobsRepo(handle.db, handle.caps);
  const times: number[] = [];
  for (let i = 0; i < LEASES; i++) {
    const now = new Date();
    const start = performance.now();
    const leased = await jobs.lease('background', now.toISOString(), new Date(now.getTime() + 60_000).toISOString(), 4);
    times.push((performance.now() - start) * 1000);
    for (const job of leased) await jobs.complete(job.id, job.attempts, now.toISOString());
  }
  times.sort((a, b) => a - b);
  return `median ${times[LEASES >> 1]!.toFixed(0)} µs, p95 ${times[Math.floor(LEASES * 0.95)]!.toFixed(0)} µs`;
}

for (const n of sizes.length > 0 ? sizes : [2000, 20000, 100000]) {
  const dir = await mkdtemp(path.join(tmpdir(), 'srl-'));
  const sqlite = openSqlite({ file: path.join(dir, 'jobs.db'), key: randomBytes(32) });
  try {
    process.stdout.write(`sqlite     ${String(n).padStart(7)} queued: ${await measure(sqlite, n)}\n`);
  } finally {
    await sqlite.close();
    await rm(dir, { recursive: true, force: true });
  }
  const database = await createTestDatabase('srlease');
  const postgres = openPostgres(database.url, 2);
  try {
    process.stdout.write(`postgres   ${String(n).padStart(7)} queued: ${await measure(postgres, n)}\n`);
  } finally {
    await postgres.close();
    await database.drop();
  }
}
