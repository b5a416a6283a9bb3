// Answering a subject access request, each organisation its own part (its DPOs: `subject-access.respond`):
// putting its own records in the response and taking them out, and marking its search finished. What a part
// puts in is held, under a legal hold per part made with its first record, until the request is closed.
import { randomUUID } from 'node:crypto';
import { conflict, invalid, notFound } from '../domain/errors.js';
import type { Decision } from '../domain/access/policy.js';
import type { Repos } from '../domain/repositories.js';
import { isHoldActive, type LegalHold } from '../domain/records/holds.js';
import {
  SUBJECT_ACCESS_LIMITS, isRequestOpen, subjectAccessHoldName, type SubjectAccessItem, type SubjectAccessPart, type SubjectAccessRequest,
} from '../domain/records/subject-access.js';
import type { Actor, Document, Version } from '../domain/types.js';
import { documentResource } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction, type DecidedAgain, type Questions } from './decided-within.js';
import { holdable, placeUnderHold } from './holds.service.js';
import {
  CLOSED, EXPORTABLE, MISSING, lockOpen, requirePart, requireRequest, responding, type SubjectAccessServiceOptions,
} from './subject-access-checks.js';

export class SubjectAccessAnswersService {
  constructor(private readonly o: Pick<SubjectAccessServiceOptions, 'store' | 'access' | 'clock' | 'identity'>) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /**
   * Puts records of the actor's own organisation in its part of the response: each one's current version,
   * which the actor must be able to download now (so never one above their clearance, outside their reach,
   * or not yet scanned clean). Each goes under the part's legal hold, made with its first record.
   */
  async addItems(actor: Actor, requestId: string, documentIds: readonly string[]): Promise<SubjectAccessItem[]> {
    const request = await requireRequest(this.o, requestId);
    await requirePart(this.o, actor, request);
    const organisationId = actor.organisationId ?? '';
    const ids = [...new Set(documentIds)];
    if (ids.length === 0) throw invalid('Choose at least one document to include.', { field: 'documentIds' });
    if (ids.length > SUBJECT_ACCESS_LIMITS.itemsAtOnce) throw invalid(`Include at most ${SUBJECT_ACCESS_LIMITS.itemsAtOnce} documents at once.`, { field: 'documentIds' });
    if (!isRequestOpen(request)) throw conflict(CLOSED.add);
    const chosen: { document: Document; version: Version }[] = [];
    for (const id of ids) chosen.push(await this.requireIncludable(actor, request, organisationId, id));
    await this.o.access.requireOrganisation(actor, 'records.hold', organisationId, { requestId }, { missing: 'organisation' });
    const now = this.o.clock.now();
    const added: SubjectAccessItem[] = [];
    // Decided again inside the transaction, on the actor as it reads them: answering the part, holding, and downloading
    // each record as the transaction reads it once locked (in placeUnderHold's order), so a record moved out of their
    // reach, reclassified or found infected meanwhile is refused, not included on what was read before.
    const questions = async (tx: Repos): Promise<Questions> => {
      await tx.holds.lockForPlacing({ documentIds: chosen.map((c) => c.document.id), collectionIds: [] });
      const downloads: DecidedAgain[] = [];
      for (const { document, version } of chosen) {
        const fresh = await holdable(tx, document);
        const scanned = (await tx.documents.versionById(version.id)) ?? version;
        downloads.push({
          action: 'document.download', resource: { ...documentResource(fresh), versionScan: scanned.scanStatus },
          target: { organisationId, ids: { requestId, documentId: document.id } }, auditAs: 'subject-access.add', missing: 'document',
        });
      }
      return [
        responding(request, organisationId, 'subject-access.add'),
        organisationAction('records.hold', organisationId, { requestId }, 'subject-access.add', 'organisation'),
        ...downloads,
      ];
    };
    await changeDecidedWithin(this.o, actor, questions, async (tx, { actor: acting, decisions: [decision, holdDecision] }) => {
      const locked = await lockOpen(tx, request, CLOSED.add);
      const part = (await tx.subjectAccess.parts(requestId)).find((p) => p.organisationId === organisationId);
      if (!part) throw notFound(MISSING);
      const hold = await this.partHold(tx, acting, locked, part, holdDecision!, now);
      await placeUnderHold(tx, acting, hold, { documents: chosen.map((c) => c.document), collections: [] }, holdDecision!, now);
      const present = new Set((await tx.subjectAccess.items(requestId, organisationId)).filter((i) => i.removedAt === null).map((i) => i.versionId));
      for (const { document, version } of chosen) {
        if (present.has(version.id)) continue;
        const item: SubjectAccessItem = {
          id: randomUUID(), requestId, organisationId, documentId: document.id, versionId: version.id, addedBy: acting.userId, addedAt: now.toISOString(), removedBy: null, removedAt: null,
        };
        await tx.subjectAccess.insertItem(item);
        added.push(item);
      }
      await tx.audit.insert(added.map((item) => auditEvent(acting, 'subject-access.add', {
        organisationId, ids: { requestId, itemId: item.id, documentId: item.documentId, versionId: item.versionId },
      }, decision!, now)));
    });
    return added;
  }

