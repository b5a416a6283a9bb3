// /metrics reports, for each lane of the job queue, how long its oldest due job has waited
// (strongroom_jobs_oldest_wait_seconds{lane=…}): the gauge an operator alerts on when scans or e-mails
// stop moving. Read from the database at each scrape, so any node reports the cluster's queue; a job
// due later (a retry's backoff, a notice window's end) is not waiting yet.
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/domain/jobs/define-job.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, settableClock } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('the job lanes\' waits in /metrics on %s', (dialect) => {
  const clock = settableClock('2026-12-07T09:00:00.000Z');
  const t = useTestVault(dialect, clamd, { clock });

  const waits = async (): Promise<Record<string, number>> => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return Object.fromEntries([...res.body.matchAll(/^strongroom_jobs_oldest_wait_seconds\{lane="([a-z]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  };

  it('gives each lane\'s oldest due job\'s wait, in whole seconds, and 0 for a lane with nothing due', async () => {
    const payload = z.object({ n: z.number() });
    const mail = defineJob({ kind: 'metrics-mail', payload, maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1, lane: 'mail' });
    const scan = defineJob({ kind: 'metrics-scan', payload, maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1, lane: 'availability' });
    const bulk = defineJob({ kind: 'metrics-bulk', payload, maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1 });
    const jobs = t.vault.store.repos.jobs;
    // Nothing runs them: this vault's worker is not started.
    expect(await waits()).toEqual({ mail: 0, availability: 0, background: 0 });

    await jobs.enqueue(mail, { n: 1 }, { now: new Date('2026-12-07T08:58:00.000Z'), organisationId: null });
    await jobs.enqueue(mail, { n: 2 }, { now: new Date('2026-12-07T08:59:30.000Z'), organisationId: null });
    await jobs.enqueue(bulk, { n: 3 }, { now: new Date('2026-12-07T07:00:00.000Z'), organisationId: null });
    // Due in ten minutes: queued, not yet waiting.
    await jobs.enqueue(scan, { n: 4 }, { now: new Date('2026-12-07T08:50:00.000Z'), runAt: new Date('2026-12-07T09:10:00.000Z'), organisationId: null });
    expect(await waits()).toEqual({ mail: 120, availability: 0, background: 7200 });

    clock.set('2026-12-07T09:15:00.500Z');
    expect(await waits()).toEqual({ mail: 1020, availability: 300, background: 8100 });

    // The oldest mail leased (a worker took it): the next one's wait is the lane's.
    const [leased] = await jobs.lease('mail', clock.now().toISOString(), '2026-12-07T09:16:00.000Z', 1);
    expect(leased?.payload).toEqual({ n: 1 });
    expect(await waits()).toEqual({ mail: 930, availability: 300, background: 8100 });
  });
});
