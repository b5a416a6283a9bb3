// Retention trigger events: a records manager records the date of the event that starts a series'
// period (employment ended, contract ended…) for documents or a whole collection, clears one recorded
// in error, and lists those that reach a collection or a document. Recording and clearing are the owning
// organisation's file-plan actions, listing its records reading of what the reader may see (asked of
// AccessService, refusals audited); recording and clearing are refused (409, audited) when they bring any
// due date earlier unless confirmed.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import type { RetentionEvent } from '../domain/records/events.js';
import { compareDates, dueDateMove, isCalendarDate, ukDate, type CalendarDate } from '../domain/records/retention.js';
import { TRIGGER_PATTERN, type RecordSeries } from '../domain/records/series.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import type { ReachingEvent } from './retention-facts.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction, type DecidedAgain } from './decided-within.js';
import type { IdentityService } from './identity.service.js';
import { SHORTENED, documentsBelow, plural, shortened, type DueDateChecks, type DueDateShift } from './retention-due-dates.js';
import { computeFacts, dueOf, eventsReaching, filingOf, type FactsWithSeries } from './retention-facts.js';

export interface RetentionEventsServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  /** A refusal for bringing due dates earlier is audited as refiling's and moves' are. */
  dueDates: DueDateChecks;
  /** Reads the recorder again inside the transaction that records or clears an event (changeDecidedWithin). */
  identity: Pick<IdentityService, 'actorWithin'>;
}

export interface NewRetentionEvent {
  kind: string;
  date: string;
  documentIds?: readonly string[];
  collectionId?: string;
}

/** A live event that reaches what was asked about, and who recorded it as the reader may know them. */
export type ListedRetentionEvent = ReachingEvent & {
  /** The recorder's e-mail, to whoever may identify them (`person.identify`: their colleagues); null otherwise, or for the system. */
  recordedByEmail: string | null;
};

export interface RetentionEventListing {
  /** The series that applies there (its trigger is the kind of event in force), or null: unfiled. */
  series: RecordSeries | null;
  events: ListedRetentionEvent[];
}

const MAX_EVENT_DOCUMENTS = 1000;

export class RetentionEventsService {
  constructor(private readonly o: RetentionEventsServiceOptions) {}

  /**
   * Records the date of a trigger event for some documents, or for a collection (reaching every
   * document in and below it, later ones included, until cleared). The kind must be what starts the
   * period of the series that applies; the date a real one, not in the future. Like a shorter period,
   * an event that brings any record's due date earlier (re-dated earlier, or over a later one it now
   * replaces) is refused (409, nothing recorded) unless `confirmShorter`; a record's first date, from
   * awaiting its event, is not "earlier": that is what recording the event is for.
   */
  async recordEvent(actor: Actor, input: NewRetentionEvent, options: { confirmShorter?: boolean } = {}): Promise<RetentionEvent[]> {
    const hasDocs = input.documentIds !== undefined && input.documentIds.length > 0;
    if (hasDocs === (input.collectionId !== undefined)) throw invalid('Give either documentIds or collectionId: the documents or the collection the event is for.');
    const now = this.o.clock.now();
    const base = { kind: String(input.kind ?? '').trim(), date: String(input.date ?? '').trim(), recordedBy: actor.userId, recordedAt: now.toISOString(), clearedAt: null, clearedBy: null };
    if (input.collectionId !== undefined) {
      const collection = await this.liveCollection(input.collectionId);
      const decision = await this.requireFilePlan(actor, collection.organisationId, { collectionId: collection.id }, 'collection');
      this.validEvent(base.kind, base.date, now);
      const filing = await filingOf(this.o.store.repos, collection);
      const codes = new Set([...(filing.series ? [filing.series.code] : []), ...(await this.o.store.repos.retention.seriesSetBelow(collection.id))]);
      const plan = new Map((await this.o.store.repos.retention.listSeries(collection.organisationId)).map((s) => [s.code, s]));
      const applying = [...codes].map((c) => plan.get(c)).filter((s): s is RecordSeries => s !== undefined);
      if (applying.length === 0) throw invalid(`Nothing in ${await this.collectionLabel(actor, collection)} is filed under a record series, so no event applies to it.`, { field: 'collectionId' });
      if (!applying.some((s) => s.trigger === base.kind)) {
        throw invalid(`${applying.map((s) => `${s.code} is triggered by ${s.trigger}`).join('; ')}, not ${base.kind}.`, { field: 'kind' });
      }
      const event: RetentionEvent = { ...base, id: randomUUID(), organisationId: collection.organisationId, documentId: null, collectionId: collection.id };
      await this.insertEvents(actor, [{ event, decision }], { collectionId: collection.id }, options, now);
      return [event];
    }
    const ids = [...new Set(input.documentIds!)];
    if (ids.length > MAX_EVENT_DOCUMENTS) throw invalid(`Record an event for at most ${MAX_EVENT_DOCUMENTS} documents at a time, or for their collection.`, { field: 'documentIds' });
    const docs = new Map((await this.o.store.repos.documents.byIds(ids)).map((d) => [d.id, d]));
    const decided: { doc: Document; decision: Decision }[] = [];
    for (const id of ids) {
      const doc = docs.get(id);
      if (!doc || doc.status === 'disposed') throw notFound('document');
      decided.push({ doc, decision: await this.requireFilePlan(actor, doc.organisationId, { documentId: id }, 'document') });
    }
    this.validEvent(base.kind, base.date, now);
    const facts = await computeFacts(this.o.store.repos, ids);
    for (const { doc } of decided) {
      const series = facts.get(doc.id)?.series ?? null;
      if (!series) throw invalid(`${await this.documentLabel(actor, doc)} is not filed under a record series, so no event applies to it.`, { field: 'documentIds' });
      if (series.trigger !== base.kind) throw invalid(`${series.code} is triggered by ${series.trigger}, not ${base.kind}.`, { field: 'kind' });
    }
    const events = decided.map(({ doc, decision }) => ({ decision, event: { ...base, id: randomUUID(), organisationId: doc.organisationId, documentId: doc.id, collectionId: null } as RetentionEvent }));
    await this.insertEvents(actor, events, { documentIds: ids }, options, now);
    return events.map((e) => e.event);
  }

