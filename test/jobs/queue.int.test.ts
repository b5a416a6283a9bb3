// The job queue on both dialects: unique keys, two workers leasing at once never run a job twice,
// a heartbeat keeps a long job, an expired lease is taken over (and the old holder fenced out),
// backoff and dead letters, and start-up refuses a queued kind nothing handles.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { defineJob, type AnyJobDefinition } from '../../src/domain/jobs/define-job.js';
import { JOB_KINDS, scanVersionJob } from '../../src/domain/jobs/kinds.js';
import type { Clock } from '../../src/domain/ports.js';
import { JobRegistry, JobRegistryError, handle } from '../../src/jobs/registry.js';
import { JobWorker, UnhandledJobKindsError } from '../../src/jobs/worker.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { DIALECTS, type Dialect } from '../support/vault.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock a test moves by hand (for backoff), starting at the real time. */
class ManualClock implements Clock {
  constructor(private t = Date.now()) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}
const realClock: Clock = { now: () => new Date() };

const echoJob = defineJob({ kind: 'test-echo', payload: z.object({ n: z.number().int() }), maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 60 });
const flakyJob = defineJob({ kind: 'test-flaky', payload: z.object({ id: z.string() }), maxAttempts: 4, backoffSeconds: 10, maxBackoffSeconds: 25 });
const slowJob = defineJob({ kind: 'test-slow', payload: z.object({ ms: z.number() }), maxAttempts: 5, backoffSeconds: 1, maxBackoffSeconds: 1 });
const TEST_KINDS: AnyJobDefinition[] = [echoJob, flakyJob, slowJob];

/** Two handles on one database, as two processes would have. */
interface TwoHandles {
  a: DatabaseHandle;
  b: DatabaseHandle;
  close(): Promise<void>;
}

async function openTwo(dialect: Dialect): Promise<TwoHandles> {
  if (dialect === 'postgres') {
    const database: TestDatabase = await createTestDatabase('srjobs');
    const a = openPostgres(database.url, 4);
    const b = openPostgres(database.url, 4);
    await migrate(a.db, a.caps);
    return { a, b, close: async () => { await a.close(); await b.close(); await database.drop(); } };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'sr-jobs-'));
  const key = randomBytes(32);
  const file = path.join(dir, 'jobs.db');
  const a = openSqlite({ file, key });
  await migrate(a.db, a.caps);
  const b = openSqlite({ file, key });
  return { a, b, close: async () => { await a.close(); await b.close(); await rm(dir, { recursive: true, force: true }); } };
}

const dialects = DIALECTS;

