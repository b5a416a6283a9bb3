// The durable job queue: a table both dialects share. A worker leases due jobs (one statement, so two
// workers never take the same row), renews the lease while it works, and a crashed worker's lease
// expires so another takes the job. `attempts` doubles as the lease's fencing token: a worker whose
// lease was taken over can no longer complete, retry or fail the job.
//
// Within a lane, organisations take turns, weighed by what each job costs. Each job gets a turn when it
// is queued: the turn of the lane's first waiting job (with none, of the last leased), or its own
// organisation's last live job's turn in the lane plus that job's weight, whichever is later. A job's
// weight is 1 plus a unit per MiB of content it processes, at most 1,000,000 (domain/jobs/define-job.ts
// jobWeight): a letter weighs 1, a 50 MB scan 48. A lane is leased in turn order, so with one council's
// 10,000 jobs waiting, another's new job goes after the first of them, not after all; two councils'
// backlogs of equal jobs are served one job each in turn; and a council whose jobs each read a 50 MB scan
// takes a turn where another takes 48 letters' (turns counted jobs until 7 December, so the letters
// waited behind as many half-minute OCR runs as there were letters ahead of them). A job's weight is
// written when it is queued and kept by its retries and a requeue. Turns are positions, not times. A job queued
// for later (a retry after a failure, a failed job requeued, work scheduled ahead) waits apart, its
// turn DELAYED_TURNS_FROM plus when it is due, and once due the lease moves it into the waiting line
// with the turn a job of its organisation queued then would get. It used to go before the whole line
// once due; but one council's storm of retries (the store or clamd down for an hour), a requeue of all
// its failures, or a disposal's thousands of blob deletions (each queued a minute ahead) falls due
// together, and every other council's work then waited behind all of it: the starvation turns exist
// to prevent.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type RawBuilder, type SqlBool, type Transaction, type Updateable } from 'kysely';
import { jobWeight, type EnqueueOptions, type JobDefinition, type JobLane } from '../../domain/jobs/define-job.js';
import type { FailedJob, JobCounts, JobsRepository, RequeueOutcome, WaitingJobs } from '../../domain/repositories.js';
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
 * Turns from here on belong to jobs queued for later: this plus when each is due, in milliseconds since
 * 1970 (2.7e12 in the year 2056), so they sort after every waiting job's turn (positions counted from
 * 0), and the lease reads those now due as one range of the index. Below 2^53: a JavaScript number.
 */
export const DELAYED_TURNS_FROM = 1e15;
const delayedTurn = (due: Date): number => DELAYED_TURNS_FROM + due.getTime();

/**
 * Takes up to `limit` due jobs of one lane (queued, or running with an expired lease) and leases them until
 * `leaseUntil`. Each candidate set also names its partial index's own condition (LIVE), as SQLite uses a
 * partial index only for a query that has its WHERE term as one of its own, and the statuses are written
 * as literals: SQLite would otherwise prepare the statement again at every run (disposed-status.ts says why).
 */
