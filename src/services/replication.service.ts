// The offsite replica: every committed version's encrypted blob copied, under the same blob id, to a
// second BlobStore (STRONGROOM_REPLICA), by the `replicate` job queued with the version; destroyed
// versions' copies deleted there by the `replica-delete` job; and the replica's health (lag, blobs bad
// on both sides) for /metrics (the vault's) and a council's Storage page (its own versions'). Ciphertext
// only: keys never leave the primary.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Decision } from '../domain/access/policy.js';
import { ArchivedBlobError, DomainError, IntegrityError } from '../domain/errors.js';
import type { BlobStore, Clock, EncryptedBlobs, EncryptedVersionRef } from '../domain/ports.js';
import type { JobCompletion, Store } from '../domain/repositories.js';
import type { Actor, Version } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { versionRef } from './document-ingestion.js';
import type { ScrubOptions, ScrubReport } from './scrub.service.js';

/** The replica's health as counts only: the whole vault's, or one organisation's versions'. */
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

/** What the Storage page is shown: the counts, and whose versions they are of. */
export type ReplicaHealthView = ReplicaHealth & { of: 'organisation' | 'vault' };

const SYSTEM_DECISION: Pick<Decision, 'allow' | 'reason' | 'via'> = { allow: true, reason: 'system', via: null };
/** The scrub of a version whose primary copy failed on its way to the replica reads at this rate, as a download's repair does. */
const REPAIR_BYTES_PER_SECOND = 50 * 1024 * 1024;

export class ReplicationService {
  constructor(
    private readonly o: {
      store: Store; access: AccessService; clock: Clock; logger: Logger; system: Actor;
      /** The primary's blobs behind decryption: what is copied, checked as it passes. */
      primaryBlobs: EncryptedBlobs;
      /** The replica's raw store (written) and the same behind decryption (read back); both null when there is none. */
      replica: BlobStore | null;
      replicaBlobs: EncryptedBlobs | null;
      /** Decides and records damage found on the way (ScrubService). */
      scrub: { run(options: ScrubOptions): Promise<ScrubReport> };
    },
  ) {}

  get enabled(): boolean {
    return this.o.replica !== null;
  }

  /**
   * The `replicate` job: streams the primary copy into the replica, checking it as it passes (every
   * chunk's tag, the plaintext's SHA-256 against the version's; bounded memory), reads the replica's copy
   * back the same way, and records it, with the job's completion when the worker hands one (one commit).
   * A primary copy that is not the version is never copied: the copy is not completed, the version is not
   * marked replicated, and it is scrubbed at once as a download's damage is (an audited finding; the
   * primary healed from a good replica copy if there is one, otherwise reported as unrecoverable).
   * Until 7 December the job copied whatever the primary store handed it and marked it replicated, so
   * bit rot, a truncation or a swapped blob became the replica's "good" copy, and a scrub's repair from
   * it restored the damage. Idempotent: a second run writes the same bytes under the same id again.
   */
  async replicate(versionId: string, completion?: JobCompletion): Promise<void> {
    const { replica, replicaBlobs } = this.o;
    if (replica === null || replicaBlobs === null) return;
    const version = await this.o.store.repos.documents.versionById(versionId);
    // Destroyed meanwhile (its key is gone): there is nothing worth copying, and its delete job follows.
    if (!version || version.wrappedKey.length === 0) return;
    const ref = versionRef(version, { id: version.documentId, organisationId: version.organisationId });
    try {
      await this.o.primaryBlobs.copyTo(ref, version.sha256, replica);
    } catch (error) {
      if (!isDamage(error)) throw error;
      await this.#primaryDamaged(version, error);
      return;
    }
    // Read back what was written (a store that mangles what it is given, a lost write): a copy is only
    // recorded once it is known good, as a scrub's repair is. An error here is retried by the job.
    await readsAsTheVersion(replicaBlobs, ref, version.sha256);
    const at = this.o.clock.now().toISOString();
    await this.o.store.transaction(async (repos) => {
      await repos.replicas.markReplicated(version.blobId, version.id, at);
      await completion?.(repos);
    });
  }

  /**
   * The primary copy failed its check on the way to the replica: the scrub of this version decides, as
   * for a download that found damage, and records it (audit, log, ledger, the security admins told).
   * Its replication job is running, so a replica that holds no copy yet counts as waiting, not as damage.
   * A scrub that could not read a store (an outage) settled nothing: the job fails and is retried.
   */
  async #primaryDamaged(version: Version, error: unknown): Promise<void> {
    this.o.logger.warn({ err: error, versionId: version.id, blobId: version.blobId }, 'the primary copy of a blob is damaged or missing: not copied to the replica; scrubbing it');
    const report = await this.o.scrub.run({ versionId: version.id, bytesPerSecond: REPAIR_BYTES_PER_SECOND });
    if (report.skipped > 0) throw new DomainError('UNAVAILABLE', 'The primary copy of this version failed its check on the way to the replica, and a store could not be read to settle it; tried again later.', { cause: error });
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

  /**
   * For /metrics (no actor: the whole vault's counts, read from the database so every process reports the
   * cluster's), which only the operator's scraper is answered; or, given an organisation, of its versions only.
   */
  async health(organisationId?: string): Promise<ReplicaHealth> {
    const replicas = this.o.store.repos.replicas;
    if (!this.enabled) return { enabled: false, pending: 0, oldestWaitingSeconds: 0, unrecoverable: await replicas.unrecoverable(organisationId) };
    const [lag, unrecoverable] = await Promise.all([replicas.lag(organisationId), replicas.unrecoverable(organisationId)]);
    const oldest = lag.oldestCommittedAt === null ? 0 : Math.max(0, Math.floor((this.o.clock.now().getTime() - Date.parse(lag.oldestCommittedAt)) / 1000));
    return { enabled: true, pending: lag.pending, oldestWaitingSeconds: oldest, unrecoverable };
  }

  /**
   * The Storage page's view: for an org admin or security admin (`storage.read`), the counts of their own
   * organisation's versions; the whole vault's only to whom decide() lets read them (`storage.read-vault`: the
   * operator). Until 8 December every council's admins were shown the whole vault's, so one council's admin
   * watched the count rise by exactly another's uploads as they happened.
   */
  async healthFor(actor: Actor): Promise<ReplicaHealthView> {
    const organisationId = actor.organisationId ?? '';
    if (await this.o.access.may(actor, 'storage.read-vault', { kind: 'organisation', organisationId })) return { ...(await this.health()), of: 'vault' };
    await this.o.access.requireOrganisation(actor, 'storage.read', organisationId);
    return { ...(await this.health(organisationId)), of: 'organisation' };
  }
}

/** Damage, or an object archived to a cold storage class: the primary copy's problem, which its scrub settles and names. */
function isDamage(error: unknown): boolean {
  return error instanceof ArchivedBlobError || (error instanceof DomainError && (error.code === 'NOT_FOUND' || error.code === 'INTEGRITY'));
}

/** Reads a copy whole through decryption (every chunk's tag) and compares its plaintext with the version's hash. */
async function readsAsTheVersion(blobs: EncryptedBlobs, ref: EncryptedVersionRef, sha256: string): Promise<void> {
  const hash = createHash('sha256');
  for await (const chunk of await blobs.openRange(ref)) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== sha256) throw new IntegrityError('The replica\'s copy, read back after it was written, is not the version.');
}
