// A job kind, defined once: its name, the shape of its stored payload, its retry policy and (optionally)
// the key that makes two enqueues of the same work one job. Enqueueing and handling are typed by it.
import type { z } from 'zod';

/**
 * The line a job waits in. The worker runs the lanes side by side, each one job at a time unless it is given more
 * slots (the availability lane has STRONGROOM_SCAN_JOBS_AT_ONCE), so work someone is waiting on never queues behind
 * bulk work (an import's text extraction, OCR, the daily backup). Within a lane, organisations take turns
 * (db/repos/jobs.repo.ts), so one council's backlog does not hold up another's work:
 * - `mail`: a message a person waits for (a sign-in link, a security notice);
 * - `availability`: work a stored file's availability waits on (a scan after the upload was answered);
 * - `background`: everything no one is waiting on at that moment.
 * A job keeps the lane it was queued in.
 */
export type JobLane = 'mail' | 'availability' | 'background';
export const JOB_LANES: readonly JobLane[] = ['mail', 'availability', 'background'];

export interface JobDefinition<P> {
  /** Stored in jobs.kind; never rename one that may still be queued somewhere. */
  readonly kind: string;
  /** Validates the payload read back from the table (it is JSON written by an older or newer process). */
  readonly payload: z.ZodType<P>;
  /** Attempts before the job is dead-lettered (status 'failed', logged at error). */
  readonly maxAttempts: number;
  /** Seconds before the first retry; doubles each attempt, capped at maxBackoffSeconds. */
  readonly backoffSeconds: number;
  readonly maxBackoffSeconds: number;
  /** At most one live (queued or running) job per key: a second enqueue with the same key does nothing. */
  readonly uniqueKey?: (payload: P) => string;
  /** Stored in jobs.lane when the job is queued. */
  readonly lane: JobLane;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of kinds whose payloads differ
export type AnyJobDefinition = JobDefinition<any>;

/** A kind's definition; its lane is `background` unless it says otherwise. */
export function defineJob<P>(definition: Omit<JobDefinition<P>, 'lane'> & { lane?: JobLane }): JobDefinition<P> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.kind)) throw new Error(`job kind "${definition.kind}": use lower-case words joined by hyphens`);
  if (definition.maxAttempts < 1) throw new Error(`job kind "${definition.kind}": maxAttempts must be at least 1`);
  return Object.freeze({ ...definition, lane: definition.lane ?? 'background' });
}

/** Seconds to wait before attempt `attempt + 1`, after `attempt` (1-based) failed. */
export function backoffSeconds(definition: Pick<JobDefinition<unknown>, 'backoffSeconds' | 'maxBackoffSeconds'>, attempt: number): number {
  return Math.min(definition.backoffSeconds * 2 ** Math.max(0, attempt - 1), definition.maxBackoffSeconds);
}

/** The port services enqueue through, inside their own transaction (so a rolled-back change queues nothing). */
export interface JobQueue {
  /**
   * Queues the work of `organisationId` (null for the vault's own: backups, sweeps, rescans), whose
   * jobs take turns with other organisations' in the lane. Returns false when a live job with the same
   * unique key was already queued (nothing is added).
   */
  enqueue<P>(definition: JobDefinition<P>, payload: P, options: { now: Date; runAt?: Date; organisationId: string | null }): Promise<boolean>;
}
