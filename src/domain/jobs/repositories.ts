// Port: the job queue as services see it: queueing (JobQueue), and dead-lettered jobs seen and retried.
// Part of the Store's repositories (domain/repositories.ts `jobs`).
import type { JobDefinition, JobQueue, JobLane } from './define-job.js';

/** A dead-lettered job: it ran out of attempts and stays in the table as 'failed'. */
export interface FailedJob {
  id: number;
  kind: string;
  /** The stored JSON payload, as written. */
  payload: string;
  attempts: number;
  lastError: string | null;
  finishedAt: string | null;
}

/** How many jobs the queue holds, by state, across every process (the metrics' gauges). */
export interface JobCounts {
  queued: number;
  running: number;
  failed: number;
}

/** The live jobs of one lane that are one organisation's work (null: the vault's own), by state. */
export interface WaitingJobs {
  lane: JobLane;
  organisationId: string | null;
  /** Queued and due: waiting for a worker. */
  waiting: number;
  /** Queued for later: a retry's backoff, work scheduled ahead. */
  later: number;
  running: number;
  /** When the longest-waiting of `waiting` fell due; null when none is waiting. */
  oldestDueAt: string | null;
  /** The weights of `waiting` added up: the lane's turns they take (domain/jobs/define-job.ts jobWeight). */
  waitingWeight: number;
}

/** What retrying a dead-lettered job did: queued again, not a failed job (unknown id too), or refused because a live job has its unique key. */
export type RequeueOutcome = 'requeued' | 'not_failed' | 'duplicate_live';

/**
 * A job's completion, handed to its handler by the worker (jobs/), for the handler to write in the
 * transaction that records the job's result: the result and "done" commit together or not at all,
 * one commit instead of two. Call it in the last transaction the handler makes; when the handler
 * never calls it (nothing to record, or a path that writes outside a transaction), the worker
 * completes the job itself. `jobs` is that transaction's queue. It throws when the lease was lost
 * (another run holds the job), so the transaction, and this run's result, roll back.
 */
export type JobCompletion = (within: { jobs: JobsRepository }) => Promise<void>;

/**
 * Services queue jobs through the typed queue of the job kinds (domain/jobs/define-job.ts), and
 * operators see and retry dead-lettered ones; leasing belongs to the worker (jobs/), which uses the
 * adapter, and so does completing, except through the JobCompletion the worker hands a handler.
 */
export interface JobsRepository extends JobQueue {
  /**
   * Marks a job done if the lease `attempt` names still holds it (attempts is the lease's fencing
   * token); false when it was lost: another worker took the job over and decides its outcome. Only
   * the worker calls this, directly or through the JobCompletion it hands a handler.
   */
  complete(id: number, attempt: number, at: string): Promise<boolean>;
  /**
   * Whether the job of this kind and payload is queued or running (or waiting to be retried), by its unique
   * key; for a kind without one it throws. Work that would duplicate it (the scrub's copy of a blob its
   * replication job will copy anyway) asks first.
   */
  isLive<P>(definition: JobDefinition<P>, payload: P): Promise<boolean>;
  /** Dead-lettered jobs, the most recently failed first. */
  failed(limit?: number): Promise<FailedJob[]>;
  counts(): Promise<JobCounts>;
  /** Every lane's live jobs by whose work they are, as at `now` (the operator's `strongroom jobs waiting`). */
  waitingByOrganisation(now: string): Promise<WaitingJobs[]>;
  /** When the oldest queued job of the lane became due (its run_at, which may be ahead of now), or null when none is queued. */
  oldestQueued(lane: JobLane): Promise<string | null>;
  /** Deletes up to `limit` jobs that finished done before `before` (never a live or failed one); returns how many. */
  deleteFinished(before: string, limit: number): Promise<number>;
  /** Puts a failed job back in the queue, due at `runAt`, with its attempts reset to 0 and its error kept. */
  requeueFailed(id: number, runAt: string): Promise<RequeueOutcome>;
}
