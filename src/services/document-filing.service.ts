// Filing documents: renaming and moving a document within its organisation, copying it to any
// collection the actor may add to, and a move to another organisation as a copy there and a deletion
// here, with WebDAV's Overwrite (replacing what is at the destination). Copies re-run the ingest
// steps of an upload (DocumentIngestion). Uploads, downloads and versions are DocumentsService's.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import { placeDocument } from '../domain/placement.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Actor, Document, Version } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { AccessService, collectionResource, documentResource } from './access.service.js';
import type { CollectionsService, InTheWay, Removal } from './collections.service.js';
import { auditEvent } from './audit-events.js';
import { requireSamePlace, statusOf, target, versionRef, type DocumentIngestion, type Inspected } from './document-ingestion.js';
import type { IdentityService } from './identity.service.js';
import type { LocksService, WriteTouch } from './locks.service.js';
import type { DocumentLifecycle } from './lifecycle.js';
import { dueDatesMoved, type DueDateShift, type RetentionService } from './retention.service.js';

export interface DocumentFilingServiceOptions {
  store: Store;
  access: AccessService;
  locks: LocksService;
  blobs: EncryptedBlobs;
  clock: Clock;
  /** The ingest steps a copy shares with an upload, and the name and placement checks. */
  ingestion: DocumentIngestion;
  /** Raised in the write's transaction: document.moved, and version.committed for a copy (subscribers queue jobs). */
  lifecycle: DocumentLifecycle;
  /** Who is copying once the bytes have been copied (switched off, or with less access, meanwhile). */
  identity: Pick<IdentityService, 'actorNow'>;
  /** A move is refiling by another name: its effect on the due date is checked like refiling's. */
  retention: RetentionService;
  /** What is in the way of a copy or move (WebDAV Overwrite: T) is decided and binned as the file plan removes things. */
  collections: Pick<CollectionsService, 'prepareRemoval'>;
}

export interface MoveInput {
  name?: string;
  collectionId?: string;
  /**
   * A document or collection already at the destination under that name, to be replaced: binned in the
   * move's own transaction, once the move and the removal are both decided (WebDAV Overwrite: T).
   */
  replace?: InTheWay;
  /**
   * A records manager's confirmation that the move may bring the document's due date earlier (its new
   * collection is filed under a series with a shorter period); without it such a move is refused (409).
   */
  confirmShorter?: boolean;
}

export interface CopyInput {
  collectionId: string;
  name?: string;
  /** As MoveInput's: binned in the copy's own transaction. */
  replace?: InTheWay;
}

export class DocumentFilingService {
  constructor(private readonly o: DocumentFilingServiceOptions) {}

