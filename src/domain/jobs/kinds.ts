// Every job kind Strongroom runs. A kind added here without a handler in the composition root's
// registry fails start-up (jobs/registry.ts), as does a queued row whose kind is not listed here.
import { z } from 'zod';
import { sendEmailPayloadSchema } from '../mail/message.js';
import { defineJob, type AnyJobDefinition } from './define-job.js';

/** Scans a version that was too large (or arrived while clamd was down) to scan before answering. */
export const scanVersionJob = defineJob({
  kind: 'scan-version',
  // The version is unreadable until this runs.
  lane: 'availability',
  payload: z.object({ versionId: z.string().min(1) }),
  // Generous: an outage of clamd is retried for hours rather than leaving the version unscanned.
  maxAttempts: 50,
  backoffSeconds: 2,
  maxBackoffSeconds: 300,
  uniqueKey: (p) => `scan-version:${p.versionId}`,
  // It reads the whole version: weighed by its size, so a council's large files take the lane's turns they cost.
  weighed: true,
});

/** After a signature update: rescans versions stored since `since` with the new signatures. */
export const rescanJob = defineJob({
  kind: 'rescan',
  payload: z.object({ since: z.iso.datetime(), signatures: z.string().optional() }),
  maxAttempts: 20,
  backoffSeconds: 30,
  maxBackoffSeconds: 3600,
  // Two processes that notice the same signature update queue one rescan, not two.
  uniqueKey: (p) => `rescan:${p.signatures ?? p.since}`,
});

/** The daily disposal sweep of one organisation: proposes a review batch of what has fallen due (at most once a UK day). */
export const disposalSweepJob = defineJob({
  kind: 'disposal-sweep',
  payload: z.object({ organisationId: z.string().min(1), date: z.iso.date() }),
  maxAttempts: 10,
  backoffSeconds: 60,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `disposal-sweep:${p.organisationId}:${p.date}`,
});

/** Carries out an approved disposal batch: crypto-shreds and deletes what was decided destroy or transfer. */
export const disposeBatchJob = defineJob({
  kind: 'dispose-batch',
  payload: z.object({ batchId: z.string().min(1) }),
  // Idempotent (items with an outcome are skipped), so a failure part-way is simply run again.
  maxAttempts: 20,
  backoffSeconds: 30,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `dispose-batch:${p.batchId}`,
});

/** Purges one organisation's bin: documents deleted longer ago than the bin period, unless held. */
export const purgeBinJob = defineJob({
  kind: 'purge-bin',
  payload: z.object({ organisationId: z.string().min(1), date: z.iso.date() }),
  maxAttempts: 10,
  backoffSeconds: 60,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `purge-bin:${p.organisationId}:${p.date}`,
});

/**
 * Deletes the blobs of destroyed versions. Queued in the transaction that shredded their keys, so a
 * crash or a store that is down never leaves a blob behind for good; the data is unreadable already.
 */
export const deleteBlobsJob = defineJob({
  kind: 'delete-blobs',
  payload: z.object({ blobIds: z.array(z.string().min(1)).min(1) }),
  maxAttempts: 50,
  backoffSeconds: 30,
  maxBackoffSeconds: 3600,
});

/** Copies a committed version's encrypted blob to the offsite replica (STRONGROOM_REPLICA). */
export const replicateJob = defineJob({
  kind: 'replicate',
  payload: z.object({ versionId: z.string().min(1) }),
  // An offsite bucket down for a day is retried for a day; the lag gauge shows it meanwhile.
  maxAttempts: 40,
  backoffSeconds: 5,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `replicate:${p.versionId}`,
  // It reads the whole version: weighed by its size, so a council's large files take the lane's turns they cost.
  weighed: true,
});

/**
 * Deletes a destroyed version's blob from the replica. Its key is already gone (crypto-shredding), so
 * on a write-once bucket that refuses, the last attempt records the refusal and succeeds.
 */
export const replicaDeleteJob = defineJob({
  kind: 'replica-delete',
  payload: z.object({ versionId: z.string().min(1) }),
  maxAttempts: 8,
  backoffSeconds: 30,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `replica-delete:${p.versionId}`,
});

/**
 * Re-reads both copies of version blobs at a bounded rate, checks them and heals a bad copy from the
 * good one: one version (a download found its primary copy bad), a random sample, or all of them.
 */
export const scrubJob = defineJob({
  kind: 'scrub',
  payload: z.object({
    versionId: z.string().min(1).optional(),
    sample: z.number().int().positive().optional(),
    all: z.boolean().optional(),
    /** Read rate limit across both copies, bytes a second. */
    bytesPerSecond: z.number().int().positive(),
    /** The day a scheduled scrub is for (one a day across the cluster). */
    day: z.string().optional(),
  }),
  maxAttempts: 3,
  backoffSeconds: 300,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => (p.versionId !== undefined ? `scrub:version:${p.versionId}` : `scrub:${p.day ?? 'now'}`),
});

/**
 * The scheduled signed database backup into the replica (STRONGROOM_BACKUP=daily): one a UK day
 * across the cluster (the live-job key here, and the day of the last one recorded in the database).
 */
