// Subject access requests: the requesting organisation's DPOs open one, ask the organisations they share
// services with to search their own records too, extend and close it, and take the response package away.
// Each organisation's DPOs answer their own part with their own organisation's records: what they put in is
// held (a legal hold per part) until the request is closed. Every step is asked of AccessService; decide()
// holds the rules (`subject-access.manage`, `subject-access.respond`, `subject-access.receive`; listing and
// viewing ask the reads beside them, `subject-access.read`, `.read-part`, `.read-received`, with the same rules).
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { conflict, invalid, notFound } from '../domain/errors.js';
import type { Decision, SubjectAccessResource } from '../domain/access/policy.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import { isHoldActive, type LegalHold } from '../domain/records/holds.js';
import { isCalendarDate, ukDate, type CalendarDate } from '../domain/records/retention.js';
import {
  SUBJECT_ACCESS_LIMITS, SUBJECT_ACCESS_OUTCOMES, SUBJECT_ACCESS_REASON_MIN, currentDueOn, dueDate, isRequestOpen, referenceNamesSubject, subjectAccessHoldName,
  type SubjectAccessItem, type SubjectAccessOutcome, type SubjectAccessPart, type SubjectAccessRequest, type WorkingDays,
} from '../domain/records/subject-access.js';
import type { Actor, Document, Organisation, Version } from '../domain/types.js';
import { documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { DECIDED_AGAIN_EVERY_MS, decidedAgainWhileFlowing } from './decided-while-flowing.js';
import { changeDecidedWithin, organisationAction, type DecidedAgain, type Questions } from './decided-within.js';
import { holdable, placeUnderHold } from './holds.service.js';
import type { IdentityService } from './identity.service.js';
import type { MailService } from './mail.service.js';
import { responseEntries, responsePackage, type ResponseEntry } from './subject-access-package.js';

export interface SubjectAccessServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  blobs: EncryptedBlobs;
  identity: IdentityService;
  /** The working days of an organisation in a region (weekends and its nation's bank holidays off). */
  workingDaysIn: (region: string) => WorkingDays;
  mail?: MailService;
}

export interface NewSubjectAccessRequest {
  reference?: string | null;
  subjectName: string;
  subjectDetails?: string | null;
  receivedOn: string;
  /** Organisations (ids) to ask to search their records too: each must share an arrangement in force with the requester. */
  partnerOrganisationIds?: readonly string[];
}

/** A record in a response, as the viewer may know it. */
export interface SubjectAccessItemView {
  item: SubjectAccessItem;
  /** Null once the document is gone (it cannot be while its hold stands, unless the hold was released by hand). */
  documentName: string | null;
  versionNumber: number | null;
  size: number | null;
  /** Whether the version's bytes can go in the package now: scanned clean (or released from quarantine). */
  exportable: boolean;
}

export interface SubjectAccessPartView {
  part: SubjectAccessPart;
  organisation: Pick<Organisation, 'id' | 'slug' | 'name'>;
  /** Records in the response (not removed). */
  items: number;
}

/** A request as one viewer may see it: the requesting DPOs see every part; a partner's DPOs only their own. */
export interface SubjectAccessView {
  request: SubjectAccessRequest;
  requester: Pick<Organisation, 'id' | 'slug' | 'name'>;
  /** 'requester': the viewer's organisation received the request; 'partner': it was asked to search. */
  role: 'requester' | 'partner';
  dueOn: CalendarDate;
  parts: SubjectAccessPartView[];
  /** The records the viewer may see: every part's for the requester (a partner's while its arrangement is in force), their own for a partner. */
  items: Array<SubjectAccessItemView & { organisationId: string }>;
  /** Which of the viewer's own steps are open now, for pages to show buttons by (asked of decide(), as the steps are). */
  can: { manage: boolean; respond: boolean };
}

export interface SubjectAccessSummary {
  request: SubjectAccessRequest;
  requester: Pick<Organisation, 'id' | 'slug' | 'name'>;
  role: 'requester' | 'partner';
  dueOn: CalendarDate;
  /** For a partner: whether its search is marked finished. */
  searched: boolean | null;
}

const EXPORTABLE = new Set(['clean', 'released']);
const MISSING = 'subject access request';
/** What a change to a closed request hears: the same whether it closed before the change was asked or while it was decided. */
const CLOSED = {
  add: 'This request is closed; nothing more can be included.',
  remove: 'This request is closed; its response can no longer change.',
  close: 'This request is already closed.',
  other: 'This request is closed.',
} as const;