function leaseQuery(db: Kysely<Schema>, rowLocks: boolean, values: LeaseValues, limit: number) {
  const { lane, now, leaseUntil } = values;
  const due = (eb: ExpressionBuilder<Schema, 'jobs'>) =>
    eb.and([eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]), eb('run_at', '<=', now)]);
  // Two candidate sets, each read in order from an index over the lane's live rows and cut at
  // `limit`, then the first of them all in the order rank, turn, id. As one `queued or expired`
  // condition the database gathered every due job and sorted them all to take a few: 4 ms per lease on
  // SQLite with 10,000 jobs waiting, 0.1 ms this way.
  // - expired (rank 0): running jobs whose worker's lease ran out (jobs_lane_due: lane, status, run_at, id);
  // - waiting (rank 1): the waiting line, in turn order (jobs_lane_turn: lane, status, turn, id). A job
  //   is due when it is queued or moved into it (JobsRepo.lease), by the clock of the node that did so;
  //   one queued by a node whose clock runs ahead is not yet due by this one's, and is passed over (read
  //   and left: only those few). Without the test PostgreSQL picked it first and the update's check
  //   let it go, so a lease of one found nothing until the clocks met; SQLite ran it early.
  // Each candidate set is a materialised CTE: as a plain `id IN (subquery)`, PostgreSQL may run a
  // FOR UPDATE SKIP LOCKED subquery again for every row it updates, ignoring its LIMIT.
  const candidates = (rank: number, status: 'queued' | 'running', where: (eb: ExpressionBuilder<Schema, 'jobs'>) => Expression<SqlBool>, order: 'run_at' | 'turn') => {
    const q = db.selectFrom('jobs').select(['id', 'turn', sql.lit(rank).as('rank')])
      .where('lane', '=', lane).where(LIVE).where('status', '=', sql.lit(status)).where(where)
      .orderBy(order).orderBy('id').limit(limit);
    return rowLocks ? q.modifyEnd(sql`for update skip locked`) : q;
  };
  const update = db
    .with((cte) => cte('expired').materialized(), () => candidates(0, 'running', (eb) => eb.and([eb('lease_until', '<', now), eb('run_at', '<=', now)]), 'run_at'))
    .with((cte) => cte('waiting').materialized(), () =>
      candidates(1, 'queued', (eb) => eb.and([eb('turn', '<', sql.lit(DELAYED_TURNS_FROM)), eb('run_at', '<=', now)]), 'turn'))
    .with((cte) => cte('picked').materialized(), (db) =>
      db.selectFrom((inner) => inner.selectFrom('expired').selectAll().unionAll(inner.selectFrom('waiting').selectAll()).as('candidates'))
        .select('candidates.id').orderBy('candidates.rank').orderBy('candidates.turn').orderBy('candidates.id').limit(limit))
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

/**
 * A job due now takes its turn in the lane's waiting line: after the first job waiting, or its
 * organisation's own last live job's turn plus that job's weight, whichever is later. With none waiting,
 * the line goes on from the last job leased (the highest turn running; 0 with none): it used to start
 * again from 0 while a council whose job was running went on from that job's turn, so another's backlog
 * queued then took every turn below it and the first council's next job waited behind all of it. Each is
 * one read of an index (jobs_lane_turn, jobs_lane_organisation_turn): the organisation's last job is the
 * last row of its part of the index, its weight read from that row (its last turn is also its latest
 * end, turn plus weight, as each of its jobs is given a turn at or after the end of the one before).
 * Two enqueues at once may take the same turn; the id orders them. `organisation_id is null` and `= ?`
 * are two statements, as PostgreSQL's index serves `is not distinct from` for neither; and the last row is
 * asked for in the index's own order (organisation_id, turn), as PostgreSQL takes `is null` for no
 * equality and would otherwise sort every live job of the vault's own to find it. On PostgreSQL
 * turn + weight is bigint + integer, a bigint; the largest it reaches is far below 2^53 (MAX_JOB_WEIGHT).
 */
function waitingTurn(lane: JobLane, organisationId: string | null): RawBuilder<number | string> {
  const ownJobs = organisationId === null ? sql`organisation_id is null` : sql`organisation_id = ${organisationId}`;
  const waiting = sql`lane = ${lane} and ${LIVE} and turn < ${sql.lit(DELAYED_TURNS_FROM)}`;
  return sql<number | string>`(select max(t) from (
    select coalesce(
      (select min(turn) from jobs where ${waiting} and status = ${sql.lit('queued')}),
      (select max(turn) from jobs where ${waiting} and status = ${sql.lit('running')}),
      0) as t
    union all select (select turn + weight from jobs where ${waiting} and ${ownJobs} order by organisation_id desc, turn desc limit 1)
  ) as turns)`;
}

type EnqueueValues = {
  kind: string; lane: JobLane; payload: string; runAt: string; maxAttempts: number; createdAt: string; uniqueKey: string | null; organisationId: string | null; weight: number;
};

