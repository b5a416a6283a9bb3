// Documents and their versions: upload, new versions, download, rename/move, delete and restore.
// Order of work for every write: blob first (durable), then metadata + audit in one transaction, then the answer.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import { documentPlacementChanged, higherClassification, placeDocument } from '../domain/placement.js';
import type { ByteRange, Clock, EncryptedBlobs, FileInspector, Scanner } from '../domain/ports.js';
import type { Actor, Classification, Document, DocumentStatus, ScanStatus, Version } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { AccessService, collectionResource, documentResource } from './access.service.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import { HEAD_BYTES, ingest, type BodyDeadlines, type Ingested } from './ingest.js';
import type { LocksService, WriteTouch } from './locks.service.js';
import type { UploadAdmission } from './upload-admission.js';
import type { QuarantineNotifier } from './quarantine.service.js';
import type { DocumentLifecycle } from './lifecycle.js';

export interface DocumentsServiceOptions {
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
  /** Raised in the write's transaction: version.committed, document.moved (subscribers queue jobs). */
  lifecycle: DocumentLifecycle;
}

export interface UploadInput {
  name: string;
  body: Readable | AsyncIterable<Uint8Array>;
  declaredSize?: number;
  classification?: Classification;
}

export interface UploadResult {
  document: Document;
  version: Version;
  /** Set when the file was refused as malware: the version is kept encrypted in quarantine. */
  infected?: { signature: string };
  /** Set when the file policy let the file in only quarantined, for a security admin to review. */
  heldForReview?: { reason: string };
}

export interface MoveInput {
  name?: string;
  collectionId?: string;
  /** A document already at the destination under that name, to be replaced (deleted) in the same transaction. */
  replace?: string;
}

export interface CopyInput {
  collectionId: string;
  name?: string;
  replace?: string;
}

export interface DownloadHandle {
  document: Document;
  version: Version;
  size: number;
  range: ByteRange | null;
  stream: Readable;
}

export interface PreparedDownload {
  document: Document;
  version: Version;
  size: number;
  /** Audits the read, then streams the plaintext (a range of it, if given). */
  open(range: ByteRange | null): Promise<Readable>;
}