  /**
   * Clears a recorded event: the documents it reached go back to awaiting one, or to another recorded
   * one (an older event for the same place, or their collection's), or, for a date trigger, to their
   * creation date. Those last can be earlier: refused (409) like `recordEvent` unless `confirmShorter`.
   * `recordedFor`: the document or collection it is cleared from (a page's); an event recorded for any
   * other place, one inherited from above included, is answered as an unknown id, so a page never clears
   * what it does not show (a collection's event reaches everything below it).
   */
  async clearEvent(
    actor: Actor, eventId: string, options: { confirmShorter?: boolean; recordedFor?: { documentId: string } | { collectionId: string } } = {},
  ): Promise<RetentionEvent> {
    const event = await this.o.store.repos.retention.event(eventId);
    if (!event) throw notFound('retention event');
    await this.requireFilePlan(actor, event.organisationId, { eventId }, 'retention event');
    const place = options.recordedFor;
    if (place && ('documentId' in place ? event.documentId !== place.documentId : event.documentId !== null || event.collectionId !== place.collectionId)) throw notFound('retention event');
    if (event.clearedAt !== null) throw conflict('That event was already cleared.');
    const now = this.o.clock.now();
    const target = { organisationId: event.organisationId, ids: { eventId, kind: event.kind } };
    await changeDecidedWithin(this.o, actor, [organisationAction('records.file-plan', event.organisationId, target.ids, 'records.event.clear', 'retention event')], async (repos, { actor: acting, decision }) => {
      const reached = event.documentId !== null ? { documentIds: [event.documentId] } : { collectionId: event.collectionId! };
      const shift = await this.eventChanged(repos, event.organisationId, reached, () => repos.retention.clearEvent(eventId, now.toISOString(), acting.userId), options, 'Clearing this event');
      await repos.audit.insert([auditEvent(acting, 'records.event.clear', { ...target, ids: { ...target.ids, ...shortened(shift) } }, decision, now)]);
    }).catch((error: unknown) => this.o.dueDates.auditRefusedShortening(actor, 'records.event.clear', target, error));
    return { ...event, clearedAt: now.toISOString(), clearedBy: actor.userId };
  }

