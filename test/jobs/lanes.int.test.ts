// The job queue's lanes on both dialects (domain/jobs/define-job.ts JobLane). A running worker takes one job
// of each lane at a time, the lanes side by side: while a background job runs for as long as it likes (an
// import's text extraction, OCR, the daily backup), a scan someone's file waits on and an e-mail someone
// waits for still run, and each other. Within a lane jobs still run one at a time, oldest first. Before
// lanes the worker took every kind in one line, so each of these waited for the job before it.
import { describe, expect, it } from 'vitest';
import { JobRegistry, handle } from '../../src/jobs/registry.js';
import { bulkJob, gate, LANE_TEST_KINDS, mailJob, registryHoldingFirstBulk, registryHoldingScans, scanJob, until, useTestQueue } from '../support/job-queue.js';
import { DIALECTS } from '../support/vault.js';

describe.each(DIALECTS)('the job queue\'s lanes on %s', (dialect) => {
  const queue = useTestQueue(dialect, 'lanes');
  const { enqueue, statuses } = queue;
  const worker = (registry: JobRegistry, slots?: { availability: number }) => queue.worker(registry, slots ? { slots } : {});

  it('stores each job in its kind\'s lane, and leases a lane\'s jobs only', async () => {
    await enqueue(bulkJob, 1);
    await enqueue(scanJob, 2);
    await enqueue(mailJob, 3);
    const rows = await queue.database.db.selectFrom('jobs').select(['kind', 'lane']).where('status', '=', 'queued').orderBy('id').execute();
    expect(rows).toEqual([{ kind: 'test-bulk', lane: 'background' }, { kind: 'test-scan', lane: 'availability' }, { kind: 'test-mail', lane: 'mail' }]);
    const now = new Date().toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    expect((await queue.jobs.lease('mail', now, until, 10)).map((j) => j.kind)).toEqual(['test-mail']);
    expect((await queue.jobs.lease('mail', now, until, 10))).toEqual([]);
    expect((await queue.jobs.lease('background', now, until, 10)).map((j) => j.kind)).toEqual(['test-bulk']);
    expect((await queue.jobs.lease('availability', now, until, 10)).map((j) => j.kind)).toEqual(['test-scan']);
    // The database refuses a lane no worker leases: such a row would wait for ever.
    await expect(queue.database.db.updateTable('jobs').set({ lane: 'urgent' }).where('kind', '=', 'test-scan').execute()).rejects.toThrow(/check/i);
  });

  it('runs a scan and an e-mail queued behind a long background job while it still runs, and that job to its end', async () => {
    const held = gate();
    const ran: string[] = [];
    const registry = registryHoldingFirstBulk(ran, held);
    await enqueue(bulkJob, 1, 0);
    await enqueue(bulkJob, 2, 1);
    const running = worker(registry);
    await running.start();
    try {
      // A new upload's scan and a security notice, queued while the background job runs.
      await until(() => ran.includes('bulk 1 started'), 'The background job did not start.');
      await enqueue(scanJob, 3, 60_000);
      await enqueue(mailJob, 4, 60_000);
      await until(() => ran.includes('scan 3') && ran.includes('mail 4'), 'The scan and the e-mail waited behind the background job: the lanes do not run side by side.');
      await until(async () => (await statuses()).filter((r) => r.status === 'done').length === 2, 'The scan and the e-mail were not marked done.');
      // The first background job is still held, and the second waits behind it in its own lane (leased with
      // it in one batch, not started).
      expect(ran.filter((r) => r.startsWith('bulk'))).toEqual(['bulk 1 started']);
      expect(await statuses()).toEqual([
        { kind: 'test-bulk', status: 'running' }, { kind: 'test-bulk', status: 'running' }, { kind: 'test-scan', status: 'done' }, { kind: 'test-mail', status: 'done' },
      ]);
      held.open();
      await until(() => ran.includes('bulk 2 done'), 'The background lane did not go on after its long job.');
      expect(ran.filter((r) => r.startsWith('bulk'))).toEqual(['bulk 1 started', 'bulk 1 done', 'bulk 2 started', 'bulk 2 done']);
    } finally {
      held.open();
      await running.stop();
    }
  });

  it('runs an e-mail while a long scan holds the availability lane', async () => {
    const held = gate();
    const ran: string[] = [];
    const registry = new JobRegistry([
      handle(bulkJob, async () => undefined),
      handle(scanJob, async (p) => {
        ran.push(`scan ${p.n} started`);
        await held.opened;
      }),
      handle(mailJob, async (p) => void ran.push(`mail ${p.n}`)),
    ], LANE_TEST_KINDS);
    await enqueue(scanJob, 1, 0);
    const running = worker(registry);
    await running.start();
    try {
      await until(() => ran.includes('scan 1 started'), 'The scan did not start.');
      await enqueue(mailJob, 2, 60_000);
      await until(() => ran.includes('mail 2'), 'The e-mail waited behind the scan.');
      await until(async () => (await statuses()).some((r) => r.kind === 'test-mail' && r.status === 'done'), 'The e-mail was not marked done.');
      expect(await statuses()).toEqual([{ kind: 'test-scan', status: 'running' }, { kind: 'test-mail', status: 'done' }]);
    } finally {
      held.open();
      await running.stop();
    }
  });

  it('runs as many scans at once as the availability lane has slots, the next when one ends, and no more', async () => {
    const holds = new Map([1, 2, 4].map((n) => [n, gate()]));
    const ran: string[] = [];
    const registry = registryHoldingScans(ran, holds);
    // A 16 GiB file's scan (1), then three more uploads' scans.
    for (const n of [1, 2, 3, 4]) await enqueue(scanJob, n, n);
    const running = worker(registry, { availability: 2 });
    await running.start();
    try {
      await until(() => ran.includes('scan 1 started') && ran.includes('scan 2 started'), 'Two scans did not run at once in a lane of two slots.');
      // Scan 1 is held: scan 3 runs in the slot scan 2 left, then scan 4 in that slot again.
      holds.get(2)!.open();
      await until(() => ran.includes('scan 3 done') && ran.includes('scan 4 started'), 'The slot scan 2 left did not take the next scan while scan 1 still ran.');
      expect(ran).not.toContain('scan 1 done');
      // Each slot leases one job at a time: scans 1 and 4 are running, none is leased and waiting behind them.
      expect((await statuses()).map((r) => r.status)).toEqual(['running', 'done', 'done', 'running']);
      await enqueue(scanJob, 5, 60_000);
      // Two slots, both held: the fifth waits, queued, for as many polls as it likes.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ran).not.toContain('scan 5 started');
      expect((await statuses()).at(-1)).toEqual({ kind: 'test-scan', status: 'queued' });
      holds.get(1)!.open();
      await until(() => ran.includes('scan 5 done'), 'The fifth scan did not run when a slot came free.');
      holds.get(4)!.open();
      await until(async () => (await statuses()).every((r) => r.status === 'done'), 'Not every scan was marked done.');
    } finally {
      for (const hold of holds.values()) hold.open();
      await running.stop();
    }
  });

  it('refuses a lane of no slots', () => {
    expect(() => worker(new JobRegistry([], []), { availability: 0 })).toThrow('the availability lane\'s slots must be a whole number of at least 1, not 0');
  });

  it('runDue runs every lane\'s due jobs, and a job queued by one in another lane already emptied', async () => {
    const ran: string[] = [];
    const registry = new JobRegistry([
      handle(bulkJob, async (p) => {
        ran.push(`bulk ${p.n}`);
        // A background job that queues an e-mail, as a disposal's does: the mail lane was emptied before it ran.
        if (p.n === 1) await enqueue(mailJob, 9, 60_000);
      }),
      handle(scanJob, async (p) => void ran.push(`scan ${p.n}`)),
      handle(mailJob, async (p) => void ran.push(`mail ${p.n}`)),
    ], LANE_TEST_KINDS);
    await enqueue(bulkJob, 1, 0);
    await enqueue(scanJob, 2, 1);
    expect(await worker(registry).runDue()).toBe(3);
    expect(ran).toEqual(['scan 2', 'bulk 1', 'mail 9']);
  });
});
