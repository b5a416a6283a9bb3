// Documents and their versions: upload, new versions, download, delete and restore, classify, and
// the access history. Moving and copying are DocumentFilingService's; the ingest steps both share
// are DocumentIngestion's. Order of work for every write: blob first (durable), then metadata + audit
// in one transaction, then the answer.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import { validateSourceModified } from '../domain/source-modified.js';
import type { DocumentPlacement } from '../domain/placement.js';
import { higherClassification, placeDocument } from '../domain/placement.js';
import type { ByteRange, Clock, EncryptedBlobs } from '../domain/ports.js';
import type { AuditEvent } from '../domain/audit/event.js';
import type { Actor, Classification, Document, Version } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { AccessService, collectionResource, documentResource } from './access.service.js';
import { requireContentMatches } from './content-match.js';
import { auditEvent } from './audit-events.js';
import { DECIDED_AGAIN_EVERY_MS, decidedAgainWhileFlowing } from './decided-while-flowing.js';
import { requireSamePlace, statusOf, target, type DocumentIngestion, type Inspected } from './document-ingestion.js';
import { claimFolderName, giveClaimedName, nameHeld, takenWithin, tellNameTaken } from './name-claims.js';
import type { IdentityService } from './identity.service.js';
import type { PersonNamesService } from './person-names.service.js';
import type { LocksService, WriteTouch } from './locks.service.js';

export interface DocumentsServiceOptions {
  store: Store;
  access: AccessService;
  locks: LocksService;
  blobs: EncryptedBlobs;
  clock: Clock;
  /** Admission, encryption, scan and file policy for new content; raises version.committed in the write's transaction. */
  ingestion: DocumentIngestion;
  /**
   * Who the uploader is once the bytes have arrived, or the reader while a download flows (switched
   * off, or with less access, meanwhile), and whom an access history may identify to its reader.
   */
  identity: Pick<IdentityService, 'actorNow'>;
  personNames: Pick<PersonNamesService, 'identities'>;
}

export interface UploadInput {
  name: string;
  body: Readable | AsyncIterable<Uint8Array>;
  declaredSize?: number;
  classification?: Classification;
  /** When the file was last modified at its source (ISO 8601 with a zone); kept on the version. */
  sourceModifiedAt?: string;
}

export interface UploadResult {
  document: Document;
  version: Version;
  /** Set when the file was refused as malware: the version is kept encrypted in quarantine. */
  infected?: { signature: string };
  /** Set when the file policy let the file in only quarantined, for a security admin to review. */
  heldForReview?: { reason: string };
}

/**
 * An event of a document's access history as its reader may see it: `who` is the person's e-mail to
 * those decide() lets identify them (colleagues, the owner's auditors), else "someone in <organisation>";
 * then their id, the address they connected from and their request id are left out (null) too.
 */
export type AccessHistoryEvent = AuditEvent & { who: string };

export interface PreparedDownload {
  document: Document;
  version: Version;
  size: number;
  /**
   * Audits the read, then gives the plaintext (a range of it, if given): a small version as one
   * buffer, read and verified whole, a larger one as a stream (EncryptedBlobs.content), decided again
   * every few seconds as it flows and stopped when refused (decided-while-flowing.ts).
   */
  content(range: ByteRange | null): Promise<Buffer | Readable>;
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

  /**
   * The document's versions, for whoever may read it. A version's author (`authorId`) is kept only for
   * those `identities` lets identify them (colleagues, the owning organisation's auditors), as the
   * access history names people: another council's staff read null. A release from quarantine's written reason
   * (`releaseReason`) is kept only for those decide() lets see the file's quarantine details (`quarantine.identify`:
   * its organisation's security admins cleared for it); every other reader, a partner's staff among them, reads
   * null and is told only, in `scanDetail`, that it was released after review.
   */
  async versions(actor: Actor, documentId: string): Promise<{ document: Document; versions: Version[] }> {
    const { document } = await this.get(actor, documentId);
    const versions = await this.repos.documents.versions(document.id);
    const authors = await this.o.personNames.identities(actor, versions.flatMap((v) => (v.authorId ? [v.authorId] : [])), document.organisationId);
    const released = versions.some((v) => v.releaseReason);
    const [mayKnowWhy] = released ? await this.o.access.can(actor, [{ action: 'quarantine.identify', resource: documentResource(document) }]) : [false];
    return {
      document,
      versions: versions.map((v) => ({
        ...v,
        authorId: v.authorId && !authors.get(v.authorId)?.identified ? null : v.authorId,
        releaseReason: mayKnowWhy ? v.releaseReason ?? null : null,
      })),
    };
  }

