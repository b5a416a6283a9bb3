// The job queue's lanes on both dialects (domain/jobs/define-job.ts JobLane). A running worker takes one job
// of each lane at a time, the lanes side by side: while a background job runs for as long as it likes (an
// import's text extraction, OCR, the daily backup), a scan someone's file waits on and an e-mail someone
// waits for still run, and each other. Within a lane jobs still run one at a time, oldest first. Before
// lanes the worker took every kind in one line, so each of these waited for the job before it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { defineJob, type AnyJobDefinition } from '../../src/domain/jobs/define-job.js';
import { JobRegistry, handle } from '../../src/jobs/registry.js';
import { JobWorker } from '../../src/jobs/worker.js';
import { createTestDatabase } from '../support/postgres.js';
import { DIALECTS } from '../support/vault.js';

const silent = pino({ level: 'silent' });
const clock = { now: () => new Date() };

const payload = z.object({ n: z.number().int() });
const bulkJob = defineJob({ kind: 'test-bulk', payload, maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 1 });
const scanJob = defineJob({ kind: 'test-scan', payload, maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 1, lane: 'availability' });
const mailJob = defineJob({ kind: 'test-mail', payload, maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 1, lane: 'mail' });
const TEST_KINDS: AnyJobDefinition[] = [bulkJob, scanJob, mailJob];

/** A promise a test resolves by hand: a job's handler waits on it for as long as the test says. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { opened, open };
}

/** Resolves once `done()` holds, polling; throws `why` after 20 s rather than leaving it to the test's timeout. */
async function until(done: () => boolean | Promise<boolean>, why: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(why);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(DIALECTS)('the job queue\'s lanes on %s', (dialect) => {
  let handle_: DatabaseHandle;
  let close: () => Promise<void>;
  let jobs: JobsRepo;
  beforeAll(async () => {
    if (dialect === 'postgres') {
      const database = await createTestDatabase('srlanes');
      handle_ = openPostgres(database.url, 4);
      close = async () => { await handle_.close(); await database.drop(); };
    } else {
      const dir = await mkdtemp(path.join(tmpdir(), 'sr-lanes-'));
      handle_ = openSqlite({ file: path.join(dir, 'jobs.db'), key: randomBytes(32) });
      close = async () => { await handle_.close(); await rm(dir, { recursive: true, force: true }); };
    }
    await migrate(handle_.db, handle_.caps);
    jobs = new JobsRepo(handle_.db, handle_.caps);
  });
  afterAll(async () => {
    await close?.();
  });
  beforeEach(async () => {
    await handle_.db.deleteFrom('jobs').execute();
  });

  const enqueue = (definition: AnyJobDefinition, n: number, ago = 0) => jobs.enqueue(definition, { n }, { now: new Date(Date.now() - 60_000 + ago) });
  /** The test's jobs' kinds and statuses, oldest first (each test starts with an empty table). */
  const statuses = () => handle_.db.selectFrom('jobs').select(['kind', 'status']).orderBy('id').execute();
  const worker = (registry: JobRegistry) => new JobWorker({ jobs, durable: () => handle_.durable(), registry, clock, logger: silent, pollMs: 20 });

  it('stores each job in its kind\'s lane, and leases a lane\'s jobs only', async () => {
    await enqueue(bulkJob, 1);
    await enqueue(scanJob, 2);
    await enqueue(mailJob, 3);
    const rows = await handle_.db.selectFrom('jobs').select(['kind', 'lane']).where('status', '=', 'queued').orderBy('id').execute();
    expect(rows).toEqual([{ kind: 'test-bulk', lane: 'background' }, { kind: 'test-scan', lane: 'availability' }, { kind: 'test-mail', lane: 'mail' }]);
    const now = new Date().toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    expect((await jobs.lease('mail', now, until, 10)).map((j) => j.kind)).toEqual(['test-mail']);
    expect((await jobs.lease('mail', now, until, 10))).toEqual([]);
    expect((await jobs.lease('background', now, until, 10)).map((j) => j.kind)).toEqual(['test-bulk']);
    expect((await jobs.lease('availability', now, until, 10)).map((j) => j.kind)).toEqual(['test-scan']);
    // The database refuses a lane no worker leases: such a row would wait for ever.
    await expect(handle_.db.updateTable('jobs').set({ lane: 'urgent' }).where('kind', '=', 'test-scan').execute()).rejects.toThrow(/check/i);
  });

  it('runs a scan and an e-mail queued behind a long background job while it still runs, and that job to its end', async () => {
    const held = gate();
    const ran: string[] = [];
    const registry = new JobRegistry([
      handle(bulkJob, async (p) => {
        ran.push(`bulk ${p.n} started`);
        if (p.n === 1) await held.opened;
        ran.push(`bulk ${p.n} done`);
      }),
      handle(scanJob, async (p) => void ran.push(`scan ${p.n}`)),
      handle(mailJob, async (p) => void ran.push(`mail ${p.n}`)),
    ], TEST_KINDS);
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
    ], TEST_KINDS);
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
    ], TEST_KINDS);
    await enqueue(bulkJob, 1, 0);
    await enqueue(scanJob, 2, 1);
    expect(await worker(registry).runDue()).toBe(3);
    expect(ran).toEqual(['scan 2', 'bulk 1', 'mail 9']);
  });
});
