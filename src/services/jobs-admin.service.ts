// Dead-lettered jobs as an operator sees and acts on them (the CLI's `strongroom jobs …`), the
// queue's counts for the metrics, and the daily pruning of finished jobs. The queue is the whole
// cluster's, so every read comes from the database: any process answers for all of them. Listing
// (`jobs.read`) and retrying (`jobs.manage`) are the system's alone; a retry is audited as jobs.retry.
import { DomainError } from '../domain/errors.js';
import { JOB_LANES, type JobLane } from '../domain/jobs/define-job.js';
import { FINISHED_JOBS_KEPT_DAYS } from '../domain/jobs/kinds.js';
import type { Clock } from '../domain/ports.js';
import type { FailedJob, JobCounts, Store, WaitingJobs } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';

export type { FailedJob, JobCounts };

/** One lane's live jobs of one organisation, named as the operator knows it (its slug; null: the vault's own work). */
export type WaitingJobsOf = Omit<WaitingJobs, 'organisationId'> & { organisation: string | null };

/** Jobs deleted per statement when pruning. */
const PRUNE_BATCH = 1000;

export class JobsAdminService {
  constructor(private readonly o: { store: Store; access: AccessService; clock: Clock }) {}

  /** Dead-lettered jobs, the most recently failed first. */
  async failed(actor: Actor, limit = 100): Promise<FailedJob[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new DomainError('INVALID', 'The limit must be a whole number of at least 1.');
    await this.o.access.requireOrganisation(actor, 'jobs.read', actor.organisationId ?? '');
    return this.o.store.repos.jobs.failed(limit);
  }

  /**
   * Whose work waits in each lane: within a lane organisations take turns (db/repos/jobs.repo.ts), so
   * one council's backlog shows here as its own line, not as everyone's wait. The system's alone (jobs.read).
   */
  async waiting(actor: Actor): Promise<WaitingJobsOf[]> {
    await this.o.access.requireOrganisation(actor, 'jobs.read', actor.organisationId ?? '');
    const repos = this.o.store.repos;
    const rows = await repos.jobs.waitingByOrganisation(this.o.clock.now().toISOString());
    const slugs = new Map((await repos.organisations.list()).map((o) => [o.id, o.slug]));
    // An organisation removed since its jobs were queued is shown by its id.
    return rows.map(({ organisationId, ...rest }) => ({ ...rest, organisation: organisationId === null ? null : slugs.get(organisationId) ?? organisationId }));
  }

  /** Queued, running and failed jobs across every process (read at scrape time; no actor: counts only). */
  async counts(): Promise<JobCounts> {
    return this.o.store.repos.jobs.counts();
  }

  /**
   * How long the oldest job due in each lane has waited, in seconds (0 when none is due): a lane whose
   * wait keeps growing has a job that holds it, or no worker. Read at scrape time, like counts.
   */
  async oldestWaits(): Promise<Record<JobLane, number>> {
    const now = this.o.clock.now().getTime();
    const waits = await Promise.all(JOB_LANES.map(async (lane) => {
      const runAt = await this.o.store.repos.jobs.oldestQueued(lane);
      return [lane, runAt === null ? 0 : Math.max(0, (now - Date.parse(runAt)) / 1000)] as const;
    }));
    return Object.fromEntries(waits) as Record<JobLane, number>;
  }

  /**
   * The prune-finished-jobs job: deletes the jobs finished done more than FINISHED_JOBS_KEPT_DAYS ago,
   * a batch at a time (each its own short statement, so uploads are never held behind it). Returns
   * how many went. Not audited: a finished job's row records nothing the audit log does not.
   */
  async pruneFinished(): Promise<number> {
    const before = new Date(this.o.clock.now().getTime() - FINISHED_JOBS_KEPT_DAYS * 86_400_000).toISOString();
    let deleted = 0;
    for (;;) {
      const batch = await this.o.store.repos.jobs.deleteFinished(before, PRUNE_BATCH);
      deleted += batch;
      if (batch < PRUNE_BATCH) return deleted;
    }
  }

  /** Puts a dead-lettered job back in the queue, due now, with its attempts reset; audited as jobs.retry. */
  async retry(actor: Actor, id: number): Promise<void> {
    const ids = { jobId: String(id) };
    const decision = await this.o.access.requireOrganisation(actor, 'jobs.manage', actor.organisationId ?? '', ids);
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      const outcome = await repos.jobs.requeueFailed(id, now.toISOString());
      if (outcome === 'not_failed') throw new DomainError('CONFLICT', `Job ${id} is not a failed job: only dead-lettered jobs (see "strongroom jobs failed") can be retried.`);
      if (outcome === 'duplicate_live') throw new DomainError('CONFLICT', `Job ${id} was not retried: the same work is already queued or running as another job.`);
      await repos.audit.insert([auditEvent(actor, 'jobs.retry', { organisationId: null, ids }, decision, now)]);
    });
  }
}
