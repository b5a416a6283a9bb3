// A lease moves its lane's jobs queued for later that are now due into the waiting line (db/repos/jobs.repo.ts):
// it reads them, then moves each with a statement of its own. Between the two another node may lease one,
// see it fail and queue it again for later; the move must then leave it waiting apart until its new time.
// The interleaving is forced through the driver: SQLite's runs each statement synchronously, so the other
// node's change is written the moment the read returns (SQLite alone: the order is the same on PostgreSQL).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { DELAYED_TURNS_FROM, JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { extractTextJob } from '../../src/domain/jobs/kinds.js';

/** Run on the database right after the lease's read of the due jobs returns, once. */
let afterDueRead: ((db: Database.Database) => void) | null = null;
const sqlite = Database.prototype as unknown as { prepare(this: Database.Database, source: string): Record<string, unknown> };
const prepare = sqlite.prepare;
sqlite.prepare = function (this: Database.Database, source: string) {
  const statement = prepare.call(this, source);
  if (/^select "id", "organisation_id" from "jobs"/.test(source)) {
    const all = statement['all'] as (...args: unknown[]) => unknown;
    statement['all'] = (...args: unknown[]) => {
      const rows = all.apply(statement, args);
      const then = afterDueRead;
      afterDueRead = null;
      then?.(this);
      return rows;
    };
  }
  return statement;
};

describe('a job queued for later again while a lease moves it into the line', () => {
  let handle: DatabaseHandle;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sr-move-race-'));
    handle = openSqlite({ file: path.join(dir, 'jobs.db'), key: randomBytes(32) });
    await migrate(handle.db, handle.caps);
  });
  afterAll(async () => {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stays apart until its new time', async () => {
    const jobs = new JobsRepo(handle.db, handle.caps);
    const now = new Date();
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
    expect(await jobs.enqueue(extractTextJob, { versionId: 'x' }, { now, runAt: at(10), bytes: 0, organisationId: 'o-a' })).toBe(true);
    const retried = DELAYED_TURNS_FROM + at(600).getTime();
    afterDueRead = (db) => {
      // Another node leased it, it failed, and it was queued again for ten minutes later.
      const changed = db.prepare('update jobs set turn = ?, run_at = ?, attempts = attempts + 1 where payload = ?').run(BigInt(retried), at(600).toISOString(), '{"versionId":"x"}');
      expect(changed.changes).toBe(1);
    };
    expect(await jobs.lease('background', at(11).toISOString(), at(71).toISOString(), 1)).toEqual([]);
    expect(afterDueRead).toBeNull();
    const row = await handle.db.selectFrom('jobs').select(['turn', 'status']).executeTakeFirstOrThrow();
    expect([Number(row.turn), row.status]).toEqual([retried, 'queued']);
    expect(await jobs.lease('background', at(601).toISOString(), at(661).toISOString(), 1)).toMatchObject([{ payload: { versionId: 'x' } }]);
  });
});
