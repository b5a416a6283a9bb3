// A scan verdict arrives a while after its job started, on both dialects, through the real scan
// handler, clamd and two workers: a run whose lease was taken over commits nothing (its completion
// finds the lease lost and rolls its transaction back), and a verdict never overrides what was
// decided about the version or its document meanwhile (a later infected verdict, a disposal). And a
// handler that throws after its completion committed is not reported as dead-lettered.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/domain/jobs/define-job.js';
import { scanVersionJob } from '../../src/domain/jobs/kinds.js';
import type { ScanVerdict } from '../../src/domain/ports.js';
import { JobRegistry, handle } from '../../src/jobs/registry.js';
import { JobWorker } from '../../src/jobs/worker.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const realClock = { now: () => new Date() };

describe.each(DIALECTS)('a scan job taken over by another worker on %s', (dialect) => {
  // Past 100 bytes a file is stored pending and scanned by the scan-version job.
  const t = useTestVault(dialect, clamd, { env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '100' } });

  /** A stored file its upload left pending (past the inline limit), with the scan job the only one due. */
  async function pendingUpload(name: string) {
    await t.vault.worker.runDue();
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const user = await org.user({ teams: ['payroll'] });
    const stored = await upload(t.app, user, org.collections.payroll!, name, 'a ledger line, past the inline scan limit\n'.repeat(4));
    expect(stored.statusCode, stored.body).toBe(201);
    return stored;
  }

  /** Holds the first verdict clamd gives until `release()`: a scan that is slow to finish. */
  function gateFirstScan() {
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    const scanner = t.vault.scanner as { scan: (...args: unknown[]) => Promise<ScanVerdict> };
    const scan = scanner.scan.bind(scanner);
    let calls = 0;
    scanner.scan = async (...args: unknown[]) => {
      const verdict = await scan(...args);
      calls += 1;
      if (calls === 1) await released;
      return verdict;
    };
    return {
      release,
      restore: () => { scanner.scan = scan; },
      reached: async () => { while (calls === 0) await sleep(20); },
    };
  }

  /**
   * A pending upload whose scan job is run by a worker whose lease runs out while its scan waits, and
   * taken over by a second worker; `meanwhile` runs after the takeover, before the first scan's verdict
   * arrives. Only the scan job is due.
   */
  async function scanTakenOver(name: string, meanwhile?: (versionId: string) => Promise<void>) {
    const stored = await pendingUpload(name);
    const versionId = (await t.vault.store.repos.documents.byId(stored.json().id))!.currentVersionId;
    await t.vault.store.db.updateTable('jobs').set({ run_at: new Date(Date.now() + 3_600_000).toISOString() }).where('kind', '<>', 'scan-version').execute();
    const gate = gateFirstScan();
    const registry = new JobRegistry([handle(scanVersionJob, (p, context) => t.vault.quarantine.scanPending(p.versionId, context.complete))], [scanVersionJob]);
    const durable = () => t.vault.store.durable();
    const first = new JobWorker({ jobs: t.vault.store.repos.jobs, durable, registry, clock: realClock, logger: pino({ level: 'silent' }), leaseSeconds: 0.3, heartbeatMs: 60_000 });
    const second = new JobWorker({ jobs: t.vault.store.repos.jobs, durable, registry, clock: realClock, logger: pino({ level: 'silent' }), leaseSeconds: 60 });
    try {
      const running = first.runDue();
      await gate.reached();
      await sleep(500);
      expect(await second.runDue()).toBeGreaterThanOrEqual(1);
      await meanwhile?.(versionId);
      gate.release();
      await running;
    } finally {
      gate.restore();
    }
    return { stored, versionId };
  }

  it('records the verdict once: the run that lost its lease commits nothing', async () => {
    const { versionId } = await scanTakenOver('ledger.txt');

    const job = await t.vault.store.db.selectFrom('jobs').select(['status', 'attempts']).where('kind', '=', 'scan-version').where('unique_key', '=', `scan-version:${versionId}`).executeTakeFirst();
    expect(job).toMatchObject({ status: 'done', attempts: 2 });
    expect((await t.vault.store.repos.documents.versionById(versionId))?.scanStatus).toBe('clean');
    const events = await t.vault.store.db.selectFrom('audit_events').select(['action', 'target_ids']).where('action', '=', 'scan.clean').execute();
    const forVersion = events.filter((e) => (JSON.parse(e.target_ids) as { versionId?: string }).versionId === versionId);
    // One scan.clean, from the run that held the job.
    expect(forVersion).toHaveLength(1);
  });

  it('a stale run\'s clean verdict does not undo a later infected verdict (the file stays unreadable)', async () => {
    const { stored, versionId } = await scanTakenOver('ledger.txt', async (scanned) => {
      // A rescan after a signature update now finds it infected (what rescanSince commits).
      const at = new Date().toISOString();
      const version = (await t.vault.store.repos.documents.versionById(scanned))!;
      await t.vault.store.transaction(async (trx) => {
        await trx.documents.updateVersionScan(scanned, { status: 'infected', detail: 'Test.Signature', engine: 'clamd', at });
        await trx.documents.update(version.documentId, { status: 'quarantined' }, at);
      });
    });

    // The stale run's clean verdict neither replaced the infected one nor made the document available.
    expect((await t.vault.store.repos.documents.versionById(versionId))?.scanStatus).toBe('infected');
    expect((await t.vault.store.repos.documents.byId(stored.json().id))?.status).toBe('quarantined');
  });

  it('a clean verdict arriving after the document was disposed leaves it disposed', async () => {
    const stored = await pendingUpload('old ledger.txt');
    const documentId = stored.json().id as string;
    const versionId = (await t.vault.store.repos.documents.byId(documentId))!.currentVersionId;
    await t.vault.store.db.updateTable('jobs').set({ run_at: new Date(Date.now() + 3_600_000).toISOString() }).where('kind', '<>', 'scan-version').execute();

    const gate = gateFirstScan();
    try {
      const running = t.vault.worker.runDue();
      await gate.reached();
      // Disposed while clamd was reading it (what disposal writes on the document).
      await t.vault.store.repos.documents.update(documentId, { status: 'disposed' }, new Date().toISOString());
      gate.release();
      await running;
    } finally {
      gate.restore();
    }
    expect((await t.vault.store.repos.documents.byId(documentId))?.status).toBe('disposed');
    expect((await t.vault.store.repos.documents.versionById(versionId))?.scanStatus).toBe('clean');
  });
});