  async upload(actor: Actor, collectionId: string, input: UploadInput): Promise<UploadResult> {
    // The input is judged only once the actor may create in the collection as it is (else 404).
    const { parent: collection, created } = await this.o.access.requireCreatableIn(actor, 'document.create', collectionId, (stored) => ({
      name: validateName(input.name),
      sourceModifiedAt: this.sourceModified(input),
      classification: higherClassification(input.classification ?? stored.classification, stored.classification),
    }));
    const { name, sourceModifiedAt, classification } = created;
    // A document or a sub-collection of that name is in the way (one name, one thing, in a folder).
    const namePlace = { organisationId: collection.organisationId, folderId: collection.id, name };
    const taken = await nameHeld(this.repos, namePlace, { kind: 'document' });
    if (taken) throw await tellNameTaken(this.o.access, actor, taken, nameTakenMessage(name), 'document');
    const touches: WriteTouch[] = [{ kind: 'members', collection }];
    await this.o.locks.enforce(actor, touches);
    const documentId = randomUUID();
    const versionId = randomUUID();
    const ingested = await this.o.ingestion.ingest(actor, { organisationId: collection.organisationId, documentId, versionId }, name, input);
    try {
      await this.o.ingestion.enforceAfterIngest(actor, touches, ingested);
      const now = this.o.clock.now().toISOString();
      const { status, scanStatus } = statusOf(ingested);
      const version = this.o.ingestion.versionRecord(actor, ingested, { documentId, versionId, organisationId: collection.organisationId, number: 1, scanStatus, now, sourceModifiedAt });
      const document: Document = {
        id: documentId, name, ...placeDocument({ classification }, collection), status, currentVersion: 1, currentVersionId: versionId, size: ingested.size,
        sha256: ingested.sha256, mediaType: version.mediaType, sourceModifiedAt, copiedFromDocumentId: null, copiedViaArrangementId: null,
        createdAt: now, updatedAt: now, deletedAt: null,
      };
      // Whether a name taken meanwhile may be told as a document's is asked of the uploader as they are now.
      let actorNow = actor;
      try {
        // The bytes took a while to arrive: an arrangement suspended or ended meanwhile (a partner's
        // access), or a collection moved out of reach, still wins. Decide again on the collection as it
        // is now; the commit then checks it has not moved since (requireSamePlace). So does the uploader
        // as they are now: switched off, or with teams or clearance taken away, meanwhile.
        actorNow = await this.o.identity.actorNow(actor, 'document.create', { organisationId: collection.organisationId, ids: { collectionId: collection.id } });
        const decided = (await this.o.access.requireCreatableIn(actorNow, 'document.create', collection.id, () => ({ classification }))).decision;
        // The admission slot is given back in this same commit.
        await ingested.slot.releaseWith(async (repos) => {
          await this.o.access.holdActing(repos, actorNow);
          const collectionNow = await requireSamePlace(repos, document);
          // Decided again on the collection as the transaction reads it, before the name is claimed, as a folder
          // create is: an arrangement suspended or ended since the decision above refuses here (404, audited once
          // this rolls back), so a partner refused learns nothing of what holds the name, and stores nothing.
          await this.o.access.requireWithin(repos, actorNow, [{ action: 'document.create', resource: collectionResource(collectionNow), newClassification: classification,
            target: { organisationId: collection.organisationId, ids: { collectionId: collection.id } } }]);
          // Another upload (or a rename, move or copy) may have taken the name while the bytes arrived.
          const takenNow = await claimFolderName(repos, namePlace, { kind: 'document' });
          if (takenNow) throw takenWithin(takenNow, nameTakenMessage(name), 'document');
          await giveClaimedName(namePlace, { kind: 'document' }, nameTakenMessage(name), () => repos.documents.insertDocument(document));
          await repos.documents.insertVersion(version);
          // The collection it was placed in and the classification it was given, so the disposal job and audit verify can
          // tell a row changed by hand (domain/audit/placement-record.ts, classification-record.ts).
          const uploaded = target(document, versionId);
          const ids = { ...uploaded.ids, collectionId: document.collectionId, classification: document.classification };
          await repos.audit.insert([auditEvent(actor, 'document.upload', { ...uploaded, ids }, decided, this.o.clock.now())]);
          await this.o.ingestion.afterScan(repos, actor, decided, document, version, ingested);
        });
      } catch (error) {
        // Nothing refers to the stored blob (unless the commit went through and only its sync failed).
        await this.o.ingestion.discardUnlessCommitted(ingested, versionId, error);
        throw await this.o.access.afterRollback(actorNow, await this.o.ingestion.afterNameTaken(actorNow, error));
      }
      return this.result(document, version, ingested);
    } finally {
      await ingested.slot.release();
    }
  }

