// Two nodes on one PostgreSQL database enqueue, lease, retry and complete one lane's jobs at once, three
// councils' and the vault's own, some queued for later: a lease moves those due into the line (a read,
// then a statement each) while the other node leases and retries. Every job must run to done exactly
// once: none leased by both nodes at once, none lost (left queued or apart), none stuck.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type DatabaseHandle } from '../../src/db/kysely.js';
import { JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { extractTextJob } from '../../src/domain/jobs/kinds.js';
import { createMigratedDatabase, type TestDatabase } from '../support/postgres.js';

const JOBS = 120;

describe('two nodes taking turns on PostgreSQL', () => {
  let database: TestDatabase;
  const handles: DatabaseHandle[] = [];
  beforeAll(async () => {
    database = await createMigratedDatabase('srtwonodes');
    for (let i = 0; i < 2; i += 1) handles.push(openPostgres(database.url, 3));
  });
  afterAll(async () => {
    for (const handle of handles) await handle.close();
    await database?.drop();
  });

  it('runs every job exactly once, retries and jobs queued for later included', async () => {
    const [first, second] = handles.map((h) => new JobsRepo(h.db, h.caps)) as [JobsRepo, JobsRepo];
    const t0 = Date.now();
    const at = (ms: number) => new Date(t0 + ms);
    const organisations = ['o-a', 'o-b', 'o-c', null];
    const running = new Set<number>();
    const done = new Map<string, number>();
    let retried = 0;
    let queued = 0;
    /** One node: queues its share of the jobs a few at a time between its leases, runs what it leases. */
    const node = async (jobs: JobsRepo, name: string) => {
      for (let round = 0; round < 2000 && done.size < JOBS; round += 1) {
        const when = at(60_000 + round);
        for (let k = 0; k < 3 && queued < JOBS; k += 1) {
          const n = queued++;
          // A third of them queued for a moment later than the leases' clock at first; all due by the end.
          const runAt = n % 3 === 0 ? at(60_000 + round + 5) : undefined;
          expect(await jobs.enqueue(extractTextJob, { versionId: `${name}-${n}` }, { now: when, bytes: 0, organisationId: organisations[n % organisations.length]!, ...(runAt ? { runAt } : {}) })).toBe(true);
        }
        const leased = await jobs.lease('background', at(60_000 + round + 10).toISOString(), at(600_000).toISOString(), 2);
        for (const job of leased) {
          expect(running.has(job.id), `job ${job.id} leased by both nodes at once`).toBe(false);
          running.add(job.id);
          const versionId = (job.payload as { versionId: string }).versionId;
          // Every fourth job fails once and is retried a moment later.
          if (job.attempts === 1 && Number(versionId.split('-')[1]) % 4 === 1) {
            running.delete(job.id);
            expect(await jobs.retry(job.id, job.attempts, at(60_000 + round + 12).toISOString(), 'failed once')).toBe(true);
            retried += 1;
          } else {
            running.delete(job.id);
            expect(await jobs.complete(job.id, job.attempts, when.toISOString())).toBe(true);
            done.set(versionId, (done.get(versionId) ?? 0) + 1);
          }
        }
        // Let the other node's statements interleave with this one's.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all([node(first, 'one'), node(second, 'two')]);
    expect(done.size).toBe(JOBS);
    expect([...done.values()].every((count) => count === 1)).toBe(true);
    expect(retried).toBeGreaterThan(0);
    const left = await handles[0]!.db.selectFrom('jobs').select(['status']).where('status', '!=', 'done').execute();
    expect(left).toEqual([]);
  });
});
