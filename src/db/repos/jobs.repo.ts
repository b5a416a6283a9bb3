// The durable job queue: a table both dialects share. A worker leases due jobs (one statement, so two
// workers never take the same row), renews the lease while it works, and a crashed worker's lease
// expires so another takes the job. `attempts` doubles as the lease's fencing token: a worker whose
// lease was taken over can no longer complete, retry or fail the job.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, type Transaction, type Updateable } from 'kysely';
import type { JobDefinition, JobLane } from '../../domain/jobs/define-job.js';
import type { FailedJob, JobCounts, JobsRepository, RequeueOutcome } from '../../domain/repositories.js';
import type { DialectCaps } from '../kysely.js';
import { preparedQuery, type PreparedQuery } from '../prepared-query.js';
import type { JobsTable, Schema } from '../schema.js';

export interface JobRow {
  id: number;
  kind: string;
  /** The stored JSON, parsed but not yet validated against the kind's payload schema. */
  payload: unknown;
  /** This lease's attempt number (1 for the first run); pass it back to heartbeat/complete/retry/fail. */
  attempts: number;
  maxAttempts: number;
}

export type { FailedJob, JobCounts, RequeueOutcome };

const LIVE = sql<boolean>`status in ('queued', 'running')`;

/**
 * Takes up to `limit` due jobs of one lane (queued, or running with an expired lease) and leases them until
 * `leaseUntil`. Each candidate set also names the partial index jobs_lane_due's own condition (LIVE), as
 * SQLite uses a partial index only for a query that has its WHERE term as one of its own, and the
 * statuses are written as literals: SQLite would otherwise prepare the statement again at every run
 * (disposed-status.ts says why).
 */
