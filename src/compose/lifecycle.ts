// The document lifecycle's subscribers: the jobs queued, in the same transaction, when a document's life
// moves on (a scan, copies to the replica and their removal) and search's indexing. Each is the document's
// organisation's work, and takes turns with other organisations' in its lane; a scan and a copy are the work
// of the organisation of whoever stored the version (services/lifecycle.ts chargedTo) and weigh by its
// stored size (domain/jobs/define-job.ts jobWeight), a removal 1.
import { replicaDeleteJob, replicateJob, scanVersionJob } from '../domain/jobs/kinds.js';
import { DocumentLifecycle } from '../services/lifecycle.js';
import { subscribeSearch } from '../services/text-indexing.js';

/** The lifecycle every service that changes documents is given; `replicated`: STRONGROOM_REPLICA names a replica. */
export function composeLifecycle({ replicated }: { replicated: boolean }): DocumentLifecycle {
  // Lifecycle hooks: what happens, in the same transaction, when a document's life moves on.
  const lifecycle = new DocumentLifecycle().on('version.committed', async (event, tx) => {
    if (event.scanStatus === 'pending') await tx.jobs.enqueue(scanVersionJob, { versionId: event.versionId }, { now: tx.now, organisationId: event.chargedTo, bytes: event.bytes });
  });
  if (replicated) {
    lifecycle
      .on('version.committed', async (event, tx) => void (await tx.jobs.enqueue(replicateJob, { versionId: event.versionId }, { now: tx.now, organisationId: event.chargedTo, bytes: event.bytes })))
      .on('document.destroyed', async (event, tx) => {
        for (const versionId of event.versionIds) await tx.jobs.enqueue(replicaDeleteJob, { versionId }, { now: tx.now, organisationId: event.organisationId });
      });
  }

  // Search follows documents' lives: extraction when a version becomes readable, renames, purges (services/text-indexing.ts).
  subscribeSearch(lifecycle);
  return lifecycle;
}