// The worker runs these for every job, and every upload queues two: each is built and compiled once
// (prepared-query.ts).
function enqueueQuery(turn: 'waiting' | 'delayed', organisation: 'some' | 'none') {
  return preparedQuery((db, values: EnqueueValues & { delayedTurn: number }) =>
    db.insertInto('jobs')
      .values({
        kind: values.kind, lane: values.lane, payload: values.payload, run_at: values.runAt, attempts: 0, max_attempts: values.maxAttempts,
        status: 'queued', created_at: values.createdAt, unique_key: values.uniqueKey,
        organisation_id: organisation === 'none' ? null : values.organisationId, weight: values.weight,
        turn: turn === 'delayed' ? values.delayedTurn : waitingTurn(values.lane, organisation === 'none' ? null : values.organisationId),
      })
      .onConflict((oc) => oc.column('unique_key').where(LIVE).doNothing())
      .returning('id'));
}
const enqueueJob = {
  waiting: { some: enqueueQuery('waiting', 'some'), none: enqueueQuery('waiting', 'none') },
  delayed: { some: enqueueQuery('delayed', 'some'), none: enqueueQuery('delayed', 'none') },
};

/**
 * How many jobs queued for later that have fallen due one lease moves into the waiting line at most:
 * more than a worker's batch takes, so a storm of them is moved in far faster than the lane runs
 * them, and few enough that a lease stays a few small statements (each one row of an index).
 */
const DUE_MOVED_PER_LEASE = 32;

/** The lane's jobs queued for later that are now due, in the order they fell due (jobs_lane_turn). */
const dueDelayedJobs = preparedQuery((db, values: { lane: JobLane; delayedDue: number }) =>
  db.selectFrom('jobs').select(['id', 'organisation_id'])
    .where('lane', '=', values.lane).where(LIVE).where('status', '=', sql.lit('queued'))
    .where('turn', '>=', sql.lit(DELAYED_TURNS_FROM)).where('turn', '<=', values.delayedDue)
    .orderBy('turn').orderBy('id').limit(DUE_MOVED_PER_LEASE));

/**
 * Moves one due job into its lane's waiting line, with the turn a job of its organisation queued now
 * gets (waitingTurn); nothing when it was moved already, or leased (another node's lease, at once) and
 * perhaps queued again for later meanwhile: it is moved only while still due.
 */
function moveIntoLineQuery(organisation: 'some' | 'none') {
  return preparedQuery((db, values: { id: number; lane: JobLane; organisationId: string | null; delayedDue: number }) =>
    db.updateTable('jobs').set({ turn: waitingTurn(values.lane, organisation === 'none' ? null : values.organisationId) })
      .where('id', '=', values.id).where('status', '=', 'queued')
      .where('turn', '>=', sql.lit(DELAYED_TURNS_FROM)).where('turn', '<=', values.delayedDue));
}
const moveIntoLine = { some: moveIntoLineQuery('some'), none: moveIntoLineQuery('none') };

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
// A retry waits apart, as a job queued for later does, and takes its turn in the waiting line once due.
const retryJob = whileHeld((values: { runAt: string; turn: number; error: string }) => ({ status: 'queued', run_at: values.runAt, turn: values.turn, last_error: values.error, lease_until: null }));
const failJob = whileHeld((values: { at: string; error: string }) => ({ status: 'failed', finished_at: values.at, last_error: values.error, lease_until: null }));

export class JobsRepo implements JobsRepository {
  constructor(private readonly db: Kysely<Schema> | Transaction<Schema>, private readonly caps: DialectCaps) {}