export class DocumentsService {
  constructor(private readonly o: DocumentsServiceOptions) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /** A document the actor may at least see, or NOT_FOUND (audited). */
  async get(actor: Actor, documentId: string, action: 'document.read' = 'document.read'): Promise<{ document: Document; decision: Decision }> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const decision = await this.o.access.require(actor, action, documentResource(document), target(document));
    return { document, decision };
  }

  async versions(actor: Actor, documentId: string): Promise<{ document: Document; versions: Version[] }> {
    const { document } = await this.get(actor, documentId);
    return { document, versions: await this.repos.documents.versions(document.id) };
  }

  async upload(actor: Actor, collectionId: string, input: UploadInput): Promise<UploadResult> {
    const collection = await this.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    await this.o.access.require(actor, 'document.create', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId } });
    const name = validateName(input.name);
    const classification = higherClassification(input.classification ?? collection.classification, collection.classification);
    const decision = await this.o.access.requireCreatable(actor, 'document.create', collection.id, classification);
    const taken = await this.repos.documents.byName(collection.id, name);
    if (taken) throw await this.nameTaken(actor, taken, `A document called "${name}" already exists in this collection. Upload a new version of it instead.`);
    const touches: WriteTouch[] = [{ kind: 'members', collection }];
    await this.o.locks.enforce(actor, touches);
    const documentId = randomUUID();
    const versionId = randomUUID();
    const ingested = await this.ingest(actor, { organisationId: collection.organisationId, documentId, versionId }, name, input);
    await this.enforceAfterIngest(actor, touches, ingested);
    const now = this.o.clock.now().toISOString();
    const { status, scanStatus } = statusOf(ingested);
    const version = this.versionRecord(actor, ingested, { documentId, versionId, organisationId: collection.organisationId, number: 1, scanStatus, now });
    const document: Document = {
      id: documentId, name, ...placeDocument({ classification }, collection), status, currentVersion: 1, currentVersionId: versionId, size: ingested.size,
      sha256: ingested.sha256, mediaType: version.mediaType, legalHold: false, copiedFromDocumentId: null, copiedViaArrangementId: null,
      createdAt: now, updatedAt: now, deletedAt: null,
    };
    try {
      await this.o.store.transaction(async (repos) => {
        await this.requireSamePlace(repos, document);
        await repos.documents.insertDocument(document);
        await repos.documents.insertVersion(version);
        await repos.audit.insert([auditEvent(actor, 'document.upload', target(document, versionId), decision, this.o.clock.now())]);
        await this.afterScan(repos, actor, decision, document, version, ingested);
      });
    } catch (error) {
      await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
      throw error;
    }
    return this.result(document, version, ingested);
  }

  async uploadVersion(actor: Actor, documentId: string, input: Omit<UploadInput, 'name'> & { ifMatch?: string }): Promise<UploadResult> {
    const existing = await this.repos.documents.byId(documentId);
    if (!existing) throw notFound('document');
    const decision = await this.o.access.require(actor, 'document.version', documentResource(existing), target(existing));
    if (input.ifMatch !== undefined && input.ifMatch !== existing.sha256) {
      throw new DomainError('PRECONDITION_FAILED', 'The document has changed since you last read it.');
    }
    const touches: WriteTouch[] = [{ kind: 'content', target: { kind: 'document', document: existing } }];
    await this.o.locks.enforce(actor, touches);
    const versionId = randomUUID();
    const ingested = await this.ingest(actor, { organisationId: existing.organisationId, documentId, versionId }, existing.name, input);
    await this.enforceAfterIngest(actor, touches, ingested);
    const { status, scanStatus } = statusOf(ingested);
    let document = existing;
    let version: Version | undefined;
    await this.o.store.transaction(async (repos) => {
      const current = await repos.documents.byId(documentId);
      if (!current) throw notFound('document');
      const now = this.o.clock.now().toISOString();
      const number = Math.max(current.currentVersion, ...(await repos.documents.versions(documentId)).map((v) => v.number)) + 1;
      version = this.versionRecord(actor, ingested, { documentId, versionId, organisationId: current.organisationId, number, scanStatus, now });
      await repos.documents.insertVersion(version);
      // An infected version never becomes current: the last good version stays readable.
      if (status !== 'quarantined') {
        const moved = await repos.documents.setCurrentVersion(documentId, current.currentVersion, version, status, now);
        if (!moved) throw conflict('Another version was saved at the same moment; try again.');
      }
      await repos.audit.insert([auditEvent(actor, 'document.version', target(current, versionId), decision, this.o.clock.now())]);
      document = status === 'quarantined' ? current : { ...current, status, currentVersion: number, currentVersionId: versionId, size: ingested.size, sha256: ingested.sha256, mediaType: version.mediaType, updatedAt: now };
      await this.afterScan(repos, actor, decision, document, version, ingested);
    });
    return this.result(document, version!, ingested);
  }

  private async ingest(actor: Actor, binding: { organisationId: string; documentId: string; versionId: string }, name: string, input: Omit<UploadInput, 'name'>, blockedAction = 'document.upload-blocked'): Promise<Inspected> {
    // Taken after the access check (a refusal stays a 404) and held only while the body arrives.
    const lease = await this.o.admission.admit(actor, binding.organisationId);
    let ingested: Ingested;
    try {
      ingested = await ingest(this.o.blobs, this.o.scanner, binding, input.body, {
        maxBytes: this.o.maxUploadBytes,
        inlineScanMaxBytes: this.o.inlineScanMaxBytes,
        ...(input.declaredSize !== undefined ? { declaredSize: input.declaredSize } : {}),
        owner: { organisationId: binding.organisationId, accountId: actor.userId },
        deadlines: this.o.bodyDeadlines,
      });
    } finally {
      await lease.release();
    }
    const ref = { ...binding, blobId: ingested.blob.blobId, keyId: ingested.blob.keyId, wrappedKey: ingested.blob.wrappedKey, size: ingested.size };
    const inspection = await this.o.inspector.inspect({
      organisationId: binding.organisationId, name, size: ingested.size, head: ingested.head,
      readRange: (range) => this.o.blobs.readRange(ref, range),
    });
    if (!inspection.allowed) {
      await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
      await this.o.access.recordRefusal(actor, blockedAction, { organisationId: binding.organisationId, ids: { documentId: binding.documentId, versionId: binding.versionId } }, `file_policy:${inspection.code}`);
      throw new DomainError('BLOCKED_FILE_TYPE', inspection.reason, { details: { code: inspection.code } });
    }
    return { ...ingested, mediaType: inspection.mediaType, review: inspection.review ?? null };
  }

  /** A lock taken while the bytes were arriving still binds: the stored blob is removed and the write refused. */
  private async enforceAfterIngest(actor: Actor, touches: WriteTouch[], ingested: Ingested): Promise<void> {
    try {
      await this.o.locks.enforce(actor, touches);
    } catch (error) {
      await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
      throw error;
    }
  }

  private versionRecord(actor: Actor, ingested: Inspected, v: { documentId: string; versionId: string; organisationId: string; number: number; scanStatus: ScanStatus; now: string }): Version {
    const verdict = ingested.verdict;
    return {
      id: v.versionId, documentId: v.documentId, organisationId: v.organisationId, number: v.number, size: ingested.size,
      sha256: ingested.sha256, mediaType: ingested.mediaType, blobId: ingested.blob.blobId, wrappedKey: ingested.blob.wrappedKey,
      keyId: ingested.blob.keyId, scanStatus: v.scanStatus,
      scanDetail: v.scanStatus === 'held' ? heldDetail(ingested) : verdict?.outcome === 'infected' ? verdict.signature : verdict?.outcome === 'unavailable' ? verdict.reason : verdict ? null : 'too large to scan before acknowledging; queued',
      scanEngine: verdict && verdict.outcome !== 'unavailable' ? verdict.engine : null,
      scannedAt: verdict && verdict.outcome !== 'unavailable' ? v.now : null,
      authorId: actor.userId, createdAt: v.now,
    };
  }

  /** In the upload's transaction: raise version.committed (which queues a scan of a pending version), or quarantine and tell people (`decision`: what let the actor write it). */
  private async afterScan(repos: Repos, actor: Actor, decision: Decision, document: Document, version: Version, ingested: Inspected): Promise<void> {
    await this.o.lifecycle.raise({ jobs: repos.jobs, now: this.o.clock.now() }, {
      type: 'version.committed', organisationId: document.organisationId, documentId: document.id, versionId: version.id, scanStatus: version.scanStatus,
    });
    if (ingested.verdict?.outcome === 'infected') {
      await this.o.notifier.quarantined(repos, actor, decision, document, version, ingested.verdict.signature);
    } else if (version.scanStatus === 'held' && ingested.review) {
      await this.o.notifier.heldForReview(repos, actor, decision, document, version, ingested.review);
    }
  }

  private result(document: Document, version: Version, ingested: Inspected): UploadResult {
    if (ingested.verdict?.outcome === 'infected') return { document, version, infected: { signature: ingested.verdict.signature } };
    if (version.scanStatus === 'held' && ingested.review) return { document, version, heldForReview: { reason: ingested.review.reason } };
    return { document, version };
  }

  /**
   * Authorises a read of a version's content once, and returns what a conditional or range request
   * needs to know (size, hash) before any byte is read. `open` audits the read — committed before
   * the first byte — and only ever serves clean or released versions.
   */
  async prepareDownload(actor: Actor, documentId: string, options: { versionNumber?: number } = {}): Promise<PreparedDownload> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const version = options.versionNumber === undefined
      ? await this.repos.documents.versionById(document.currentVersionId)
      : await this.repos.documents.version(documentId, options.versionNumber);
    // The verdict on the very version asked for is part of the decision: an older infected version
    // stays out of reach while a newer one is under review.
    const resource = version ? { ...documentResource(document), versionScan: version.scanStatus } : documentResource(document);
    const decision = await this.o.access.require(actor, 'document.download', resource, target(document, version?.id));
    if (!version) throw notFound('version');
    return {
      document, version, size: version.size,
      open: async (range) => {
        if (range && (range.start > range.end || range.end >= version.size)) {
          throw new DomainError('INVALID', 'The requested range is not satisfiable.', { details: { size: version.size, rangeNotSatisfiable: true } });
        }
        await this.repos.audit.insert([auditEvent(actor, 'document.download', target(document, version.id), decision, this.o.clock.now())]);
        return this.o.blobs.openRange(
          { blobId: version.blobId, organisationId: version.organisationId, documentId, versionId: version.id, keyId: version.keyId, wrappedKey: version.wrappedKey, size: version.size },
          range ?? undefined,
        );
      },
    };
  }

  /** Authorises, audits and opens in one step (copies, scans by people, the CLI). */
  async download(actor: Actor, documentId: string, options: { versionNumber?: number; range?: ByteRange | null } = {}): Promise<DownloadHandle> {
    const prepared = await this.prepareDownload(actor, documentId, options.versionNumber === undefined ? {} : { versionNumber: options.versionNumber });
    const range = options.range ?? null;
    const stream = await prepared.open(range);
    return { document: prepared.document, version: prepared.version, size: prepared.size, range, stream };
  }

  /**
   * Renames a document and/or moves it to another collection. Everything derived from its place and
   * name is recomputed in the same transaction (domain/placement.ts), and the file-type policy is
   * asked again about the new name. A move to another organisation is a copy there and a deletion
   * here, all or nothing (see copy); the answer is then the new document.
   */
  async move(actor: Actor, documentId: string, change: MoveInput): Promise<Document> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const decision = await this.o.access.require(actor, 'document.rename', documentResource(document), target(document));
    const name = change.name === undefined ? document.name : validateName(change.name);
    const moving = change.collectionId !== undefined && change.collectionId !== document.collectionId;
    const destination = await this.repos.collections.byId(moving ? change.collectionId! : document.collectionId);
    if (!destination || destination.deletedAt) throw notFound('collection');
    if (destination.organisationId !== document.organisationId) {
      return this.copy(actor, documentId, { collectionId: destination.id, name, ...(change.replace ? { replace: change.replace } : {}) }, { move: true });
    }
    const placement = placeDocument(document, destination);
    if (moving) {
      await this.o.access.require(actor, 'document.create', { ...collectionResource(destination), classification: placement.classification },
        { organisationId: destination.organisationId, ids: { collectionId: destination.id, documentId } });
    }
    const replaced = change.replace ? await this.requireReplaceable(actor, change.replace, destination.id, name) : null;
    const clash = await this.repos.documents.byName(destination.id, name);
    if (clash && clash.id !== document.id && clash.id !== replaced?.document.id) throw await this.nameTaken(actor, clash, `A document called "${name}" already exists there.`);
    const action = moving ? 'document.move' : 'document.rename';
    if (name !== document.name) await this.requireAllowedName(actor, document, name, `${action}-blocked`);
    const source = await this.repos.collections.byId(document.collectionId);
    const touches: WriteTouch[] = [{ kind: 'content', target: { kind: 'document', document } }];
    if (source) touches.push({ kind: 'members', collection: source });
    if (moving) touches.push({ kind: 'members', collection: destination });
    if (replaced) touches.push({ kind: 'content', target: { kind: 'document', document: replaced.document } });
    await this.o.locks.enforce(actor, touches);
    // Locks do not follow a renamed or moved resource (RFC 4918 §7.5), on any interface.
    const endedLocks = await this.o.locks.tokensOn({ kind: 'document', document });
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      for (const token of endedLocks) await repos.locks.delete(token);
      await this.requireSamePlace(repos, placement);
      if (replaced) await this.softDeleteReplaced(repos, actor, replaced, now);
      await repos.documents.update(document.id, { name, ...placement }, now.toISOString());
      const raised: Record<string, string> = placement.classification !== document.classification ? { classification: placement.classification } : {};
      await repos.audit.insert([auditEvent(actor, action, { organisationId: document.organisationId, ids: { documentId, collectionId: destination.id, ...raised } }, decision, now)]);
      await this.o.lifecycle.raise({ jobs: repos.jobs, now }, {
        type: 'document.moved', organisationId: document.organisationId, documentId, fromCollectionId: document.collectionId, toCollectionId: destination.id, name,
      });
    });
    return { ...document, name, ...placement, updatedAt: now.toISOString() };
  }

  /**
   * Copies a document's current version into a collection (any organisation the actor may add to),
   * re-encrypted for its new place and checked again for malware and against the destination's
   * file policy under the new name. With `move`, the source is deleted in the same transaction.
   * Every permission (read the source, add at the destination, delete the source, replace what is
   * there) is decided before anything is written; if anything later fails, the new blob is removed,
   * so a refused or failed copy leaves nothing behind.
   */
  async copy(actor: Actor, sourceId: string, input: CopyInput, options: { move?: boolean } = {}): Promise<Document> {
    const source = await this.repos.documents.byId(sourceId);
    if (!source) throw notFound('document');
    const move = options.move === true;
    const readDecision = await this.o.access.require(actor, 'document.download', documentResource(source), target(source));
    const destination = await this.repos.collections.byId(input.collectionId);
    if (!destination || destination.deletedAt) throw notFound('collection');
    const name = validateName(input.name ?? source.name);
    const placement = placeDocument(source, destination);
    const createDecision = await this.o.access.require(actor, 'document.create', { ...collectionResource(destination), classification: placement.classification },
      { organisationId: destination.organisationId, ids: { collectionId: destination.id, documentId: source.id } });
    const deleteDecision = move ? await this.o.access.require(actor, 'document.delete', documentResource(source), target(source)) : null;
    const replaced = input.replace ? await this.requireReplaceable(actor, input.replace, destination.id, name) : null;
    const clash = await this.repos.documents.byName(destination.id, name);
    if (clash && clash.id !== replaced?.document.id && !(move && clash.id === source.id)) {
      throw await this.nameTaken(actor, clash, `A document called "${name}" already exists there.`);
    }
    const version = await this.repos.documents.versionById(source.currentVersionId);
    if (!version) throw notFound('version');
    if (version.scanStatus !== 'clean' && version.scanStatus !== 'released') {
      await this.o.access.recordRefusal(actor, 'document.copy', target(source, version.id), `scan_${version.scanStatus}`);
      throw new DomainError('LOCKED', 'This document cannot be copied until its malware check is clean.');
    }

    const touches: WriteTouch[] = [{ kind: 'members', collection: destination }];
    if (replaced) touches.push({ kind: 'content', target: { kind: 'document', document: replaced.document } });
    const sourceCollection = move ? await this.repos.collections.byId(source.collectionId) : undefined;
    if (move) touches.push({ kind: 'content', target: { kind: 'document', document: source } });
    if (sourceCollection) touches.push({ kind: 'members', collection: sourceCollection });
    await this.o.locks.enforce(actor, touches);
    const endedLocks = move ? await this.o.locks.tokensOn({ kind: 'document', document: source }) : [];

    const documentId = randomUUID();
    const versionId = randomUUID();
    const plaintext = await this.o.blobs.openRange(versionRef(version));
    let ingested: Inspected;
    try {
      ingested = await this.ingest(actor, { organisationId: destination.organisationId, documentId, versionId }, name, { body: plaintext, declaredSize: version.size }, 'document.copy-blocked');
    } finally {
      plaintext.destroy();
    }
    if (ingested.verdict?.outcome === 'infected') {
      // The source was clean when it was written; a newer signature caught it. Store nothing here;
      // the rescan job quarantines the source.
      await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
      throw new DomainError('INFECTED', `Malware detected (${ingested.verdict.signature}).`, { details: { signature: ingested.verdict.signature } });
    }
    const now = this.o.clock.now();
    const at = now.toISOString();
    const { status, scanStatus } = statusOf(ingested);
    const copyVersion = this.versionRecord(actor, ingested, { documentId, versionId, organisationId: destination.organisationId, number: 1, scanStatus, now: at });
    const crossOrganisation = source.organisationId !== destination.organisationId;
    // The copy is allowed by creating at the destination; the arrangement it names is the one that
    // opened the source if there was one (a partner's document copied home), else the destination's.
    const copyDecision: Decision = { ...createDecision, via: readDecision.via ?? createDecision.via };
    const copy: Document = {
      id: documentId, name, ...placement, status, currentVersion: 1, currentVersionId: versionId, size: ingested.size, sha256: ingested.sha256,
      mediaType: copyVersion.mediaType, legalHold: false, copiedFromDocumentId: source.id, copiedViaArrangementId: crossOrganisation ? readDecision.via : null,
      createdAt: at, updatedAt: at, deletedAt: null,
    };
    try {
      await this.o.store.transaction(async (repos) => {
        // What was decided on must still hold: the source not deleted or put on hold meanwhile.
        const current = await repos.documents.byId(source.id);
        if (!current || current.deletedAt || current.status === 'disposed') throw notFound('document');
        if (move && current.legalHold) throw new DomainError('CONFLICT', 'The document was put on legal hold; it cannot be moved.');
        await this.requireSamePlace(repos, copy);
        if (replaced) await this.softDeleteReplaced(repos, actor, replaced, now);
        const taken = await repos.documents.byName(destination.id, name);
        if (taken && !(move && taken.id === source.id)) throw conflict(`A document called "${name}" already exists there.`);
        await repos.documents.insertDocument(copy);
        await repos.documents.insertVersion(copyVersion);
        await repos.audit.insert([
          auditEvent(actor, 'document.copy', { organisationId: destination.organisationId, ids: { documentId, versionId, collectionId: destination.id, copiedFromDocumentId: source.id } },
            copyDecision, now),
          // Also under the source's organisation, so its auditors see where their record went.
          auditEvent(actor, 'document.copy', { organisationId: source.organisationId, ids: { documentId: source.id, versionId: version.id, copyDocumentId: documentId, copyOrganisationId: destination.organisationId } },
            readDecision, now),
        ]);
        if (move && deleteDecision) {
          for (const token of endedLocks) await repos.locks.delete(token);
          await repos.documents.update(source.id, { deletedAt: at }, at);
          await repos.audit.insert([auditEvent(actor, 'document.move', { organisationId: source.organisationId, ids: { documentId: source.id, movedToDocumentId: documentId, collectionId: destination.id } }, deleteDecision, now)]);
        }
        await this.afterScan(repos, actor, copyDecision, copy, copyVersion, ingested);
      });
    } catch (error) {
      await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
      throw error;
    }
    return copy;
  }

  /**
   * Inside the filing transaction: the destination, read again (share-locked on PostgreSQL), must
   * still give the placement that was authorised. A collection moved meanwhile (say, out of a joint
   * workspace) makes the filing fail rather than land with a stale binding.
   */
  private async requireSamePlace(repos: Repos, authorised: Pick<Document, 'organisationId' | 'collectionId' | 'serviceArea' | 'classification' | 'arrangementId'>): Promise<void> {
    const collection = await repos.collections.byIdForFiling(authorised.collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    if (documentPlacementChanged(authorised, placeDocument(authorised, collection))) {
      throw conflict('The collection was moved or changed at the same moment; try again.');
    }
  }

  /** The document a copy or move would replace (WebDAV Overwrite: T): it must be deletable by the actor. */
  /**
   * A name is unique in its collection, so a clash with a document the actor may not see cannot be
   * hidden (that would need two documents of one name). It is told without pointing at the document
   * (no "upload a new version of it") and audited as the refused read it is, as WebDAV does for a path.
   */
  private async nameTaken(actor: Actor, clash: Document, visibleMessage: string): Promise<DomainError> {
    const decision = await this.o.access.check(actor, 'document.read', documentResource(clash), target(clash));
    if (decision.allow) return conflict(visibleMessage);
    return conflict(`The name "${clash.name}" cannot be used in this collection. Choose another name.`);
  }

  /** The document a copy or move would replace, and the decision that lets the actor delete it. */
  private async requireReplaceable(actor: Actor, documentId: string, collectionId: string, name: string): Promise<Replaced> {
    const replaced = await this.repos.documents.byId(documentId);
    if (!replaced || replaced.deletedAt || replaced.collectionId !== collectionId || replaced.name !== name) throw notFound('document');
    const decision = await this.o.access.require(actor, 'document.delete', documentResource(replaced), target(replaced));
    return { document: replaced, decision };
  }

  private async softDeleteReplaced(repos: Repos, actor: Actor, replaced: Replaced, now: Date): Promise<void> {
    const current = await repos.documents.byId(replaced.document.id);
    if (current?.legalHold) throw new DomainError('CONFLICT', 'The document being replaced was put on legal hold.');
    await repos.documents.update(replaced.document.id, { deletedAt: now.toISOString() }, now.toISOString());
    await repos.audit.insert([auditEvent(actor, 'document.delete', { ...target(replaced.document), ids: { ...target(replaced.document).ids, replaced: 'true' } }, replaced.decision, now)]);
  }

  /**
   * The file-type policy holds for the name a document has at every moment, not only at upload:
   * every version still readable is inspected again under `name` (from its stored content, through
   * range reads), and a refusal is audited and answered like a refused upload.
   */
  private async requireAllowedName(actor: Actor, document: Document, name: string, blockedAction: string): Promise<void> {
    for (const version of await this.repos.documents.versions(document.id)) {
      if (version.wrappedKey.length === 0) continue;
      const ref = versionRef(version);
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

  async remove(actor: Actor, documentId: string): Promise<Document> {
    return this.setDeleted(actor, documentId, true);
  }

  async restore(actor: Actor, documentId: string): Promise<Document> {
    return this.setDeleted(actor, documentId, false);
  }

  private async setDeleted(actor: Actor, documentId: string, deleted: boolean): Promise<Document> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const action = deleted ? 'document.delete' : 'document.restore';
    const decision = await this.o.access.require(actor, action, documentResource(document), target(document));
    if (!deleted && !document.deletedAt) return document;
    if (deleted && document.deletedAt) return document;
    let placement = {};
    if (!deleted) {
      if (await this.repos.documents.byName(document.collectionId, document.name)) {
        throw conflict(`A document called "${document.name}" now exists in that collection; rename it first.`);
      }
      // Its collection may have moved, or the organisation's file policy changed, while it was deleted.
      const collection = await this.repos.collections.byId(document.collectionId);
      if (!collection || collection.deletedAt) throw conflict('The collection this document was in has been deleted; restore or recreate it first.');
      placement = placeDocument(document, collection);
      await this.requireAllowedName(actor, document, document.name, 'document.restore-blocked');
    }
    const collection = await this.repos.collections.byId(document.collectionId);
    await this.o.locks.enforce(actor, [{ kind: 'content', target: { kind: 'document', document } }, ...(collection ? [{ kind: 'members' as const, collection }] : [])]);
    const endedLocks = deleted ? await this.o.locks.tokensOn({ kind: 'document', document }) : [];
    const now = this.o.clock.now();
    const deletedAt = deleted ? now.toISOString() : null;
    await this.o.store.transaction(async (repos) => {
      for (const token of endedLocks) await repos.locks.delete(token);
      if (!deleted) await this.requireSamePlace(repos, { ...document, ...placement });
      await repos.documents.update(document.id, { deletedAt, ...placement }, now.toISOString());
      await repos.audit.insert([auditEvent(actor, action, target(document), decision, now)]);
    });
    return { ...document, ...placement, deletedAt, updatedAt: now.toISOString() };
  }

  async classify(actor: Actor, documentId: string, classification: Classification, reason: string): Promise<Document> {
    if (reason.trim().length < 3) throw invalid('Give a reason for changing the classification.', { field: 'reason' });
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const decision = await this.o.access.require(actor, 'document.classify', documentResource(document), target(document), { newClassification: classification });
    await this.o.locks.enforce(actor, [{ kind: 'content', target: { kind: 'document', document } }]);
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.documents.update(document.id, { classification }, now.toISOString());
      await repos.audit.insert([auditEvent(actor, 'document.classify', { organisationId: document.organisationId, ids: { documentId, classification } }, decision, now)]);
    });
    return { ...document, classification, updatedAt: now.toISOString() };
  }

  async accessHistory(actor: Actor, documentId: string, limit = 200) {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    await this.o.access.require(actor, 'document.access-history', documentResource(document), target(document));
    return this.repos.audit.forDocument(documentId, limit);
  }
}

