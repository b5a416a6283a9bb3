// The job registry: which service method runs each kind of background job. One handler per kind in
// domain/jobs/kinds.ts; a kind left out fails the registry's construction, at start-up.
import type { Logger } from 'pino';
import { backupJob, compactSearchJob, deleteBlobsJob, disposalSweepJob, disposeBatchJob, extractTextJob, pruneFinishedJobsJob, purgeBinJob, replicaDeleteJob, replicateJob, rescanJob, scanVersionJob, scrubJob, searchPurgeJob, searchRenameJob, sendAccountNoticeSummaryJob, sendEmailJob, sweepOrphanBlobsJob } from '../domain/jobs/kinds.js';
import { JobRegistry, handle as handleJob } from '../jobs/registry.js';
import type { DisposalService } from '../services/disposal.service.js';
import type { JobsAdminService } from '../services/jobs-admin.service.js';
import type { MailService } from '../services/mail.service.js';
import type { OrphanBlobsService } from '../services/orphan-blobs.service.js';
import type { QuarantineService } from '../services/quarantine.service.js';
import type { ReplicationService } from '../services/replication.service.js';
import type { ScrubService } from '../services/scrub.service.js';
import type { SearchService } from '../services/search.service.js';
import type { TextIndexing } from '../services/text-indexing.js';

export interface JobHandlerParts {
  quarantine: QuarantineService;
  disposal: DisposalService;
  replication: ReplicationService;
  scrub: ScrubService;
  search: SearchService;
  indexing: TextIndexing;
  mail: MailService;
  orphanBlobs: OrphanBlobsService;
  jobsAdmin: JobsAdminService;
  logger: Logger;
  /** Takes the day's signed backup (backup-schedule.ts, over the open vault). */
  scheduledBackup: (date: string) => Promise<void>;
}

export function buildJobRegistry({ quarantine, disposal, replication, scrub, search, indexing, mail, orphanBlobs, jobsAdmin, logger, scheduledBackup }: JobHandlerParts): JobRegistry {
  return new JobRegistry([
    handleJob(scanVersionJob, (p, context) => quarantine.scanPending(p.versionId, context.complete, context.signal)),
    handleJob(rescanJob, (p) => quarantine.rescanSince(new Date(p.since), p.signatures)),
    handleJob(disposalSweepJob, (p) => disposal.dailySweep(p.organisationId, p.date)),
    handleJob(purgeBinJob, (p) => disposal.dailyPurge(p.organisationId, p.date)),
    handleJob(disposeBatchJob, (p) => disposal.execute(p.batchId)),
    handleJob(deleteBlobsJob, (p) => disposal.deleteBlobs(p.blobIds)),
    handleJob(replicateJob, (p, context) => replication.replicate(p.versionId, context.complete)),
    handleJob(scrubJob, (p) => scrub.run(p)),
    handleJob(replicaDeleteJob, (p, context) => replication.deleteReplica(p.versionId, context.attempt >= replicaDeleteJob.maxAttempts)),
    handleJob(backupJob, (p) => scheduledBackup(p.date)),
    handleJob(extractTextJob, (p, context) => search.extract(p.versionId, context.signal, context.complete)),
    handleJob(searchRenameJob, (p) => indexing.rename(p.documentId)),
    handleJob(searchPurgeJob, (p) => indexing.purge(p)),
    handleJob(compactSearchJob, () => indexing.compact()),
    handleJob(sendEmailJob, (p, context) => mail.deliver(p, context)),
    handleJob(sendAccountNoticeSummaryJob, (p, context) => mail.deliverSummary(p, context.complete)),
    handleJob(sweepOrphanBlobsJob, async () => {
      // A store not swept is retried, then left among the failed jobs (`strongroom jobs failed`) for the operator.
      const unswept = (await orphanBlobs.sweep()).stores.filter((s) => s.error !== undefined);
      if (unswept.length > 0) throw new Error(`orphan blob sweep: ${unswept.map((s) => `the ${s.store} store was not swept (${s.error})`).join('; ')}`);
    }),
    handleJob(pruneFinishedJobsJob, async () => {
      const deleted = await jobsAdmin.pruneFinished();
      await mail.forgetFinishedNotices();
      if (deleted > 0) logger.info({ deleted }, 'finished jobs pruned');
    }),
  ]);
}