export const backupJob = defineJob({
  kind: 'backup',
  payload: z.object({ date: z.iso.date() }),
  // A replica down for a while is retried for hours; the backup-age gauge shows it meanwhile.
  maxAttempts: 8,
  backoffSeconds: 120,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `backup:${p.date}`,
});

/** Extracts a readable version's text (and first-page thumbnail) and puts it in the search index (queued on `version.readable`). */
export const extractTextJob = defineJob({
  kind: 'extract-text',
  payload: z.object({ versionId: z.string().min(1) }),
  // A file that cannot be read ends `failed` on the version (not a retry); retries are for outages.
  maxAttempts: 10,
  backoffSeconds: 10,
  maxBackoffSeconds: 1800,
  uniqueKey: (p) => `extract-text:${p.versionId}`,
  // It reads the whole version: weighed by its size, so a council's large files take the lane's turns they cost.
  weighed: true,
});

/**
 * Puts a renamed or moved document's new name in the search index. No longer queued (a rename writes the
 * index in its own transaction: services/text-indexing.ts); kept so jobs queued before still run.
 */
export const searchRenameJob = defineJob({
  kind: 'search-rename',
  payload: z.object({ documentId: z.string().min(1) }),
  maxAttempts: 20,
  backoffSeconds: 5,
  maxBackoffSeconds: 600,
  uniqueKey: (p) => `search-rename:${p.documentId}`,
});

/**
 * Removes destroyed content from search (queued on `document.destroyed`): the documents' or versions'
 * text and index rows and the versions' thumbnail blobs, then queues `compact-search`.
 */
export const searchPurgeJob = defineJob({
  kind: 'search-purge',
  payload: z.object({ documentId: z.string().min(1), versionIds: z.array(z.string().min(1)), disposed: z.boolean() }),
  maxAttempts: 50,
  backoffSeconds: 10,
  maxBackoffSeconds: 3600,
});

/**
 * Makes removed text leave the index's storage (FTS5 `optimize` rewrites the whole index, so
 * one run a minute after a burst of purges, never one per document: the unique key folds them).
 */
export const compactSearchJob = defineJob({
  kind: 'compact-search',
  payload: z.object({}),
  maxAttempts: 10,
  backoffSeconds: 60,
  maxBackoffSeconds: 3600,
  uniqueKey: () => 'compact-search',
});

/**
 * Sends one e-mail to one person (queued in the transaction of the change it tells of, so a request never
 * waits on SMTP). An SMTP server down for a while is retried for about a day, then dead-lettered.
 */
export const sendEmailJob = defineJob({
  kind: 'send-email',
  lane: 'mail',
  payload: sendEmailPayloadSchema,
  maxAttempts: 30,
  backoffSeconds: 30,
  maxBackoffSeconds: 3600,
});

/**
 * Sends one summary of the security notices held from one person's window, to one address (each notice's own:
 * the address the person had when its change was made), when the window ends (domain/mail/notice-limits.ts).
 * Queued in the transaction that held the first of them; retried like send-email.
 */
export const sendAccountNoticeSummaryJob = defineJob({
  kind: 'send-account-notice-summary',
  lane: 'mail',
  payload: z.object({ userId: z.string().min(1), windowOpenedAt: z.string().min(1), address: z.string().min(1) }),
  maxAttempts: 30,
  backoffSeconds: 30,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `account-notice-summary:${p.userId}:${p.windowOpenedAt}:${p.address}`,
});
export type AccountNoticeSummaryPayload = z.infer<typeof sendAccountNoticeSummaryJob.payload>;

/** How long the queue keeps a job it finished (done); dead-lettered ones stay until retried. */
export const FINISHED_JOBS_KEPT_DAYS = 30;

/**
 * Deletes the jobs finished more than FINISHED_JOBS_KEPT_DAYS ago, in short batches: every upload
 * leaves two rows behind, which nothing reads once the job is done (what the work did is in the audit
 * log), and a table that only grows makes every backup and every write to its indexes larger. One a day.
 */
export const pruneFinishedJobsJob = defineJob({
  kind: 'prune-finished-jobs',
  payload: z.object({ day: z.iso.date() }),
  maxAttempts: 5,
  backoffSeconds: 300,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `prune-finished-jobs:${p.day}`,
});

/**
 * The garbage collection of orphan blobs (blobs in the primary or the replica nothing names): records
 * new candidates and deletes those first seen over the grace period ago. One a day across the cluster
 * (the key and the day recorded in the database); two at once would still be safe.
 */
export const sweepOrphanBlobsJob = defineJob({
  kind: 'sweep-orphan-blobs',
  payload: z.object({ day: z.iso.date() }),
  maxAttempts: 3,
  backoffSeconds: 600,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `sweep-orphan-blobs:${p.day}`,
});

export const JOB_KINDS: readonly AnyJobDefinition[] = [
  scanVersionJob, rescanJob, disposalSweepJob, disposeBatchJob, purgeBinJob, deleteBlobsJob, replicateJob, replicaDeleteJob, scrubJob, backupJob,
  extractTextJob, searchRenameJob, searchPurgeJob, compactSearchJob, sendEmailJob, sendAccountNoticeSummaryJob, pruneFinishedJobsJob, sweepOrphanBlobsJob,
];
