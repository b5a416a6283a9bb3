// The steps shared by the services that write documents (DocumentsService: upload, new versions,
// restore; DocumentFilingService: move, copy): bringing bytes in (admission, encrypt, scan, file
// policy), the version record, what is raised after the scan in the write's transaction, and the
// name and placement checks a filing must pass. Built once in main.ts and handed to both services;
// nothing here is reachable from an interface.
import type { Decision } from '../domain/access/policy.js';
import { DomainError, commitOutcomeUnknown, conflict, notFound } from '../domain/errors.js';
import { afterNameTaken } from './name-claims.js';
import { documentPlacementChanged, placeDocument } from '../domain/placement.js';
import type { Clock, EncryptedBlobs, FileInspector, Scanner } from '../domain/ports.js';
import type { Actor, Collection, Document, DocumentStatus, ScanStatus, Version } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { AccessService } from './access.service.js';
import type { AuditTarget } from './audit-events.js';
import { HEAD_BYTES, ingest, type BodyDeadlines, type Ingested } from './ingest.js';
import type { LocksService, WriteTouch } from './locks.service.js';
import type { UploadAdmission, UploadLease } from './upload-admission.js';
import type { QuarantineNotifier } from './quarantine-notifier.js';
import { chargedTo, type DocumentLifecycle } from './lifecycle.js';
import type { Readable } from 'node:stream';

export interface DocumentIngestionOptions {
  store: Store;
  access: AccessService;
  locks: LocksService;
  blobs: EncryptedBlobs;
  scanner: Scanner;
  inspector: FileInspector;
  notifier: QuarantineNotifier;
  clock: Clock;
  maxUploadBytes: number;
  inlineScanMaxBytes: number;
  /** Bounds what one account, client address and organisation may be uploading at once. */
  admission: UploadAdmission;
  bodyDeadlines: BodyDeadlines;
  /** Raised in the write's transaction: version.committed (subscribers queue jobs). */
  lifecycle: DocumentLifecycle;
}

/** The bytes of a new version, as an upload, a new version or a copy brings them. */
export interface IngestInput {
  body: Readable | AsyncIterable<Uint8Array>;
  declaredSize?: number;
}

/** What was stored, what clamd said, whether the file policy holds it for review, and the admission slot still held for it. */
export type Inspected = Ingested & { mediaType: string; review: { code: string; reason: string } | null; slot: UploadLease };

export class DocumentIngestion {
  constructor(private readonly o: DocumentIngestionOptions) {}

  /**
   * Admits, stores (encrypted), scans inline when small enough and asks the file policy about `name`;
   * a refusal removes the blob. The admission slot stays held in `slot`: the caller writes the upload
   * with `slot.releaseWith(work)` (the release joins the write's commit) and calls `slot.release()`
   * in a `finally`, so a refusal between here and the write gives it back too.
   */
  async ingest(actor: Actor, binding: { organisationId: string; documentId: string; versionId: string }, name: string, input: IngestInput, blockedAction = 'document.upload-blocked'): Promise<Inspected> {
    // Taken after the access check (a refusal stays a 404) and held until the upload is stored or refused.
    const slot = await this.o.admission.admit(actor, binding.organisationId);
    try {
      const ingested = await ingest(this.o.blobs, this.o.scanner, binding, input.body, {
        maxBytes: this.o.maxUploadBytes,
        inlineScanMaxBytes: this.o.inlineScanMaxBytes,
        ...(input.declaredSize !== undefined ? { declaredSize: input.declaredSize } : {}),
        owner: { organisationId: binding.organisationId, accountId: actor.userId },
        deadlines: this.o.bodyDeadlines,
      });
      const ref = { ...binding, blobId: ingested.blob.blobId, keyId: ingested.blob.keyId, wrappedKey: ingested.blob.wrappedKey, size: ingested.size };
      const verdict = ingested.verdict;
      const inspection = await this.o.inspector.inspect({
        organisationId: binding.organisationId, name, size: ingested.size, head: ingested.head,
        readRange: (range) => this.o.blobs.readRange(ref, range),
        ...(verdict?.outcome === 'unavailable' && verdict.encrypted ? { encryptedInside: verdict.encrypted } : {}),
      });
      if (!inspection.allowed) {
        await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
        await this.o.access.recordRefusal(actor, blockedAction, { organisationId: binding.organisationId, ids: { documentId: binding.documentId, versionId: binding.versionId } }, `file_policy:${inspection.code}`);
        throw new DomainError('BLOCKED_FILE_TYPE', inspection.reason, { details: { code: inspection.code } });
      }
      return { ...ingested, mediaType: inspection.mediaType, review: inspection.review ?? null, slot };
    } catch (error) {
      await slot.release();
      throw error;
    }
  }