  /**
   * The uncleared events that reach a collection or a document: its own and those recorded for the
   * collections above it, nearest first, each saying whether it is inherited and whether its date is
   * the one the due date counts from (`eventsReaching`). Reading them is the owning organisation's
   * records reading (`records.read`: its records managers, auditors and DPOs), of a collection or document
   * they may see (`collection.list`, `document.read`, as its retention facts and holds are read: their
   * clearance at or above its classification, and for an auditor or DPO its service area one of their teams).
   * Anyone else, another council's records manager, a partner's staff under any arrangement, or a records
   * person cleared below it, is refused (audited) exactly as an unknown id is answered (404), as recording is.
   * Until 8 December only `records.read` was asked, so a records manager or auditor cleared below a record
   * who knew its id read its events (what happened to the person it is about, and when).
   */
  async listEvents(actor: Actor, of: { collectionId: string } | { documentId: string }): Promise<RetentionEventListing> {
    const repos = this.o.store.repos;
    if ('collectionId' in of) {
      const collection = await this.liveCollection(of.collectionId);
      const target = { organisationId: collection.organisationId, ids: { collectionId: collection.id } };
      await this.o.access.requireOrganisation(actor, 'records.read', collection.organisationId, target.ids, { missing: 'collection' });
      await this.o.access.require(actor, 'collection.list', collectionResource(collection), target);
      return this.withRecorders(actor, await eventsReaching(repos, { collection }));
    }
    const document = await repos.documents.byId(of.documentId);
    if (!document || document.status === 'disposed') throw notFound('document');
    const target = { organisationId: document.organisationId, ids: { documentId: document.id } };
    await this.o.access.requireOrganisation(actor, 'records.read', document.organisationId, target.ids, { missing: 'document' });
    await this.o.access.require(actor, 'document.read', documentResource(document), target);
    return this.withRecorders(actor, await eventsReaching(repos, { document }));
  }

  private async withRecorders(actor: Actor, reaching: { series: RecordSeries | null; events: ReachingEvent[] }): Promise<RetentionEventListing> {
    const ids = [...new Set(reaching.events.map((e) => e.recordedBy).filter((id): id is string => id !== null))];
    const users = (await Promise.all(ids.map((id) => this.o.store.repos.users.byId(id)))).filter((u) => u !== undefined);
    const identified = await this.o.access.can(actor, users.map((u) => ({ action: 'person.identify' as const, resource: { kind: 'person' as const, userId: u.id, organisationId: u.organisationId } })));
    const emails = new Map(users.filter((_, i) => identified[i]).map((u) => [u.id, u.email]));
    return { series: reaching.series, events: reaching.events.map((e) => ({ ...e, recordedByEmail: e.recordedBy === null ? null : emails.get(e.recordedBy) ?? null })) };
  }

  /**
   * A trigger event's date is where event-triggered due dates count from, so recording or clearing one
   * can bring them earlier as surely as a shorter period: in the caller's transaction, `change` is made
   * and the due dates of the documents it reaches compared before and after. Any that moves from one
   * date to an earlier one refuses it (409, rolled back) unless confirmed, saying how many and the
   * earliest new date. An extension holds whatever the event (a minimum), so a record it keeps is not
   * counted; nor is a record's first date.
   */
  private async eventChanged(
    repos: Repos, organisationId: string, reached: { documentIds: readonly string[] } | { collectionId: string }, change: () => Promise<void>,
    options: { confirmShorter?: boolean }, doing: string,
  ): Promise<DueDateShift> {
    const ids = 'documentIds' in reached ? [...reached.documentIds] : await documentsBelow(repos, organisationId, reached.collectionId);
    const before = await computeFacts(repos, ids);
    // A record awaiting its event because its events were cleared is not getting its first date: it is measured
    // against the date it had (else clearing, then recording an earlier date, would bring it earlier unasked).
    const awaiting = [...before].filter(([, was]) => dueOf(was.facts) === null).map(([id]) => id);
    const hadBefore = awaiting.length > 0 ? await computeFacts(repos, awaiting, undefined, { clearedEventsToo: true }) : new Map<string, FactsWithSeries>();
    await change();
    const after = await computeFacts(repos, ids);
    const shift = { earlier: 0, later: 0 };
    let earliest: CalendarDate | null = null;
    for (const [id, was] of before) {
      const newDueAt = after.has(id) ? dueOf(after.get(id)!.facts) : null;
      const had = hadBefore.has(id) ? dueOf(hadBefore.get(id)!.facts) : null;
      // Measured against the date it had only when that brings it earlier; a first date, or a later one, is "dated" as before.
      const oldDueAt = dueOf(was.facts) ?? (dueDateMove(had, newDueAt) === 'earlier' ? had : null);
      const move = dueDateMove(oldDueAt, newDueAt);
      if (move === 'earlier') {
        shift.earlier += 1;
        if (earliest === null || compareDates(newDueAt!, earliest) < 0) earliest = newDueAt;
      } else if (move === 'later' || move === 'undated') shift.later += 1;
    }
    if (shift.earlier > 0 && options.confirmShorter !== true) {
      throw new DomainError('CONFLICT', `${doing} brings the due date of ${plural(shift.earlier, 'document')} earlier, the earliest to ${earliest}. `
        + 'Check the date, then confirm the change (confirmShorter) to go ahead.', { details: { earlier: shift.earlier, later: shift.later, earliest, reason: SHORTENED } });
    }
    return shift;
  }

