// Documents and their versions: upload, new versions, download, rename/move, delete and restore.
// Order of work for every write: blob first (durable), then metadata + audit in one transaction, then the answer.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import type { ByteRange, Clock, FileInspector, Scanner } from '../domain/ports.js';
import type { Actor, Classification, Document, DocumentStatus, ScanStatus, Version } from '../domain/types.js';
import type { Repos, Store } from '../db/store.js';
import type { EncryptedBlobs } from '../storage/encrypted-blobs.js';
import { AccessService, collectionResource, documentResource } from './access.service.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import { ingest, type BodyDeadlines, type Ingested } from './ingest.js';
import type { UploadAdmission } from './upload-admission.js';
import type { QuarantineNotifier } from './quarantine.service.js';

export interface DocumentsServiceOptions {
  store: Store;
  access: AccessService;
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
    const name = validateName(input.name);
    const collection = await this.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    const classification = input.classification ?? collection.classification;
    const decision = await this.o.access.require(
      actor, 'document.create',
      { ...collectionResource(collection), classification: maxClassification(collection.classification, classification) },
      { organisationId: collection.organisationId, ids: { collectionId } },
    );
    if (await this.repos.documents.byName(collection.id, name)) {
      throw conflict(`A document called "${name}" already exists in this collection. Upload a new version of it instead.`);
    }
    const documentId = randomUUID();
    const versionId = randomUUID();
    const ingested = await this.ingest(actor, { organisationId: collection.organisationId, documentId, versionId }, name, input);
    const now = this.o.clock.now().toISOString();
    const { status, scanStatus } = statusOf(ingested);
    const version = this.versionRecord(actor, ingested, { documentId, versionId, organisationId: collection.organisationId, number: 1, scanStatus, now });
    const document: Document = {
      id: documentId, organisationId: collection.organisationId, collectionId: collection.id, name, classification,
      serviceArea: collection.serviceArea, status, currentVersion: 1, currentVersionId: versionId, size: ingested.size,
      sha256: ingested.sha256, mediaType: version.mediaType, legalHold: false, arrangementId: collection.arrangementId,
      createdAt: now, updatedAt: now, deletedAt: null,
    };
    await this.o.store.transaction(async (repos) => {
      await repos.documents.insertDocument(document);
      await repos.documents.insertVersion(version);
      await repos.audit.insert([auditEvent(actor, 'document.upload', target(document, versionId), decision, this.o.clock.now())]);
      await this.afterScan(repos, actor, document, version, ingested);
    });
    return this.result(document, version, ingested);
  }

  async uploadVersion(actor: Actor, documentId: string, input: Omit<UploadInput, 'name'> & { ifMatch?: string }): Promise<UploadResult> {
    const existing = await this.repos.documents.byId(documentId);
    if (!existing) throw notFound('document');
    const decision = await this.o.access.require(actor, 'document.version', documentResource(existing), target(existing));
    if (input.ifMatch !== undefined && input.ifMatch !== existing.sha256) {
      throw new DomainError('PRECONDITION_FAILED', 'The document has changed since you last read it.');
    }
    const versionId = randomUUID();
    const ingested = await this.ingest(actor, { organisationId: existing.organisationId, documentId, versionId }, existing.name, input);
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
      await this.afterScan(repos, actor, document, version, ingested);
    });
    return this.result(document, version!, ingested);
  }

  private async ingest(actor: Actor, binding: { organisationId: string; documentId: string; versionId: string }, name: string, input: Omit<UploadInput, 'name'>): Promise<Inspected> {
    // Taken after the access check (a refusal stays a 404) and held only while the body arrives.
    const lease = this.o.admission.admit(actor, binding.organisationId);
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
      lease.release();
    }
    const ref = { ...binding, blobId: ingested.blob.blobId, keyId: ingested.blob.keyId, wrappedKey: ingested.blob.wrappedKey, size: ingested.size };
    const inspection = await this.o.inspector.inspect({
      organisationId: binding.organisationId, name, size: ingested.size, head: ingested.head,
      readRange: (range) => this.o.blobs.readRange(ref, range),
    });
    if (!inspection.allowed) {
      await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
      await this.repos.audit.insert([
        auditEvent(actor, 'document.upload-blocked', { organisationId: binding.organisationId, ids: { documentId: binding.documentId, versionId: binding.versionId } },
          { allow: false, reason: `file_policy:${inspection.code}`, via: null }, this.o.clock.now()),
      ]);
      throw new DomainError('BLOCKED_FILE_TYPE', inspection.reason, { details: { code: inspection.code } });
    }
    return { ...ingested, mediaType: inspection.mediaType, review: inspection.review ?? null };
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

  /** In the upload's transaction: queue a scan for pending versions, or quarantine and tell people. */
  private async afterScan(repos: Repos, actor: Actor, document: Document, version: Version, ingested: Inspected): Promise<void> {
    if (version.scanStatus === 'pending') {
      await repos.jobs.enqueue('scan-version', { versionId: version.id }, { runAt: this.o.clock.now().toISOString(), maxAttempts: 50, now: this.o.clock.now().toISOString() });
    }
    if (ingested.verdict?.outcome === 'infected') {
      await this.o.notifier.quarantined(repos, actor, document, version, ingested.verdict.signature);
    } else if (version.scanStatus === 'held' && ingested.review) {
      await this.o.notifier.heldForReview(repos, actor, document, version, ingested.review);
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
    const decision = await this.o.access.require(actor, 'document.download', documentResource(document), target(document));
    const version = options.versionNumber === undefined
      ? await this.repos.documents.versionById(document.currentVersionId)
      : await this.repos.documents.version(documentId, options.versionNumber);
    if (!version) throw notFound('version');
    const securityReview = decision.reason === 'security_admin_review';
    if (!securityReview && version.scanStatus !== 'clean' && version.scanStatus !== 'released') {
      await this.o.access.recordDenial(actor, 'document.download', target(document, version.id), { allow: false, reason: `scan_${version.scanStatus}`, via: null });
      throw new DomainError('LOCKED', version.scanStatus === 'pending'
        ? 'This version is still being checked for malware. Try again shortly.'
        : version.scanStatus === 'held'
          ? 'This version is held in quarantine until a security admin reviews it (it could not be checked for viruses).'
          : 'This version has been quarantined as malware and cannot be downloaded.');
    }
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

  async rename(actor: Actor, documentId: string, change: { name?: string; collectionId?: string }): Promise<Document> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const decision = await this.o.access.require(actor, 'document.rename', documentResource(document), target(document));
    const name = change.name === undefined ? document.name : validateName(change.name);
    let collectionId = document.collectionId;
    let arrangementId = document.arrangementId;
    let serviceArea = document.serviceArea;
    if (change.collectionId !== undefined && change.collectionId !== document.collectionId) {
      const destination = await this.repos.collections.byId(change.collectionId);
      if (!destination || destination.deletedAt) throw notFound('collection');
      if (destination.organisationId !== document.organisationId) {
        throw invalid('Documents can only be moved between collections of the same organisation.');
      }
      await this.o.access.require(actor, 'document.create', collectionResource(destination), { organisationId: destination.organisationId, ids: { collectionId: destination.id } });
      collectionId = destination.id;
      arrangementId = destination.arrangementId;
      serviceArea = destination.serviceArea;
    }
    const clash = await this.repos.documents.byName(collectionId, name);
    if (clash && clash.id !== document.id) throw conflict(`A document called "${name}" already exists there.`);
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.documents.update(document.id, { name, collectionId, arrangementId, serviceArea }, now.toISOString());
      await repos.audit.insert([auditEvent(actor, collectionId === document.collectionId ? 'document.rename' : 'document.move', { organisationId: document.organisationId, ids: { documentId, collectionId } }, decision, now)]);
    });
    return { ...document, name, collectionId, arrangementId, serviceArea, updatedAt: now.toISOString() };
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
    if (!deleted && (await this.repos.documents.byName(document.collectionId, document.name))) {
      throw conflict(`A document called "${document.name}" now exists in that collection; rename it first.`);
    }
    const now = this.o.clock.now();
    const deletedAt = deleted ? now.toISOString() : null;
    await this.o.store.transaction(async (repos) => {
      await repos.documents.update(document.id, { deletedAt }, now.toISOString());
      await repos.audit.insert([auditEvent(actor, action, target(document), decision, now)]);
    });
    return { ...document, deletedAt, updatedAt: now.toISOString() };
  }

  async classify(actor: Actor, documentId: string, classification: Classification, reason: string): Promise<Document> {
    if (reason.trim().length < 3) throw invalid('Give a reason for changing the classification.', { field: 'reason' });
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const decision = await this.o.access.require(actor, 'document.classify', documentResource(document), target(document), { newClassification: classification });
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

function heldDetail(ingested: Inspected): string {
  const scan = ingested.verdict?.outcome === 'clean' ? 'clamd found nothing in what it could read' : 'not scanned by clamd';
  return `held for review: ${ingested.review?.reason ?? ''} (${scan})`;
}

function maxClassification(a: Classification, b: Classification): Classification {
  return a === 'OFFICIAL-SENSITIVE' || b === 'OFFICIAL-SENSITIVE' ? 'OFFICIAL-SENSITIVE' : 'OFFICIAL';
}

export function target(document: Document, versionId?: string): AuditTarget {
  return {
    organisationId: document.organisationId,
    ids: versionId ? { documentId: document.id, versionId } : { documentId: document.id },
  };
}