  /**
   * `ifMatch`: the SHA-256 values of the content the client's copy may be (an If-Match list, or the state a
   * WebDAV request's conditions were judged on). Checked before any byte is read, and again in the commit, on
   * the document as it is then: a version saved by someone else while this one's bytes arrived refuses it
   * (412), rather than this one silently becoming current over it (a lost update).
   */
  async uploadVersion(actor: Actor, documentId: string, input: Omit<UploadInput, 'name'> & { ifMatch?: readonly string[] }): Promise<UploadResult> {
    const existing = await this.repos.documents.byId(documentId);
    if (!existing) throw notFound('document');
    await this.o.access.require(actor, 'document.version', documentResource(existing), target(existing));
    const sourceModifiedAt = this.sourceModified(input);
    requireContentMatches(input.ifMatch, existing.sha256);
    const touches: WriteTouch[] = [{ kind: 'content', target: { kind: 'document', document: existing } }];
    await this.o.locks.enforce(actor, touches);
    const versionId = randomUUID();
    const ingested = await this.o.ingestion.ingest(actor, { organisationId: existing.organisationId, documentId, versionId }, existing.name, input);
    try {
      await this.o.ingestion.enforceAfterIngest(actor, touches, ingested);
      const { status, scanStatus } = statusOf(ingested);
      let document = existing;
      let version: Version | undefined;
      try {
        // The bytes took a while to arrive: a legal hold placed meanwhile still wins, and so does a
        // deletion, a disposal or a move out of the actor's reach. Decide again on the document as it is
        // now, and for the uploader as they are now (switched off, or with less access, meanwhile).
        const fresh = await this.repos.documents.byId(documentId);
        if (!fresh) throw notFound('document');
        const actorNow = await this.o.identity.actorNow(actor, 'document.version', target(fresh));
        const decided = await this.o.access.require(actorNow, 'document.version', documentResource(fresh), target(fresh));
        // The admission slot is given back in this same commit.
        await ingested.slot.releaseWith(async (repos) => {
          await this.o.access.holdActing(repos, actorNow);
          await repos.holds.lockForChanging({ documentIds: [documentId], collectionIds: [] });
          const current = await repos.documents.byId(documentId);
          // What was decided on must still hold at the commit: a version never lands in the bin or a disposed record.
          if (!current || current.deletedAt || current.status === 'disposed') throw notFound('document');
          // Nor in a record a hold was placed on since the decision above (decided again under the row lock).
          await this.o.access.requireWithin(repos, actorNow, [{ action: 'document.version', resource: documentResource(current), target: target(current) }]);
          // Nor over a version someone else saved meanwhile, when the client said which one it was replacing.
          requireContentMatches(input.ifMatch, current.sha256);
          const now = this.o.clock.now().toISOString();
          const number = Math.max(current.currentVersion, ...(await repos.documents.versions(documentId)).map((v) => v.number)) + 1;
          version = this.o.ingestion.versionRecord(actor, ingested, { documentId, versionId, organisationId: current.organisationId, number, scanStatus, now, sourceModifiedAt });
          await repos.documents.insertVersion(version);
          // An infected version never becomes current: the last good version stays readable.
          if (status !== 'quarantined') {
            const moved = await repos.documents.setCurrentVersion(documentId, current.currentVersion, version, status, now);
            if (!moved) throw conflict('Another version was saved at the same moment; try again.');
          }
          await repos.audit.insert([auditEvent(actor, 'document.version', target(current, versionId), decided, this.o.clock.now())]);
          document = status === 'quarantined' ? current : { ...current, status, currentVersion: number, currentVersionId: versionId, size: ingested.size, sha256: ingested.sha256, mediaType: version.mediaType, sourceModifiedAt, updatedAt: now };
          await this.o.ingestion.afterScan(repos, actor, decided, document, version, ingested);
        });
      } catch (error) {
        // Nothing refers to the stored blob (unless the commit went through and only its sync failed).
        await this.o.ingestion.discardUnlessCommitted(ingested, versionId, error);
        throw await this.o.access.afterRollback(actor, error);
      }
      return this.result(document, version!, ingested);
    } finally {
      await ingested.slot.release();
    }
  }

