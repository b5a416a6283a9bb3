// Port: the job queue as services see it: queueing (JobQueue), and dead-lettered jobs seen and retried.
// Part of the Store's repositories (domain/repositories.ts `jobs`).
import type { JobQueue } from './define-job.js';

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

/** What retrying a dead-lettered job did: queued again, not a failed job (unknown id too), or refused because a live job has its unique key. */
export type RequeueOutcome = 'requeued' | 'not_failed' | 'duplicate_live';

/**
 * Services queue jobs through the typed queue of the job kinds (domain/jobs/define-job.ts), and
 * operators see and retry dead-lettered ones; leasing and completing belong to the worker (jobs/),
 * which uses the adapter.
 */
export interface JobsRepository extends JobQueue {
  /** Dead-lettered jobs, the most recently failed first. */
  failed(limit?: number): Promise<FailedJob[]>;
  counts(): Promise<JobCounts>;
  /** Puts a failed job back in the queue, due at `runAt`, with its attempts reset to 0 and its error kept. */
  requeueFailed(id: number, runAt: string): Promise<RequeueOutcome>;
}