  private get repos(): Repos {
    return this.o.store.repos;
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
    const clash = await this.repos.documents.byName(destination.id, name);
    if (clash && clash.id !== document.id && !isReplaced(change.replace, clash.id)) throw await this.o.ingestion.nameTaken(actor, clash, `A document called "${name}" already exists there.`);
    const action = moving ? 'document.move' : 'document.rename';
    if (name !== document.name) await this.o.ingestion.requireAllowedName(actor, document, name, `${action}-blocked`);
    if (moving && change.confirmShorter === true) await this.o.retention.requireShorteningConfirmable(actor, document.organisationId, { documentId, collectionId: destination.id });
    const source = await this.repos.collections.byId(document.collectionId);
    const touches: WriteTouch[] = [{ kind: 'content', target: { kind: 'document', document } }];
    if (source) touches.push({ kind: 'members', collection: source });
    if (moving) touches.push({ kind: 'members', collection: destination });
    await this.o.locks.enforce(actor, touches);
    // What is in the way is decided as a delete of it (holds, scans, locks, everything inside a folder)
    // only once the move itself may go ahead; it is binned in the move's transaction, so a move refused
    // there (a due date brought earlier) bins nothing.
    const removal = change.replace ? await this.prepareRemoval(actor, change.replace, destination.organisationId, destination.id, name, documentId) : null;
    // Locks do not follow a renamed or moved resource (RFC 4918 §7.5), on any interface.
    const endedLocks = await this.o.locks.tokensOn({ kind: 'document', document });
    const now = this.o.clock.now();
    let decided = decision;
    await this.o.store.transaction(async (repos) => {
      // Decided again under the row lock: a hold placed since the decision above refuses the rename or move here.
      await repos.holds.lockForChanging({ documentIds: [documentId], collectionIds: [] });
      const current = await repos.documents.byId(documentId);
      if (!current || current.collectionId !== document.collectionId || current.name !== document.name) throw conflict('The document was moved or renamed at the same moment; try again.');
      [decided] = await this.o.access.requireWithin(repos, actor, [{ action: 'document.rename', resource: documentResource(current), target: target(document) }]) as [Decision];
      for (const token of endedLocks) await repos.locks.delete(token);
      await requireSamePlace(repos, placement);
      if (removal) await removal.bin(repos, now);
      const rename = () => repos.documents.update(document.id, { name, ...placement }, now.toISOString());
      // Its retention derives from its place: a move that brings its due date earlier needs a records manager's confirmation.
      let shift: DueDateShift = { earlier: 0, later: 0 };
      if (moving) shift = await this.o.retention.moved(repos, document.organisationId, { documentIds: [documentId] }, rename, { confirmShorter: change.confirmShorter === true });
      else await rename();
      // Where it now is and its classification there (raised to its folder's, if it sat below it), for audit verify.
      await repos.audit.insert([auditEvent(actor, action, {
        organisationId: document.organisationId, ids: { documentId, collectionId: destination.id, classification: placement.classification, ...dueDatesMoved(shift) },
      }, decided, now)]);
      await this.o.lifecycle.raise({ jobs: repos.jobs, now }, {
        type: 'document.moved', organisationId: document.organisationId, documentId, fromCollectionId: document.collectionId, toCollectionId: destination.id, name,
      });
    }).catch(async (error: unknown) => this.o.retention.auditRefusedShortening(actor, action, { organisationId: document.organisationId, ids: { documentId, collectionId: destination.id } }, await this.o.access.afterRollback(actor, error)));
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
    const version = await this.copyable(actor, source);
    const destination = await this.repos.collections.byId(input.collectionId);
    if (!destination || destination.deletedAt) throw notFound('collection');
    const name = validateName(input.name ?? source.name);
    const placement = placeDocument(source, destination);
    await this.o.access.require(actor, 'document.create', { ...collectionResource(destination), classification: placement.classification },
      { organisationId: destination.organisationId, ids: { collectionId: destination.id, documentId: source.id } });
    if (move) await this.o.access.require(actor, 'document.delete', documentResource(source), target(source));
    // Decided now so a refusal comes before the bytes are read; decided again, fresh, once they are.
    if (input.replace) await this.prepareRemoval(actor, input.replace, destination.organisationId, destination.id, name, source.id);
    const clash = await this.repos.documents.byName(destination.id, name);
    if (clash && !isReplaced(input.replace, clash.id) && !(move && clash.id === source.id)) {
      throw await this.o.ingestion.nameTaken(actor, clash, `A document called "${name}" already exists there.`);
    }

    const touches: WriteTouch[] = [{ kind: 'members', collection: destination }];
    const sourceCollection = move ? await this.repos.collections.byId(source.collectionId) : undefined;
    if (move) touches.push({ kind: 'content', target: { kind: 'document', document: source } });
    if (sourceCollection) touches.push({ kind: 'members', collection: sourceCollection });
    await this.o.locks.enforce(actor, touches);
    const endedLocks = move ? await this.o.locks.tokensOn({ kind: 'document', document: source }) : [];

    const documentId = randomUUID();
    const versionId = randomUUID();
    const plaintext = await this.o.blobs.openRange(versionRef(version, source));
    let ingested: Inspected;
    try {
      ingested = await this.o.ingestion.ingest(actor, { organisationId: destination.organisationId, documentId, versionId }, name, { body: plaintext, declaredSize: version.size }, 'document.copy-blocked');
    } finally {
      plaintext.destroy();
    }
    try {
      // The bytes took a while to arrive: an arrangement suspended or ended meanwhile (a partner's
      // document copied home, or a copy into a partner's collection), a move out of reach, or a hold
      // placed on the source (for a move) or on what is replaced still wins, so every permission is
      // decided again, fresh, on the source and destination as they are now, before anything is written.
      let readNow: Decision;
      let createNow: Decision;
      let deleteNow: Decision | null = null;
      let removal: Removal | null = null;
      let actorNow = actor;
      try {
        const sourceNow = await this.repos.documents.byId(source.id);
        if (!sourceNow) throw notFound('document');
        // The person too, as they are now: switched off, or with teams or clearance taken away, meanwhile.
        actorNow = await this.o.identity.actorNow(actor, 'document.create', { organisationId: destination.organisationId, ids: { collectionId: destination.id, documentId: source.id } });
        readNow = await this.o.access.require(actorNow, 'document.download', documentResource(sourceNow), target(sourceNow));
        const destinationNow = await this.repos.collections.byId(destination.id);
        if (!destinationNow || destinationNow.deletedAt) throw notFound('collection');
        createNow = await this.o.access.require(actorNow, 'document.create', { ...collectionResource(destinationNow), classification: placement.classification },
          { organisationId: destinationNow.organisationId, ids: { collectionId: destinationNow.id, documentId: source.id } });
        if (move) deleteNow = await this.o.access.require(actorNow, 'document.delete', documentResource(sourceNow), target(sourceNow));
        if (input.replace) removal = await this.prepareRemoval(actorNow, input.replace, destination.organisationId, destination.id, name, source.id);
      } catch (error) {
        await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
        throw error;
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
      const copyVersion = this.o.ingestion.versionRecord(actor, ingested, { documentId, versionId, organisationId: destination.organisationId, number: 1, scanStatus, now: at });
      const crossOrganisation = source.organisationId !== destination.organisationId;
      // The copy is allowed by creating at the destination; the arrangement it names is the one that
      // opened the source if there was one (a partner's document copied home), else the destination's.
      const copyDecision: Decision = { ...createNow, via: readNow.via ?? createNow.via };
      const copy: Document = {
        id: documentId, name, ...placement, status, currentVersion: 1, currentVersionId: versionId, size: ingested.size, sha256: ingested.sha256,
        mediaType: copyVersion.mediaType, copiedFromDocumentId: source.id, copiedViaArrangementId: crossOrganisation ? readNow.via : null,
        createdAt: at, updatedAt: at, deletedAt: null,
      };
      try {
        await ingested.slot.releaseWith(async (repos) => {
          // What was decided on must still hold: the source not deleted meanwhile, and, for a move, not put under a
          // hold since its deletion was decided again above (decided once more here, under its row lock).
          if (move) await repos.holds.lockForChanging({ documentIds: [source.id], collectionIds: [] });
          const current = await repos.documents.byId(source.id);
          if (!current || current.deletedAt || current.status === 'disposed') throw notFound('document');
          if (move) [deleteNow] = await this.o.access.requireWithin(repos, actorNow, [{ action: 'document.delete', resource: documentResource(current), target: target(source) }]) as [Decision];
          await requireSamePlace(repos, copy);
          if (removal) await removal.bin(repos, now);
          const taken = await repos.documents.byName(destination.id, name);
          if (taken && !(move && taken.id === source.id)) throw conflict(`A document called "${name}" already exists there.`);
          await repos.documents.insertDocument(copy);
          await repos.documents.insertVersion(copyVersion);
          await repos.audit.insert([
            auditEvent(actor, 'document.copy', { organisationId: destination.organisationId, ids: { documentId, versionId, collectionId: destination.id, classification: copy.classification, copiedFromDocumentId: source.id } },
              copyDecision, now),
            // Also under the source's organisation, so its auditors see where their record went.
            auditEvent(actor, 'document.copy', { organisationId: source.organisationId, ids: { documentId: source.id, versionId: version.id, copyDocumentId: documentId, copyOrganisationId: destination.organisationId } },
              readNow, now),
          ]);
          if (move && deleteNow) {
            for (const token of endedLocks) await repos.locks.delete(token);
            await repos.documents.update(source.id, { deletedAt: at }, at);
            await repos.audit.insert([auditEvent(actor, 'document.move', { organisationId: source.organisationId, ids: { documentId: source.id, movedToDocumentId: documentId, collectionId: destination.id } }, deleteNow, now)]);
          }
          await this.o.ingestion.afterScan(repos, actor, copyDecision, copy, copyVersion, ingested);
        });
      } catch (error) {
        await this.o.ingestion.discardUnlessCommitted(ingested, versionId);
        throw await this.o.access.afterRollback(actor, error);
      }
      return copy;
    } finally {
      // Given back already when the copy was written (in its commit); here on every other way out.
      await ingested.slot.release();
    }
  }

  /**
   * Refuses, as a copy of it would, when the actor may not copy this document now (may not download
   * it, or its malware check is not finished); writes nothing else. For a copy of a folder over
   * something in the way (WebDAV Overwrite: T), asked of every document before anything is binned.
   */
  async requireCopyable(actor: Actor, documentId: string): Promise<void> {
    const source = await this.repos.documents.byId(documentId);
    if (!source) throw notFound('document');
    await this.copyable(actor, source);
  }

  private async copyable(actor: Actor, source: Document): Promise<Version> {
    await this.o.access.require(actor, 'document.download', documentResource(source), target(source));
    const version = await this.repos.documents.versionById(source.currentVersionId);
    // Only a version of the document decided on (a current_version_id written to point elsewhere is none).
    if (!version || version.documentId !== source.id) throw notFound('version');
    if (version.scanStatus !== 'clean' && version.scanStatus !== 'released') {
      await this.o.access.recordRefusal(actor, 'document.copy', target(source, version.id), `scan_${version.scanStatus}`);
      throw new DomainError('LOCKED', 'This document cannot be copied until its malware check is clean.');
    }
    return version;
  }

  /** What is in the way at the destination, decided for binning (it must be there, and must not hold the document being filed). */
  private async prepareRemoval(actor: Actor, what: InTheWay, organisationId: string, collectionId: string, name: string, documentId: string): Promise<Removal> {
    return this.o.collections.prepareRemoval(actor, what, { at: { organisationId, parentId: collectionId, name }, replaced: true, sparing: { kind: 'document', id: documentId } });
  }
}

/** Whether `id` is the document a copy or move replaces. */
const isReplaced = (replace: InTheWay | undefined, id: string): boolean => replace?.kind === 'document' && replace.id === id;
