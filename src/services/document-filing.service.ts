// Filing documents: renaming and moving a document within its organisation, copying it to any
// collection the actor may add to, and a move to another organisation as a copy there and a deletion
// here, with WebDAV's Overwrite (replacing what is at the destination). Copies re-run the ingest
// steps of an upload (DocumentIngestion). Uploads, downloads and versions are DocumentsService's.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import { placeDocument } from '../domain/placement.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Actor, Collection, Document, Version } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { AccessService, collectionResource, documentResource } from './access.service.js';
import type { InTheWay, Removal, RemovalsService } from './removals.service.js';
import { auditEvent } from './audit-events.js';
import { requireContentMatches } from './content-match.js';
import { requireSamePlace, statusOf, target, versionRef, type DocumentIngestion, type Inspected } from './document-ingestion.js';
import { claimFolderName, documentInTheWay, giveClaimedName, nameHeld, takenWithin, tellNameTaken } from './name-claims.js';
import type { IdentityService } from './identity.service.js';
import type { LocksService, WriteTouch } from './locks.service.js';
import type { DocumentLifecycle } from './lifecycle.js';
import { dueDatesMoved, refiled, type DueDateChecks, type DueDateShift } from './retention-due-dates.js';
import type { StagedRefiling } from './retention.service.js';

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
  dueDates: DueDateChecks;
  /** What is in the way of a copy or move (WebDAV Overwrite: T) is decided and binned as the file plan removes things. */
  removals: Pick<RemovalsService, 'prepareRemoval'>;
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
  /**
   * A refiling of the document asked for in the same request (a PATCH with a series), decided already: written in
   * the move's transaction, inside its due-date comparison, so a move refused leaves the series as it was too.
   */
  refile?: StagedRefiling;
  /**
   * The content the client's copy may be (an If-Match list, or what a WebDAV request's conditions were judged on):
   * held on arrival and again under the row lock in the move's transaction, so a version someone else saved
   * meanwhile is not moved or renamed unseen (412, nothing done).
   */
  ifMatch?: readonly string[];
}

export interface CopyInput {
  collectionId: string;
  name?: string;
  /** As MoveInput's: binned in the copy's own transaction. */
  replace?: InTheWay;
  /** As MoveInput's: the source held to that content on arrival and under its row lock when the copy commits (412 otherwise). */
  ifMatch?: readonly string[];
}

