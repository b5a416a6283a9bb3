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
  /**
   * Its work grows with a file's size (a scan, an extraction, a copy): every enqueue must say how many
   * bytes it processes (`EnqueueOptions.bytes`), which weigh it in its lane's turns; the queue refuses
   * one that does not, so no caller can queue such a job as light by forgetting. Other kinds weigh 1 and
   * take no bytes.
   */
  readonly weighed?: boolean;
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

/** The bytes that make one unit of a job's weight: about one small job's work (a letter's extraction or scan). */
export const JOB_WEIGHT_BYTES = 1024 * 1024;
/**
 * The heaviest a job weighs (a file of about 1 TiB; no upload is allowed that large), so that no size,
 * however large or forged, can push an organisation's turns toward the turns of jobs queued for later
 * (10^15, DELAYED_TURNS_FROM in db/repos/jobs.repo.ts): a council would need 10^9 live jobs of this
 * weight at once. The database holds every row to it too (migration 202612230000_job_weights).
 */
export const MAX_JOB_WEIGHT = 1_000_000;

/**
 * A job's weight in its lane's turns: 1 plus a unit for each whole MiB of content it processes, at most
 * MAX_JOB_WEIGHT. An organisation's next job takes its turn that many turns after this one, so a council
 * whose jobs each read a 50 MB scan takes a lane's turns about as often as another takes 50 small
 * letters'. `bytes` is what the vault counted as it stored the content (a version's size), never a size
 * someone announced; none (mail, sweeps, backups): 1.
 */
export function jobWeight(bytes: number | undefined): number {
  if (bytes === undefined) return 1;
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`a job's bytes must be a size in bytes, not ${bytes}`);
  return Math.min(MAX_JOB_WEIGHT, 1 + Math.floor(bytes / JOB_WEIGHT_BYTES));
}

/** How a job is queued: now or later, whose work it is, and how much content it processes. */
export interface EnqueueOptions {
  now: Date;
  runAt?: Date;
  /** Whose work it is (null for the vault's own: backups, sweeps, rescans); its jobs take turns with other organisations' in the lane. */
  organisationId: string | null;
  /**
   * The bytes of content the job reads in full (the version it scans, extracts, copies or checks),
   * which give its weight (jobWeight). Omitted for work whose cost does not grow with a file: weight 1.
   */
  bytes?: number;
}

/** The port services enqueue through, inside their own transaction (so a rolled-back change queues nothing). */
export interface JobQueue {
  /**
   * Queues the work of `options.organisationId`, whose jobs take turns with other organisations' in the
   * lane, weighed by `options.bytes`. Returns false when a live job with the same unique key was already
   * queued (nothing is added).
   */
  enqueue<P>(definition: JobDefinition<P>, payload: P, options: EnqueueOptions): Promise<boolean>;
}
