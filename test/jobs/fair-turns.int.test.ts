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
import { MAX_JOB_WEIGHT } from '../../src/domain/jobs/define-job.js';
import { compactSearchJob, extractTextJob, scanVersionJob } from '../../src/domain/jobs/kinds.js';
import { systemActor } from '../../src/services/identity.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { createMigratedDatabase } from '../support/postgres.js';
import { createOrganisation, createPartnership, DIALECTS, openTestVault, upload, type TestVault } from '../support/vault.js';

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

  /** Extractions of `names`, each of a version of `bytes` (0 unless given: weight 1). */
  const queue = async (organisationId: string | null, names: string[], options: { runAt?: Date; bytes?: number } = {}) => {
    for (const versionId of names) expect(await jobs.enqueue(extractTextJob, { versionId }, { now, organisationId, bytes: 0, ...options })).toBe(true);
  };
  const turnOf = async (versionId: string) =>
    Number((await handle.db.selectFrom('jobs').select('turn').where('payload', '=', JSON.stringify({ versionId })).executeTakeFirstOrThrow()).turn);
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
    expect(await jobs.enqueue(extractTextJob, { versionId: 'other' }, { now: at(11), bytes: 0, organisationId: 'o-other' })).toBe(true);
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
    expect(await jobs.enqueue(extractTextJob, { versionId: 'other' }, { now: at(11), bytes: 0, organisationId: 'o-other' })).toBe(true);
    expect(await drain(at(11))).toEqual(['retry1', 'other', 'retry2', 'retry3', 'failed1', 'failed2']);
  });

  it('passes over a job in the line that is not yet due (queued by a node whose clock runs ahead), not stalling the lane nor running it early', async () => {
    // Its turn is in the line, its run_at minutes ahead. PostgreSQL's lease picked it first and then let it
    // go (the update checks each picked row is due), so a lease of one returned nothing and the lane stood
    // still until the clocks caught up; SQLite's ran it before its time.
    expect(await jobs.enqueue(extractTextJob, { versionId: 'ahead' }, { now: at(300), bytes: 0, organisationId: 'o-fast' })).toBe(true);
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

  /** A version of this many bytes weighs 50 (1 plus 49 whole MiB): a 49 MB scan's OCR, half a minute. */
  const HEAVY = 49 * 1024 * 1024;

  it('weighs jobs by what they process: another council\'s 20 letters all go before a council\'s second heavy scan', async () => {
    // Turns counted jobs: a council's 50 MB scans went one for one with another's letters, so the letters were
    // found by search only after as many of the long extractions as letters before them.
    await queue('o-scans', names('scan', 10), { bytes: HEAVY });
    await queue('o-letters', names('letter', 20));
    expect(await drain()).toEqual(['scan1', ...names('letter', 20), ...names('scan', 10).slice(1)]);
  });

  it('still alternates two councils whose jobs weigh the same, light or heavy', async () => {
    await queue('o-a', names('a', 3), { bytes: HEAVY });
    await queue('o-b', names('b', 3), { bytes: HEAVY + 1024 * 1024 - 1 });
    await queue('o-c', names('c', 3));
    await queue('o-d', names('d', 3));
    expect(await drain()).toEqual(['a1', 'b1', 'c1', 'd1', 'c2', 'd2', 'c3', 'd3', 'a2', 'b2', 'a3', 'b3']);
  });

  it.each(['retried', 'dead-lettered and requeued'] as const)('keeps a heavy job\'s weight when it is %s and moved back into the line', async (how) => {
    await queue('o-scans', ['heavy'], { bytes: HEAVY });
    const [job] = await jobs.lease('background', now.toISOString(), at(60).toISOString(), 1);
    expect(job?.payload).toEqual({ versionId: 'heavy' });
    if (how === 'retried') {
      expect(await jobs.retry(job!.id, job!.attempts, at(10).toISOString(), 'tesseract down')).toBe(true);
    } else {
      expect(await jobs.fail(job!.id, job!.attempts, now.toISOString(), 'tesseract down')).toBe(true);
      expect(await jobs.requeueFailed(job!.id, at(10).toISOString())).toBe('requeued');
    }
    await queue('o-letters', names('letter', 30));
    // Due: moved into the line (its turn the first letter's) and leased again.
    const [again] = await jobs.lease('background', at(11).toISOString(), at(71).toISOString(), 1);
    expect(again?.payload).toEqual({ versionId: 'heavy' });
    expect(await jobs.enqueue(extractTextJob, { versionId: 'next' }, { now: at(11), organisationId: 'o-scans', bytes: 0 })).toBe(true);
    expect(await turnOf('next')).toBe(await turnOf('heavy') + 50);
    expect(await jobs.complete(again!.id, again!.attempts, at(11).toISOString())).toBe(true);
    expect(await drain(at(11))).toEqual([...names('letter', 30), 'next']);
  });

  it('weighs a job of any size at most MAX_JOB_WEIGHT, so no size pushes a council\'s turns toward those of jobs queued for later', async () => {
    await queue('o-huge', ['huge'], { bytes: 2 ** 60 });
    await queue('o-huge', ['after']);
    const rows = await handle.db.selectFrom('jobs').select(['payload', 'weight', 'turn']).orderBy('id').execute();
    expect(rows.map((r) => [r.payload, Number(r.weight), Number(r.turn)])).toEqual([
      ['{"versionId":"huge"}', MAX_JOB_WEIGHT, 0],
      ['{"versionId":"after"}', 1, MAX_JOB_WEIGHT],
    ]);
    await expect(jobs.enqueue(extractTextJob, { versionId: 'negative' }, { now, organisationId: 'o-huge', bytes: -1 })).rejects.toThrow('a job\'s bytes must be a size in bytes, not -1');
    await expect(jobs.enqueue(extractTextJob, { versionId: 'nan' }, { now, organisationId: 'o-huge', bytes: Number.NaN })).rejects.toThrow('a job\'s bytes must be a size in bytes, not NaN');
  });

  it('refuses a job of a weighed kind queued without its bytes, and bytes for a kind not weighed', async () => {
    await expect(jobs.enqueue(extractTextJob, { versionId: 'forgot' }, { now, organisationId: 'o-a' }))
      .rejects.toThrow('job kind "extract-text" is weighed by the bytes it processes: give them');
    await expect(jobs.enqueue(compactSearchJob, {}, { now, organisationId: null, bytes: 10 }))
      .rejects.toThrow('job kind "compact-search" is not weighed: give no bytes');
    expect(await handle.db.selectFrom('jobs').select('id').execute()).toEqual([]);
  });

  it('holds every stored weight between 1 and MAX_JOB_WEIGHT in the database itself', async () => {
    // A weight of 0 or less written into the table (by hand, or a bug) would turn a council's turns back,
    // ahead of everyone's; a huge one would push them into the turns of jobs queued for later.
    await queue('o-a', ['a']);
    for (const weight of [0, -5, MAX_JOB_WEIGHT + 1]) {
      await expect(handle.db.updateTable('jobs').set({ weight }).execute()).rejects.toThrow(/CHECK constraint failed|violates check constraint/);
    }
    await handle.db.updateTable('jobs').set({ weight: MAX_JOB_WEIGHT }).execute();
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

  it('weighs an upload\'s scan, offsite copy and text extraction by the size stored: 1 plus a unit per whole MiB', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    // 3 MiB and 5 bytes: weight 4. A letter of 150 bytes (scanned by the job too, over 100): weight 1.
    const large = await upload(t.app, user, org.collections.payroll!, 'minutes.txt', Buffer.alloc(3 * 1024 * 1024 + 5, 'minutes '));
    const small = await upload(t.app, user, org.collections.payroll!, 'letter.txt', 'a short letter '.repeat(10));
    expect([large.statusCode, small.statusCode]).toEqual([201, 201]);
    await t.vault.worker.runDue();
    const weights = async (documentId: string) => {
      const versionId = (await t.vault.store.repos.documents.byId(documentId))!.currentVersionId;
      const rows = await t.vault.store.db.selectFrom('jobs').select(['kind', 'weight', 'status', 'organisation_id'])
        .where('payload', '=', JSON.stringify({ versionId })).orderBy('kind').execute();
      return rows.map((r) => [r.kind, r.weight, r.status, r.organisation_id]);
    };
    expect(await weights(large.json().id as string)).toEqual([['extract-text', 4, 'done', org.id], ['replicate', 4, 'done', org.id], ['scan-version', 4, 'done', org.id]]);
    expect(await weights(small.json().id as string)).toEqual([['extract-text', 1, 'done', org.id], ['replicate', 1, 'done', org.id], ['scan-version', 1, 'done', org.id]]);
  });
  it('charges a file stored in another council\'s collection to the council that stored it, so it cannot push that council\'s own work back', async () => {
    // Under an arrangement the host's staff store files in the partner's collections. Charged to the document's
    // organisation, one 8 MiB file stored there put the partner's own next scan 9 turns back (a 16 GiB one, 16,385).
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'contribute', ceiling: 'OFFICIAL-SENSITIVE' });
    const hostStaff = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const served = await upload(t.app, hostStaff, partner.collections.payroll!, 'served.txt', Buffer.alloc(8 * 1024 * 1024, 'served '));
    const own = await upload(t.app, partnerStaff, partner.collections.payroll!, 'own.txt', 'the partner\'s own letter '.repeat(10));
    expect([served.statusCode, own.statusCode]).toEqual([201, 201]);
    const versionOf = async (res: typeof served) => (await t.vault.store.repos.documents.byId(res.json().id as string))!.currentVersionId;
    const jobOf = async (kind: string, res: typeof served) => {
      const row = await t.vault.store.db.selectFrom('jobs').select(['organisation_id', 'weight', 'turn'])
        .where('kind', '=', kind).where('payload', '=', JSON.stringify({ versionId: await versionOf(res) })).executeTakeFirstOrThrow();
      return { organisationId: row.organisation_id, weight: row.weight, turn: Number(row.turn) };
    };
    const [servedScan, ownScan] = [await jobOf('scan-version', served), await jobOf('scan-version', own)];
    expect([servedScan.organisationId, servedScan.weight, ownScan.organisationId, ownScan.weight]).toEqual([host.id, 9, partner.id, 1]);
    expect(ownScan.turn).toBe(servedScan.turn);
    // Its extraction (queued by the scan's clean verdict) and offsite copy too.
    await t.vault.worker.runDue();
    expect(await jobOf('extract-text', served)).toMatchObject({ organisationId: host.id, weight: 9 });
    expect(await jobOf('replicate', served)).toMatchObject({ organisationId: host.id, weight: 9 });
  });
});
