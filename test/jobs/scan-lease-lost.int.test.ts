// A scan job whose lease ran out while its scan was held, taken over by the worker's other availability slot.
// With one slot a worker could not lease its own running job again; with STRONGROOM_SCAN_JOBS_AT_ONCE slots it
// can (a heartbeat that failed for longer than the lease: a database restarting). The run that lost its lease
// commits nothing either way (its completion is fenced), but it must also stop scanning: otherwise one file's
// scan holds both slots, and a clamd thread and a stream each, for as long as it takes (ten minutes for 16 GiB)
// while every later upload waits. Proved by order: the first scan is held until its run's signal aborts.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildJobRegistry } from '../../src/compose/job-registry.js';
import type { ScanVerdict } from '../../src/domain/ports.js';
import type { TextIndexing } from '../../src/services/text-indexing.js';
import { JobWorker, type LeasedJobs } from '../../src/jobs/worker.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { gate, until } from '../support/job-queue.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a scan job taken over by the same worker\'s other slot on %s', (dialect) => {
  // Past 100 bytes a file is stored pending and scanned by the scan-version job.
  const t = useTestVault(dialect, clamd, { env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '100' } });

  it('stops the scan of the run that lost its lease, and records the verdict once', async () => {
    await t.vault.worker.runDue();
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const user = await org.user({ teams: ['payroll'] });
    const stored = await upload(t.app, user, org.collections.payroll!, 'ledger.txt', 'a ledger line, past the inline scan limit\n'.repeat(4));
    expect(stored.statusCode, stored.body).toBe(201);
    const versionId = (await t.vault.store.repos.documents.byId(stored.json().id))!.currentVersionId;
    await t.vault.store.db.updateTable('jobs').set({ run_at: new Date(Date.now() + 3_600_000).toISOString() }).where('kind', '<>', 'scan-version').execute();

    // The first scan waits (clamd's answer owed) until its run is abandoned or the test lets it go; then clamd answers.
    const scanner = t.vault.scanner as { scan: (source: unknown, options?: { signal?: AbortSignal }) => Promise<ScanVerdict> };
    const scan = scanner.scan.bind(scanner);
    const letGo = gate();
    let first: 'waiting' | 'aborted' | 'let go' | null = null;
    let calls = 0;
    scanner.scan = async (source, options = {}) => {
      calls += 1;
      if (calls === 1) {
        first = 'waiting';
        const aborted = new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
        await Promise.race([aborted.then(() => { first = 'aborted'; }), letGo.opened.then(() => { first = 'let go'; })]);
      }
      return scan(source, options);
    };

    // The heartbeats fail (the database is unreachable for them) until `outage` ends; the clock is moved past the lease.
    const repo = t.vault.store.repos.jobs;
    let outage = true;
    const jobs: LeasedJobs = {
      lease: (...args) => repo.lease(...args),
      heartbeat: async (...args) => {
        if (outage) throw new Error('the database is unavailable');
        return repo.heartbeat(...args);
      },
      complete: (...args) => repo.complete(...args),
      retry: (...args) => repo.retry(...args),
      fail: (...args) => repo.fail(...args),
      liveKinds: () => repo.liveKinds(),
    };
    let ahead = 0;
    const v = t.vault;
    // The vault's own handlers (compose/job-registry.ts); the scan job needs no text indexing.
    const registry = buildJobRegistry({
      quarantine: v.quarantine, disposal: v.disposal, replication: v.replication, scrub: v.scrub, search: v.search, indexing: {} as TextIndexing,
      mail: v.mail, orphanBlobs: v.orphanBlobs, jobsAdmin: v.jobs, logger: pino({ level: 'silent' }), scheduledBackup: async () => undefined,
    });
    const worker = new JobWorker({
      jobs, durable: () => v.store.durable(), registry, clock: { now: () => new Date(Date.now() + ahead) }, logger: pino({ level: 'silent' }),
      leaseSeconds: 60, heartbeatMs: 20, pollMs: 20, slots: { availability: 2 },
    });
    const job = () => v.store.db.selectFrom('jobs').select(['status', 'attempts']).where('unique_key', '=', `scan-version:${versionId}`).executeTakeFirstOrThrow();
    await worker.start();
    try {
      await until(() => first === 'waiting', 'The scan job did not start its scan.');
      // The lease runs out: the other slot takes the job over and scans the file itself.
      ahead = 61_000;
      await until(async () => (await job()).status === 'done', 'The other slot did not take over the job whose lease had run out.');
      expect(await job()).toEqual({ status: 'done', attempts: 2 });
      expect(calls).toBe(2);
      expect(first).toBe('waiting');
      // The first run's next heartbeat finds its lease lost: its scan stops, without being let go.
      outage = false;
      await until(() => first !== 'waiting', 'The run whose lease was taken over kept its scan going.');
      expect(first).toBe('aborted');
    } finally {
      letGo.open();
      await worker.stop();
      scanner.scan = scan;
    }

    expect(await job()).toEqual({ status: 'done', attempts: 2 });
    expect((await v.store.repos.documents.versionById(versionId))?.scanStatus).toBe('clean');
    expect((await v.store.repos.documents.byId(stored.json().id))?.status).toBe('available');
    const events = await v.store.db.selectFrom('audit_events').select(['target_ids']).where('action', '=', 'scan.clean').execute();
    expect(events.filter((e) => (JSON.parse(e.target_ids) as { versionId?: string }).versionId === versionId)).toHaveLength(1);
  });
});
