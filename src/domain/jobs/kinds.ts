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

export const JOB_KINDS: readonly AnyJobDefinition[] = [scanVersionJob, rescanJob];