  /**
   * Removes the blob of a write that failed (`failure`), unless its version was committed after all: a
   * transaction whose commit went through but whose sync failed (SQLite) rejects too, and removing the
   * bytes then would leave a committed version with none. If even that cannot be checked, the blob stays
   * (an orphan costs space; a missing blob costs a record), and so it does when the connection was lost
   * during the commit (commitOutcomeUnknown): PostgreSQL may finish that commit after this looks. The
   * orphan sweep removes a kept blob once it is sure nothing names it.
   */
  async discardUnlessCommitted(ingested: Inspected, versionId: string, failure: unknown): Promise<void> {
    if (commitOutcomeUnknown(failure)) return;
    const committed = await this.o.store.repos.documents.versionById(versionId).then((v) => v !== undefined, () => true);
    if (!committed) await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
  }

  /** A lock taken while the bytes were arriving still binds: the stored blob is removed and the write refused. */
  async enforceAfterIngest(actor: Actor, touches: WriteTouch[], ingested: Ingested): Promise<void> {
    try {
      await this.o.locks.enforce(actor, touches);
    } catch (error) {
      await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
      throw error;
    }
  }

  versionRecord(actor: Actor, ingested: Inspected, v: { documentId: string; versionId: string; organisationId: string; number: number; scanStatus: ScanStatus; now: string; sourceModifiedAt?: string | null }): Version {
    const verdict = ingested.verdict;
    return {
      id: v.versionId, documentId: v.documentId, organisationId: v.organisationId, number: v.number, size: ingested.size,
      sha256: ingested.sha256, mediaType: ingested.mediaType, blobId: ingested.blob.blobId, wrappedKey: ingested.blob.wrappedKey,
      keyId: ingested.blob.keyId, scanStatus: v.scanStatus,
      scanDetail: v.scanStatus === 'held' ? heldDetail(ingested) : verdict?.outcome === 'infected' ? verdict.signature : verdict?.outcome === 'unavailable' ? verdict.reason : verdict ? null : 'too large to scan before acknowledging; queued',
      scanEngine: verdict && verdict.outcome !== 'unavailable' ? verdict.engine : null,
      scannedAt: verdict && verdict.outcome !== 'unavailable' ? v.now : null,
      authorId: actor.userId, createdAt: v.now, sourceModifiedAt: v.sourceModifiedAt ?? null,
    };
  }

  /** In the upload's transaction: raise version.committed (which queues a scan of a pending version) and, when clean, version.readable, or quarantine and tell people (`decision`: what let the actor write it). */
  async afterScan(repos: Repos, actor: Actor, decision: Decision, document: Document, version: Version, ingested: Inspected): Promise<void> {
    await this.o.lifecycle.raise({ jobs: repos.jobs, search: repos.search, now: this.o.clock.now() }, {
      type: 'version.committed', organisationId: document.organisationId, documentId: document.id, versionId: version.id, bytes: version.size, chargedTo: chargedTo(actor, document), scanStatus: version.scanStatus,
    });
    if (version.scanStatus === 'clean') {
      await this.o.lifecycle.raise({ jobs: repos.jobs, search: repos.search, now: this.o.clock.now() }, {
        type: 'version.readable', organisationId: document.organisationId, documentId: document.id, versionId: version.id, bytes: version.size, chargedTo: chargedTo(actor, document),
      });
    }
    if (ingested.verdict?.outcome === 'infected') {
      await this.o.notifier.quarantined(repos, actor, decision, document, version, ingested.verdict.signature);
    } else if (version.scanStatus === 'held' && ingested.review) {
      await this.o.notifier.heldForReview(repos, actor, decision, document, version, ingested.review);
    }
  }