  /** Checked before any byte is read, so a bad value costs the uploader nothing. */
  private sourceModified(input: { sourceModifiedAt?: string }): string | null {
    return input.sourceModifiedAt === undefined ? null : validateSourceModified(input.sourceModifiedAt, this.o.clock.now());
  }

  private result(document: Document, version: Version, ingested: Inspected): UploadResult {
    if (ingested.verdict?.outcome === 'infected') return { document, version, infected: { signature: ingested.verdict.signature } };
    if (version.scanStatus === 'held' && ingested.review) return { document, version, heldForReview: { reason: ingested.review.reason } };
    return { document, version };
  }

  /**
   * Authorises a read of a version's content once, and returns what a conditional or range request
   * needs to know (size, hash) before any byte is read. `content` audits the read — committed before
   * the first byte — and only ever serves clean or released versions.
   */
  async prepareDownload(actor: Actor, documentId: string, options: { versionNumber?: number } = {}): Promise<PreparedDownload> {
    const { document, version } = await this.documentAndVersion(documentId, options.versionNumber);
    // The verdict on the very version asked for is part of the decision: an older infected version
    // stays out of reach while a newer one is under review.
    const resource = version ? { ...documentResource(document), versionScan: version.scanStatus } : documentResource(document);
    const decision = await this.o.access.require(actor, 'document.download', resource, target(document, version?.id));
    if (!version) throw notFound('version');
    return {
      document, version, size: version.size,
      content: async (range) => {
        if (range && (range.start > range.end || range.end >= version.size)) {
          throw new DomainError('INVALID', 'The requested range is not satisfiable.', { details: { size: version.size, rangeNotSatisfiable: true } });
        }
        // Committed before any byte is read.
        await this.repos.audit.insert([auditEvent(actor, 'document.download', target(document, version.id), decision, this.o.clock.now())]);
        const content = await this.o.blobs.content(
          { blobId: version.blobId, organisationId: version.organisationId, documentId, versionId: version.id, keyId: version.keyId, wrappedKey: version.wrappedKey, size: version.size },
          range ?? undefined,
        );
        if (Buffer.isBuffer(content)) return content;
        return decidedAgainWhileFlowing(content, { now: () => this.o.clock.now().getTime(), everyMs: DECIDED_AGAIN_EVERY_MS, decideAgain: () => this.downloadStillAllowed(actor, documentId, version) });
      },
    };
  }

  /**
   * For a download in flight: the same decision as before its first byte, on the person, their
   * credential, the document and the version as they are now. Refused, it throws (audited as any
   * refusal); a version gone or replaced under the same number is not found.
   */
  private async downloadStillAllowed(actor: Actor, documentId: string, version: Version): Promise<void> {
    const document = await this.repos.documents.byId(documentId);
    const versionNow = document && (await this.repos.documents.version(documentId, version.number));
    if (!document || !versionNow || versionNow.id !== version.id) throw notFound('document');
    const actorNow = await this.o.identity.actorNow(actor, 'document.download', target(document, version.id), 'download');
    await this.o.access.require(actorNow, 'document.download', { ...documentResource(document), versionScan: versionNow.scanStatus }, target(document, version.id));
  }

  /** The document and the version asked for (its current one by default: one read for both); NOT_FOUND without the document. */
  private async documentAndVersion(documentId: string, versionNumber: number | undefined): Promise<{ document: Document; version: Version | undefined }> {
    if (versionNumber === undefined) {
      const current = await this.repos.documents.withCurrentVersion(documentId);
      if (!current) throw notFound('document');
      return current;
    }
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    return { document, version: await this.repos.documents.version(documentId, versionNumber) };
  }

