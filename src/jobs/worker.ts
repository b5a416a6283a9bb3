// The job worker: leases due jobs from the table-backed queue and runs their handlers, the lanes side by side
// (domain/jobs/define-job.ts JobLane), each lane one job at a time or as many as its slots, renewing each
// lease while the handler works, marking the job done (in the handler's last transaction when it
// takes the completion handed to it, else after it returns), retrying with exponential backoff and
// dead-lettering after the kind's last attempt (never for a database that was momentarily unavailable:
// such a run is retried, however many attempts it has had). `start()` refuses to run when the table holds a
// queued kind no handler here runs.
import type { Logger } from 'pino';
import { DatabaseUnavailableError } from '../db/driver-errors.js';
import { backoffSeconds, JOB_LANES, type JobLane } from '../domain/jobs/define-job.js';
import type { Clock } from '../domain/ports.js';
import type { JobRow } from '../db/repos/jobs.repo.js';
import type { JobCompletion } from '../domain/jobs/repositories.js';
import type { JobRegistry } from './registry.js';

/** Thrown by the JobCompletion of a run whose lease was lost: the handler's transaction rolls back with its result. */
export class JobLeaseLostError extends Error {
  override name = 'JobLeaseLostError';
}

/** What the worker needs of the queue table (JobsRepo). */
export interface LeasedJobs {
  lease(lane: JobLane, now: string, leaseUntil: string, limit: number): Promise<JobRow[]>;
  heartbeat(id: number, attempt: number, leaseUntil: string): Promise<boolean>;
  complete(id: number, attempt: number, at: string): Promise<boolean>;
  retry(id: number, attempt: number, runAt: string, error: string): Promise<boolean>;
  fail(id: number, attempt: number, at: string, error: string): Promise<boolean>;
  liveKinds(): Promise<string[]>;
}

export interface JobWorkerOptions {
  jobs: LeasedJobs;
  /**
   * The store's durability barrier: a handler starts only once everything committed before it (the job
   * and what was queued with it) is on disk, and its outcome is durable before the worker moves on.
   */
  durable(): Promise<void>;
  registry: JobRegistry;
  clock: Clock;
  logger: Logger;
  pollMs?: number;
  /** How long a lease lasts without a heartbeat (default 60 s); a crashed worker's jobs run again after this. */
  leaseSeconds?: number;
  /** How often a running job's lease is renewed (default: a third of the lease). */
  heartbeatMs?: number;
  /** Jobs taken per lease query, in a lane of one slot. */
  batch?: number;
  /**
   * How many jobs each lane runs at once (1 unless said). A lane of several slots polls in each and leases
   * one job at a time there, so no job it has leased waits behind another while a slot (or another node) is free:
   * a 16 GiB file's ten-minute scan holds one slot, and the next upload's scan runs in the other.
   */
  slots?: Partial<Record<JobLane, number>>;
}

/** One slot's poll: the run in progress, or the timer of the next. */
interface SlotPoll {
  lane: JobLane;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

export class UnhandledJobKindsError extends Error {
  constructor(readonly kinds: string[]) {
    super(
      `The job table holds queued jobs of kinds this version of Strongroom does not run: ${kinds.join(', ')}. ` +
        'Run the version that queued them until they finish, or mark them failed (UPDATE jobs SET status = \'failed\' WHERE kind = …) if they are no longer wanted.',
    );
    this.name = 'UnhandledJobKindsError';
  }
}

export class JobWorker {
  private readonly polls: SlotPoll[];
  private stopped = true;
  /** How many times stop() was called: a start() that a stop() overtook does not start. */
  private stops = 0;

  constructor(private readonly o: JobWorkerOptions) {
    this.polls = JOB_LANES.flatMap((lane) => {
      const slots = o.slots?.[lane] ?? 1;
      if (!Number.isInteger(slots) || slots < 1) throw new Error(`the ${lane} lane's slots must be a whole number of at least 1, not ${slots}`);
      return Array.from({ length: slots }, (): SlotPoll => ({ lane, timer: null, running: null }));
    });
  }

  private get leaseMs(): number {
    return (this.o.leaseSeconds ?? 60) * 1000;
  }

  /** Throws UnhandledJobKindsError when a queued or running job's kind has no handler here. */
  async checkQueue(): Promise<void> {
    const unhandled = this.o.registry.unhandled(await this.o.jobs.liveKinds());
    if (unhandled.length > 0) throw new UnhandledJobKindsError(unhandled);
  }