describe.each(dialects)('job queue on %s', (dialect) => {
  let h: TwoHandles;
  let jobsA: JobsRepo;
  let jobsB: JobsRepo;
  beforeAll(async () => {
    h = await openTwo(dialect);
    jobsA = new JobsRepo(h.a.db, h.a.caps);
    jobsB = new JobsRepo(h.b.db, h.b.caps);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Marks every live job failed, so each test starts with an empty queue. */
  async function clearQueue(): Promise<void> {
    await h.a.db.updateTable('jobs').set({ status: 'failed', lease_until: null }).where('status', 'in', ['queued', 'running']).execute();
  }
  const rowsOf = (kind: string) => h.a.db.selectFrom('jobs').selectAll().where('kind', '=', kind).orderBy('id').execute();

  it('queues the same work once while it is live (unique key), and again after it finished', async () => {
    await clearQueue();
    const versionId = `v-${randomBytes(6).toString('hex')}`;
    const now = new Date();
    expect(await jobsA.enqueue(scanVersionJob, { versionId }, { now, bytes: 0, organisationId: null })).toBe(true);
    expect(await jobsB.enqueue(scanVersionJob, { versionId }, { now, bytes: 0, organisationId: null })).toBe(false);
    let rows = (await rowsOf('scan-version')).filter((r) => r.unique_key === `scan-version:${versionId}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'queued', attempts: 0, max_attempts: 50 });
    expect(JSON.parse(rows[0]!.payload)).toEqual({ versionId });

    // Still one row while it runs; a new one once it is done.
    const [leased] = await jobsA.lease(scanVersionJob.lane, now.toISOString(), new Date(now.getTime() + 60_000).toISOString(), 10);
    expect(leased).toMatchObject({ kind: 'scan-version', payload: { versionId }, attempts: 1 });
    expect(await jobsA.enqueue(scanVersionJob, { versionId }, { now, bytes: 0, organisationId: null })).toBe(false);
    expect(await jobsA.complete(leased!.id, 1, now.toISOString())).toBe(true);
    expect(await jobsA.enqueue(scanVersionJob, { versionId }, { now, bytes: 0, organisationId: null })).toBe(true);
    rows = (await rowsOf('scan-version')).filter((r) => r.unique_key === `scan-version:${versionId}`);
    expect(rows.map((r) => r.status)).toEqual(['done', 'queued']);

    // Jobs without a key are never merged.
    expect(await jobsA.enqueue(echoJob, { n: 1 }, { now, organisationId: null })).toBe(true);
    expect(await jobsA.enqueue(echoJob, { n: 1 }, { now, organisationId: null })).toBe(true);
    expect((await rowsOf('test-echo')).filter((r) => r.status === 'queued')).toHaveLength(2);
  });

  it('deletes only jobs finished done before the cut-off, at most a batch at a time', async () => {
    await clearQueue();
    const old = '2026-01-01T00:00:00.000Z';
    const recent = new Date().toISOString();
    const finished = async (status: 'done' | 'failed', at: string) => {
      await jobsA.enqueue(echoJob, { n: 1 }, { now: new Date(at), organisationId: null });
      const [leased] = await jobsA.lease('background', recent, new Date(Date.now() + 60_000).toISOString(), 1);
      if (status === 'done') expect(await jobsA.complete(leased!.id, leased!.attempts, at)).toBe(true);
      else expect(await jobsA.fail(leased!.id, leased!.attempts, at, 'gave up')).toBe(true);
      return leased!.id;
    };
    const oldDone = [await finished('done', old), await finished('done', old), await finished('done', old)];
    const recentDone = await finished('done', recent);
    const oldFailed = await finished('failed', old);
    await jobsA.enqueue(echoJob, { n: 2 }, { now: new Date(old), organisationId: null });
    const [running] = await jobsA.lease('background', recent, new Date(Date.now() + 60_000).toISOString(), 1);
    await jobsA.enqueue(echoJob, { n: 3 }, { now: new Date(old), organisationId: null });
    const ids = async () => new Set((await rowsOf('test-echo')).map((r) => Number(r.id)));
    const before = await ids();

    const cutOff = '2026-06-01T00:00:00.000Z';
    expect(await jobsB.deleteFinished(cutOff, 2)).toBe(2);
    expect(await jobsB.deleteFinished(cutOff, 2)).toBe(1);
    expect(await jobsB.deleteFinished(cutOff, 2)).toBe(0);
    const after = await ids();
    expect([...before].filter((id) => !after.has(id)).sort((a, b) => a - b)).toEqual(oldDone);
    for (const kept of [recentDone, oldFailed, running!.id]) expect(after.has(kept)).toBe(true);
    expect((await rowsOf('test-echo')).filter((r) => r.status === 'queued')).toHaveLength(1);
    // The tests after this one count this kind's rows.
    await h.a.db.deleteFrom('jobs').where('id', 'in', [...after]).execute();
  });

  it('refuses to queue a payload its kind does not accept', async () => {
    await expect(jobsA.enqueue(scanVersionJob, { versionId: '' }, { now: new Date(), bytes: 0, organisationId: null })).rejects.toThrow();
    await expect(jobsA.enqueue(echoJob, { n: 1.5 }, { now: new Date(), organisationId: null })).rejects.toThrow();
  });

  it('leases no more jobs than asked, oldest first, even when two connections lease at once', async () => {
    await clearQueue();
    const now = new Date(Date.now() - 1000);
    for (let n = 0; n < 12; n++) await jobsA.enqueue(echoJob, { n }, { now, organisationId: null });
    const t = new Date().toISOString();
    const u = new Date(Date.now() + 60_000).toISOString();
    const alone = await jobsB.lease('background', t, u, 3);
    expect(alone.map((j) => j.payload)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    const [x, y] = await Promise.all([jobsA.lease('background', t, u, 3), jobsB.lease('background', t, u, 3)]);
    expect(x).toHaveLength(3);
    expect(y).toHaveLength(3);
    expect(new Set([...alone, ...x, ...y].map((j) => j.id)).size).toBe(9);
  });

  it('runs every job exactly once when two workers on two connections lease at the same time', async () => {
    await clearQueue();
    const runs = new Map<number, number>();
    const registry = new JobRegistry([
      handle(echoJob, async (p) => {
        runs.set(p.n, (runs.get(p.n) ?? 0) + 1);
        await sleep(5);
      }),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async () => undefined),
    ], TEST_KINDS);
    const now = new Date(Date.now() - 1000);
    for (let n = 0; n < 60; n++) await jobsA.enqueue(echoJob, { n }, { now, organisationId: null });
    // Both connections open before the race starts, so neither wins by connecting first.
    await Promise.all([h.a.db.selectFrom('jobs').select('id').limit(1).execute(), h.b.db.selectFrom('jobs').select('id').limit(1).execute()]);
    const one = new JobWorker({ jobs: jobsA, durable: () => h.a.durable(), registry, clock: realClock, logger: silent, batch: 3 });
    const two = new JobWorker({ jobs: jobsB, durable: () => h.b.durable(), registry, clock: realClock, logger: silent, batch: 3 });
    const [ranOne, ranTwo] = await Promise.all([one.runDue(), two.runDue()]);
    expect(ranOne + ranTwo).toBe(60);
    expect(runs.size).toBe(60);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    const rows = (await rowsOf('test-echo')).filter((r) => r.status !== 'failed');
    expect(rows).toHaveLength(60);
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1 && r.lease_until === null)).toBe(true);
    if (dialect === 'postgres') {
      // On PostgreSQL the two really ran side by side (SKIP LOCKED hands each its own rows).
      expect(ranOne).toBeGreaterThan(0);
      expect(ranTwo).toBeGreaterThan(0);
    }
  });

  it('starts a handler only once the job and what was queued with it are durable', async () => {
    await clearQueue();
    const events: string[] = [];
    const registry = new JobRegistry([handle(echoJob, async (p) => void events.push(`ran ${p.n}`)), handle(flakyJob, async () => undefined), handle(slowJob, async () => undefined)], TEST_KINDS);
    // The barrier held shut, as while the enqueuing transaction's sync is still under way: the job is
    // committed and leasable, but a crash now would lose it and anything committed with it.
    let open!: () => void;
    const opened = new Promise<void>((resolve) => { open = resolve; });
    const durable = async () => {
      events.push('durable asked');
      await opened;
      await h.a.durable();
    };
    await jobsA.enqueue(echoJob, { n: 7 }, { now: new Date(Date.now() - 1000), organisationId: null });
    const worker = new JobWorker({ jobs: jobsA, durable, registry, clock: realClock, logger: silent });
    const running = worker.runDue();
    for (let i = 0; i < 100 && !events.includes('durable asked'); i++) await sleep(10);
    await sleep(100);
    expect(events).toEqual(['durable asked']);
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'running', attempts: 1 });
    open();
    expect(await running).toBe(1);
    expect(events).toEqual(['durable asked', 'ran 7', 'durable asked']);
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'done' });
  });

  it('keeps a long job with its heartbeat, so a second worker does not take it', async () => {
    await clearQueue();
    let started = 0;
    let finished = 0;
    const registry = new JobRegistry([
      handle(echoJob, async () => undefined),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async (p) => {
        started += 1;
        await sleep(p.ms);
        finished += 1;
      }),
    ], TEST_KINDS);
    await jobsA.enqueue(slowJob, { ms: 3000 }, { now: new Date(Date.now() - 1000), organisationId: null });
    // A 1-second lease, renewed every 200 ms: without the heartbeat it would expire three times over.
    const holder = new JobWorker({ jobs: jobsA, durable: () => h.a.durable(), registry, clock: realClock, logger: silent, leaseSeconds: 1, heartbeatMs: 200 });
    const other = new JobWorker({ jobs: jobsB, durable: () => h.b.durable(), registry, clock: realClock, logger: silent, leaseSeconds: 1 });
    const running = holder.runDue();
    let takenByOther = 0;
    const until = Date.now() + 2600;
    while (Date.now() < until) {
      await sleep(150);
      takenByOther += await other.runDue();
    }
    expect(await running).toBe(1);
    expect(takenByOther).toBe(0);
    expect({ started, finished }).toEqual({ started: 1, finished: 1 });
    const [row] = await rowsOf('test-slow');
    expect(row).toMatchObject({ status: 'done', attempts: 1 });
  });

  /** A worker whose own `complete` calls are counted: the ones it makes outside any handler's transaction. */
  function countingCompletes(jobs: JobsRepo) {
    let calls = 0;
    const counted = Object.assign(Object.create(jobs) as JobsRepo, {
      complete: (id: number, attempt: number, at: string) => {
        calls += 1;
        return jobs.complete(id, attempt, at);
      },
    });
    return { jobs: counted, calls: () => calls };
  }
  const resultOf = async (key: string) => (await h.a.db.selectFrom('key_values').select('value').where('key', '=', key).executeTakeFirst())?.value;

  it('marks a job done in the transaction that records its result when the handler takes the completion, and not again after', async () => {
    await clearQueue();
    const key = `result-${randomBytes(6).toString('hex')}`;
    let doneInside: unknown;
    let aborted = false;
    const registry = new JobRegistry([
      handle(echoJob, async (p, context) => {
        await h.a.db.transaction().execute(async (trx) => {
          await trx.insertInto('key_values').values({ key, value: String(p.n) }).execute();
          await context.complete({ jobs: new JobsRepo(trx, h.a.caps) });
          doneInside = (await trx.selectFrom('jobs').select('status').where('kind', '=', 'test-echo').orderBy('id', 'desc').executeTakeFirst())?.status;
        });
        // Heartbeats due after the completion find the job no longer running: that is not a lost lease.
        await sleep(250);
        aborted = context.signal.aborted;
      }),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async () => undefined),
    ], TEST_KINDS);
    await jobsA.enqueue(echoJob, { n: 42 }, { now: new Date(Date.now() - 1000), organisationId: null });
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const { jobs, calls } = countingCompletes(jobsA);
    const worker = new JobWorker({ jobs, durable: () => h.a.durable(), registry, clock: realClock, logger, leaseSeconds: 1, heartbeatMs: 50 });
    expect(await worker.runDue()).toBe(1);
    expect(doneInside).toBe('done');
    expect(await resultOf(key)).toBe('42');
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'done', attempts: 1, lease_until: null });
    expect(calls()).toBe(0);
    expect(aborted).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('retries a job whose completion was rolled back with its handler\'s transaction, and keeps nothing of that run', async () => {
    await clearQueue();
    const key = `result-${randomBytes(6).toString('hex')}`;
    const registry = new JobRegistry([
      handle(echoJob, async (_p, context) => {
        await h.a.db.transaction().execute(async (trx) => {
          await trx.insertInto('key_values').values({ key, value: 'half' }).execute();
          await context.complete({ jobs: new JobsRepo(trx, h.a.caps) });
          throw new Error('the result could not be recorded');
        });
      }),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async () => undefined),
    ], TEST_KINDS);
    const clock = new ManualClock();
    await jobsA.enqueue(echoJob, { n: 3 }, { now: new Date(clock.now().getTime() - 1000), organisationId: null });
    const { jobs, calls } = countingCompletes(jobsA);
    const worker = new JobWorker({ jobs, durable: () => h.a.durable(), registry, clock, logger: silent });
    expect(await worker.runDue()).toBe(1);
    expect(await resultOf(key)).toBeUndefined();
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'queued', attempts: 1, last_error: 'the result could not be recorded' });
    expect(calls()).toBe(0);
  });

  it('rolls back the result of a run whose lease was taken over when it completes inside its transaction too late', async () => {
    await clearQueue();
    const key = `result-${randomBytes(6).toString('hex')}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    const attempts: number[] = [];
    const registry = new JobRegistry([
      handle(echoJob, async (p, context) => {
        attempts.push(context.attempt);
        if (context.attempt === 1) await released;
        await h.a.db.transaction().execute(async (trx) => {
          await trx.insertInto('key_values').values({ key: `${key}-${context.attempt}`, value: String(p.n) }).execute();
          await context.complete({ jobs: new JobsRepo(trx, h.a.caps) });
        });
      }),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async () => undefined),
    ], TEST_KINDS);
    await jobsA.enqueue(echoJob, { n: 9 }, { now: new Date(Date.now() - 1000), organisationId: null });
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    // The first worker's lease (300 ms, never renewed in time) runs out while its handler is stuck.
    const first = new JobWorker({ jobs: jobsA, durable: () => h.a.durable(), registry, clock: realClock, logger, leaseSeconds: 0.3, heartbeatMs: 60_000 });
    const running = first.runDue();
    await sleep(500);
    const second = new JobWorker({ jobs: jobsB, durable: () => h.b.durable(), registry, clock: realClock, logger: silent });
    expect(await second.runDue()).toBe(1);
    release();
    expect(await running).toBe(1);
    expect(attempts).toEqual([1, 2]);
    // The second run's result and completion stand; the first one's came too late and rolled back whole.
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await resultOf(`${key}-2`)).toBe('9');
    expect(await resultOf(`${key}-1`)).toBeUndefined();
    expect(warnings).toContain('job finished after its lease was taken over; the other run decides its outcome');
  });

  it('does not start a job whose lease expired while it waited behind a long one in the same batch', async () => {
    await clearQueue();
    const runs: string[] = [];
    const registry = new JobRegistry([
      handle(echoJob, async (p) => void runs.push(`echo ${p.n}`)),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async (p) => {
        runs.push('slow');
        await sleep(p.ms);
      }),
    ], TEST_KINDS);
    const past = new Date(Date.now() - 2000);
    await jobsA.enqueue(slowJob, { ms: 1800 }, { now: past, organisationId: null });
    await jobsA.enqueue(echoJob, { n: 5 }, { now: new Date(past.getTime() + 1), organisationId: null });
    // One lease query takes both; the echo job's 1-second lease runs out while the slow one works.
    const first = new JobWorker({ jobs: jobsA, durable: () => h.a.durable(), registry, clock: realClock, logger: silent, leaseSeconds: 1, heartbeatMs: 200, batch: 2 });
    const second = new JobWorker({ jobs: jobsB, durable: () => h.b.durable(), registry, clock: realClock, logger: silent, leaseSeconds: 1 });
    const running = first.runDue();
    await sleep(1400);
    expect(await second.runDue()).toBe(1);
    await running;
    expect(runs).toEqual(['slow', 'echo 5']);
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'done', attempts: 2 });
    expect((await rowsOf('test-slow')).at(-1)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('renews a batch\'s lease before a job starts only once little of it is left', async () => {
    await clearQueue();
    const registry = new JobRegistry([
      handle(echoJob, async () => undefined),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async (p) => void (await sleep(p.ms))),
    ], TEST_KINDS);
    const past = new Date(Date.now() - 2000);
    await jobsA.enqueue(echoJob, { n: 1 }, { now: past, organisationId: null });
    await jobsA.enqueue(slowJob, { ms: 700 }, { now: new Date(past.getTime() + 1), organisationId: null });
    await jobsA.enqueue(echoJob, { n: 2 }, { now: new Date(past.getTime() + 2), organisationId: null });
    const renewed: number[] = [];
    const counting: typeof jobsA = Object.assign(Object.create(jobsA) as typeof jobsA, {
      heartbeat: (id: number, attempt: number, until: string) => {
        renewed.push(id);
        return jobsA.heartbeat(id, attempt, until);
      },
    });
    // A 1-second lease with a heartbeat every 200 ms: the first two jobs start with 1 s left, the last
    // with about 0.3 s, under two heartbeats' worth.
    const worker = new JobWorker({ jobs: counting, durable: () => h.a.durable(), registry, clock: realClock, logger: silent, leaseSeconds: 1, heartbeatMs: 200, batch: 3 });
    expect(await worker.runDue()).toBe(3);
    const [first, second] = await rowsOf('test-echo').then((rows) => rows.slice(-2));
    const [slow] = await rowsOf('test-slow').then((rows) => rows.slice(-1));
    expect(renewed).not.toContain(Number(first!.id));
    expect(renewed.filter((id) => id === Number(second!.id))).toHaveLength(1);
    // The slow job's own heartbeats kept its lease while it ran.
    expect(renewed.filter((id) => id === Number(slow!.id)).length).toBeGreaterThanOrEqual(2);
    for (const row of [first, second, slow]) expect(row).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('leases the oldest due jobs across queued ones and expired leases, and nothing not yet due or still held', async () => {
    await clearQueue();
    const base = Date.now() - 60_000;
    const at = (s: number) => new Date(base + s * 1000);
    // n = the order they are due in: 0, 2, 4 queued; 1, 3 leased by a worker that died; 5 held; 6 not yet due.
    for (const n of [0, 1, 2, 3, 4, 5]) await jobsA.enqueue(echoJob, { n }, { now: at(n), runAt: at(n), organisationId: null });
    await jobsA.enqueue(echoJob, { n: 6 }, { now: at(0), runAt: new Date(Date.now() + 60_000), organisationId: null });
    const ids = new Map((await rowsOf('test-echo')).map((r) => [(JSON.parse(r.payload) as { n: number }).n, r.id]));
    const leased = (n: number, until: number) => h.a.db.updateTable('jobs').set({ status: 'running', lease_until: new Date(until).toISOString(), attempts: 1 }).where('id', '=', ids.get(n)!).execute();
    await leased(1, Date.now() - 1000);
    await leased(3, Date.now() - 1000);
    await leased(5, Date.now() + 60_000);
    const t = new Date().toISOString();
    const u = new Date(Date.now() + 60_000).toISOString();
    expect((await jobsB.lease('background', t, u, 4)).map((j) => j.payload)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
    expect((await jobsB.lease('background', t, u, 4)).map((j) => j.payload)).toEqual([{ n: 4 }]);
    expect(await jobsB.lease('background', t, u, 4)).toEqual([]);
  });

  it('gives a crashed worker\'s job to another once its lease expires, and fences the old holder out', async () => {
    await clearQueue();
    const runs: number[] = [];
    const registry = new JobRegistry([
      handle(echoJob, async (p, context) => void runs.push(p.n * 10 + context.attempt)),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async () => undefined),
    ], TEST_KINDS);
    await jobsA.enqueue(echoJob, { n: 7 }, { now: new Date(Date.now() - 1000), organisationId: null });
    // The "crashed" worker leased it for 200 ms and never came back.
    const start = new Date();
    const [crashed] = await jobsA.lease('background', start.toISOString(), new Date(start.getTime() + 200).toISOString(), 10);
    expect(crashed).toMatchObject({ kind: 'test-echo', attempts: 1 });
    const other = new JobWorker({ jobs: jobsB, durable: () => h.b.durable(), registry, clock: realClock, logger: silent });
    expect(await other.runDue()).toBe(0);
    await sleep(300);
    expect(await other.runDue()).toBe(1);
    expect(runs).toEqual([72]);
    const [row] = (await rowsOf('test-echo')).filter((r) => r.id === crashed!.id);
    expect(row).toMatchObject({ status: 'done', attempts: 2 });
    // The first holder wakes up: its lease is gone, so it can neither renew, finish, retry nor fail it.
    expect(await jobsA.heartbeat(crashed!.id, 1, new Date(Date.now() + 60_000).toISOString())).toBe(false);
    expect(await jobsA.complete(crashed!.id, 1, new Date().toISOString())).toBe(false);
    expect(await jobsA.retry(crashed!.id, 1, new Date().toISOString(), 'late')).toBe(false);
    expect(await jobsA.fail(crashed!.id, 1, new Date().toISOString(), 'late')).toBe(false);
    expect((await rowsOf('test-echo')).find((r) => r.id === crashed!.id)).toMatchObject({ status: 'done', attempts: 2, last_error: null });
  });

  it('retries with doubling backoff up to the cap, then dead-letters the job where it can be seen', async () => {
    await clearQueue();
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
    let calls = 0;
    const registry = new JobRegistry([
      handle(echoJob, async () => undefined),
      handle(flakyJob, async () => {
        calls += 1;
        throw new Error(`scanner unavailable (call ${calls})`);
      }),
      handle(slowJob, async () => undefined),
    ], TEST_KINDS);
    const worker = new JobWorker({ jobs: jobsA, durable: () => h.a.durable(), registry, clock, logger });
    await jobsA.enqueue(flakyJob, { id: 'x' }, { now: clock.now(), organisationId: null });
    const [job] = await rowsOf('test-flaky');

    const runAtAfter = async () => new Date((await rowsOf('test-flaky')).find((r) => r.id === job!.id)!.run_at).getTime() - clock.now().getTime();
    expect(await worker.runDue()).toBe(1);
    expect(await runAtAfter()).toBe(10_000);
    // Not due yet: nothing runs.
    clock.advance(9);
    expect(await worker.runDue()).toBe(0);
    clock.advance(1);
    expect(await worker.runDue()).toBe(1);
    expect(await runAtAfter()).toBe(20_000);
    clock.advance(20);
    expect(await worker.runDue()).toBe(1);
    // 40 s would be next; the cap is 25 s.
    expect(await runAtAfter()).toBe(25_000);
    expect((await rowsOf('test-flaky'))[0]).toMatchObject({ status: 'queued', attempts: 3, last_error: 'scanner unavailable (call 3)' });
    expect(errors).toHaveLength(0);

    clock.advance(25);
    expect(await worker.runDue()).toBe(1);
    const [dead] = await rowsOf('test-flaky');
    expect(dead).toMatchObject({ status: 'failed', attempts: 4, last_error: 'scanner unavailable (call 4)', lease_until: null });
    expect(dead!.finished_at).toBe(clock.now().toISOString());
    expect(calls).toBe(4);
    expect(errors).toEqual([expect.objectContaining({ job: job!.id, kind: 'test-flaky', attempt: 4, msg: expect.stringMatching(/dead-lettered/) })]);
    expect((await jobsA.failed()).find((f) => f.id === job!.id)).toMatchObject({ kind: 'test-flaky', attempts: 4, lastError: 'scanner unavailable (call 4)' });
    clock.advance(3600);
    expect(await worker.runDue()).toBe(0);
  });

  it('dead-letters a stored payload its kind does not accept, without running the handler', async () => {
    await clearQueue();
    let ran = 0;
    const registry = new JobRegistry([handle(echoJob, async () => void (ran += 1)), handle(flakyJob, async () => undefined), handle(slowJob, async () => undefined)], TEST_KINDS);
    const now = new Date(Date.now() - 1000).toISOString();
    await h.a.db.insertInto('jobs').values({ kind: 'test-echo', payload: JSON.stringify({ n: 'seven' }), run_at: now, attempts: 0, max_attempts: 3, status: 'queued', created_at: now, unique_key: null }).execute();
    const worker = new JobWorker({ jobs: jobsA, durable: () => h.a.durable(), registry, clock: realClock, logger: silent });
    expect(await worker.runDue()).toBe(1);
    expect(ran).toBe(0);
    const dead = (await rowsOf('test-echo')).at(-1);
    expect(dead).toMatchObject({ status: 'failed', attempts: 1 });
    expect(dead!.last_error).toMatch(/^invalid payload/);
  });

  it('retries, never dead-letters, a job whose last attempt met the database busy with another process, and runs it later', async () => {
    await clearQueue();
    const key = `busy-${randomBytes(6).toString('hex')}`;
    await h.a.db.insertInto('key_values').values({ key, value: 'before' }).execute();
    /**
     * Another connection (another process) holds what the handler's single statement, outside any
     * transaction, needs: SQLite's write lock past the busy timeout (a tenth of a second here, five in
     * service), or a PostgreSQL row lock the statement will not wait for (NOWAIT, 55P03).
     */
    const contended = async (statement: () => Promise<unknown>): Promise<void> => {
      if (dialect === 'sqlite') {
        await sql`pragma busy_timeout = 100`.execute(h.a.db);
        await sql`begin immediate`.execute(h.b.db);
        try {
          await statement();
        } finally {
          await sql`rollback`.execute(h.b.db);
          await sql`pragma busy_timeout = 5000`.execute(h.a.db);
        }
        return;
      }
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let held!: () => void;
      const holding = new Promise<void>((r) => (held = r));
      const other = h.b.db.transaction().execute(async (trx) => {
        await trx.updateTable('key_values').set({ value: 'other' }).where('key', '=', key).execute();
        held();
        await released;
      });
      await holding;
      try {
        await statement();
      } finally {
        release();
        await other;
      }
    };
    let contend = true;
    const registry = new JobRegistry([
      handle(echoJob, async (p) => {
        const write = () => (dialect === 'sqlite'
          ? h.a.db.updateTable('key_values').set({ value: String(p.n) }).where('key', '=', key).execute()
          : sql`update key_values set value = ${String(p.n)} where key = (select key from key_values where key = ${key} for update nowait)`.execute(h.a.db));
        if (contend) await contended(write);
        else await write();
      }),
      handle(flakyJob, async () => undefined),
      handle(slowJob, async () => undefined),
    ], TEST_KINDS);
    const clock = new ManualClock();
    const at = new Date(clock.now().getTime() - 1000).toISOString();
    // Two attempts already spent: the lease makes this run the kind's last (3).
    await h.a.db.insertInto('jobs').values({ kind: 'test-echo', payload: JSON.stringify({ n: 5 }), run_at: at, attempts: 2, max_attempts: 3, status: 'queued', created_at: at, unique_key: null }).execute();
    const worker = new JobWorker({ jobs: jobsA, durable: () => h.a.durable(), registry, clock, logger: silent });
    expect(await worker.runDue()).toBe(1);
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'queued', attempts: 3, last_error: 'Someone changed the same records at the same moment, so nothing was changed. Try again.' });
    expect(await resultOf(key)).toBe(dialect === 'sqlite' ? 'before' : 'other');
    contend = false;
    clock.advance(60);
    expect(await worker.runDue()).toBe(1);
    expect((await rowsOf('test-echo')).at(-1)).toMatchObject({ status: 'done', attempts: 4 });
    expect(await resultOf(key)).toBe('5');
  });

  it('refuses to start while the table holds a queued kind no handler runs, and starts once it is gone', async () => {
    await clearQueue();
    const unknownJob = defineJob({ kind: 'test-from-the-future', payload: z.object({}), maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1 });
    await jobsA.enqueue(unknownJob, {}, { now: new Date(), organisationId: null });
    const registry = new JobRegistry([handle(echoJob, async () => undefined), handle(flakyJob, async () => undefined), handle(slowJob, async () => undefined)], TEST_KINDS);
    const worker = new JobWorker({ jobs: jobsB, durable: () => h.b.durable(), registry, clock: realClock, logger: silent, pollMs: 50 });
    const refusal = await worker.start().then(() => null, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnhandledJobKindsError);
    expect((refusal as UnhandledJobKindsError).kinds).toEqual(['test-from-the-future']);
    expect((refusal as Error).message).toMatch(/test-from-the-future/);
    expect(worker.started).toBe(false);
    expect((await rowsOf('test-from-the-future'))[0]).toMatchObject({ status: 'queued', attempts: 0 });

    await h.a.db.updateTable('jobs').set({ status: 'failed' }).where('kind', '=', 'test-from-the-future').execute();
    await worker.start();
    expect(worker.started).toBe(true);
    await worker.stop();
  });
});

