// Finished jobs are kept a month, then pruned by a daily job queued once a day across the cluster:
// through the real worker and handler, on both dialects, past more than one batch.
import { describe, expect, it } from 'vitest';
import { scheduleDailyJobsPrune } from '../../src/compose/daily-jobs.js';
import { FINISHED_JOBS_KEPT_DAYS } from '../../src/domain/jobs/kinds.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { insertJobRows } from '../support/job-rows.js';
import { DIALECTS } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('pruning finished jobs on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('deletes done jobs older than the month kept, past one batch, and keeps every other job', async () => {
    const { store, worker } = t.vault;
    const day = 86_400_000;
    const now = Date.now();
    const add = (count: number, status: 'done' | 'failed', finishedDaysAgo: number) =>
      insertJobRows(store.db, { count, status, at: new Date(now - finishedDaysAgo * day - 60_000).toISOString(), prefix: `pruned-${status}-${finishedDaysAgo}-` });
    await worker.runDue();
    await add(2500, 'done', FINISHED_JOBS_KEPT_DAYS + 5);
    await add(7, 'done', FINISHED_JOBS_KEPT_DAYS - 2);
    await add(3, 'failed', FINISHED_JOBS_KEPT_DAYS + 5);
    const count = async (status: string) => Number((await store.db.selectFrom('jobs').select((eb) => eb.fn.countAll<string | number>().as('n')).where('status', '=', status).where('payload', 'like', '{"versionId":"pruned-%').executeTakeFirstOrThrow()).n);

    // Asked hourly by every worker; queued once a day.
    await scheduleDailyJobsPrune(store, t.vault.clock);
    await scheduleDailyJobsPrune(store, t.vault.clock);
    const queued = await store.db.selectFrom('jobs').select(['status']).where('kind', '=', 'prune-finished-jobs').execute();
    expect(queued).toEqual([{ status: 'queued' }]);

    expect(await worker.runDue()).toBe(1);
    expect(await count('done')).toBe(7);
    expect(await count('failed')).toBe(3);
    expect(await store.db.selectFrom('jobs').select('status').where('kind', '=', 'prune-finished-jobs').execute()).toEqual([{ status: 'done' }]);
    // The same day again queues nothing more.
    await scheduleDailyJobsPrune(store, t.vault.clock);
    expect(await worker.runDue()).toBe(0);
  });
});