  /** Checks the queue (see checkQueue), then polls each lane for due jobs until stop(). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    const stops = this.stops;
    await this.checkQueue();
    // stop() while the queue was checked (a shutdown during start-up) wins: it has returned, and the store may be closing.
    if (this.stops !== stops) return;
    this.stopped = false;
    for (const poll of this.polls) this.poll(poll);
  }

  /** Runs the lane's due jobs in this slot, then polls again after pollMs; each slot on its own, so a long job holds only its own. */
  private poll(poll: SlotPoll): void {
    const { lane } = poll;
    if (this.stopped) return;
    const batch = (this.o.slots?.[lane] ?? 1) > 1 ? 1 : this.o.batch ?? 4;
    poll.running = this.runLane(lane, () => !this.stopped, batch).then(() => undefined).catch((error: unknown) => {
      // A job whose outcome could not be recorded stays leased, and runs again when its lease ends.
      if (error instanceof DatabaseUnavailableError) this.o.logger.warn({ err: error, cause: error.cause, lane }, 'job poll stopped: the database is unavailable for a moment');
      else this.o.logger.error({ err: error, lane }, 'job poll failed');
    }).finally(() => {
      poll.running = null;
      if (!this.stopped) poll.timer = setTimeout(() => this.poll(poll), this.o.pollMs ?? 500);
    });
  }

  get started(): boolean {
    return !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stops += 1;
    for (const poll of this.polls) if (poll.timer) clearTimeout(poll.timer);
    await Promise.all(this.polls.map((poll) => poll.running));
  }

  /**
   * Runs every job that is due now, one lane after another and again until none is left (a job may queue
   * another in a lane already emptied); returns how many were taken. The running worker's lanes go side by
   * side instead; this, for a command or a test, one job at a time.
   */
  async runDue(): Promise<number> {
    let ran = 0;
    for (;;) {
      let round = 0;
      for (const lane of JOB_LANES) round += await this.runLane(lane, () => true, this.o.batch ?? 4);
      if (round === 0) return ran;
      ran += round;
    }
  }

  /**
   * Runs the lane's jobs that are due now, one at a time, leasing `batch` at once, until none is left or `going()`
   * turns false (stop(): the running worker's slot ends with the batch in hand, not with a backlog of thousands);
   * returns how many were taken.
   */
  private async runLane(lane: JobLane, going: () => boolean, batch: number): Promise<number> {
    let ran = 0;
    while (going()) {
      const now = this.o.clock.now();
      const leasedUntil = now.getTime() + this.leaseMs;
      const jobs = await this.o.jobs.lease(lane, now.toISOString(), new Date(leasedUntil).toISOString(), batch);
      if (jobs.length === 0) return ran;
      for (const job of jobs) {
        ran += 1;
        await this.runOne(job, leasedUntil, lane);
      }
    }
    return ran;
  }

  private get heartbeatMs(): number {
    return this.o.heartbeatMs ?? Math.max(100, Math.floor(this.leaseMs / 3));
  }

  private leaseEnd(): string {
    return new Date(this.o.clock.now().getTime() + this.leaseMs).toISOString();
  }