  /** `error`, or, for a name found taken inside a transaction (by a document or a collection), what this actor is told. */
  async afterNameTaken(actor: Actor, error: unknown): Promise<unknown> {
    return afterNameTaken(this.o.access, this.o.store.repos, actor, error);
  }

  /**
   * The file-type policy holds for the name a document has at every moment, not only at upload:
   * every version still readable is inspected again under `name` (from its stored content, through
   * range reads), and a refusal is audited and answered like a refused upload.
   */
  async requireAllowedName(actor: Actor, document: Document, name: string, blockedAction: string): Promise<void> {
    for (const version of await this.o.store.repos.documents.versions(document.id)) {
      if (version.wrappedKey.length === 0) continue;
      const ref = versionRef(version, document);
      const head = version.size === 0 ? Buffer.alloc(0) : await this.o.blobs.readRange(ref, { start: 0, end: Math.min(version.size, HEAD_BYTES) - 1 });
      const inspection = await this.o.inspector.inspect({
        organisationId: document.organisationId, name, size: version.size, head, readRange: (range) => this.o.blobs.readRange(ref, range),
      });
      if (!inspection.allowed) {
        await this.o.access.recordRefusal(actor, blockedAction, target(document, version.id), `file_policy:${inspection.code}`);
        throw new DomainError('BLOCKED_FILE_TYPE', inspection.reason, { details: { code: inspection.code } });
      }
    }
  }
}

/**
 * Inside the filing transaction: the destination, read again (share-locked on PostgreSQL), must
 * still give the placement that was authorised. A collection moved meanwhile (say, out of a joint
 * workspace) makes the filing fail rather than land with a stale binding. Returns it, as read.
 */
export async function requireSamePlace(repos: Repos, authorised: Pick<Document, 'organisationId' | 'collectionId' | 'serviceArea' | 'classification' | 'arrangementId'>): Promise<Collection> {
  const collection = await repos.collections.byIdForFiling(authorised.collectionId);
  if (!collection || collection.deletedAt) throw notFound('collection');
  if (documentPlacementChanged(authorised, placeDocument(authorised, collection))) {
    throw conflict('The collection was moved or changed at the same moment; try again.');
  }
  return collection;
}

export { NameTakenWithin } from './name-claims.js';

export function statusOf(ingested: Inspected): { status: DocumentStatus; scanStatus: ScanStatus } {
  const verdict = ingested.verdict;
  if (verdict?.outcome === 'infected') return { status: 'quarantined', scanStatus: 'infected' };
  // Held whatever clamd said: it could not see inside, so "clean" would be a claim nobody checked.
  if (ingested.review) return { status: 'quarantined', scanStatus: 'held' };
  if (verdict?.outcome === 'clean') return { status: 'available', scanStatus: 'clean' };
  return { status: 'pending_scan', scanStatus: 'pending' };
}

/**
 * How to open a version's blob: bound to `owner`, the document it was decided on (its id and
 * organisation), never to whatever document the version's own row names, so a version row pointed at
 * from another document (written in the database) fails its check instead of opening.
 */
export function versionRef(version: Version, owner: { id: string; organisationId: string }) {
  return {
    blobId: version.blobId, organisationId: owner.organisationId, documentId: owner.id, versionId: version.id,
    keyId: version.keyId, wrappedKey: version.wrappedKey, size: version.size,
  };
}

function heldDetail(ingested: Inspected): string {
  const verdict = ingested.verdict;
  const scan = verdict?.outcome === 'clean' ? 'clamd found nothing in what it could read'
    : verdict?.outcome === 'unavailable' && verdict.encrypted ? `clamd found nothing else, and could not read the protected part: ${verdict.encrypted}` : 'not scanned by clamd';
  return `held for review: ${ingested.review?.reason ?? ''} (${scan})`;
}

export function target(document: Document, versionId?: string): AuditTarget {
  return {
    organisationId: document.organisationId,
    ids: versionId ? { documentId: document.id, versionId } : { documentId: document.id },
  };
}