export class SubjectAccessService {
  constructor(private readonly o: SubjectAccessServiceOptions) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /** Opens a request the actor's organisation received (its DPOs: `subject-access.manage`), asking partners at once if given. */
  async open(actor: Actor, input: NewSubjectAccessRequest): Promise<SubjectAccessRequest> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, 'subject-access.manage', organisationId, {}, { missing: 'organisation' });
    const organisation = await this.requireOrganisationRow(organisationId);
    const subjectName = text(input.subjectName, 'subjectName', SUBJECT_ACCESS_LIMITS.subjectName, 'Give the name of the person the request is about.');
    const subjectDetails = (input.subjectDetails ?? '').trim();
    if (subjectDetails.length > SUBJECT_ACCESS_LIMITS.subjectDetails) throw invalid(`The details can be up to ${SUBJECT_ACCESS_LIMITS.subjectDetails} characters.`, { field: 'subjectDetails' });
    const receivedOn = input.receivedOn.trim();
    const today = ukDate(this.o.clock.now());
    if (!isCalendarDate(receivedOn)) throw invalid('Give the date the request was received as YYYY-MM-DD.', { field: 'receivedOn' });
    if (receivedOn > today) throw invalid('The date the request was received cannot be in the future.', { field: 'receivedOn' });
    const id = randomUUID();
    const reference = (input.reference ?? '').trim() || `SAR-${id.slice(0, 8).toUpperCase()}`;
    if (reference.length > SUBJECT_ACCESS_LIMITS.reference) throw invalid(`The reference can be up to ${SUBJECT_ACCESS_LIMITS.reference} characters.`, { field: 'reference' });
    if (referenceNamesSubject(reference, subjectName)) {
      throw invalid('Leave the person’s name out of the reference: it goes in e-mails and notifications to partners and names the legal holds staff are told of.', { field: 'reference' });
    }
    const partners = await this.askable(actor, id, input.partnerOrganisationIds ?? []);
    const now = this.o.clock.now();
    const request: SubjectAccessRequest = {
      id, organisationId, reference, subjectName, subjectDetails, receivedOn, dueOn: dueDate(receivedOn, this.o.workingDaysIn(organisation.region)),
      extendedDueOn: null, extensionReason: null, status: 'open', outcome: null, closeNote: null,
      openedBy: actor.userId, openedAt: now.toISOString(), closedBy: null, closedAt: null,
    };
    const manage = organisationAction('subject-access.manage', organisationId, {}, 'subject-access.open', 'organisation');
    // Each partner's arrangement asked about again too: one suspended or ended meanwhile is not asked.
    await changeDecidedWithin(this.o, actor, [manage, ...this.receiving(actor, id, partners)], async (tx, { actor: acting, decision, decisions }) => {
      await tx.subjectAccess.insertRequest(request);
      await tx.subjectAccess.insertPart(newPart(request.id, organisationId, acting, now));
      await tx.audit.insert([auditEvent(acting, 'subject-access.open', { organisationId, ids: { requestId: id, dueOn: request.dueOn } }, decision, now)]);
      await this.ask(tx, acting, request, organisation, asDecidedNow(partners, decisions), now);
    });
    return request;
  }

  /** Asks more organisations to search their records for an open request. */
  async askPartners(actor: Actor, requestId: string, organisationIds: readonly string[]): Promise<SubjectAccessView> {
    const { request } = await this.requireManaged(actor, requestId);
    if (organisationIds.length === 0) throw invalid('Choose at least one organisation to ask.', { field: 'organisationIds' });
    const partners = await this.askable(actor, requestId, organisationIds);
    const organisation = await this.requireOrganisationRow(request.organisationId);
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [this.managing(request, 'subject-access.ask'), ...this.receiving(actor, requestId, partners)], async (tx, { actor: acting, decisions }) => {
      const locked = await this.lockOpen(tx, request);
      const asked = new Set((await tx.subjectAccess.parts(requestId)).map((p) => p.organisationId));
      await this.ask(tx, acting, locked, organisation, asDecidedNow(partners, decisions).filter((p) => !asked.has(p.organisation.id)), now);
    });
    return this.get(actor, requestId);
  }

  /**
   * The requests the actor's organisation received, and those it was asked to search for (its DPOs). Reads
   * (`subject-access.read`, `subject-access.read-part`: the same people as managing and answering them).
   */
  async list(actor: Actor): Promise<SubjectAccessSummary[]> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, 'subject-access.read', organisationId, {}, { missing: 'organisation' });
    const out: SubjectAccessSummary[] = [];
    const requester = await this.requireOrganisationRow(organisationId);
    const opened = await this.openedBy(organisationId);
    for (const request of (await this.repos.subjectAccess.requestsOf(organisationId)).filter((r) => opened.has(r.id))) {
      out.push({ request, requester: brief(requester), role: 'requester', dueOn: currentDueOn(request), searched: null });
    }
    // Asked of this organisation: shown while the arrangement with the requester is in force (a suspension hides them).
    const openedByRequester = new Map<string, Set<string>>();
    const asked: SubjectAccessRequest[] = [];
    const askedOfUs = await this.askedOf(organisationId);
    for (const request of (await this.repos.subjectAccess.requestsAskedOf(organisationId)).filter((r) => askedOfUs.has(r.id))) {
      if (!openedByRequester.has(request.organisationId)) openedByRequester.set(request.organisationId, await this.openedBy(request.organisationId));
      if (openedByRequester.get(request.organisationId)!.has(request.id)) asked.push(request);
    }
    const allowed = await this.o.access.can(actor, asked.map((r) => ({ action: 'subject-access.read-part' as const, resource: partResource(r, organisationId) })));
    for (const [i, request] of asked.entries()) {
      if (!allowed[i]) continue;
      const part = (await this.repos.subjectAccess.parts(request.id)).find((p) => p.organisationId === organisationId);
      const org = await this.repos.organisations.byId(request.organisationId);
      if (!part || !org) continue;
      out.push({ request, requester: brief(org), role: 'partner', dueOn: currentDueOn(request), searched: part.searchedAt !== null });
    }
    const known = await this.identified(actor, out.flatMap((o) => [o.request.openedBy, o.request.closedBy]));
    const only = (id: string | null): string | null => (id !== null && known.has(id) ? id : null);
    return out.map((o) => ({ ...o, request: { ...o.request, openedBy: only(o.request.openedBy), closedBy: only(o.request.closedBy) } }));
  }

  /** Of these people, those the actor may single out (`person.identify`: their colleagues and themselves). */
  private async identified(actor: Actor, userIds: readonly (string | null)[]): Promise<Set<string>> {
    const ids = [...new Set(userIds.filter((id): id is string => id !== null))];
    const names = await this.o.identity.namesFor(actor, ids);
    return new Set(ids.filter((id) => names.get(id)?.identified === true));
  }

  /** One request as the actor may see it: its requester's DPOs see it whole; an asked organisation's DPOs their own part. */
  async get(actor: Actor, requestId: string): Promise<SubjectAccessView> {
    const view = await this.unmaskedView(actor, requestId);
    // Another organisation's people are not singled out to the viewer (person.identify): who opened the
    // request, who searched a partner's part, who put a record in, are named only to their colleagues.
    const known = await this.identified(actor, [
      view.request.openedBy, view.request.closedBy, ...view.parts.flatMap((p) => [p.part.askedBy, p.part.searchedBy]), ...view.items.map((i) => i.item.addedBy),
    ]);
    const only = (id: string | null): string | null => (id !== null && known.has(id) ? id : null);
    return {
      ...view,
      request: { ...view.request, openedBy: only(view.request.openedBy), closedBy: only(view.request.closedBy) },
      parts: view.parts.map((p) => ({ ...p, part: { ...p.part, askedBy: only(p.part.askedBy), searchedBy: only(p.part.searchedBy) } })),
      items: view.items.map((i) => ({ ...i, item: { ...i.item, addedBy: only(i.item.addedBy), removedBy: only(i.item.removedBy) } })),
    };
  }

  private async unmaskedView(actor: Actor, requestId: string): Promise<SubjectAccessView> {
    const request = await this.requireRequest(requestId);
    const requester = await this.requireOrganisationRow(request.organisationId);
    // The requester's own part first, then the partners' in the order they were asked.
    const parts = (await this.repos.subjectAccess.parts(requestId)).sort((a, b) => Number(b.organisationId === request.organisationId) - Number(a.organisationId === request.organisationId));
    if (actor.organisationId === request.organisationId) {
      await this.o.access.requireOrganisation(actor, 'subject-access.read', request.organisationId, { requestId }, { missing: MISSING });
      const receivable = await this.o.access.can(actor, parts.map((p) => ({ action: 'subject-access.read-received' as const, resource: partResource(request, p.organisationId) })));
      const shown = new Set(parts.filter((_, i) => receivable[i]).map((p) => p.organisationId));
      const items = await this.vouchedFor(requestId, (await this.repos.subjectAccess.items(requestId)).filter((i) => i.removedAt === null && shown.has(i.organisationId)));
      return {
        request, requester: brief(requester), role: 'requester', dueOn: currentDueOn(request),
        parts: await this.partViews(parts, items), items: await this.itemViews(actor, items),
        can: await this.mayAct(actor, request),
      };
    }
    const { part } = await this.requirePart(actor, request, parts, 'subject-access.read-part');
    const items = await this.vouchedFor(requestId, (await this.repos.subjectAccess.items(requestId, part.organisationId)).filter((i) => i.removedAt === null));
    return {
      request, requester: brief(requester), role: 'partner', dueOn: currentDueOn(request),
      parts: await this.partViews([part], items), items: await this.itemViews(actor, items),
      can: { ...(await this.mayAct(actor, request)), manage: false },
    };
  }

  /**
   * What the viewer may do to the open request, as decide() answers it (manage it; answer their own organisation's
   * part): being let see it (a read, `subject-access.read` or `.read-part`) says nothing of that to a read-only credential.
   */
  private async mayAct(actor: Actor, request: SubjectAccessRequest): Promise<SubjectAccessView['can']> {
    if (!isRequestOpen(request)) return { manage: false, respond: false };
    const [manage, respond] = await this.o.access.can(actor, [
      { action: 'subject-access.manage', resource: { kind: 'organisation', organisationId: request.organisationId } },
      { action: 'subject-access.respond', resource: partResource(request, actor.organisationId ?? '') },
    ]);
    return { manage: manage === true, respond: respond === true };
  }

  /**
   * Puts records of the actor's own organisation in its part of the response: each one's current version,
   * which the actor must be able to download now (so never one above their clearance, outside their reach,
   * or not yet scanned clean). Each goes under the part's legal hold, made with its first record.
   */
  async addItems(actor: Actor, requestId: string, documentIds: readonly string[]): Promise<SubjectAccessItem[]> {
    const request = await this.requireRequest(requestId);
    await this.requirePart(actor, request);
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
        this.responding(request, organisationId, 'subject-access.add'),
        organisationAction('records.hold', organisationId, { requestId }, 'subject-access.add', 'organisation'),
        ...downloads,
      ];
    };
    await changeDecidedWithin(this.o, actor, questions, async (tx, { actor: acting, decisions: [decision, holdDecision] }) => {
      const locked = await this.lockOpen(tx, request, CLOSED.add);
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
    const request = await this.requireRequest(requestId);
    await this.requirePart(actor, request);
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
      return [this.responding(request, organisationId, 'subject-access.remove'), ...(current ? [readable(current)] : [])];
    };
    await changeDecidedWithin(this.o, actor, questions, async (tx, { actor: acting, decision }) => {
      await this.lockOpen(tx, request, CLOSED.remove);
      if (!(await tx.subjectAccess.removeItem(itemId, { by: acting.userId, at: now.toISOString() }))) throw notFound('record in this request');
      await tx.audit.insert([auditEvent(acting, 'subject-access.remove', { organisationId, ids: { requestId, itemId, documentId: item.documentId } }, decision, now)]);
    });
  }

  /** The actor's organisation's search is finished (or, `false`, not after all). */
  async markSearched(actor: Actor, requestId: string, searched: boolean): Promise<void> {
    const request = await this.requireRequest(requestId);
    await this.requirePart(actor, request);
    if (!isRequestOpen(request)) throw conflict(CLOSED.other);
    const organisationId = actor.organisationId ?? '';
    const now = this.o.clock.now();
    const action = searched ? 'subject-access.searched' : 'subject-access.search-reopened';
    await changeDecidedWithin(this.o, actor, [this.responding(request, organisationId, action)], async (tx, { actor: acting, decision }) => {
      await this.lockOpen(tx, request, CLOSED.other);
      await tx.subjectAccess.setPartSearched(requestId, organisationId, searched ? { at: now.toISOString(), by: acting.userId } : null);
      await tx.audit.insert([auditEvent(acting, action, { organisationId, ids: { requestId } }, decision, now)]);
    });
  }

  /** Extends the time to respond by two further months (once, with the reason the person is told). */
  async extend(actor: Actor, requestId: string, reason: string): Promise<SubjectAccessRequest> {
    const { request } = await this.requireManaged(actor, requestId);
    const why = reason.trim();
    if (why.length < SUBJECT_ACCESS_REASON_MIN || why.length > SUBJECT_ACCESS_LIMITS.reason) {
      throw invalid(`Give the reason for the extension, as you will tell the person (at least ${SUBJECT_ACCESS_REASON_MIN} characters).`, { field: 'reason' });
    }
    if (!isRequestOpen(request)) throw conflict(CLOSED.other);
    if (request.extendedDueOn !== null) throw conflict(`This request was already extended, to ${request.extendedDueOn}: the law allows two further months at most.`);
    const organisation = await this.requireOrganisationRow(request.organisationId);
    const extendedDueOn = dueDate(request.receivedOn, this.o.workingDaysIn(organisation.region), { extended: true });
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [this.managing(request, 'subject-access.extend')], async (tx, { actor: acting, decision }) => {
      await this.lockOpen(tx, request, CLOSED.other);
      if (!(await tx.subjectAccess.extend(requestId, { dueOn: extendedDueOn, reason: why }))) throw conflict('This request was extended or closed a moment ago.');
      await tx.audit.insert([auditEvent(acting, 'subject-access.extend', { organisationId: request.organisationId, ids: { requestId, dueOn: extendedDueOn } }, decision, now)]);
    });
    return { ...request, extendedDueOn, extensionReason: why };
  }

  /**
   * Closes a request with its outcome. Every part's hold is released with it: the records go back to their
   * retention schedules. A refusal or withdrawal must say why.
   */
  async close(actor: Actor, requestId: string, input: { outcome: string; note?: string | null }): Promise<SubjectAccessRequest> {
    const { request } = await this.requireManaged(actor, requestId);
    const outcome = input.outcome as SubjectAccessOutcome;
    if (!SUBJECT_ACCESS_OUTCOMES.includes(outcome)) throw invalid(`Choose the outcome: ${SUBJECT_ACCESS_OUTCOMES.join(', ')}.`, { field: 'outcome' });
    const note = (input.note ?? '').trim() || null;
    if ((outcome === 'refused' || outcome === 'withdrawn') && (note === null || note.length < SUBJECT_ACCESS_REASON_MIN)) {
      throw invalid(`Say why the request was ${outcome} (at least ${SUBJECT_ACCESS_REASON_MIN} characters).`, { field: 'note' });
    }
    if (note !== null && note.length > SUBJECT_ACCESS_LIMITS.reason) throw invalid(`The note can be up to ${SUBJECT_ACCESS_LIMITS.reason} characters.`, { field: 'note' });
    if (!isRequestOpen(request)) throw conflict(CLOSED.close);
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [this.managing(request, 'subject-access.close')], async (tx, { actor: acting, decision }) => {
      await this.lockOpen(tx, request, CLOSED.close);
      if (!(await tx.subjectAccess.close(requestId, { outcome, note, by: acting.userId, at: now.toISOString() }))) throw conflict('This request was closed a moment ago.');
      const events = [auditEvent(acting, 'subject-access.close', { organisationId: request.organisationId, ids: { requestId, outcome } }, decision, now)];
      for (const part of await tx.subjectAccess.parts(requestId)) {
        if (part.holdId === null) continue;
        const hold = await tx.holds.byId(part.holdId);
        if (!hold || !isHoldActive(hold)) continue;
        // Only a hold the audit log records being made for this request, in the part's organisation: a part's
        // row pointed at another hold (a litigation hold, another council's) leaves that hold as it is.
        if (hold.organisationId !== part.organisationId || !(await this.heldFor(tx, request, hold))) continue;
        // The hold was the request's, so closing the request ends it, a partner's too: that part's records
        // were kept for this request only. Recorded against the organisation whose hold it was.
        if (!(await tx.holds.release(hold.id, { at: now.toISOString(), by: acting.userId, reason: `Subject access request ${request.reference} closed (${outcome}).` }))) continue;
        events.push(auditEvent(acting, 'records.hold.release', { organisationId: hold.organisationId, ids: { holdId: hold.id, requestId } }, decision, now));
      }
      await tx.audit.insert(events);
    });
    return { ...request, status: 'closed', outcome, closeNote: note, closedBy: actor.userId, closedAt: now.toISOString() };
  }

  /** Organisations the actor's organisation may ask: those it shares an arrangement in force with. */
  async askableOrganisations(actor: Actor): Promise<Organisation[]> {
    const organisationId = actor.organisationId ?? '';
    if (!(await this.o.access.may(actor, 'subject-access.manage', { kind: 'organisation', organisationId }))) return [];
    const others = (await this.repos.organisations.list()).filter((o) => o.id !== organisationId);
    const answers = await this.o.access.can(actor, others.map((o) => ({ action: 'subject-access.receive' as const, resource: { kind: 'subject-access' as const, organisationId, partOrganisationId: o.id } })));
    return others.filter((_, i) => answers[i]);
  }

  /**
   * The response package: a zip of every record the parts put in (the version each chose), with an index
   * saying what each file is and what was withheld and why. The requester's DPOs only. Each record is
   * decided again now: a partner's go only while its arrangement is in force, only versions scanned clean,
   * and only records whose inclusion the audit log records (a row written into the database directly is
   * withheld, not sent). Audited before the first byte, and decided again as it flows.
   */
  async responsePackage(actor: Actor, requestId: string): Promise<{ filename: string; stream: Readable; entries: ResponseEntry[] }> {
    const { request, decision } = await this.requireManaged(actor, requestId);
    const parts = await this.repos.subjectAccess.parts(requestId);
    const receivable = await this.o.access.decisions(actor, parts.map((p) => ({ action: 'subject-access.receive' as const, resource: partResource(request, p.organisationId) })));
    const items = (await this.repos.subjectAccess.items(requestId)).filter((i) => i.removedAt === null);
    // What the audit log vouches for, not what the rows say: an inclusion it records and no removal it records
    // (a removed item's row put back by hand stays out, as one written by hand does).
    const entries = await responseEntries(this.repos, {
      request, items,
      partAllowed: new Map(parts.map((p, i) => [p.organisationId, receivable[i]!.allow])),
      recorded: await this.recordedInclusions(requestId, items),
      organisations: new Map((await this.repos.organisations.list()).map((o) => [o.id, o])),
      // The requester's own records go only to a DPO who may read them (clearance and teams), as on the request's page.
      ownOrganisationId: request.organisationId,
      readable: await this.readableOwn(actor, request.organisationId, items),
    });
    const now = this.o.clock.now();
    const included = entries.filter((e) => e.content !== null).length;
    await this.repos.audit.insert([auditEvent(actor, 'subject-access.export', {
      organisationId: request.organisationId, ids: { requestId, included: String(included), withheld: String(entries.length - included) },
    }, decision, now)]);
    const stream = decidedAgainWhileFlowing(responsePackage(this.o.blobs, request, entries, now), {
      now: () => this.o.clock.now().getTime(), everyMs: DECIDED_AGAIN_EVERY_MS,
      decideAgain: async () => {
        const target = { organisationId: request.organisationId, ids: { requestId } };
        await this.requireManaged(await this.o.identity.actorNow(actor, 'subject-access.export', target, 'download'), requestId);
      },
    });
    return { filename: `subject-access-${safeFilePart(request.reference)}.zip`, stream, entries };
  }

  /**
   * The request, if the audit log records its opening by the organisation its row names; otherwise not there
   * (404). Whose request it is decides who manages it and who receives every part's records, so a row written
   * or moved to another organisation in the database directly is no one's.
   */
  private async requireRequest(requestId: string): Promise<SubjectAccessRequest> {
    const request = await this.repos.subjectAccess.request(requestId);
    if (!request || !(await this.openedBy(request.organisationId)).has(request.id)) throw notFound(MISSING);
    return request;
  }

  /** The ids of the requests the audit log records another organisation asking this one to search for. */
  private async askedOf(organisationId: string): Promise<Set<string>> {
    const events = await this.repos.audit.allowedEvents(['subject-access.ask'], { organisationId });
    return new Set(events.map((e) => e.targetIds.requestId).filter((id): id is string => id !== undefined));
  }

  /** The ids of the requests the audit log records the organisation opening. */
  private async openedBy(organisationId: string): Promise<Set<string>> {
    const events = await this.repos.audit.allowedEvents(['subject-access.open'], { organisationId });
    return new Set(events.map((e) => e.targetIds.requestId).filter((id): id is string => id !== undefined));
  }

  /** The request, if the actor's organisation received it and they are its DPO; otherwise not there (404, audited). */
  private async requireManaged(actor: Actor, requestId: string): Promise<{ request: SubjectAccessRequest; decision: Decision }> {
    const request = await this.requireRequest(requestId);
    const decision = await this.o.access.requireOrganisation(actor, 'subject-access.manage', request.organisationId, { requestId }, { missing: MISSING });
    return { request, decision };
  }

  /**
   * The actor's organisation's part of the request, if it was asked and decide() lets them answer it now (or, with
   * `subject-access.read-part`, read it: the same people); otherwise 404, audited.
   */
  private async requirePart(actor: Actor, request: SubjectAccessRequest, known?: readonly SubjectAccessPart[], action: 'subject-access.respond' | 'subject-access.read-part' = 'subject-access.respond'): Promise<{ part: SubjectAccessPart; decision: Decision }> {
    const organisationId = actor.organisationId ?? '';
    const target = { organisationId: request.organisationId, ids: { requestId: request.id } };
    const part = (known ?? await this.repos.subjectAccess.parts(request.id)).find((p) => p.organisationId === organisationId);
    // A partner's part is there only if the audit log records the requester asking it: a part row written
    // into the database directly would show the person's name to a council no one asked.
    if (!part || (organisationId !== request.organisationId && !(await this.askedOf(organisationId)).has(request.id))) {
      await this.o.access.recordRefusal(actor, action, target, 'not_asked');
      throw notFound(MISSING);
    }
    const decision = await this.o.access.require(actor, action, partResource(request, organisationId), target, { missing: MISSING });
    return { part, decision };
  }

  /** The organisations to ask, each one the requester shares an arrangement in force with (refusals audited, 400). */
  private async askable(actor: Actor, requestId: string, organisationIds: readonly string[]): Promise<{ organisation: Organisation; decision: Decision }[]> {
    const out: { organisation: Organisation; decision: Decision }[] = [];
    for (const id of new Set(organisationIds)) {
      const organisation = await this.repos.organisations.byId(id) ?? await this.repos.organisations.bySlug(id);
      if (!organisation) throw invalid(`There is no organisation “${id}”.`, { field: 'partnerOrganisationIds' });
      if (organisation.id === actor.organisationId) continue;
      const decision = await this.o.access.check(actor, 'subject-access.receive', receivingResource(actor, organisation), { organisationId: organisation.id, ids: { requestId } });
      if (!decision.allow) throw notInForce(organisation);
      out.push({ organisation, decision });
    }
    return out;
  }

  /** Inserts the partners' parts, audited, and tells their DPOs (in-app and by e-mail, without the person's name). */
  private async ask(tx: Repos, actor: Actor, request: SubjectAccessRequest, requester: Organisation, partners: readonly { organisation: Organisation; decision: Decision }[], now: Date): Promise<void> {
    for (const { organisation, decision } of partners) {
      await tx.subjectAccess.insertPart(newPart(request.id, organisation.id, actor, now));
      await tx.audit.insert([auditEvent(actor, 'subject-access.ask', { organisationId: organisation.id, ids: { requestId: request.id } }, decision, now)]);
      const dpos = (await tx.users.listByOrganisation(organisation.id)).filter((u) => u.roles.includes('dpo') && !u.disabled);
      for (const dpo of dpos) {
        await tx.notifications.insert({
          id: randomUUID(), userId: dpo.id, organisationId: organisation.id, kind: 'subject-access.asked', documentId: null, versionId: null, requestId: request.id, createdAt: now.toISOString(), readAt: null,
          message: `${requester.name} asks your organisation to search its records for subject access request ${request.reference}, due ${currentDueOn(request)}.`,
        });
      }
      await this.o.mail?.queue(tx.jobs, now, dpos.map((u) => u.id), {
        kind: 'subject-access-partner', requestId: request.id, requesterName: requester.name, reference: request.reference, dueOn: currentDueOn(request),
      });
    }
  }

  /**
   * `subject-access.receive` of each partner to ask, asked again inside the change's transaction on the arrangements
   * as it reads them: one suspended or ended meanwhile is refused as askable refuses it (audited, 400).
   */
  private receiving(actor: Actor, requestId: string, partners: readonly { organisation: Organisation }[]): DecidedAgain[] {
    return partners.map(({ organisation }) => ({
      action: 'subject-access.receive', resource: receivingResource(actor, organisation), target: { organisationId: organisation.id, ids: { requestId } },
      auditAs: 'subject-access.receive', missing: MISSING, refused: notInForce(organisation),
    }));
  }

  /** `subject-access.manage` of the request, asked again inside the change's transaction (refused: audited as `auditAs`, 404). */
  private managing(request: SubjectAccessRequest, auditAs: string): DecidedAgain {
    return organisationAction('subject-access.manage', request.organisationId, { requestId: request.id }, auditAs, MISSING);
  }

  /** `subject-access.respond` for the organisation's part, asked again inside the change's transaction (refused: audited as `auditAs`, 404). */
  private responding(request: SubjectAccessRequest, organisationId: string, auditAs: string): DecidedAgain {
    return { action: 'subject-access.respond', resource: partResource(request, organisationId), target: { organisationId: request.organisationId, ids: { requestId: request.id } }, auditAs, missing: MISSING };
  }

  /**
   * The request read again under its lock inside the transaction, refused if it closed meanwhile: in `closed`, the
   * words the change's check before the transaction says to a later request (one asking partners has no such check).
   */
  private async lockOpen(tx: Repos, request: SubjectAccessRequest, closed = 'This request was closed a moment ago.'): Promise<SubjectAccessRequest> {
    const locked = await tx.subjectAccess.lockRequest(request.id);
    if (!locked || !isRequestOpen(locked)) throw conflict(closed);
    return locked;
  }

  /** Whether the audit log records this hold being made for this request (by partHold). */
  private async heldFor(tx: Repos, request: SubjectAccessRequest, hold: LegalHold): Promise<boolean> {
    const made = await tx.audit.allowedEvents(['records.hold.create'], { organisationId: hold.organisationId });
    return made.some((e) => e.targetIds.holdId === hold.id && e.targetIds.requestId === request.id);
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

  /**
   * The inclusions the audit log vouches for, as `itemId|organisationId|documentId|versionId|addedBy`: a sealed
   * `subject-access.add` event for the item and no `subject-access.remove` event (a removed item's row put
   * back by hand stays out, as one written by hand does).
   */
  private async recordedInclusions(requestId: string, items: readonly SubjectAccessItem[]): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const logged = (await this.repos.audit.allowedEvents(['subject-access.add', 'subject-access.remove'], { documentIds: items.map((i) => i.documentId) }))
      .filter((e) => e.targetIds.requestId === requestId);
    const removed = new Set(logged.filter((e) => e.action === 'subject-access.remove').map((e) => e.targetIds.itemId));
    const recorded = logged.filter((e) => e.action === 'subject-access.add' && !removed.has(e.targetIds.itemId));
    return new Set(recorded.map((e) => `${e.targetIds.itemId}|${e.targetOrganisationId}|${e.targetIds.documentId}|${e.targetIds.versionId}|${e.actorUserId}`));
  }

  /** Of these items, those the audit log vouches for: a request's page, like its package, goes by the log, not the rows. */
  private async vouchedFor(requestId: string, items: readonly SubjectAccessItem[]): Promise<SubjectAccessItem[]> {
    const recorded = await this.recordedInclusions(requestId, items);
    return items.filter((i) => recorded.has(`${i.id}|${i.organisationId}|${i.documentId}|${i.versionId}|${i.addedBy ?? ''}`));
  }

  /** Of these items' documents, the ids of those of `organisationId` the actor may read (document.read). */
  private async readableOwn(actor: Actor, organisationId: string, items: readonly SubjectAccessItem[]): Promise<Set<string>> {
    const own = (await this.repos.documents.byIds(items.filter((i) => i.organisationId === organisationId).map((i) => i.documentId))).filter((d) => d.organisationId === organisationId);
    return new Set((await this.o.access.filter(actor, 'document.read', own, documentResource)).map((d) => d.id));
  }

  private async requireOrganisationRow(id: string): Promise<Organisation> {
    const organisation = await this.repos.organisations.byId(id);
    if (!organisation) throw notFound('organisation');
    return organisation;
  }

  private async partViews(parts: readonly SubjectAccessPart[], items: readonly SubjectAccessItem[]): Promise<SubjectAccessPartView[]> {
    const views: SubjectAccessPartView[] = [];
    for (const part of parts) {
      const organisation = await this.requireOrganisationRow(part.organisationId);
      views.push({ part, organisation: brief(organisation), items: items.filter((i) => i.organisationId === part.organisationId).length });
    }
    return views;
  }

  private async itemViews(actor: Actor, items: readonly SubjectAccessItem[]): Promise<Array<SubjectAccessItemView & { organisationId: string }>> {
    const found = await this.repos.documents.byIds(items.map((i) => i.documentId));
    // The viewer's own organisation's records are described only if they may read them (a colleague with a
    // higher clearance or another team may have put them in); another organisation's part is what the
    // requester receives, described as that part's DPO sent it.
    const own = found.filter((d) => d.organisationId === actor.organisationId);
    const readable = new Set((await this.o.access.filter(actor, 'document.read', own, documentResource)).map((d) => d.id));
    const documents = new Map(found.filter((d) => d.organisationId !== actor.organisationId || readable.has(d.id)).map((d) => [d.id, d]));
    const views: Array<SubjectAccessItemView & { organisationId: string }> = [];
    for (const item of items) {
      const document = documents.get(item.documentId);
      const version = document && document.status !== 'disposed' ? await this.repos.documents.versionById(item.versionId) : undefined;
      views.push({
        item, organisationId: item.organisationId, documentName: document && document.status !== 'disposed' ? document.name : null,
        versionNumber: version?.number ?? null, size: version?.size ?? null, exportable: version !== undefined && EXPORTABLE.has(version.scanStatus),
      });
    }
    return views;
  }
}

