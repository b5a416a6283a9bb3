// The once-a-day work every worker asks for hourly (background-timers.ts, from main.ts startBackground) and
// only one process in the cluster queues: each organisation's disposal sweep and bin purge, the daily scrub,
// the daily backup, the pruning of finished jobs, the sweep of orphan blobs.
// What makes it once a day lives in the database (a job's unique key, or the day recorded in key_values).
// The sweeps are their organisations' work; the rest is the vault's own (organisationId null).
import type { Config } from '../config/config.js';
import { backupJob, disposalSweepJob, pruneFinishedJobsJob, purgeBinJob, scrubJob, sweepOrphanBlobsJob } from '../domain/jobs/kinds.js';
import type { JobQueue } from '../domain/jobs/define-job.js';
import type { Clock } from '../domain/ports.js';
import { ukDate } from '../domain/records/retention.js';
import type { Store } from '../domain/repositories.js';
import type { BackupService } from '../services/backup.service.js';

/** Queues today's disposal sweep and bin purge for every organisation (one job each per UK day: the job's key). */
export async function queueDailyRecordsSweeps(store: Store, clock: Clock): Promise<void> {
  const now = clock.now();
  const date = ukDate(now);
  for (const org of await store.repos.organisations.list()) {
    await store.repos.jobs.enqueue(disposalSweepJob, { organisationId: org.id, date }, { now, organisationId: org.id });
    await store.repos.jobs.enqueue(purgeBinJob, { organisationId: org.id, date }, { now, organisationId: org.id });
  }
}

/** The daily scrub: a random sample of this many live versions, read at this rate on each side. */
export const DAILY_SCRUB_SAMPLE = 500;
export const DAILY_SCRUB_BYTES_PER_SECOND = 10 * 1024 * 1024;

/** Queues today's scrub unless some process already did (the day is recorded in key_values). */
export async function scheduleDailyScrub(store: Store, clock: Clock): Promise<void> {
  await queueOnceToday(store, clock, 'scrub.scheduled-day', (jobs, day, now) =>
    jobs.enqueue(scrubJob, { sample: DAILY_SCRUB_SAMPLE, bytesPerSecond: DAILY_SCRUB_BYTES_PER_SECOND, day }, { now, organisationId: null }));
}

/** Queues today's pruning of finished jobs unless some process already did (the day is recorded in key_values). */
export async function scheduleDailyJobsPrune(store: Store, clock: Clock): Promise<void> {
  await queueOnceToday(store, clock, 'jobs.prune-scheduled-day', (jobs, day, now) => jobs.enqueue(pruneFinishedJobsJob, { day }, { now, organisationId: null }));
}

/** Queues today's sweep of orphan blobs unless some process already did (the day is recorded in key_values). */
export async function scheduleDailyOrphanSweep(store: Store, clock: Clock): Promise<void> {
  await queueOnceToday(store, clock, 'orphan-blobs.sweep-scheduled-day', (jobs, day, now) => jobs.enqueue(sweepOrphanBlobsJob, { day }, { now, organisationId: null }));
}

/** Queues a job unless the day (UTC) recorded under `dayKey` is today's, and records today's with it, in one transaction. */
async function queueOnceToday(store: Store, clock: Clock, dayKey: string, enqueue: (jobs: JobQueue, day: string, now: Date) => Promise<boolean>): Promise<void> {
  const now = clock.now();
  const day = now.toISOString().slice(0, 10);
  await store.transaction(async (repos) => {
    if ((await repos.settings.get(dayKey)) === day) return;
    await repos.settings.set(dayKey, day);
    await enqueue(repos.jobs, day, now);
  });
}

/**
 * Queues today's backup once the UK hour has reached STRONGROOM_BACKUP_HOUR, unless the day's backup
 * was taken (recorded in the database by whichever node took it) or is queued (the job's key is the day).
 */
export async function queueDailyBackup(vault: { config: Config; clock: Clock; store: Store; backups: Pick<BackupService, 'scheduledOn'> }): Promise<boolean> {
  if (vault.config.backupSchedule !== 'daily' || vault.config.replica === null) return false;
  const now = vault.clock.now();
  if (ukHour(now) < vault.config.backupHour) return false;
  const date = ukDate(now);
  if (await vault.backups.scheduledOn(date)) return false;
  return vault.store.repos.jobs.enqueue(backupJob, { date }, { now, organisationId: null });
}

function ukHour(at: Date): number {
  return Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: 'numeric', hourCycle: 'h23' }).format(at));
}