  /**
   * Queues a job for `organisationId` (null: the vault's own work); false when a live job with the same
   * unique key already exists (nothing is added). Due now, it takes its turn in its lane's waiting line;
   * due later, it waits apart until then (the file's header says how turns are given).
   */
  async enqueue<P>(definition: JobDefinition<P>, payload: P, options: EnqueueOptions): Promise<boolean> {
    const checked = definition.payload.parse(payload);
    // A kind weighed by its bytes is never queued light by a caller that forgot them, nor another weighed by accident.
    if ((definition.weighed === true) !== (options.bytes !== undefined)) {
      throw new Error(`job kind "${definition.kind}" ${definition.weighed === true ? 'is weighed by the bytes it processes: give them' : 'is not weighed: give no bytes'}`);
    }
    const runAt = options.runAt && options.runAt > options.now ? options.runAt : options.now;
    const query = enqueueJob[runAt > options.now ? 'delayed' : 'waiting'][options.organisationId === null ? 'none' : 'some'];
    const { rows } = await query.run(this.db, {
      kind: definition.kind, lane: definition.lane, payload: JSON.stringify(checked), runAt: runAt.toISOString(),
      maxAttempts: definition.maxAttempts, createdAt: options.now.toISOString(), uniqueKey: definition.uniqueKey ? definition.uniqueKey(checked) : null,
      organisationId: options.organisationId, weight: jobWeight(options.bytes), delayedTurn: delayedTurn(runAt),
    });
    return rows.length > 0;
  }

  /**
   * Takes up to `limit` due jobs of `lane` (queued, or running with an expired lease) and leases them until
   * `leaseUntil`. First moves the lane's jobs queued for later that are now due into its waiting line, each
   * taking its turn there as a job of its organisation queued now would (the file's header says why).
   */
  async lease(lane: JobLane, now: string, leaseUntil: string, limit: number): Promise<JobRow[]> {
    const delayedDue = delayedTurn(new Date(now));
    const { rows: due } = await dueDelayedJobs.run(this.db, { lane, delayedDue });
    // One statement each, in the order they fell due, so each sees the turn the one before took (one
    // statement for all would give an organisation's every job the same turn, all of them before
    // another's next job).
    for (const job of due) {
      await moveIntoLine[job.organisation_id === null ? 'none' : 'some'].run(this.db, { id: Number(job.id), lane, organisationId: job.organisation_id, delayedDue });
    }
    const { rows } = await leaseJobsQuery(this.caps.rowLocks, limit).run(this.db, { lane, now, leaseUntil });
    return rows
      .map((r) => ({ row: { id: Number(r.id), kind: r.kind, payload: JSON.parse(r.payload) as unknown, attempts: r.attempts, maxAttempts: r.max_attempts }, turn: Number(r.turn) }))
      // In the order they were picked, which an update's returned rows do not keep: the line's by turn (a job
      // whose lease expired by the turn it had; one from before turns, 202612220000_job_turns, first).
      .sort((a, b) => Number(b.turn >= DELAYED_TURNS_FROM) - Number(a.turn >= DELAYED_TURNS_FROM) || a.turn - b.turn || a.row.id - b.row.id)
      .map((r) => r.row);
  }

  /** Extends a lease this worker still holds; false when it was lost (expired and taken by another worker). */
  async heartbeat(id: number, attempt: number, leaseUntil: string): Promise<boolean> {
    return this.held(renewLease, { id, attempt, leaseUntil });
  }

  async complete(id: number, attempt: number, at: string): Promise<boolean> {
    return this.held(completeJob, { id, attempt, at });
  }

  async retry(id: number, attempt: number, runAt: string, error: string): Promise<boolean> {
    return this.held(retryJob, { id, attempt, runAt, turn: delayedTurn(new Date(runAt)), error });
  }

  /** Dead-letters the job: it stays in the table with status 'failed' and its last error. */
  async fail(id: number, attempt: number, at: string, error: string): Promise<boolean> {
    return this.held(failJob, { id, attempt, at, error });
  }

  async isLive<P>(definition: JobDefinition<P>, payload: P): Promise<boolean> {
    if (!definition.uniqueKey) throw new Error(`job kind "${definition.kind}" has no unique key to look it up by`);
    // By jobs_live_unique_key, whose condition LIVE repeats in literals.
    const row = await this.db.selectFrom('jobs').select('id').where('unique_key', '=', definition.uniqueKey(payload)).where(LIVE).executeTakeFirst();
    return row !== undefined;
  }