/** A document a copy or move replaces (WebDAV Overwrite), with the decision that allows deleting it. */
interface Replaced {
  document: Document;
  decision: Decision;
}

/** What was stored, what clamd said, and whether the file policy holds it for review. */
type Inspected = Ingested & { mediaType: string; review: { code: string; reason: string } | null };

function statusOf(ingested: Inspected): { status: DocumentStatus; scanStatus: ScanStatus } {
  const verdict = ingested.verdict;
  if (verdict?.outcome === 'infected') return { status: 'quarantined', scanStatus: 'infected' };
  // Held whatever clamd said: it could not see inside, so "clean" would be a claim nobody checked.
  if (ingested.review) return { status: 'quarantined', scanStatus: 'held' };
  if (verdict?.outcome === 'clean') return { status: 'available', scanStatus: 'clean' };
  return { status: 'pending_scan', scanStatus: 'pending' };
}

function versionRef(version: Version) {
  return {
    blobId: version.blobId, organisationId: version.organisationId, documentId: version.documentId, versionId: version.id,
    keyId: version.keyId, wrappedKey: version.wrappedKey, size: version.size,
  };
}

function heldDetail(ingested: Inspected): string {
  const scan = ingested.verdict?.outcome === 'clean' ? 'clamd found nothing in what it could read' : 'not scanned by clamd';
  return `held for review: ${ingested.review?.reason ?? ''} (${scan})`;
}

export function target(document: Document, versionId?: string): AuditTarget {
  return {
    organisationId: document.organisationId,
    ids: versionId ? { documentId: document.id, versionId } : { documentId: document.id },
  };
}