function leaseQuery(db: Kysely<Schema>, rowLocks: boolean, values: LeaseValues, limit: number) {
  const { lane, now, leaseUntil } = values;
  const due = (eb: ExpressionBuilder<Schema, 'jobs'>) =>
    eb.and([eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]), eb('run_at', '<=', now)]);
  // The oldest due jobs of the lane of each kind of candidate (queued; running with an expired lease),
  // each read in order from the jobs_lane_due index (lane, status, run_at, id) and cut at `limit`, then
  // the oldest of both. As one `queued or expired` condition the database gathered every due job and
  // sorted them all to take a few: 4 ms per lease on SQLite with 10,000 jobs waiting, 0.1 ms this way.
  // Each candidate set is a materialised CTE: as a plain `id IN (subquery)`, PostgreSQL may run a
  // FOR UPDATE SKIP LOCKED subquery again for every row it updates, ignoring its LIMIT.
  const oldest = (status: 'queued' | 'running', where: (eb: ExpressionBuilder<Schema, 'jobs'>) => Expression<SqlBool>) => {
    const q = db.selectFrom('jobs').select(['id', 'run_at'])
      .where('lane', '=', lane).where(LIVE).where('status', '=', sql.lit(status)).where(where)
      .orderBy('run_at').orderBy('id').limit(limit);
    return rowLocks ? q.modifyEnd(sql`for update skip locked`) : q;
  };
  const update = db
    .with((cte) => cte('queued').materialized(), () => oldest('queued', (eb) => eb('run_at', '<=', now)))
    .with((cte) => cte('expired').materialized(), () => oldest('running', (eb) => eb.and([eb('lease_until', '<', now), eb('run_at', '<=', now)])))
    .with((cte) => cte('picked').materialized(), (db) =>
      db.selectFrom((inner) => inner.selectFrom('queued').selectAll().unionAll(inner.selectFrom('expired').selectAll()).as('candidates'))
        .select('candidates.id').orderBy('candidates.run_at').orderBy('candidates.id').limit(limit))
    .updateTable('jobs')
    .set((eb) => ({ status: 'running', lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', (eb) => eb.selectFrom('picked').select('picked.id'))
    .returningAll();
  // PostgreSQL checks the picked rows again as it updates them (found by their key). SQLite has one
  // writer and runs the statement whole, so nothing can change a picked row before it is updated;
  // there the same check made the planner walk the due index for every due job (an OR over two index
  // ranges) and test each against the picked few: 0.8 ms a lease with 20,000 jobs waiting.
  return rowLocks ? update.where(due) : update;
}

type LeaseValues = { lane: JobLane; now: string; leaseUntil: string };

// The worker runs these for every job, and every upload queues two: each is built and compiled once
// (prepared-query.ts).
const enqueueJob = preparedQuery((db, values: { kind: string; lane: JobLane; payload: string; runAt: string; maxAttempts: number; createdAt: string; uniqueKey: string | null }) =>
  db.insertInto('jobs')
    .values({
      kind: values.kind, lane: values.lane, payload: values.payload, run_at: values.runAt, attempts: 0, max_attempts: values.maxAttempts,
      status: 'queued', created_at: values.createdAt, unique_key: values.uniqueKey,
    })
    .onConflict((oc) => oc.column('unique_key').where(LIVE).doNothing())
    .returning('id'));

/**
 * The lease, one statement per row limit: SQLite's compiler writes a limit into the statement
 * (sqlite-query-compiler.ts), so each limit is a text of its own. A worker asks for one limit, its batch.
 */
const leaseJobs = new Map<string, PreparedQuery<LeaseValues, Selectable<JobsTable>>>();
function leaseJobsQuery(rowLocks: boolean, limit: number): PreparedQuery<LeaseValues, Selectable<JobsTable>> {
  const key = `${rowLocks}:${limit}`;
  let query = leaseJobs.get(key);
  if (!query) leaseJobs.set(key, (query = preparedQuery((db, values: LeaseValues) => leaseQuery(db, rowLocks, values, limit))));
  return query;
}

/** Read at every scrape of /metrics, for each lane; the partial index's own condition named, as in the lease. */
const oldestQueuedJob = preparedQuery((db, values: { lane: JobLane }) =>
  db.selectFrom('jobs').select('run_at').where('lane', '=', values.lane).where(LIVE).where('status', '=', sql.lit('queued'))
    .orderBy('run_at').orderBy('id').limit(1));

/** The lease a change is made under: `attempts` is its fencing token. */
type HeldLease = { id: number; attempt: number };

/** A change to a job that the worker holding its lease makes; nothing when the lease was lost. */
function whileHeld<Changes extends Record<string, unknown>>(changes: (values: Changes) => Updateable<JobsTable>): PreparedQuery<Changes & HeldLease, unknown> {
  return preparedQuery((db, values: Changes & HeldLease) =>
    db.updateTable('jobs').set(changes(values)).where('id', '=', values.id).where('attempts', '=', values.attempt).where('status', '=', 'running'));
}
const renewLease = whileHeld((values: { leaseUntil: string }) => ({ lease_until: values.leaseUntil }));
const completeJob = whileHeld((values: { at: string }) => ({ status: 'done', finished_at: values.at, lease_until: null }));
const retryJob = whileHeld((values: { runAt: string; error: string }) => ({ status: 'queued', run_at: values.runAt, last_error: values.error, lease_until: null }));
const failJob = whileHeld((values: { at: string; error: string }) => ({ status: 'failed', finished_at: values.at, last_error: values.error, lease_until: null }));

export class JobsRepo implements JobsRepository {
  constructor(private readonly db: Kysely<Schema> | Transaction<Schema>, private readonly caps: DialectCaps) {}

  /** Queues a job; false when a live job with the same unique key already exists (nothing is added). */
  async enqueue<P>(definition: JobDefinition<P>, payload: P, options: { now: Date; runAt?: Date }): Promise<boolean> {
    const checked = definition.payload.parse(payload);
    const { rows } = await enqueueJob.run(this.db, {
      kind: definition.kind, lane: definition.lane, payload: JSON.stringify(checked), runAt: (options.runAt ?? options.now).toISOString(),
      maxAttempts: definition.maxAttempts, createdAt: options.now.toISOString(), uniqueKey: definition.uniqueKey ? definition.uniqueKey(checked) : null,
    });
    return rows.length > 0;
  }

  /** Takes up to `limit` due jobs of `lane` (queued, or running with an expired lease) and leases them until `leaseUntil`. */
  async lease(lane: JobLane, now: string, leaseUntil: string, limit: number): Promise<JobRow[]> {
    const { rows } = await leaseJobsQuery(this.caps.rowLocks, limit).run(this.db, { lane, now, leaseUntil });
    return rows
      .map((r) => ({ id: Number(r.id), kind: r.kind, payload: JSON.parse(r.payload) as unknown, attempts: r.attempts, maxAttempts: r.max_attempts }))
      .sort((a, b) => a.id - b.id);
  }

  /** Extends a lease this worker still holds; false when it was lost (expired and taken by another worker). */
  async heartbeat(id: number, attempt: number, leaseUntil: string): Promise<boolean> {
    return this.held(renewLease, { id, attempt, leaseUntil });
  }

  async complete(id: number, attempt: number, at: string): Promise<boolean> {
    return this.held(completeJob, { id, attempt, at });
  }

  async retry(id: number, attempt: number, runAt: string, error: string): Promise<boolean> {
    return this.held(retryJob, { id, attempt, runAt, error });
  }

  /** Dead-letters the job: it stays in the table with status 'failed' and its last error. */
  async fail(id: number, attempt: number, at: string, error: string): Promise<boolean> {
    return this.held(failJob, { id, attempt, at, error });
  }

  /** The kinds of every queued or running job, for the start-up check. */
  async liveKinds(): Promise<string[]> {
    const rows = await this.db.selectFrom('jobs').select('kind').distinct().where(LIVE).execute();
    return rows.map((r) => r.kind).sort();
  }

  /** Dead-lettered jobs, newest first. */
  async failed(limit = 100): Promise<FailedJob[]> {
    const rows = await this.db.selectFrom('jobs').selectAll().where('status', '=', 'failed').orderBy('finished_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({ id: Number(r.id), kind: r.kind, payload: r.payload, attempts: r.attempts, lastError: r.last_error, finishedAt: r.finished_at }));
  }

  /** Queued, running and failed jobs in the whole table (every process's), counted in one query. */
  async counts(): Promise<JobCounts> {
    const rows = await this.db.selectFrom('jobs').select((eb) => ['status', eb.fn.countAll<string | number>().as('n')])
      .where('status', 'in', ['queued', 'running', 'failed']).groupBy('status').execute();
    const of = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
    return { queued: of('queued'), running: of('running'), failed: of('failed') };
  }

  /** The first queued job of the lane in (run_at, id) order, read from jobs_lane_due: one row, however long the queue. */
  async oldestQueued(lane: JobLane): Promise<string | null> {
    const [row] = (await oldestQueuedJob.run(this.db, { lane })).rows;
    return row?.run_at ?? null;
  }

  async deleteFinished(before: string, limit: number): Promise<number> {
    // The oldest done jobs come first in jobs_due (status, run_at), so a batch reads little past what it deletes.
    const result = await this.db.deleteFrom('jobs')
      .where('id', 'in', (eb) => eb.selectFrom('jobs').select('id').where('status', '=', 'done').where('finished_at', '<', before).orderBy('run_at').limit(limit))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Puts a failed job back in the queue with its attempts reset (the last error stays until it runs
   * again). Refused while a live job holds the same unique key: the work is already queued.
   */
  async requeueFailed(id: number, runAt: string): Promise<RequeueOutcome> {
    const row = await this.db.selectFrom('jobs').select(['status', 'unique_key']).where('id', '=', id).executeTakeFirst();
    if (!row || row.status !== 'failed') return 'not_failed';
    const result = await this.db.updateTable('jobs')
      .set({ status: 'queued', attempts: 0, run_at: runAt, finished_at: null, lease_until: null })
      .where('id', '=', id).where('status', '=', 'failed')
      .where((eb) => eb.or([
        eb('unique_key', 'is', null),
        // The live statuses written as literals, as the partial index jobs_live_unique_key has them (disposed-status.ts says why).
        eb.not(eb.exists(eb.selectFrom('jobs as live').select('live.id').whereRef('live.unique_key', '=', 'jobs.unique_key').where('live.status', 'in', [sql.lit('queued'), sql.lit('running')]))),
      ]))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) return 'requeued';
    const now = await this.db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirst();
    return now?.status === 'failed' ? 'duplicate_live' : 'not_failed';
  }

  /** Updates the job only while this lease (`attempt`) still holds it. */
  private async held<Changes extends Record<string, unknown>>(change: PreparedQuery<Changes & HeldLease, unknown>, values: Changes & HeldLease): Promise<boolean> {
    return Number((await change.run(this.db, values)).numAffectedRows ?? 0) > 0;
  }
}