function newPart(requestId: string, organisationId: string, actor: Actor, now: Date): SubjectAccessPart {
  return { requestId, organisationId, askedBy: actor.userId, askedAt: now.toISOString(), holdId: null, searchedAt: null, searchedBy: null };
}

function partResource(request: Pick<SubjectAccessRequest, 'organisationId'>, partOrganisationId: string): SubjectAccessResource {
  return { kind: 'subject-access', organisationId: request.organisationId, partOrganisationId };
}

/** A partner the actor's organisation would ask to search: `subject-access.receive` needs an arrangement in force between them. */
function receivingResource(actor: Actor, organisation: Organisation): SubjectAccessResource {
  return { kind: 'subject-access', organisationId: actor.organisationId ?? '', partOrganisationId: organisation.id };
}

/** A partner no arrangement in force lets be asked: 400, as before and inside the transaction alike. */
const notInForce = (organisation: Organisation) =>
  invalid(`${organisation.name} shares no arrangement in force with your organisation, so it cannot be asked to search its records for you.`, { field: 'partnerOrganisationIds' });

/** The partners to ask, each with its decision as the change's transaction made it (after the change's own, first). */
const asDecidedNow = <P extends { organisation: Organisation }>(partners: readonly P[], decisions: readonly Decision[]): { organisation: Organisation; decision: Decision }[] =>
  partners.map((p, i) => ({ organisation: p.organisation, decision: decisions[i + 1]! }));

const brief = (o: Organisation): Pick<Organisation, 'id' | 'slug' | 'name'> => ({ id: o.id, slug: o.slug, name: o.name });

function text(value: string, field: string, max: number, missing: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw invalid(missing, { field });
  if (trimmed.length > max) throw invalid(`This can be up to ${max} characters.`, { field });
  return trimmed;
}

const safeFilePart = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80) || 'request';
