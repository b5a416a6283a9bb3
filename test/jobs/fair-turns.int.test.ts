// Within a lane, organisations take turns (db/repos/jobs.repo.ts). Each lane used to be leased oldest
// first, so one council's bulk work (an import's text extraction, a batch of large files to scan) made
// every other council's work wait behind all of it: a file another council uploaded meanwhile stayed
// unreadable until the whole batch had been scanned. Proved by the order jobs are leased in, not by time.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { extractTextJob, scanVersionJob } from '../../src/domain/jobs/kinds.js';
import { systemActor } from '../../src/services/identity.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { createMigratedDatabase } from '../support/postgres.js';
import { createOrganisation, DIALECTS, openTestVault, upload, type TestVault } from '../support/vault.js';

describe.each(DIALECTS)('organisations taking turns in a lane (%s)', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let jobs: JobsRepo;
  const now = new Date();
  const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);

  beforeAll(async () => {
    if (dialect === 'postgres') {
      const database = await createMigratedDatabase('srturns');
      handle = openPostgres(database.url, 2);
      close = async () => { await handle.close(); await database.drop(); };
    } else {
      const dir = await mkdtemp(path.join(tmpdir(), 'sr-turns-'));
      handle = openSqlite({ file: path.join(dir, 'jobs.db'), key: randomBytes(32) });
      await migrate(handle.db, handle.caps);
      close = async () => { await handle.close(); await rm(dir, { recursive: true, force: true }); };
    }
    jobs = new JobsRepo(handle.db, handle.caps);
  });
  afterAll(async () => {
    await close?.();
  });
  beforeEach(async () => {
    await handle.db.deleteFrom('jobs').execute();
  });

  const queue = async (organisationId: string | null, names: string[], options: { runAt?: Date } = {}) => {
    for (const versionId of names) expect(await jobs.enqueue(extractTextJob, { versionId }, { now, organisationId, ...options })).toBe(true);
  };
  const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
  /** Leases one job at a time until none is due at `when`, completing each; the versionIds in the order leased. */
  const drain = async (when = now): Promise<string[]> => {
    const order: string[] = [];
    for (;;) {
      const [job] = await jobs.lease('background', when.toISOString(), new Date(when.getTime() + 60_000).toISOString(), 1);
      if (!job) return order;
      order.push((job.payload as { versionId: string }).versionId);
      expect(await jobs.complete(job.id, job.attempts, when.toISOString())).toBe(true);
    }
  };

  it('puts a council\'s job after the first of another\'s backlog, not after all of it', async () => {
    await queue('o-busy', names('busy', 20));
    await queue('o-other', ['other']);
    const order = await drain();
    expect(order.slice(0, 3)).toEqual(['busy1', 'other', 'busy2']);
    expect(order).toHaveLength(21);
  });

  it('serves two backlogs one job each in turn, and a third council arriving later next', async () => {
    await queue('o-a', names('a', 4));
    await queue('o-b', names('b', 4));
    const [first] = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 1);
    expect(first?.payload).toEqual({ versionId: 'a1' });
    await queue('o-c', names('c', 2));
    expect(await drain()).toEqual(['b1', 'c1', 'a2', 'b2', 'c2', 'a3', 'b3', 'a4', 'b4']);
  });

  it('gives the vault\'s own work (no organisation) a turn of its own like any council\'s', async () => {
    await queue('o-busy', names('busy', 5));
    await queue(null, ['backup']);
    expect((await drain()).slice(0, 3)).toEqual(['busy1', 'backup', 'busy2']);
  });

  it('keeps a job queued for later out of the line until it is due, then gives it its council\'s turn there', async () => {
    await queue('o-other', ['later'], { runAt: at(30) });
    await queue('o-busy', names('busy', 3));
    expect(await drain()).toEqual(['busy1', 'busy2', 'busy3']);
    await queue('o-busy', names('again', 3));
    expect(await drain(at(31))).toEqual(['later', 'again1', 'again2', 'again3']);
  });

  it('puts a failed job\'s retry apart until its time, then after its council\'s own waiting job', async () => {
    await queue('o-busy', names('busy', 3));
    const [job] = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 1);
    expect(job?.payload).toEqual({ versionId: 'busy1' });
    expect(await jobs.retry(job!.id, job!.attempts, at(10).toISOString(), 'failed once')).toBe(true);
    const [next] = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 1);
    expect(next?.payload).toEqual({ versionId: 'busy2' });
    expect(await jobs.complete(next!.id, next!.attempts, now.toISOString())).toBe(true);
    expect(await drain(at(11))).toEqual(['busy3', 'busy1']);
  });

  it('puts a council\'s jobs queued for later, once due, in its turn with another\'s waiting job, not all before it', async () => {
    // A disposal of many records queues a blob deletion a minute later for each: due together, they
    // went before the whole waiting line, every other council's work behind all of them.
    await queue('o-busy', names('later', 5), { runAt: at(10) });
    expect(await jobs.enqueue(extractTextJob, { versionId: 'other' }, { now: at(11), organisationId: 'o-other' })).toBe(true);
    expect(await drain(at(11))).toEqual(['later1', 'other', 'later2', 'later3', 'later4', 'later5']);
  });

  it('puts a council\'s retries and requeued failures, once due, in its turn with another\'s waiting job', async () => {
    // A storm of retries (the store or clamd down for a while) and an administrator's requeue of every
    // failure went before the whole waiting line once due.
    await queue('o-busy', names('retry', 3));
    await queue('o-busy', names('failed', 2));
    const leased = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 5);
    expect(leased).toHaveLength(5);
    for (const job of leased.slice(0, 3)) expect(await jobs.retry(job.id, job.attempts, at(10).toISOString(), 'store down')).toBe(true);
    for (const job of leased.slice(3)) {
      expect(await jobs.fail(job.id, job.attempts, now.toISOString(), 'store down')).toBe(true);
      expect(await jobs.requeueFailed(job.id, at(10).toISOString())).toBe('requeued');
    }
    expect(await jobs.enqueue(extractTextJob, { versionId: 'other' }, { now: at(11), organisationId: 'o-other' })).toBe(true);
    expect(await drain(at(11))).toEqual(['retry1', 'other', 'retry2', 'retry3', 'failed1', 'failed2']);
  });

  it('passes over a job in the line that is not yet due (queued by a node whose clock runs ahead), not stalling the lane nor running it early', async () => {
    // Its turn is in the line, its run_at minutes ahead. PostgreSQL's lease picked it first and then let it
    // go (the update checks each picked row is due), so a lease of one returned nothing and the lane stood
    // still until the clocks caught up; SQLite's ran it before its time.
    expect(await jobs.enqueue(extractTextJob, { versionId: 'ahead' }, { now: at(300), organisationId: 'o-fast' })).toBe(true);
    await queue('o-other', ['other']);
    expect(await drain()).toEqual(['other']);
    expect(await drain(at(300))).toEqual(['ahead']);
  });

  it('keeps a council\'s next job in turn when the line empties while its last job runs', async () => {
    // With nothing waiting, a new job's turn started again from 0, while a council whose job was still
    // running went on from that job's turn: another council's backlog queued then took every turn
    // below it, and the first council's next job (an upload's scan, say) waited behind all of it.
    await queue('o-a', names('a', 5));
    for (let i = 0; i < 4; i += 1) {
      const [job] = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 1);
      expect(await jobs.complete(job!.id, job!.attempts, now.toISOString())).toBe(true);
    }
    const [last] = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 1);
    expect(last?.payload).toEqual({ versionId: 'a5' });
    await queue('o-b', names('b', 5));
    await queue('o-a', ['a-next']);
    expect(await jobs.complete(last!.id, last!.attempts, now.toISOString())).toBe(true);
    expect(await drain()).toEqual(['b1', 'b2', 'a-next', 'b3', 'b4', 'b5']);
  });

  it('hands a batch over in the order it was picked', async () => {
    await queue('o-a', names('a', 3));
    await queue('o-b', names('b', 3));
    const batch = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 4);
    expect(batch.map((j) => (j.payload as { versionId: string }).versionId)).toEqual(['a1', 'b1', 'a2', 'b2']);
  });
});