  /**
   * Bins a document. `ifMatch`: the SHA-256 values of the content the client's copy may be (an If-Match list), held
   * when the request arrives and again under the row lock in the transaction, so a version someone else saved
   * meanwhile is never binned unseen (412, nothing binned).
   */
  async remove(actor: Actor, documentId: string, options: { ifMatch?: readonly string[] } = {}): Promise<Document> {
    return this.setDeleted(actor, documentId, true, options.ifMatch);
  }

  async restore(actor: Actor, documentId: string): Promise<Document> {
    return this.setDeleted(actor, documentId, false);
  }

  private async setDeleted(actor: Actor, documentId: string, deleted: boolean, ifMatch?: readonly string[]): Promise<Document> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const action = deleted ? 'document.delete' : 'document.restore';
    await this.o.access.require(actor, action, documentResource(document), target(document));
    requireContentMatches(ifMatch, document.sha256);
    if (!deleted && !document.deletedAt) return document;
    if (deleted && document.deletedAt) return document;
    let placement: Partial<DocumentPlacement> = {};
    // Its old name, unless a document or a sub-collection has it now.
    const namePlace = { organisationId: document.organisationId, folderId: document.collectionId, name: document.name };
    const claimant = { kind: 'document' as const, except: [document.id] };
    if (!deleted) {
      // Told as an upload's clash is: that a document of the name exists only to someone who may read it.
      const taken = await nameHeld(this.repos, namePlace, claimant);
      if (taken) throw await tellNameTaken(this.o.access, actor, taken, restoreClashMessage(document.name), 'document');
      // Its collection may have moved, or the organisation's file policy changed, while it was deleted.
      const collection = await this.repos.collections.byId(document.collectionId);
      if (!collection || collection.deletedAt) throw conflict('The collection this document was in has been deleted; restore or recreate it first.');
      placement = placeDocument(document, collection);
      await this.o.ingestion.requireAllowedName(actor, document, document.name, 'document.restore-blocked');
    }
    const collection = await this.repos.collections.byId(document.collectionId);
    await this.o.locks.enforce(actor, [{ kind: 'content', target: { kind: 'document', document } }, ...(collection ? [{ kind: 'members' as const, collection }] : [])]);
    const endedLocks = deleted ? await this.o.locks.tokensOn({ kind: 'document', document }) : [];
    const now = this.o.clock.now();
    const deletedAt = deleted ? now.toISOString() : null;
    await this.o.store.transaction(async (repos) => {
      await this.o.access.holdActing(repos, actor);
      // Decided again under the row locks, with the holds as they are now: a hold placed since the decision above
      // refuses the delete (not only the purge after it), and the refusal is audited once this rolls back.
      await repos.holds.lockForChanging({ documentIds: [document.id], collectionIds: [] });
      const current = await repos.documents.byId(document.id);
      if (!current) throw notFound('document');
      const [decided] = await this.o.access.requireWithin(repos, actor, [{ action, resource: documentResource(current), target: target(document) }]);
      requireContentMatches(ifMatch, current.sha256);
      for (const token of endedLocks) await repos.locks.delete(token);
      if (!deleted) {
        await requireSamePlace(repos, { ...document, ...placement });
        // The name may have been taken since the check above.
        const takenNow = await claimFolderName(repos, namePlace, claimant);
        if (takenNow) throw takenWithin(takenNow, restoreClashMessage(document.name), 'document');
      }
      const write = () => repos.documents.update(document.id, { deletedAt, ...placement }, now.toISOString());
      // Binning gives no name; a restore gives back the one claimed above.
      await (deleted ? write() : giveClaimedName(namePlace, claimant, restoreClashMessage(document.name), write));
      // A restore puts it back at its folder's classification if it sits below it: recorded for audit verify (classification-record.ts).
      const restored = target(document);
      const ids = placement.classification === undefined ? restored.ids : { ...restored.ids, classification: placement.classification };
      await repos.audit.insert([auditEvent(actor, action, { ...restored, ids }, decided!, now)]);
    }).catch(async (error: unknown) => {
      throw await this.o.access.afterRollback(actor, await this.o.ingestion.afterNameTaken(actor, error));
    });
    return { ...document, ...placement, deletedAt, updatedAt: now.toISOString() };
  }

  async classify(actor: Actor, documentId: string, classification: Classification, reason: string): Promise<Document> {
    if (reason.trim().length < 3) throw invalid('Give a reason for changing the classification.', { field: 'reason' });
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    await this.o.access.require(actor, 'document.classify', documentResource(document), target(document), { newClassification: classification });
    await this.o.locks.enforce(actor, [{ kind: 'content', target: { kind: 'document', document } }]);
    const now = this.o.clock.now();
    const classified = { organisationId: document.organisationId, ids: { documentId, classification } };
    await this.o.store.transaction(async (repos) => {
      await this.o.access.holdActing(repos, actor);
      // Decided again under the row lock: a hold placed since the decision above refuses the reclassification.
      await repos.holds.lockForChanging({ documentIds: [documentId], collectionIds: [] });
      const current = await repos.documents.byId(documentId);
      if (!current) throw notFound('document');
      const [decided] = await this.o.access.requireWithin(repos, actor, [{ action: 'document.classify', resource: documentResource(current), target: target(document), newClassification: classification }]);
      await repos.documents.update(document.id, { classification }, now.toISOString());
      await repos.audit.insert([auditEvent(actor, 'document.classify', classified, decided!, now)]);
    }).catch(async (error: unknown) => {
      throw await this.o.access.afterRollback(actor, error);
    });
    return { ...document, classification, updatedAt: now.toISOString() };
  }

  /**
   * Who did what with the document, newest first, for whoever decide() lets see it (document.access-history).
   * People are identified only as `identities` allows (the same rule on every interface), a lapsed lock's
   * holder (`targetIds.holderId`) as much as whoever acted. The owning organisation's records management of
   * it (holds placed on it, retention events, disposal batches and their decisions, the disposal job's
   * refusals, subject access requests it was put into) is shown only to those who may read that organisation's records management (`records.read`:
   * its records managers, auditors and DPOs): a partner's staff managing it through an arrangement, or a
   * member, are not told a batch exists or what was decided in it.
   */
  async accessHistory(actor: Actor, documentId: string, limit = 200): Promise<AccessHistoryEvent[]> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    await this.o.access.require(actor, 'document.access-history', documentResource(document), target(document));
    const recordsReader = await this.o.access.may(actor, 'records.read', { kind: 'organisation', organisationId: document.organisationId });
    const events = (await this.repos.audit.forDocument(documentId, limit)).filter((e) => recordsReader || !isRecordsManagement(e));
    // The people an event names: who acted, and whose lock lapsed (`holderId`, beside the lock).
    const named = events.flatMap((e) => [...(e.actorUserId ? [e.actorUserId] : []), ...(e.targetIds.holderId ? [e.targetIds.holderId] : [])]);
    const people = await this.o.personNames.identities(actor, named, document.organisationId);
    return events.map((e) => {
      const holderId = e.targetIds.holderId;
      const shown = holderId && !people.get(holderId)?.identified ? { ...e, targetIds: Object.fromEntries(Object.entries(e.targetIds).filter(([key]) => key !== 'holderId')) } : e;
      const known = e.actorUserId ? people.get(e.actorUserId) : undefined;
      // A system event (a lock lapsing) is written during whichever request noticed it, perhaps another
      // council's person's: their address and request id are not the system's to show. The audit log keeps them.
      if (!e.actorUserId) return { ...shown, clientAddress: null, requestId: null, who: 'system' };
      if (known?.identified) return { ...shown, who: known.label };
      return { ...shown, actorUserId: null, clientAddress: null, requestId: null, who: known?.label ?? 'an unknown person' };
    });
  }
}

/**
 * An event of the owning organisation's records management: its file plan, holds, disposal batches and
 * destruction, and the subject access requests its records were put into (that a request reached a record
 * tells its team that someone asked, as the request's hold would).
 */
function isRecordsManagement(event: AuditEvent): boolean {
  return event.action.startsWith('records.') || event.action.startsWith('disposal.') || event.action.startsWith('subject-access.')
    || event.action === 'document.dispose' || event.action === 'document.purge'
    || event.targetIds.batchId !== undefined || event.targetIds.requestId !== undefined;
}

const restoreClashMessage = (name: string): string => `A document called "${name}" now exists in that collection; rename it first.`;
const nameTakenMessage = (name: string): string => `A document called "${name}" already exists in this collection. Upload a new version of it instead.`;