  /** Takes a record out of the actor's part (it stays under the part's hold until the request is closed). */
  async removeItem(actor: Actor, requestId: string, itemId: string): Promise<void> {
    const request = await requireRequest(this.o, requestId);
    await requirePart(this.o, actor, request);
    const organisationId = actor.organisationId ?? '';
    const item = (await this.repos.subjectAccess.items(requestId, organisationId)).find((i) => i.id === itemId && i.removedAt === null);
    if (!item) throw notFound('record in this request');
    // Only a record they may read: one above their clearance or outside their teams is not theirs to take out.
    const readable = (document: Document): DecidedAgain => ({
      action: 'document.read', resource: documentResource(document), target: { organisationId, ids: { requestId, itemId, documentId: document.id } },
      auditAs: 'document.read', missing: 'record in this request',
    });
    const document = await this.repos.documents.byId(item.documentId);
    if (document) {
      const first = readable(document);
      await this.o.access.require(actor, first.action, first.resource, first.target, { missing: first.missing });
    }
    if (!isRequestOpen(request)) throw conflict(CLOSED.remove);
    const now = this.o.clock.now();
    // Decided again inside the transaction, on the actor and the record as it reads them (the record's row locked
    // first, as addItems locks what it includes): a record that left their reach meanwhile (their team or
    // clearance taken away, the record reclassified) is refused as a later request is, not taken out on what was read before.
    const questions = async (tx: Repos): Promise<Questions> => {
      const current = await tx.documents.byIdForChange(item.documentId);
      return [responding(request, organisationId, 'subject-access.remove'), ...(current ? [readable(current)] : [])];
    };
    await changeDecidedWithin(this.o, actor, questions, async (tx, { actor: acting, decision }) => {
      await lockOpen(tx, request, CLOSED.remove);
      if (!(await tx.subjectAccess.removeItem(itemId, { by: acting.userId, at: now.toISOString() }))) throw notFound('record in this request');
      await tx.audit.insert([auditEvent(acting, 'subject-access.remove', { organisationId, ids: { requestId, itemId, documentId: item.documentId } }, decision, now)]);
    });
  }

  /** The actor's organisation's search is finished (or, `false`, not after all). */
  async markSearched(actor: Actor, requestId: string, searched: boolean): Promise<void> {
    const request = await requireRequest(this.o, requestId);
    await requirePart(this.o, actor, request);
    if (!isRequestOpen(request)) throw conflict(CLOSED.other);
    const organisationId = actor.organisationId ?? '';
    const now = this.o.clock.now();
    const action = searched ? 'subject-access.searched' : 'subject-access.search-reopened';
    await changeDecidedWithin(this.o, actor, [responding(request, organisationId, action)], async (tx, { actor: acting, decision }) => {
      await lockOpen(tx, request, CLOSED.other);
      await tx.subjectAccess.setPartSearched(requestId, organisationId, searched ? { at: now.toISOString(), by: acting.userId } : null);
      await tx.audit.insert([auditEvent(acting, action, { organisationId, ids: { requestId } }, decision, now)]);
    });
  }

  /** The part's legal hold, placed with its first record (audited as any hold placed). */
  private async partHold(tx: Repos, actor: Actor, request: SubjectAccessRequest, part: SubjectAccessPart, decision: Decision, now: Date): Promise<LegalHold> {
    if (part.holdId !== null) {
      const hold = await tx.holds.byId(part.holdId);
      if (hold && isHoldActive(hold)) return hold;
    }
    const hold: LegalHold = {
      id: randomUUID(), organisationId: part.organisationId, name: subjectAccessHoldName(request.reference),
      reason: 'Records included in the response to an open subject access request: kept as they are until the request is closed.',
      reference: request.reference, createdBy: actor.userId, createdAt: now.toISOString(), releasedAt: null, releasedBy: null, releaseReason: null,
    };
    await tx.holds.insert(hold);
    await tx.subjectAccess.setPartHold(request.id, part.organisationId, hold.id);
    await tx.audit.insert([auditEvent(actor, 'records.hold.create', { organisationId: part.organisationId, ids: { holdId: hold.id, requestId: request.id } }, decision, now)]);
    return hold;
  }

  /** A document of the actor's own organisation whose current version they may download now; otherwise refused as not there (audited). */
  private async requireIncludable(actor: Actor, request: SubjectAccessRequest, organisationId: string, documentId: string): Promise<{ document: Document; version: Version }> {
    const found = await this.repos.documents.byId(documentId);
    const target = { organisationId: found?.organisationId ?? organisationId, ids: { requestId: request.id, documentId } };
    if (!found || found.status === 'disposed') throw notFound('document');
    if (found.organisationId !== organisationId) {
      // Each part answers with its own organisation's records: a partner's documents are that partner's to include.
      await this.o.access.recordRefusal(actor, 'subject-access.add', target, 'other_organisation');
      throw notFound('document');
    }
    const version = found.currentVersionId ? await this.repos.documents.versionById(found.currentVersionId) : undefined;
    if (!version) throw notFound('document');
    await this.o.access.require(actor, 'document.download', { ...documentResource(found), versionScan: version.scanStatus }, target);
    if (!EXPORTABLE.has(version.scanStatus)) {
      throw conflict(`“${found.name}” has not been found clean by the malware scan yet; include it once it has.`);
    }
    return { document: found, version };
  }
}