/** A document copy a folder copy carries: its bytes stored and every decision made, nothing else written yet. */
export interface StagedCopy {
  readonly sourceId: string;
  readonly documentId: string;
  /** Writes the copy (document, version, events, jobs) in the caller's transaction, the folder copy's. */
  write(repos: Repos, now: Date): Promise<void>;
  /** After the folder copy's transaction failed with `failure`: removes the stored bytes unless the copy may have been committed after all; never rejects. */
  discard(failure: unknown): Promise<void>;
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
    requireContentMatches(change.ifMatch, document.sha256);
    const name = change.name === undefined ? document.name : validateName(change.name);
    const moving = change.collectionId !== undefined && change.collectionId !== document.collectionId;
    const destination = await this.repos.collections.byId(moving ? change.collectionId! : document.collectionId);
    if (!destination || destination.deletedAt) throw notFound('collection');
    if (destination.organisationId !== document.organisationId) {
      // A record series is of the organisation's file plan: the copy there is filed by its new place.
      if (change.refile) throw invalid('A document moved to another organisation is filed by its new place there: move it without a series.', { field: 'series' });
      return this.copy(actor, documentId, {
        collectionId: destination.id, name, ...(change.replace ? { replace: change.replace } : {}), ...(change.ifMatch ? { ifMatch: change.ifMatch } : {}),
      }, { move: true });
    }
    const placement = placeDocument(document, destination);
    if (moving) {
      await this.o.access.require(actor, 'document.create', { ...collectionResource(destination), classification: placement.classification },
        { organisationId: destination.organisationId, ids: { collectionId: destination.id, documentId } });
    }
    // A document or a sub-collection of that name in the destination is in the way, unless it is itself or what this replaces.
    // A request that leaves the name and the place as they are names nothing, so it claims nothing: a folder
    // written before the rule that shares the document's name (name-claims.ts) does not refuse it.
    const naming = moving || name !== document.name;
    const namePlace = { organisationId: destination.organisationId, folderId: destination.id, name };
    const claimant = { kind: 'document' as const, except: [document.id, change.replace?.id] };
    const clash = naming ? await nameHeld(this.repos, namePlace, claimant) : undefined;
    if (clash) throw await tellNameTaken(this.o.access, actor, clash, documentInTheWay(name), 'document');
    const action = moving ? 'document.move' : 'document.rename';
    if (name !== document.name) await this.o.ingestion.requireAllowedName(actor, document, name, `${action}-blocked`);
    if (moving && change.confirmShorter === true) await this.o.dueDates.requireShorteningConfirmable(actor, document.organisationId, { documentId, collectionId: destination.id });
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
      await this.o.access.holdActing(repos, actor);
      // Decided again under the row lock: a hold placed since the decision above refuses the rename or move here.
      await repos.holds.lockForChanging({ documentIds: [documentId], collectionIds: [] });
      const current = await repos.documents.byId(documentId);
      if (!current || current.collectionId !== document.collectionId || current.name !== document.name) throw conflict('The document was moved or renamed at the same moment; try again.');
      [decided] = await this.o.access.requireWithin(repos, actor, [{ action: 'document.rename', resource: documentResource(current), target: target(document) }]) as [Decision];
      requireContentMatches(change.ifMatch, current.sha256);
      for (const token of endedLocks) await repos.locks.delete(token);
      const destinationNow = await requireSamePlace(repos, placement);
      // Adding it to the destination decided again too, on the folder as this reads it: an arrangement opening the
      // destination (not the one opening the document) suspended or ended since the decision above refuses here.
      if (moving) {
        await this.o.access.requireWithin(repos, actor, [{ action: 'document.create', resource: { ...collectionResource(destinationNow), classification: placement.classification },
          target: { organisationId: destinationNow.organisationId, ids: { collectionId: destinationNow.id, documentId } } }]);
      }
      if (removal) await removal.bin(repos, now);
      // Taken since the check above (an upload, copy or other move finishing meanwhile)? Unchanged, it is still its
      // own (read above, under its row lock).
      const takenNow = naming ? await claimFolderName(repos, namePlace, claimant) : undefined;
      if (takenNow) throw takenWithin(takenNow, documentInTheWay(name), 'document');
      const rename = () => giveClaimedName(namePlace, claimant, documentInTheWay(name), () => repos.documents.update(document.id, { name, ...placement }, now.toISOString()));
      // Its retention derives from its place: a move that brings its due date earlier needs a records manager's confirmation.
      // A refiling asked for with it is written inside the same comparison, so the two are confirmed (or refused) together.
      const refile = change.refile;
      const refileAndRename = refile ? async () => { await refile.write(repos, now); await rename(); } : rename;
      let shift: DueDateShift = { earlier: 0, later: 0 };
      const confirmed = { confirmShorter: change.confirmShorter === true };
      if (moving) shift = await this.o.dueDates.moved(repos, document.organisationId, { documentIds: [documentId] }, refileAndRename, confirmed);
      else if (refile) shift = await refiled(repos, [documentId], refileAndRename, async () => [documentId], confirmed, refile.refusal);
      else await rename();
      // Where it now is and its classification there (raised to its folder's, if it sat below it), for audit verify.
      await repos.audit.insert([auditEvent(actor, action, {
        organisationId: document.organisationId, ids: { documentId, collectionId: destination.id, classification: placement.classification, ...dueDatesMoved(shift) },
      }, decided, now)]);
      await this.o.lifecycle.raise({ jobs: repos.jobs, search: repos.search, now }, {
        type: 'document.moved', organisationId: document.organisationId, documentId, fromCollectionId: document.collectionId, toCollectionId: destination.id, name,
      });
    }).catch(async (error: unknown) => this.o.dueDates.auditRefusedShortening(actor, action, { organisationId: document.organisationId, ids: { documentId, collectionId: destination.id } }, await this.o.access.afterRollback(actor, await this.o.ingestion.afterNameTaken(actor, error))));
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
    requireContentMatches(input.ifMatch, source.sha256);
    const destination = await this.repos.collections.byId(input.collectionId);
    if (!destination || destination.deletedAt) throw notFound('collection');
    const name = validateName(input.name ?? source.name);
    const placement = placeDocument(source, destination);
    await this.o.access.require(actor, 'document.create', { ...collectionResource(destination), classification: placement.classification },
      { organisationId: destination.organisationId, ids: { collectionId: destination.id, documentId: source.id } });
    if (move) await this.o.access.require(actor, 'document.delete', documentResource(source), target(source));
    // Decided now so a refusal comes before the bytes are read; decided again, fresh, once they are.
    if (input.replace) await this.prepareRemoval(actor, input.replace, destination.organisationId, destination.id, name, source.id);
    const clash = await nameHeld(this.repos, { organisationId: destination.organisationId, folderId: destination.id, name }, { kind: 'document', except: [input.replace?.id, move ? source.id : undefined] });
    if (clash) throw await tellNameTaken(this.o.access, actor, clash, documentInTheWay(name), 'document');

    const touches: WriteTouch[] = [{ kind: 'members', collection: destination }];
    const sourceCollection = move ? await this.repos.collections.byId(source.collectionId) : undefined;
    if (move) touches.push({ kind: 'content', target: { kind: 'document', document: source } });
    if (sourceCollection) touches.push({ kind: 'members', collection: sourceCollection });
    await this.o.locks.enforce(actor, touches);
    const endedLocks = move ? await this.o.locks.tokensOn({ kind: 'document', document: source }) : [];

    const { ingested, documentId, versionId } = await this.read(actor, source, version, destination.organisationId, name);
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
      await this.refuseInfected(ingested);
      const now = this.o.clock.now();
      const at = now.toISOString();
      const { copy, copyVersion, copyDecision } = this.records(actor, ingested, { source, documentId, versionId, name, placement, readNow, createNow, at });
      try {
        await ingested.slot.releaseWith(async (repos) => {
          await this.o.access.holdActing(repos, actorNow);
          // What was decided on must still hold: the source not deleted meanwhile, for a move not put under a hold since
          // its deletion was decided again above (decided once more here, under its row lock), and, when the client named
          // the content it read, no other version saved since (under the row lock too, so none can be saved until this commits).
          if (move || input.ifMatch) await repos.holds.lockForChanging({ documentIds: [source.id], collectionIds: [] });
          const current = await repos.documents.byId(source.id);
          if (!current || current.deletedAt || current.status === 'disposed') throw notFound('document');
          requireContentMatches(input.ifMatch, current.sha256);
          // Reading the source decided again on the rows as this transaction reads them: an arrangement suspended or
          // ended after the decisions above and before this commit (a partner's document copied home, the host's out
          // of a joint workspace) refuses here, 404 audited once this rolls back, and nothing of the copy is written.
          const [readWithin] = await this.o.access.requireWithin(repos, actorNow, [{ action: 'document.download', resource: documentResource(current), target: target(source) }]) as [Decision];
          if (move) [deleteNow] = await this.o.access.requireWithin(repos, actorNow, [{ action: 'document.delete', resource: documentResource(current), target: target(source) }]) as [Decision];
          const destinationNow = await requireSamePlace(repos, copy);
          // Adding it there decided again on the collection as this reads it, before the name is claimed, as an
          // upload is: an arrangement suspended or ended since the decision above refuses here (404, audited once
          // this rolls back), so a partner refused stores nothing there and learns nothing of what holds the name.
          await this.o.access.requireWithin(repos, actorNow, [{ action: 'document.create', resource: { ...collectionResource(destinationNow), classification: placement.classification },
            target: { organisationId: destinationNow.organisationId, ids: { collectionId: destinationNow.id, documentId: source.id } } }]);
          if (removal) await removal.bin(repos, now);
          await this.insertCopy(repos, actor, { source, version, copy, copyVersion, copyDecision, readNow: readWithin, now }, move);
          if (move && deleteNow) {
            for (const token of endedLocks) await repos.locks.delete(token);
            await repos.documents.update(source.id, { deletedAt: at }, at);
            await repos.audit.insert([auditEvent(actor, 'document.move', { organisationId: source.organisationId, ids: { documentId: source.id, movedToDocumentId: documentId, collectionId: destination.id } }, deleteNow, now)]);
          }
          await this.o.ingestion.afterScan(repos, actor, copyDecision, copy, copyVersion, ingested);
        });
      } catch (error) {
        await this.o.ingestion.discardUnlessCommitted(ingested, versionId, error);
        throw await this.o.access.afterRollback(actor, await this.o.ingestion.afterNameTaken(actorNow, error));
      }
      return copy;
    } finally {
      // Given back already when the copy was written (in its commit); here on every other way out.
      await ingested.slot.release();
    }
  }

  /**
   * The part of `copy` a folder copy does for each document inside it, writing nothing: decided (read
   * the source, its malware check finished, add at the destination), read and checked again for its
   * new place (malware, the file policy), and decided again, fresh, once the bytes are stored. A
   * refusal removes the bytes. `destination` is a folder the copy is creating, in the source's
   * organisation and not stored yet, so no name or lock can be in the way inside it. The admission
   * slot is given back once the bytes are stored: the folder's transaction comes only after the rest.
   */
  async stageCopy(actor: Actor, sourceId: string, destination: Collection): Promise<StagedCopy> {
    const source = await this.repos.documents.byId(sourceId);
    if (!source) throw notFound('document');
    const version = await this.copyable(actor, source);
    const name = source.name;
    const placement = placeDocument(source, destination);
    const createResource = { ...collectionResource(destination), classification: placement.classification };
    const createTarget = { organisationId: destination.organisationId, ids: { collectionId: destination.id, documentId: source.id } };
    await this.o.access.require(actor, 'document.create', createResource, createTarget);
    const { ingested, documentId, versionId } = await this.read(actor, source, version, destination.organisationId, name);
    try {
      let readNow: Decision;
      let createNow: Decision;
      let actorNow = actor;
      try {
        const sourceNow = await this.repos.documents.byId(source.id);
        if (!sourceNow) throw notFound('document');
        actorNow = await this.o.identity.actorNow(actor, 'document.create', createTarget);
        readNow = await this.o.access.require(actorNow, 'document.download', documentResource(sourceNow), target(sourceNow));
        createNow = await this.o.access.require(actorNow, 'document.create', createResource, createTarget);
      } catch (error) {
        await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
        throw error;
      }
      await this.refuseInfected(ingested);
      // Its first 64 KiB were for the file policy, already asked: a folder of thousands of documents would
      // otherwise hold them all until its transaction.
      const stored: Inspected = { ...ingested, head: Buffer.alloc(0) };
      return {
        sourceId: source.id, documentId,
        write: async (repos, now) => {
          const { copy, copyVersion, copyDecision } = this.records(actor, stored, { source, documentId, versionId, name, placement, readNow, createNow, at: now.toISOString() });
          const current = await repos.documents.byId(source.id);
          if (!current || current.deletedAt || current.status === 'disposed') throw notFound('document');
          // As `copy` does: reading the source decided again in the folder's transaction, which comes only after every
          // document inside was read (an arrangement suspended meanwhile refuses the whole folder; FolderCopyService
          // audits it once this rolls back).
          const [readWithin] = await this.o.access.requireWithin(repos, actorNow, [{ action: 'document.download', resource: documentResource(current), target: target(current) }]) as [Decision];
          await requireSamePlace(repos, copy);
          await this.insertCopy(repos, actor, { source, version, copy, copyVersion, copyDecision, readNow: readWithin, now }, false);
          await this.o.ingestion.afterScan(repos, actor, copyDecision, copy, copyVersion, stored);
        },
        discard: (failure) => this.o.ingestion.discardUnlessCommitted(stored, versionId, failure),
      };
    } finally {
      await ingested.slot.release();
    }
  }

  /** Streams the source's current version into a new blob for its copy, checked as an upload of it under `name` would be. */
  private async read(actor: Actor, source: Document, version: Version, organisationId: string, name: string): Promise<{ ingested: Inspected; documentId: string; versionId: string }> {
    const documentId = randomUUID();
    const versionId = randomUUID();
    const plaintext = await this.o.blobs.openRange(versionRef(version, source));
    try {
      const ingested = await this.o.ingestion.ingest(actor, { organisationId, documentId, versionId }, name, { body: plaintext, declaredSize: version.size }, 'document.copy-blocked');
      return { ingested, documentId, versionId };
    } finally {
      plaintext.destroy();
    }
  }

  /**
   * The source was clean when it was written; a newer signature caught it. Nothing is stored for the
   * copy (its blob is removed); the rescan job quarantines the source.
   */
  private async refuseInfected(ingested: Inspected): Promise<void> {
    if (ingested.verdict?.outcome !== 'infected') return;
    await this.o.blobs.delete(ingested.blob.blobId).catch(() => undefined);
    throw new DomainError('INFECTED', `Malware detected (${ingested.verdict.signature}).`, { details: { signature: ingested.verdict.signature } });
  }

  /** The copy's document and version rows, and the decision its events record. */
  private records(actor: Actor, ingested: Inspected, c: {
    source: Document; documentId: string; versionId: string; name: string; placement: ReturnType<typeof placeDocument>; readNow: Decision; createNow: Decision; at: string;
  }): { copy: Document; copyVersion: Version; copyDecision: Decision } {
    const { status, scanStatus } = statusOf(ingested);
    const organisationId = c.placement.organisationId;
    const copyVersion = this.o.ingestion.versionRecord(actor, ingested, { documentId: c.documentId, versionId: c.versionId, organisationId, number: 1, scanStatus, now: c.at });
    const crossOrganisation = c.source.organisationId !== organisationId;
    // The copy is allowed by creating at the destination; the arrangement it names is the one that
    // opened the source if there was one (a partner's document copied home), else the destination's.
    const copyDecision: Decision = { ...c.createNow, via: c.readNow.via ?? c.createNow.via };
    const copy: Document = {
      id: c.documentId, name: c.name, ...c.placement, status, currentVersion: 1, currentVersionId: c.versionId, size: ingested.size, sha256: ingested.sha256,
      mediaType: copyVersion.mediaType, copiedFromDocumentId: c.source.id, copiedViaArrangementId: crossOrganisation ? c.readNow.via : null,
      createdAt: c.at, updatedAt: c.at, deletedAt: null,
    };
    return { copy, copyVersion, copyDecision };
  }

  /** In the copy's transaction: the name still free (but for the source itself, for a move), the rows, and the events. */
  private async insertCopy(repos: Repos, actor: Actor, c: { source: Document; version: Version; copy: Document; copyVersion: Version; copyDecision: Decision; readNow: Decision; now: Date }, move: boolean): Promise<void> {
    const { source, copy } = c;
    const place = { organisationId: copy.organisationId, folderId: copy.collectionId, name: copy.name };
    const claimant = { kind: 'document' as const, except: [move ? source.id : undefined] };
    const taken = await claimFolderName(repos, place, claimant);
    if (taken) throw takenWithin(taken, documentInTheWay(copy.name), 'document');
    await giveClaimedName(place, claimant, documentInTheWay(copy.name), () => repos.documents.insertDocument(copy));
    await repos.documents.insertVersion(c.copyVersion);
    await repos.audit.insert([
      auditEvent(actor, 'document.copy', { organisationId: copy.organisationId, ids: { documentId: copy.id, versionId: c.copyVersion.id, collectionId: copy.collectionId, classification: copy.classification, copiedFromDocumentId: source.id } },
        c.copyDecision, c.now),
      // Also under the source's organisation, so its auditors see where their record went.
      auditEvent(actor, 'document.copy', { organisationId: source.organisationId, ids: { documentId: source.id, versionId: c.version.id, copyDocumentId: copy.id, copyOrganisationId: copy.organisationId } },
        c.readNow, c.now),
    ]);
  }

  /**
   * Refuses, as a copy of it would, when the actor may not copy this document now (may not download
   * it, or its malware check is not finished); writes nothing else. A folder copy asks it of every
   * document inside before it reads any of them.
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
    return this.o.removals.prepareRemoval(actor, what, { at: { organisationId, parentId: collectionId, name }, replaced: true, sparing: { kind: 'document', id: documentId } });
  }
}