  private async runOne(job: JobRow, leasedUntil: number, lane: JobLane): Promise<void> {
    const log = { job: job.id, kind: job.kind, lane, attempt: job.attempts };
    const handler = this.o.registry.get(job.kind);
    if (!handler) {
      // Queued after start-up by a process that knows a kind this one does not: leave it for that one.
      this.o.logger.error(log, `no handler for job kind ${job.kind}; left queued for a worker that has one`);
      await this.o.jobs.retry(job.id, job.attempts, new Date(this.o.clock.now().getTime() + 60_000).toISOString(), `no handler for job kind ${job.kind} in this process`);
      return;
    }
    // Jobs later in a batch waited while earlier ones ran: renew the lease before starting, and leave
    // the job alone if it expired meanwhile and another worker took it. With more than two heartbeat
    // intervals of the lease left it cannot have expired, and the run's first heartbeat renews it with
    // an interval to spare: renewing it here too would cost every job a write and a sync for nothing.
    if (leasedUntil - this.o.clock.now().getTime() <= 2 * this.heartbeatMs && !(await this.o.jobs.heartbeat(job.id, job.attempts, this.leaseEnd()))) {
      this.o.logger.warn(log, 'job lease expired while it waited in this batch; another worker has it');
      return;
    }
    const parsed = handler.definition.payload.safeParse(job.payload);
    if (!parsed.success) {
      this.o.logger.error({ ...log, problems: parsed.error.issues }, 'job payload is not valid for its kind: dead-lettered');
      await this.o.jobs.fail(job.id, job.attempts, this.o.clock.now().toISOString(), `invalid payload: ${parsed.error.message}`);
      return;
    }

    // The handler acts outside the database (deletes a blob or a replica copy, pushes to the replica, sends
    // mail) on what it reads, and the job row and whatever was committed with it may be committed but not
    // yet on disk: the enqueuing transaction is still waiting for its sync when this worker leases the job.
    // A crash then would bring back the destroyed key whose replica copy the handler already deleted
    // (docs/architecture.md "Durability"), so the handler starts only on durable writes.
    await this.o.durable();
    const lost = new AbortController();
    // Set once the handler has written the job's completion in its own transaction: true when it
    // marked the job done; false when the lease had been lost by then, and the completion threw so
    // that the handler's transaction rolls back. The handler returning after a true means the
    // transaction committed; one that threw rolled the completion back with it.
    let completedWithin: boolean | null = null;
    const heartbeat = setInterval(() => {
      void this.o.jobs.heartbeat(job.id, job.attempts, this.leaseEnd()).then(
        (held) => {
          // A job marked done in the handler's transaction is no longer held, and not lost either.
          if (!held && completedWithin === null && !lost.signal.aborted) {
            this.o.logger.warn(log, 'job lease lost (expired and taken by another worker): abandoning this run');
            lost.abort(new Error('job lease lost'));
          }
        },
        (err: unknown) => this.o.logger.warn({ ...log, err }, 'job heartbeat failed'),
      );
    }, this.heartbeatMs);
    const complete: JobCompletion = async (within) => {
      clearInterval(heartbeat);
      completedWithin = await within.jobs.complete(job.id, job.attempts, this.o.clock.now().toISOString());
      // Another run holds the job now and records its own result: this run's must not commit beside it.
      if (!completedWithin) {
        throw new JobLeaseLostError(`job ${job.id} (attempt ${job.attempts}) lost its lease before its result was recorded; that result was rolled back`);
      }
    };
    try {
      await handler.run(parsed.data, { jobId: job.id, attempt: job.attempts, signal: lost.signal, complete });
      clearInterval(heartbeat);
      const done = completedWithin ?? (await this.o.jobs.complete(job.id, job.attempts, this.o.clock.now().toISOString()));
      if (!done) {
        this.o.logger.warn(log, 'job finished after its lease was taken over; the other run decides its outcome');
      }
    } catch (error) {
      clearInterval(heartbeat);
      const message = error instanceof Error ? error.message : String(error);
      if (completedWithin === false) {
        // Its result rolled back with the completion (JobLeaseLostError); retry and fail would change nothing.
        this.o.logger.warn(log, 'job finished after its lease was taken over; the other run decides its outcome');
      } else if (job.attempts >= job.maxAttempts && !(error instanceof DatabaseUnavailableError)) {
        // A database busy or restarting says nothing about the job: it would succeed a moment later.
        if (await this.o.jobs.fail(job.id, job.attempts, this.o.clock.now().toISOString(), message)) {
          this.o.logger.error({ ...log, err: error }, 'job failed for good: dead-lettered (status failed)');
        } else {
          this.o.logger.warn({ ...log, err: message }, 'job handler threw after its completion committed (or its lease was taken over): not dead-lettered');
        }
      } else {
        const delay = backoffSeconds(handler.definition, job.attempts);
        if (await this.o.jobs.retry(job.id, job.attempts, new Date(this.o.clock.now().getTime() + delay * 1000).toISOString(), message)) {
          this.o.logger.warn({ ...log, retryInSeconds: delay, err: message }, 'job will retry');
        } else {
          this.o.logger.warn({ ...log, err: message }, 'job handler threw after its completion committed (or its lease was taken over): not retried');
        }
      }
    } finally {
      clearInterval(heartbeat);
    }
    // The outcome (and whatever the handler wrote) on disk before the next job runs or the worker stops.
    await this.o.durable();
  }
}
