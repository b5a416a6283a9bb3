// A job queue of a test's own on either dialect (a migrated database, nothing else), job kinds of each lane
// for it, and the holds a test drives a worker with: a handler that waits until the test lets it go, and a
// wait for what the worker has done by then.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { z } from 'zod';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { defineJob, type AnyJobDefinition } from '../../src/domain/jobs/define-job.js';
import { JobRegistry, handle } from '../../src/jobs/registry.js';
import { JobWorker, type JobWorkerOptions } from '../../src/jobs/worker.js';
import { createTestDatabase } from './postgres.js';
import type { Dialect } from './vault.js';

const payload = z.object({ n: z.number().int() });
export const bulkJob = defineJob({ kind: 'test-bulk', payload, maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 1 });
export const scanJob = defineJob({ kind: 'test-scan', payload, maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 1, lane: 'availability' });
export const mailJob = defineJob({ kind: 'test-mail', payload, maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 1, lane: 'mail' });
/** One kind in each lane: the registry's kinds for a worker over a test queue. */
export const LANE_TEST_KINDS: AnyJobDefinition[] = [bulkJob, scanJob, mailJob];

export interface TestQueue {
  handle: DatabaseHandle;
  jobs: JobsRepo;
  close(): Promise<void>;
}

/** A migrated database of its own (a PostgreSQL database or an SQLite file named after `name`) and its queue. */
export async function openTestQueue(dialect: Dialect, name: string): Promise<TestQueue> {
  let handle: DatabaseHandle;
  let remove: () => Promise<void>;
  if (dialect === 'postgres') {
    const database = await createTestDatabase(`sr${name}`);
    handle = openPostgres(database.url, 4);
    remove = () => database.drop();
  } else {
    const dir = await mkdtemp(path.join(tmpdir(), `sr-${name}-`));
    handle = openSqlite({ file: path.join(dir, 'jobs.db'), key: randomBytes(32) });
    remove = () => rm(dir, { recursive: true, force: true });
  }
  await migrate(handle.db, handle.caps);
  return { handle, jobs: new JobsRepo(handle.db, handle.caps), close: async () => { await handle.close(); await remove(); } };
}

/**
 * A test queue for a suite (opened before it, closed after it, emptied before each test), with what its
 * tests do to it: queue a job due a minute ago (`ago` ms later), read the jobs' kinds and statuses oldest
 * first, and make a worker over it that polls every 20 ms.
 */
export function useTestQueue(dialect: Dialect, name: string) {
  let queue: TestQueue | undefined;
  beforeAll(async () => {
    queue = await openTestQueue(dialect, name);
  });
  afterAll(async () => {
    await queue?.close();
  });
  beforeEach(async () => {
    await opened().handle.db.deleteFrom('jobs').execute();
  });
  const opened = (): TestQueue => {
    if (!queue) throw new Error('the queue is opened in beforeAll: use it inside a hook or a test');
    return queue;
  };
  return {
    get jobs() {
      return opened().jobs;
    },
    get database() {
      return opened().handle;
    },
    enqueue: (definition: AnyJobDefinition, n: number, ago = 0) => opened().jobs.enqueue(definition, { n }, { now: new Date(Date.now() - 60_000 + ago), organisationId: null }),
    statuses: () => opened().handle.db.selectFrom('jobs').select(['kind', 'status']).orderBy('id').execute(),
    worker: (registry: JobRegistry, options: Partial<Pick<JobWorkerOptions, 'batch' | 'slots'>> = {}) => new JobWorker({
      jobs: opened().jobs, durable: () => opened().handle.durable(), registry, clock: { now: () => new Date() }, logger: pino({ level: 'silent' }), pollMs: 20, ...options,
    }),
  };
}

/**
 * A registry over LANE_TEST_KINDS whose handlers write what they do into `ran` ("bulk 1 started", "scan 3"),
 * the first background job (n = 1) waiting for `held` between its start and its end.
 */
export function registryHoldingFirstBulk(ran: string[], held: { opened: Promise<void> }): JobRegistry {
  return new JobRegistry([
    handle(bulkJob, async (p) => {
      ran.push(`bulk ${p.n} started`);
      if (p.n === 1) await held.opened;
      ran.push(`bulk ${p.n} done`);
    }),
    handle(scanJob, async (p) => void ran.push(`scan ${p.n}`)),
    handle(mailJob, async (p) => void ran.push(`mail ${p.n}`)),
  ], LANE_TEST_KINDS);
}

/**
 * A registry over LANE_TEST_KINDS whose scans write their start and end into `ran` ("scan 2 started", "scan 2 done"),
 * each scan whose number `holds` has waiting for that gate between the two; the other kinds do nothing.
 */
export function registryHoldingScans(ran: string[], holds: ReadonlyMap<number, { opened: Promise<void> }>): JobRegistry {
  return new JobRegistry([
    handle(bulkJob, async () => undefined),
    handle(scanJob, async (p) => {
      ran.push(`scan ${p.n} started`);
      await holds.get(p.n)?.opened;
      ran.push(`scan ${p.n} done`);
    }),
    handle(mailJob, async () => undefined),
  ], LANE_TEST_KINDS);
}

/** A promise a test resolves by hand: a job's handler waits on it for as long as the test says. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { opened, open };
}

/** Resolves once `done()` holds, polling; throws `why` after 20 s rather than leaving it to the test's timeout. */
export async function until(done: () => boolean | Promise<boolean>, why: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(why);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
