// The worker's timers: audit sequencing, the signature check, the staging sweep, and the hourly asks
// for the once-a-day jobs (daily-jobs.ts). Started by the vault's startBackground, never on a web node.
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Store } from '../db/store.js';
import type { Clock } from '../domain/ports.js';
import type { AuditServices } from '../services/audit-log-options.js';
import type { BackupService } from '../services/backup.service.js';
import type { QuarantineService } from '../services/quarantine.service.js';
import { queueDailyBackup, queueDailyRecordsSweeps, scheduleDailyJobsPrune, scheduleDailyOrphanSweep, scheduleDailyScrub } from './daily-jobs.js';

export interface BackgroundTimerParts {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  audit: Pick<AuditServices, 'sequencer'>;
  quarantine: Pick<QuarantineService, 'checkSignatureVersion'>;
  backups: Pick<BackupService, 'scheduledOn'>;
  /** The vault's staging cleanup (vault-blobs.ts). */
  cleanStaging: (when: string) => Promise<void>;
}

/** Starts the timers (and the first runs that do not wait for them); the caller clears the timers it is given at close. */
export function startBackgroundTimers({ config, store, clock, logger, audit, quarantine, backups, cleanStaging }: BackgroundTimerParts): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
    timers.push(setInterval(() => void audit.sequencer.integrate().catch((err: unknown) => logger.error({ err }, 'audit sequencing failed')), 1000));
    timers.push(setInterval(() => void quarantine.checkSignatureVersion().catch((err: unknown) => logger.warn({ err }, 'signature check failed')), 60_000));
    // Web nodes never restart on a schedule: the worker clears what a crashed node left, by age.
    timers.push(setInterval(() => void cleanStaging('hourly sweep').catch((err: unknown) => logger.warn({ err }, 'staging sweep failed')), STAGING_SWEEP_MS));
    void quarantine.checkSignatureVersion().catch(() => undefined);
    // Disposal sweep and bin purge: queued hourly, one job per organisation per UK day (the unique key
    // and the date each last ran, kept in the database, make it once a day across every node).
    const queueDailyRecordsJobs = () => queueDailyRecordsSweeps(store, clock);
    timers.push(setInterval(() => void queueDailyRecordsJobs().catch((err: unknown) => logger.warn({ err }, 'queueing the daily disposal sweep and bin purge failed')), 3_600_000));
    void queueDailyRecordsJobs().catch((err: unknown) => logger.warn({ err }, 'queueing the daily disposal sweep and bin purge failed'));
    // One scrub of a random sample a day across the cluster; the hourly check only queues it once a day.
    const scheduleScrub = () => void scheduleDailyScrub(store, clock).catch((err: unknown) => logger.warn({ err }, 'could not schedule the daily scrub'));
    timers.push(setInterval(scheduleScrub, 60 * 60 * 1000));
    scheduleScrub();
    // Finished jobs kept a month (FINISHED_JOBS_KEPT_DAYS), pruned once a day across the cluster.
    const scheduleJobsPrune = () => void scheduleDailyJobsPrune(store, clock).catch((err: unknown) => logger.warn({ err }, 'could not schedule the pruning of finished jobs'));
    timers.push(setInterval(scheduleJobsPrune, 60 * 60 * 1000));
    scheduleJobsPrune();
    // Blobs nothing names (uploads that never committed, copies cut off), recorded one day and removed the next.
    const scheduleOrphanSweep = () => void scheduleDailyOrphanSweep(store, clock).catch((err: unknown) => logger.warn({ err }, 'could not schedule the daily sweep of orphan blobs'));
    timers.push(setInterval(scheduleOrphanSweep, 60 * 60 * 1000));
    scheduleOrphanSweep();
    // The daily signed backup into the replica, from STRONGROOM_BACKUP_HOUR (UK time), once a day across the
    // cluster. First asked a few minutes after start, not at once: a process restarted in a loop (a bad
    // deployment) then does not add a backup's load to every start, and one-shot runs take none.
    if (config.backupSchedule === 'daily') {
      const scheduleBackup = () => void queueDailyBackup({ config, clock, store, backups }).catch((err: unknown) => logger.warn({ err }, 'could not schedule the daily backup'));
      timers.push(setInterval(scheduleBackup, 60 * 60 * 1000));
      const first = setTimeout(scheduleBackup, FIRST_BACKUP_CHECK_MS);
      first.unref();
      timers.push(first);
    }
  return timers;
}

/** How long after start-up a worker first asks whether today's backup is due (then hourly). */
const FIRST_BACKUP_CHECK_MS = 5 * 60 * 1000;
/** How often the worker sweeps unfinished uploads a crash left, by age (compose/blob-stores.ts). */
const STAGING_SWEEP_MS = 60 * 60 * 1000;