describe.each(DIALECTS)('a council\'s upload scanned while another\'s batch waits (%s)', (dialect) => {
  let clamd: TestClamd;
  let t: TestVault;
  beforeAll(async () => {
    clamd = await startTestClamd();
    // Anything over 100 bytes is answered first and scanned by the scan-version job.
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '100' } });
  });
  afterAll(async () => {
    await t?.close();
    await clamd?.stop();
  });

  it('queues a reindex across every council as each version\'s council\'s work, not the vault\'s own', async () => {
    // As the vault's own, a reindex of every council's 150,000 versions (after an outage of tesseract) put the
    // daily backup, the scrub and every other job of the vault's own behind all of it.
    const north = await createOrganisation(t.vault);
    const south = await createOrganisation(t.vault);
    const versionOf = new Map<string, string>();
    for (const org of [north, south]) {
      const user = await org.user({ teams: ['payroll'] });
      const res = await upload(t.app, user, org.collections.payroll!, 'old.txt', 'Old letter');
      expect(res.statusCode).toBe(201);
      versionOf.set(org.id, (await t.vault.store.repos.documents.byId(res.json().id as string))!.currentVersionId);
    }
    await t.vault.worker.runDue();
    for (const versionId of versionOf.values()) await t.vault.store.repos.documents.setTextState(versionId, { status: 'pending', reason: null });
    expect(await t.vault.search.reindex(systemActor())).toMatchObject({ queued: 2 });
    const queued = await t.vault.store.db.selectFrom('jobs').select(['payload', 'organisation_id'])
      .where('kind', '=', extractTextJob.kind).where('status', '=', 'queued').execute();
    expect(queued.map((j) => [(JSON.parse(j.payload) as { versionId: string }).versionId, j.organisation_id]).sort())
      .toEqual([...versionOf].map(([organisationId, versionId]) => [versionId, organisationId]).sort());
    await t.vault.worker.runDue();
  });

  it('is scanned second, not after the whole batch, and each scan job is queued as its council\'s', async () => {
    const busy = await createOrganisation(t.vault);
    const other = await createOrganisation(t.vault);
    const busyUser = await busy.user({ teams: ['payroll'] });
    const otherUser = await other.user({ teams: ['payroll'] });
    const ids: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await upload(t.app, busyUser, busy.collections.payroll!, `batch-${i}.txt`, `payslip ${i} `.repeat(40));
      expect(res.statusCode).toBe(201);
      ids.push(res.json().id);
    }
    const res = await upload(t.app, otherUser, other.collections.payroll!, 'urgent.txt', 'an urgent letter '.repeat(40));
    expect(res.statusCode).toBe(201);
    const urgent = res.json().id as string;
    expect(res.json().status).toBe('pending_scan');
    const queued = await t.vault.store.db.selectFrom('jobs').select(['organisation_id']).where('kind', '=', scanVersionJob.kind).orderBy('id').execute();
    expect(queued.map((j) => j.organisation_id)).toEqual([...ids.map(() => busy.id), other.id]);

    await t.vault.worker.runDue();
    const scans = await t.vault.store.db.selectFrom('audit_events').select('document_id').where('action', '=', 'scan.clean').orderBy('seq').execute();
    expect(scans.map((s) => s.document_id)).toEqual([ids[0], urgent, ...ids.slice(1)]);
  });
});
