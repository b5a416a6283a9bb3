// Stopping the running worker (JobWorker.stop, from the vault's close()). Each lane's poll ran its lane until
// no job was due, and stop() waited for every lane's poll: a shutdown during a 100,000-file import waited for
// the whole import's text extraction (about 12 minutes of it) rather than for the jobs in hand, and a service
// manager's stop timeout killed the process in the middle of a job. A stop() that comes while start() is still
// checking the queue (a shutdown during start-up) left the worker running after stop() had returned.
import { describe, expect, it } from 'vitest';
import { JobRegistry, handle } from '../../src/jobs/registry.js';
import { bulkJob, gate, LANE_TEST_KINDS, mailJob, registryHoldingFirstBulk, registryHoldingScans, scanJob, until, useTestQueue } from '../support/job-queue.js';
import { DIALECTS } from '../support/vault.js';

describe.each(DIALECTS)('stopping the job worker on %s', (dialect) => {
  const queue = useTestQueue(dialect, 'stop');
  const { enqueue, statuses } = queue;
  const worker = (registry: JobRegistry) => queue.worker(registry, { batch: 1 });

  it('waits for the jobs in hand, not for the lanes\' backlogs', async () => {
    const held = gate();
    const ran: string[] = [];
    const registry = registryHoldingFirstBulk(ran, held);
    for (let n = 1; n <= 5; n++) await enqueue(bulkJob, n, n);
    const running = worker(registry);
    await running.start();
    let stopping: Promise<void> | undefined;
    try {
      await until(() => ran.includes('bulk 1 started'), 'The background job did not start.');
      stopping = running.stop();
      held.open();
      await stopping;
      expect(running.started).toBe(false);
      expect(ran).toEqual(['bulk 1 started', 'bulk 1 done']);
      expect((await statuses()).map((r) => r.status)).toEqual(['done', 'queued', 'queued', 'queued', 'queued']);
    } finally {
      held.open();
      await (stopping ?? running.stop());
    }
  });

  it('with two availability slots, waits for both slots\' jobs and starts no more in either', async () => {
    const holds = new Map([1, 2].map((n) => [n, gate()]));
    const ran: string[] = [];
    const registry = registryHoldingScans(ran, holds);
    for (let n = 1; n <= 4; n++) await enqueue(scanJob, n, n);
    const running = queue.worker(registry, { slots: { availability: 2 } });
    await running.start();
    let stopping: Promise<void> | undefined;
    try {
      await until(() => ran.includes('scan 1 started') && ran.includes('scan 2 started'), 'The two slots did not each start a scan.');
      let stopped = false;
      stopping = running.stop().then(() => { stopped = true; });
      // The first slot's scan ends: its slot takes no other, and stop() still waits for the second.
      holds.get(1)!.open();
      await until(async () => (await statuses())[0]!.status === 'done', 'The first scan was not marked done.');
      expect(stopped).toBe(false);
      holds.get(2)!.open();
      await stopping;
      expect(ran).toEqual(['scan 1 started', 'scan 2 started', 'scan 1 done', 'scan 2 done']);
      expect((await statuses()).map((r) => r.status)).toEqual(['done', 'done', 'queued', 'queued']);
    } finally {
      for (const hold of holds.values()) hold.open();
      await (stopping ?? running.stop());
    }
  });

  it('does not start when stopped while it checks the queue', async () => {
    const registry = new JobRegistry([handle(bulkJob, async () => undefined), handle(scanJob, async () => undefined), handle(mailJob, async () => undefined)], LANE_TEST_KINDS);
    const running = worker(registry);
    const starting = running.start();
    const stopping = running.stop();
    await Promise.all([starting, stopping]);
    try {
      expect(running.started).toBe(false);
    } finally {
      await running.stop();
    }
  });
});
