// Every job kind Strongroom runs. A kind added here without a handler in the composition root's
// registry fails start-up (jobs/registry.ts), as does a queued row whose kind is not listed here.
import { z } from 'zod';
import { defineJob, type AnyJobDefinition } from './define-job.js';

/** Scans a version that was too large (or arrived while clamd was down) to scan before answering. */
export const scanVersionJob = defineJob({
  kind: 'scan-version',
  payload: z.object({ versionId: z.string().min(1) }),
  // Generous: an outage of clamd is retried for hours rather than leaving the version unscanned.
  maxAttempts: 50,
  backoffSeconds: 2,
  maxBackoffSeconds: 300,
  uniqueKey: (p) => `scan-version:${p.versionId}`,
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

/** Copies a committed version's encrypted blob to the offsite replica (STRONGROOM_REPLICA). */
export const replicateJob = defineJob({
  kind: 'replicate',
  payload: z.object({ versionId: z.string().min(1) }),
  // An offsite bucket down for a day is retried for a day; the lag gauge shows it meanwhile.
  maxAttempts: 40,
  backoffSeconds: 5,
  maxBackoffSeconds: 3600,
  uniqueKey: (p) => `replicate:${p.versionId}`,
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

export const JOB_KINDS: readonly AnyJobDefinition[] = [scanVersionJob, rescanJob, replicateJob, replicaDeleteJob, scrubJob];
