// The job worker: leases due jobs from the table-backed queue and runs their handlers,
// retrying with exponential backoff. Start-up fails if a queued kind has no handler.
import type { Logger } from 'pino';
import type { Clock } from '../domain/ports.js';
import type { JobsRepo } from '../db/repos/jobs.repo.js';

export interface JobHandler {
  run(payload: unknown): Promise<void>;
  /** Seconds before the first retry; doubles each time, capped at maxBackoffSeconds. */
  backoffSeconds: number;
  maxBackoffSeconds: number;
}

export type JobRegistry = Record<string, JobHandler>;

export class JobWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: { jobs: JobsRepo; registry: JobRegistry; clock: Clock; logger: Logger; pollMs?: number; leaseSeconds?: number }) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runDue().then(() => undefined).catch((error: unknown) => this.o.logger.error({ err: error }, 'job poll failed')).finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(tick, this.o.pollMs ?? 500);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Runs every job that is due now; returns how many ran. */
  async runDue(): Promise<number> {
    let ran = 0;
    for (;;) {
      const now = this.o.clock.now();
      const leaseUntil = new Date(now.getTime() + (this.o.leaseSeconds ?? 300) * 1000).toISOString();
      const jobs = await this.o.jobs.lease(now.toISOString(), leaseUntil, 4);
      if (jobs.length === 0) return ran;
      for (const job of jobs) {
        ran += 1;
        const handler = this.o.registry[job.kind];
        if (!handler) {
          await this.o.jobs.fail(job.id, now.toISOString(), `no handler for job kind ${job.kind}`);
          continue;
        }
        try {
          await handler.run(job.payload);
          await this.o.jobs.complete(job.id, this.o.clock.now().toISOString());
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (job.attempts >= job.maxAttempts) {
            this.o.logger.error({ job: job.id, kind: job.kind, err: error }, 'job failed for good');
            await this.o.jobs.fail(job.id, this.o.clock.now().toISOString(), message);
          } else {
            const delay = Math.min(handler.backoffSeconds * 2 ** (job.attempts - 1), handler.maxBackoffSeconds);
            this.o.logger.warn({ job: job.id, kind: job.kind, attempt: job.attempts, retryInSeconds: delay, err: message }, 'job will retry');
            await this.o.jobs.retry(job.id, new Date(this.o.clock.now().getTime() + delay * 1000).toISOString(), message);
          }
        }
      }
    }
  }
}