describe.each(DIALECTS)('a handler that throws after its completion committed on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  const lastJob = defineJob({ kind: 'test-last', payload: z.object({ n: z.number() }), maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1 });

  it('is not reported as dead-lettered: the job is done', async () => {
    await t.vault.worker.runDue();
    const registry = new JobRegistry([handle(lastJob, async (_p, context) => {
      await t.vault.store.transaction(async (trx) => { await context.complete(trx); });
      // e.g. Store.transaction's durable() rejecting after the commit
      throw new Error('after the commit');
    })], [lastJob]);
    await t.vault.store.repos.jobs.enqueue(lastJob, { n: 1 }, { now: new Date(Date.now() - 1000), organisationId: null });
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const worker = new JobWorker({ jobs: t.vault.store.repos.jobs, durable: () => t.vault.store.durable(), registry, clock: realClock, logger, leaseSeconds: 60 });
    await worker.runDue();
    const row = await t.vault.store.db.selectFrom('jobs').select(['status']).where('kind', '=', 'test-last').executeTakeFirst();
    expect(row?.status).toBe('done');
    expect(lines.map((l) => l.msg)).not.toContain('job failed for good: dead-lettered (status failed)');
    expect(lines.map((l) => l.msg)).toContain('job handler threw after its completion committed (or its lease was taken over): not dead-lettered');
  });
});
