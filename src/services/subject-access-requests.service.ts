// Running a subject access request, as the requesting organisation's DPOs do (`subject-access.manage`): opening
// it, asking the organisations it shares services with to search their own records too (each needs an
// arrangement in force: `subject-access.receive`), extending the time to respond, and closing it, which
// releases every part's hold. Each step is decided again inside its transaction, on the request locked open.
import { randomUUID } from 'node:crypto';
import { conflict, invalid } from '../domain/errors.js';
import type { Decision, SubjectAccessResource } from '../domain/access/policy.js';
import type { Repos } from '../domain/repositories.js';
import { isHoldActive, type LegalHold } from '../domain/records/holds.js';
import { isCalendarDate, ukDate } from '../domain/records/retention.js';
import {
  SUBJECT_ACCESS_LIMITS, SUBJECT_ACCESS_OUTCOMES, SUBJECT_ACCESS_REASON_MIN, currentDueOn, dueDate, isRequestOpen, referenceNamesSubject,
  type SubjectAccessOutcome, type SubjectAccessPart, type SubjectAccessRequest,
} from '../domain/records/subject-access.js';
import type { Actor, Organisation } from '../domain/types.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction, type DecidedAgain } from './decided-within.js';
import { CLOSED, MISSING, lockOpen, managing, requireManaged, requireOrganisationRow, type SubjectAccessServiceOptions } from './subject-access-checks.js';
import type { SubjectAccessView, SubjectAccessViewsService } from './subject-access-views.service.js';

export interface SubjectAccessRequestsServiceOptions extends Pick<SubjectAccessServiceOptions, 'store' | 'access' | 'clock' | 'identity' | 'workingDaysIn' | 'mail'> {
  /** The request as the actor may see it, which asking partners answers with. */
  views: Pick<SubjectAccessViewsService, 'get'>;
}

export interface NewSubjectAccessRequest {
  reference?: string | null;
  subjectName: string;
  subjectDetails?: string | null;
  receivedOn: string;
  /** Organisations (ids) to ask to search their records too: each must share an arrangement in force with the requester. */
  partnerOrganisationIds?: readonly string[];
}

export class SubjectAccessRequestsService {
  constructor(private readonly o: SubjectAccessRequestsServiceOptions) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /** Opens a request the actor's organisation received (its DPOs: `subject-access.manage`), asking partners at once if given. */
  async open(actor: Actor, input: NewSubjectAccessRequest): Promise<SubjectAccessRequest> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, 'subject-access.manage', organisationId, {}, { missing: 'organisation' });
    const organisation = await requireOrganisationRow(this.repos, organisationId);
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
    const { request } = await requireManaged(this.o, actor, requestId);
    if (organisationIds.length === 0) throw invalid('Choose at least one organisation to ask.', { field: 'organisationIds' });
    const partners = await this.askable(actor, requestId, organisationIds);
    const organisation = await requireOrganisationRow(this.repos, request.organisationId);
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [managing(request, 'subject-access.ask'), ...this.receiving(actor, requestId, partners)], async (tx, { actor: acting, decisions }) => {
      const locked = await lockOpen(tx, request);
      const asked = new Set((await tx.subjectAccess.parts(requestId)).map((p) => p.organisationId));
      await this.ask(tx, acting, locked, organisation, asDecidedNow(partners, decisions).filter((p) => !asked.has(p.organisation.id)), now);
    });
    return this.o.views.get(actor, requestId);
  }

  /** Extends the time to respond by two further months (once, with the reason the person is told). */
  async extend(actor: Actor, requestId: string, reason: string): Promise<SubjectAccessRequest> {
    const { request } = await requireManaged(this.o, actor, requestId);
    const why = reason.trim();
    if (why.length < SUBJECT_ACCESS_REASON_MIN || why.length > SUBJECT_ACCESS_LIMITS.reason) {
      throw invalid(`Give the reason for the extension, as you will tell the person (at least ${SUBJECT_ACCESS_REASON_MIN} characters).`, { field: 'reason' });
    }
    if (!isRequestOpen(request)) throw conflict(CLOSED.other);
    if (request.extendedDueOn !== null) throw conflict(`This request was already extended, to ${request.extendedDueOn}: the law allows two further months at most.`);
    const organisation = await requireOrganisationRow(this.repos, request.organisationId);
    const extendedDueOn = dueDate(request.receivedOn, this.o.workingDaysIn(organisation.region), { extended: true });
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [managing(request, 'subject-access.extend')], async (tx, { actor: acting, decision }) => {
      await lockOpen(tx, request, CLOSED.other);
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
    const { request } = await requireManaged(this.o, actor, requestId);
    const outcome = input.outcome as SubjectAccessOutcome;
    if (!SUBJECT_ACCESS_OUTCOMES.includes(outcome)) throw invalid(`Choose the outcome: ${SUBJECT_ACCESS_OUTCOMES.join(', ')}.`, { field: 'outcome' });
    const note = (input.note ?? '').trim() || null;
    if ((outcome === 'refused' || outcome === 'withdrawn') && (note === null || note.length < SUBJECT_ACCESS_REASON_MIN)) {
      throw invalid(`Say why the request was ${outcome} (at least ${SUBJECT_ACCESS_REASON_MIN} characters).`, { field: 'note' });
    }
    if (note !== null && note.length > SUBJECT_ACCESS_LIMITS.reason) throw invalid(`The note can be up to ${SUBJECT_ACCESS_LIMITS.reason} characters.`, { field: 'note' });
    if (!isRequestOpen(request)) throw conflict(CLOSED.close);
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [managing(request, 'subject-access.close')], async (tx, { actor: acting, decision }) => {
      await lockOpen(tx, request, CLOSED.close);
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
      // The asking council's work: queued as the asked council's, a council asking again and again put the
      // asked council's own sign-in links and security notices behind all of its requests in the mail lane.
      await this.o.mail?.queue(tx.jobs, now, requester.id, dpos.map((u) => u.id), {
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

  /** Whether the audit log records this hold being made for this request (by partHold). */
  private async heldFor(tx: Repos, request: SubjectAccessRequest, hold: LegalHold): Promise<boolean> {
    const made = await tx.audit.allowedEvents(['records.hold.create'], { organisationId: hold.organisationId });
    return made.some((e) => e.targetIds.holdId === hold.id && e.targetIds.requestId === request.id);
  }
}

function newPart(requestId: string, organisationId: string, actor: Actor, now: Date): SubjectAccessPart {
  return { requestId, organisationId, askedBy: actor.userId, askedAt: now.toISOString(), holdId: null, searchedAt: null, searchedBy: null };
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

function text(value: string, field: string, max: number, missing: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw invalid(missing, { field });
  if (trimmed.length > max) throw invalid(`This can be up to ${max} characters.`, { field });
  return trimmed;
}