  /** The kinds of every queued or running job, for the start-up check. */
  async liveKinds(): Promise<string[]> {
    const rows = await this.db.selectFrom('jobs').select('kind').distinct().where(LIVE).execute();
    return rows.map((r) => r.kind).sort();
  }

  /** Dead-lettered jobs, newest first: read in that order from jobs_finished (status, finished_at, id), a page and no more. */
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

  /**
   * Every lane's live jobs grouped by organisation, read over jobs_lane_organisation_turn's live rows
   * (as many as are queued: an operator's question, not a request's), the longest waiting first.
   */
  async waitingByOrganisation(now: string): Promise<WaitingJobs[]> {
    const rows = await this.db.selectFrom('jobs')
      .select((eb) => [
        'lane', 'organisation_id',
        eb.fn.sum<number | string>(eb.case().when(eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)])).then(1).else(0).end()).as('waiting'),
        eb.fn.sum<number | string>(eb.case().when(eb.and([eb('status', '=', 'queued'), eb('run_at', '>', now)])).then(1).else(0).end()).as('later'),
        eb.fn.sum<number | string>(eb.case().when('status', '=', 'running').then(1).else(0).end()).as('running'),
        eb.fn.min<string | null>(eb.case().when(eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)])).then(eb.ref('run_at')).end()).as('oldest'),
        eb.fn.sum<number | string>(eb.case().when(eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)])).then(eb.ref('weight')).else(0).end()).as('waiting_weight'),
      ])
      .where(LIVE).groupBy(['lane', 'organisation_id']).execute();
    return rows
      .map((r) => ({
        lane: r.lane as JobLane, organisationId: r.organisation_id, waiting: Number(r.waiting), later: Number(r.later), running: Number(r.running), oldestDueAt: r.oldest ?? null,
        waitingWeight: Number(r.waiting_weight),
      }))
      .sort((a, b) => a.lane.localeCompare(b.lane) || (a.oldestDueAt ?? '~').localeCompare(b.oldestDueAt ?? '~') || (a.organisationId ?? '').localeCompare(b.organisationId ?? ''));
  }

  /** The first queued job of the lane in (run_at, id) order, read from jobs_lane_due: one row, however long the queue. */
  async oldestQueued(lane: JobLane): Promise<string | null> {
    const [row] = (await oldestQueuedJob.run(this.db, { lane })).rows;
    return row?.run_at ?? null;
  }

  async deleteFinished(before: string, limit: number): Promise<number> {
    // The done jobs finished before `before`, one range of jobs_finished (status, finished_at, id). Read by
    // (status, run_at) until 7 December, keeping those finished before it: the run's last batch, finding fewer
    // than `limit`, walked every done job the queue keeps (a month's) and read each row, on the main connection.
    const rows = await this.db.selectFrom('jobs').select('id').where('status', '=', 'done').where('finished_at', '<', before)
      .orderBy('finished_at').orderBy('id').limit(limit).execute();
    if (rows.length === 0) return 0;
    // Deleted by their keys alone, a statement apart: as `id in (subquery)` PostgreSQL may join the batch to
    // every row of the table, and with `status = 'done'` beside the keys SQLite walks every done job instead.
    // Nothing changes a done job, so those read are still done and still to go.
    const result = await this.db.deleteFrom('jobs').where('id', 'in', rows.map((r) => r.id)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Puts a failed job back in the queue with its attempts reset (the last error stays until it runs
   * again), due at `runAt` as a retry is: then its turn in the waiting line. Refused while a
   * live job holds the same unique key: the work is already queued.
   */
  async requeueFailed(id: number, runAt: string): Promise<RequeueOutcome> {
    const row = await this.db.selectFrom('jobs').select(['status', 'unique_key']).where('id', '=', id).executeTakeFirst();
    if (!row || row.status !== 'failed') return 'not_failed';
    const result = await this.db.updateTable('jobs')
      .set({ status: 'queued', attempts: 0, run_at: runAt, turn: delayedTurn(new Date(runAt)), finished_at: null, lease_until: null })
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