describe('job registry', () => {
  it('refuses a defined kind without a handler, a handler without a kind, and two handlers for one kind', () => {
    const build = (handlers: [AnyJobDefinition, () => Promise<undefined>][]) => () => new JobRegistry(handlers.map(([d, f]) => handle(d, f)), TEST_KINDS);
    const noop = async () => undefined;
    expect(build([[echoJob, noop], [flakyJob, noop], [slowJob, noop]])).not.toThrow();
    expect(build([[echoJob, noop], [flakyJob, noop]])).toThrow(JobRegistryError);
    expect(build([[echoJob, noop], [flakyJob, noop]])).toThrow(/job kind "test-slow" has no handler/);
    expect(build([[echoJob, noop], [flakyJob, noop], [slowJob, noop], [scanVersionJob, noop]])).toThrow(/"scan-version", which is not a defined job kind/);
    expect(build([[echoJob, noop], [echoJob, noop], [flakyJob, noop], [slowJob, noop]])).toThrow(/"test-echo" has two handlers/);
  });

  it('lists every kind Strongroom runs, each with a unique name', () => {
    const kinds = JOB_KINDS.map((k) => k.kind);
    expect(kinds).toEqual(['scan-version', 'rescan', 'disposal-sweep', 'dispose-batch', 'purge-bin', 'delete-blobs', 'replicate', 'replica-delete', 'scrub', 'backup', 'extract-text', 'search-rename', 'search-purge', 'compact-search', 'send-email', 'send-account-notice-summary', 'prune-finished-jobs', 'sweep-orphan-blobs']);
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it('rejects malformed kinds and attempt counts when a kind is defined', () => {
    expect(() => defineJob({ kind: 'Scan Version', payload: z.object({}), maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1 })).toThrow(/lower-case/);
    expect(() => defineJob({ kind: 'ok-kind', payload: z.object({}), maxAttempts: 0, backoffSeconds: 1, maxBackoffSeconds: 1 })).toThrow(/maxAttempts/);
  });
});
