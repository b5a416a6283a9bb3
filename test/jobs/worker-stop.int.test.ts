// Stopping the running worker (JobWorker.stop, from the vault's close()). Each lane's poll ran its lane until
// no job was due, and stop() waited for every lane's poll: a shutdown during a 100,000-file import waited for
// the whole import's text extraction (about 12 minutes of it) rather than for the jobs in hand, and a service
// manager's stop timeout killed the process in the middle of a job. A stop() that comes while start() is still
// checking the queue (a shutdown during start-up) left the worker running after stop() had returned.
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

describe.each(DIALECTS)('stopping the job worker on %s', (dialect) => {
  let handle_: DatabaseHandle;
  let close: () => Promise<void>;
  let jobs: JobsRepo;
  beforeAll(async () => {
    if (dialect === 'postgres') {
      const database = await createTestDatabase('srstop');
      handle_ = openPostgres(database.url, 4);
      close = async () => { await handle_.close(); await database.drop(); };
    } else {
      const dir = await mkdtemp(path.join(tmpdir(), 'sr-stop-'));
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
  const worker = (registry: JobRegistry) => new JobWorker({ jobs, durable: () => handle_.durable(), registry, clock, logger: silent, pollMs: 20, batch: 1 });

  it('waits for the jobs in hand, not for the lanes\' backlogs', async () => {
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

  it('does not start when stopped while it checks the queue', async () => {
    const registry = new JobRegistry([handle(bulkJob, async () => undefined), handle(scanJob, async () => undefined), handle(mailJob, async () => undefined)], TEST_KINDS);
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
