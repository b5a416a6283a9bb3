// The offsite replica: every committed version's encrypted blob copied, under the same blob id, to a
// second BlobStore (STRONGROOM_REPLICA), by the `replicate` job queued with the version; destroyed
// versions' copies deleted there by the `replica-delete` job; and the replica's health (lag, blobs bad
// on both sides) for /metrics and the admin page. Ciphertext only: keys never leave the primary.
import type { Logger } from 'pino';
import type { Decision } from '../domain/access/policy.js';
import type { BlobStore, Clock } from '../domain/ports.js';
import type { JobCompletion, Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';

/** The replica's health, cluster-wide and as counts only. */
export interface ReplicaHealth {
  /** False when STRONGROOM_REPLICA=none: nothing is copied, and lag is not counted. */
  enabled: boolean;
  /** Committed versions whose blob the replica does not yet hold. */
  pending: number;
  /** How long the oldest of them has waited, in whole seconds (0 when none waits). */
  oldestWaitingSeconds: number;
  /** Live versions whose both copies the scrub last found bad or missing. */
  unrecoverable: number;
}

const SYSTEM_DECISION: Pick<Decision, 'allow' | 'reason' | 'via'> = { allow: true, reason: 'system', via: null };

export class ReplicationService {
  constructor(
    private readonly o: { store: Store; access: AccessService; primary: BlobStore; replica: BlobStore | null; clock: Clock; logger: Logger; system: Actor },
  ) {}

  get enabled(): boolean {
    return this.o.replica !== null;
  }

  /**
   * The `replicate` job: streams the primary copy into the replica (bounded memory: the stores stream)
   * and records it, with the job's completion when the worker hands one (one commit for both).
   * Idempotent: a second run writes the same bytes under the same id again.
   */
  async replicate(versionId: string, completion?: JobCompletion): Promise<void> {
    const replica = this.o.replica;
    if (replica === null) return;
    const version = await this.o.store.repos.documents.versionById(versionId);
    // Destroyed meanwhile (its key is gone): there is nothing worth copying, and its delete job follows.
    if (!version || version.wrappedKey.length === 0) return;
    await replica.putAs(version.blobId, await this.o.primary.get(version.blobId));
    const at = this.o.clock.now().toISOString();
    await this.o.store.transaction(async (repos) => {
      await repos.replicas.markReplicated(version.blobId, version.id, at);
      await completion?.(repos);
    });
  }

  /**
   * The `replica-delete` job, after a version was destroyed (disposal, bin purge, quarantine destroy).
   * A write-once (object-locked) bucket refuses: retried, then on the last attempt recorded (ledger and
   * audit) and let be. The copy is unreadable anyway: its data key was erased (crypto-shredding).
   */
  async deleteReplica(versionId: string, lastAttempt: boolean): Promise<void> {
    const replica = this.o.replica;
    if (replica === null) return;
    const version = await this.o.store.repos.documents.versionById(versionId);
    if (!version) return;
    // Never delete the only offsite copy of a version that can still be read.
    if (version.wrappedKey.length > 0) {
      this.o.logger.error({ versionId }, 'replica-delete queued for a version whose key still exists: the replica copy is kept');
      return;
    }
    const now = this.o.clock.now();
    try {
      await replica.delete(version.blobId);
    } catch (error) {
      if (!lastAttempt) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      this.o.logger.warn({ err: error, versionId, blobId: version.blobId }, 'the replica refused to delete a destroyed version\'s blob (a write-once bucket?); its key is already erased, so it stays unreadable');
      await this.o.store.transaction(async (repos) => {
        await repos.replicas.markDeleted(version.blobId, version.id, now.toISOString(), reason.slice(0, 500));
        await repos.audit.insert([auditEvent(this.o.system, 'storage.replica.delete-refused', { organisationId: version.organisationId, ids: { documentId: version.documentId, versionId: version.id, blobId: version.blobId } }, SYSTEM_DECISION, now)]);
      });
      return;
    }
    await this.o.store.repos.replicas.markDeleted(version.blobId, version.id, now.toISOString(), null);
  }

  /** For /metrics (no actor: counts only, read from the database so every process reports the cluster's). */
  async health(): Promise<ReplicaHealth> {
    if (!this.enabled) return { enabled: false, pending: 0, oldestWaitingSeconds: 0, unrecoverable: await this.o.store.repos.replicas.unrecoverable() };
    const [lag, unrecoverable] = await Promise.all([this.o.store.repos.replicas.lag(), this.o.store.repos.replicas.unrecoverable()]);
    const oldest = lag.oldestCommittedAt === null ? 0 : Math.max(0, Math.floor((this.o.clock.now().getTime() - Date.parse(lag.oldestCommittedAt)) / 1000));
    return { enabled: true, pending: lag.pending, oldestWaitingSeconds: oldest, unrecoverable };
  }

  /** The admin page's view: the same counts, for an org admin or security admin (`storage.read`). */
  async healthFor(actor: Actor): Promise<ReplicaHealth> {
    if (actor.kind !== 'system') await this.o.access.requireOrganisation(actor, 'storage.read', actor.organisationId ?? '');
    return this.health();
  }
}