  private validEvent(kind: string, date: string, now: Date): void {
    if (!TRIGGER_PATTERN.test(kind)) throw invalid(`"${kind}" is not an event: name it in lower-case letters, digits and underscores, such as employment_end.`, { field: 'kind' });
    if (!isCalendarDate(date)) throw invalid(`"${date}" is not a date: give a real date as YYYY-MM-DD, such as 2026-09-30.`, { field: 'date' });
    if (compareDates(date, ukDate(now)) > 0) throw invalid(`${date} is in the future: record an event once it has happened.`, { field: 'date' });
  }

  private async insertEvents(
    actor: Actor, events: { event: RetentionEvent; decision: Decision }[], reached: { documentIds: readonly string[] } | { collectionId: string }, options: { confirmShorter?: boolean }, now: Date,
  ): Promise<void> {
    const organisationId = events[0]!.event.organisationId;
    const targets = events.map(({ event }) => ({
      organisationId: event.organisationId, ids: { kind: event.kind, date: event.date, ...(event.documentId ? { documentId: event.documentId } : { collectionId: event.collectionId! }) },
    }));
    // Decided again inside the transaction, once for each organisation whose records it reaches, on the recorder as it reads them.
    const questions = new Map<string, DecidedAgain>();
    for (const target of targets) {
      if (!questions.has(target.organisationId)) {
        questions.set(target.organisationId, organisationAction('records.file-plan', target.organisationId, target.ids, 'records.event.record', 'collectionId' in reached ? 'collection' : 'document'));
      }
    }
    const [first, ...others] = questions.values();
    await changeDecidedWithin(this.o, actor, [first!, ...others], async (repos, { actor: acting, decisions }) => {
      const decided = new Map([...questions.keys()].map((id, i) => [id, decisions[i]!]));
      const shift = await this.eventChanged(repos, organisationId, reached, async () => {
        for (const { event } of events) await repos.retention.insertEvent(event);
      }, options, 'Recording this event');
      // How many due dates it moved is the change's, not one document's: told on each of its events.
      await repos.audit.insert(events.map(({ event }, i) => auditEvent(acting, 'records.event.record', {
        organisationId: event.organisationId, ids: { eventId: event.id, ...targets[i]!.ids, ...shortened(shift) },
      }, decided.get(event.organisationId)!, now)));
    }).catch((error: unknown) => this.o.dueDates.auditRefusedShortening(actor, 'records.event.record', targets, error));
  }

  private requireFilePlan(actor: Actor, organisationId: string, ids: Record<string, string>, missing: string): Promise<Decision> {
    return this.o.access.requireOrganisation(actor, 'records.file-plan', organisationId, ids, { missing });
  }

  // A records manager acts on the whole file plan, but is told a name only if they may see it (clearance).
  private async documentLabel(actor: Actor, doc: Document): Promise<string> {
    return (await this.o.access.may(actor, 'document.read', documentResource(doc))) ? doc.name : `Document ${doc.id}`;
  }

  private async collectionLabel(actor: Actor, collection: Collection): Promise<string> {
    return (await this.o.access.may(actor, 'collection.list', collectionResource(collection))) ? collection.name : `collection ${collection.id}`;
  }

  private async liveCollection(collectionId: string): Promise<Collection> {
    const collection = await this.o.store.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    return collection;
  }
}
