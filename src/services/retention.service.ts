// The file plan and retention: record series (versioned, audited), where collections and documents are
// filed, retention events, and each document's retention facts (series, trigger, due date, action, holds).
// Records management is always the owning organisation's: every change asks AccessService for a
// records action on the organisation the record belongs to, so no arrangement reaches it.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import type { RetentionEvent } from '../domain/records/events.js';
import { UNNAMED_HOLD, type HoldRef } from '../domain/records/holds.js';
import { compareDates, dueDateMove, isCalendarDate, ukDate, type CalendarDate } from '../domain/records/retention.js';
import { seriesProblems, type SeriesTerms } from '../domain/records/schedule.js';
import { TRIGGER_PATTERN, type DisposalAction, type RecordSeries, type SeriesRevision } from '../domain/records/series.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { computeFacts, computeRetention, dueOf, type DocumentRetention, type FactsWithSeries } from './retention-facts.js';

export type { DocumentRetention } from './retention-facts.js';

export interface RetentionServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  serviceAreas: readonly string[];
  /** The retention schedule every organisation's file plan starts from (assets/retention-schedule.csv). */
  schedule?: readonly SeriesTerms[];
}

/** What can change in a series: everything but its code. */
export type SeriesPatch = Partial<Omit<SeriesTerms, 'code'>>;

/** A document whose due date a series change moves. `name` only when the actor may read the document. */
export interface MovedDocument {
  id: string;
  name: string | null;
  /** Null: awaiting an event (no due date yet). */
  oldDueAt: CalendarDate | null;
  newDueAt: CalendarDate | null;
  direction: 'earlier' | 'later';
}

export interface SeriesChange {
  series: RecordSeries;
  moved: MovedDocument[];
  earlier: number;
  later: number;
}

/** A document's retention as pages and the API show it. */
export interface RetentionView {
  series: string | null;
  seriesTitle: string | null;
  trigger: string | null;
  triggerDate: CalendarDate | null;
  dueAt: CalendarDate | null;
  action: DisposalAction | null;
  state: 'unfiled' | 'awaiting_event' | 'scheduled';
  extended: boolean;
  holds: HoldRef[];
}

/** Where a collection is filed: its own series, or the one it inherits, and the events recorded on it. */
export interface CollectionFiling {
  ownSeries: string | null;
  /** The series that applies to what is filed here (its own, or the nearest above it). */
  series: RecordSeries | null;
  events: RetentionEvent[];
}

export interface NewRetentionEvent {
  kind: string;
  date: string;
  documentIds?: readonly string[];
  collectionId?: string;
}

const MAX_EVENT_DOCUMENTS = 1000;

export class RetentionService {
  constructor(protected readonly o: RetentionServiceOptions) {}

  // ── The file plan ─────────────────────────────────────────────────────────

  async listSeries(actor: Actor, organisationId: string): Promise<RecordSeries[]> {
    await this.o.access.requireOrganisation(actor, 'records.read', organisationId, {}, { missing: 'file plan' });
    return this.o.store.repos.retention.listSeries(organisationId);
  }

  async series(actor: Actor, organisationId: string, code: string): Promise<{ series: RecordSeries; revisions: SeriesRevision[] }> {
    await this.o.access.requireOrganisation(actor, 'records.read', organisationId, { seriesCode: code }, { missing: 'record series' });
    const series = await this.o.store.repos.retention.series(organisationId, code);
    if (!series) throw notFound('record series');
    return { series, revisions: await this.o.store.repos.retention.seriesRevisions(organisationId, code) };
  }

  async createSeries(actor: Actor, organisationId: string, terms: SeriesTerms, reason?: string): Promise<RecordSeries> {
    const decision = await this.o.access.requireOrganisation(actor, 'records.file-plan', organisationId, { seriesCode: String(terms.code) }, { missing: 'file plan' });
    const clean = this.validTerms(terms);
    const now = this.o.clock.now();
    const series: RecordSeries = { ...clean, organisationId, revision: 1, createdAt: now.toISOString(), updatedAt: now.toISOString() };
    await this.o.store.transaction(async (repos) => {
      if (!(await repos.retention.insertSeries(series, { reason: reason?.trim() || 'Created', changedBy: actor.userId }))) {
        throw conflict(`There is already a series ${series.code} in ${await this.organisationName(repos, organisationId)}'s file plan.`);
      }
      await repos.audit.insert([auditEvent(actor, 'records.series.create', { organisationId, ids: { seriesCode: series.code, revision: '1' } }, decision, now)]);
    });
    return series;
  }

  /** What `updateSeries` would do to due dates, changing nothing. */
  async previewSeriesChange(actor: Actor, organisationId: string, code: string, patch: SeriesPatch): Promise<SeriesChange> {
    await this.o.access.requireOrganisation(actor, 'records.file-plan', organisationId, { seriesCode: code }, { missing: 'record series' });
    const current = await this.o.store.repos.retention.series(organisationId, code);
    if (!current) throw notFound('record series');
    return this.changeOf(actor, current, patch);
  }

  /**
   * Changes a series (a new revision, with the reason, audited with how many due dates moved each way).
   * A change that brings any due date earlier is refused (409) unless `confirmShorter`: a period is
   * never shortened without the records manager having seen what it moves.
   */
  async updateSeries(actor: Actor, organisationId: string, code: string, patch: SeriesPatch, options: { reason?: string; confirmShorter?: boolean } = {}): Promise<SeriesChange> {
    const decision = await this.o.access.requireOrganisation(actor, 'records.file-plan', organisationId, { seriesCode: code }, { missing: 'record series' });
    const current = await this.o.store.repos.retention.series(organisationId, code);
    if (!current) throw notFound('record series');
    const change = await this.changeOf(actor, current, patch);
    const unchanged = (['title', 'serviceArea', 'trigger', 'retainYears', 'action', 'authority'] as const).every((k) => change.series[k] === current[k]);
    if (unchanged) throw invalid(`This changes nothing in ${code}: give a new title, service area, trigger, period, action or authority.`);
    if (change.earlier > 0 && options.confirmShorter !== true) {
      throw new DomainError('CONFLICT', `This change brings the due date of ${plural(change.earlier, 'document')} earlier. Check the list of documents it moves, then confirm the change (confirmShorter) to go ahead.`,
        { details: { earlier: change.earlier, later: change.later } });
    }
    const now = this.o.clock.now();
    const saved: RecordSeries = { ...change.series, revision: current.revision + 1, updatedAt: now.toISOString() };
    await this.o.store.transaction(async (repos) => {
      if (!(await repos.retention.saveSeries(saved, current.revision, { reason: options.reason?.trim() || 'No reason given', changedBy: actor.userId }))) {
        throw conflict(`${code} was changed by someone else at the same moment; look at it again and retry.`);
      }
      await repos.audit.insert([auditEvent(actor, 'records.series.update', {
        organisationId, ids: { seriesCode: code, revision: String(saved.revision), movedEarlier: String(change.earlier), movedLater: String(change.later) },
      }, decision, now)]);
    });
    return { ...change, series: saved };
  }

  private async changeOf(actor: Actor, current: RecordSeries, patch: SeriesPatch): Promise<SeriesChange> {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as SeriesPatch;
    const next: RecordSeries = { ...current, ...this.validTerms({ ...current, ...defined, code: current.code }) };
    const repos = this.o.store.repos;
    const ids = await repos.retention.documentsInSeries(current.organisationId, [current.code]);
    const before = await computeFacts(repos, ids);
    const after = await computeFacts(repos, ids, next);
    const moves: Omit<MovedDocument, 'name'>[] = [];
    for (const id of ids) {
      const oldDueAt = dueOf(before.get(id)!.facts);
      const newDueAt = dueOf(after.get(id)!.facts);
      const move = dueDateMove(oldDueAt, newDueAt);
      if (move === null) continue;
      // From "awaiting an event" to a date is earlier: the record may now fall due.
      moves.push({ id, oldDueAt, newDueAt, direction: move === 'earlier' || move === 'dated' ? 'earlier' : 'later' });
    }
    const docs: Document[] = [];
    for (let start = 0; start < moves.length; start += 500) docs.push(...(await repos.documents.byIds(moves.slice(start, start + 500).map((m) => m.id))));
    const readable = await this.o.access.can(actor, docs.map((d) => ({ action: 'document.read' as const, resource: documentResource(d) })));
    const names = new Map(docs.filter((_, i) => readable[i]).map((d) => [d.id, d.name]));
    const moved = moves.map((m) => ({ ...m, name: names.get(m.id) ?? null }));
    return { series: next, moved, earlier: moved.filter((m) => m.direction === 'earlier').length, later: moved.filter((m) => m.direction === 'later').length };
  }

  private validTerms(t: SeriesTerms): SeriesTerms {
    const terms: SeriesTerms = {
      code: String(t.code ?? '').trim(), title: String(t.title ?? '').trim(), serviceArea: String(t.serviceArea ?? ''), trigger: String(t.trigger ?? '').trim(),
      retainYears: t.retainYears, action: t.action, authority: String(t.authority ?? '').trim(),
    };
    const problems = seriesProblems(terms, this.o.serviceAreas);
    if (problems.length) throw invalid(`${capitalise(problems.join('; '))}.`, { problems });
    return terms;
  }

  // ── Seeding ───────────────────────────────────────────────────────────────

  /**
   * Gives an organisation the series of the retention schedule it lacks (existing codes are kept as
   * they are), in the caller's transaction; audited once with how many were added. For the
   * organisation's creation (IdentityService) and `init`/`demo` (`seedAll`).
   */
  async seedFilePlan(repos: Repos, organisationId: string, actor: Actor, decision: Decision, now: Date): Promise<number> {
    let added = 0;
    for (const terms of this.o.schedule ?? []) {
      if (!this.o.serviceAreas.includes(terms.serviceArea)) continue;
      const series: RecordSeries = { ...terms, organisationId, revision: 1, createdAt: now.toISOString(), updatedAt: now.toISOString() };
      if (await repos.retention.insertSeries(series, { reason: 'From the retention schedule', changedBy: actor.userId })) added += 1;
    }
    if (added > 0) await repos.audit.insert([auditEvent(actor, 'records.series.seed', { organisationId, ids: { added: String(added) } }, decision, now)]);
    return added;
  }

  /** Seeds every organisation's file plan (idempotent); returns how many series were added in all. */
  async seedAll(actor: Actor): Promise<number> {
    let added = 0;
    for (const org of await this.o.store.repos.organisations.list()) {
      const decision = await this.o.access.requireOrganisation(actor, 'records.file-plan', org.id, {}, { missing: 'organisation' });
      added += await this.o.store.transaction((repos) => this.seedFilePlan(repos, org.id, actor, decision, this.o.clock.now()));
    }
    return added;
  }

  // ── Filing ────────────────────────────────────────────────────────────────

  /** Files a collection (and everything below it without a series of its own) under a series, or unfiles it (null). */
  async setCollectionSeries(actor: Actor, collectionId: string, code: string | null, options: { confirmShorter?: boolean } = {}): Promise<void> {
    const collection = await this.liveCollection(collectionId);
    const organisationId = collection.organisationId;
    const target = { organisationId, ids: { collectionId, ...(code ? { seriesCode: code } : {}) } };
    const org = { kind: 'organisation' as const, organisationId };
    const [filePlan, manage] = await this.o.access.decisions(actor, [{ action: 'records.file-plan', resource: org }, { action: 'organisation.manage-collections', resource: org }]);
    // Either right will do; a refusal is audited (and answered 404) as the records manager's action.
    const decision = filePlan!.allow ? filePlan! : manage!.allow ? manage! : await this.o.access.require(actor, 'records.file-plan', org, target, { missing: 'collection' });
    if (code !== null) await this.requireSeries(organisationId, code);
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      // What it reaches: every document below the collection filed under a series before or after the change.
      const below = () => documentsBelow(repos, organisationId, collectionId);
      const before = await below();
      const moved = await this.refiled(repos, before, () => repos.retention.setCollectionSeries(collectionId, code), below, options, REFILING);
      await repos.audit.insert([auditEvent(actor, 'records.collection.series', { ...target, ids: { ...target.ids, movedEarlier: String(moved.earlier) } }, decision, now)]);
    }).catch((error: unknown) => this.auditRefusedShortening(actor, 'records.collection.series', target, error));
  }

  /** Files one document under its own series (overriding its collection's), or back under its collection's (null). */
  async setDocumentSeries(actor: Actor, documentId: string, code: string | null, options: { confirmShorter?: boolean } = {}): Promise<void> {
    const doc = await this.liveDocument(documentId);
    const target = { organisationId: doc.organisationId, ids: { documentId, ...(code ? { seriesCode: code } : {}) } };
    const decision = await this.o.access.require(actor, 'records.file-plan', { kind: 'organisation', organisationId: doc.organisationId }, target, { missing: 'document' });
    if (code !== null) await this.requireSeries(doc.organisationId, code);
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await this.refiled(repos, [documentId], () => repos.retention.setDocumentSeries(documentId, code), async () => [documentId], options, REFILING);
      await repos.audit.insert([auditEvent(actor, 'records.document.series', target, decision, now)]);
    }).catch((error: unknown) => this.auditRefusedShortening(actor, 'records.document.series', target, error));
  }

  /**
   * Refiling under another series can shorten a period as surely as editing the series: like a series
   * change, it is refused (409, and `change` rolled back with the transaction) when it brings any due
   * date earlier, unless confirmed. Returns how many due dates it brings earlier and later.
   */
  private async refiled(
    repos: Repos, before: readonly string[], change: () => Promise<void>, after: () => Promise<string[]>, options: { confirmShorter?: boolean }, refusal: (earlier: number) => string,
  ): Promise<DueDateShift> {
    const old = await computeFacts(repos, before);
    await change();
    const ids = [...new Set([...before, ...(await after())])];
    const now = await computeFacts(repos, ids);
    const shift = { earlier: 0, later: 0 };
    for (const id of ids) {
      // A first filing applies the schedule (the normal way in); it is refiling that can cut a period short.
      const was = old.get(id);
      if (!was?.series) continue;
      const move = dueDateMove(dueOf(was.facts), now.has(id) ? dueOf(now.get(id)!.facts) : null);
      if (move === null) continue;
      // From "awaiting an event" to a date counts as earlier: the record may now fall due.
      if (move === 'earlier' || move === 'dated') shift.earlier += 1;
      else shift.later += 1;
    }
    if (shift.earlier > 0 && options.confirmShorter !== true) {
      throw new DomainError('CONFLICT', refusal(shift.earlier), { details: { earlier: shift.earlier, later: shift.later, reason: SHORTENED } });
    }
    return shift;
  }

  // ── Moves ────────────────────────────────────────────────────────────────

  /**
   * A document's retention derives from where it is (the series of its collection or the nearest one
   * above), so moving a document, or a collection with everything below it, is refiling by another
   * name, and follows the same rule: in the caller's transaction, `change` (the move) is made and the
   * due dates of the documents below `collectionId` (or of `documentIds`) compared before and after;
   * any brought earlier refuses the move (409, rolled back) unless a records manager confirmed it
   * (`requireShorteningConfirmable` first). Returns how many moved earlier and later, for the move's event.
   */
  async moved(repos: Repos, organisationId: string, affected: { documentIds: readonly string[] } | { collectionId: string }, change: () => Promise<void>, options: { confirmShorter?: boolean } = {}): Promise<DueDateShift> {
    const documents = 'documentIds' in affected
      ? async () => [...affected.documentIds]
      : () => documentsBelow(repos, organisationId, affected.collectionId);
    return this.refiled(repos, await documents(), change, documents, options, (earlier) => `Moving it brings the due date of ${plural(earlier, 'document')} earlier: `
      + 'the place it goes to is filed under a record series with a shorter period, or a trigger event there is dated earlier. A records manager must check the new due dates and confirm the move for it to go ahead.');
  }

  /**
   * Confirming a move that brings due dates earlier is the file plan's authority (`records.file-plan`:
   * the organisation's records managers), asked of decide() and audited when refused. The actor sees
   * what they are moving, so a refusal is told plainly (403), not as absence.
   */
  async requireShorteningConfirmable(actor: Actor, organisationId: string, ids: Record<string, string>): Promise<void> {
    const decision = await this.o.access.check(actor, 'records.file-plan', { kind: 'organisation', organisationId }, { organisationId, ids: { ...ids, confirmShorter: 'true' } });
    if (!decision.allow) throw forbidden('Only a records manager can confirm a move that brings due dates earlier (confirmShorter): move it without confirming, or ask a records manager to.');
  }

  /**
   * Records a move refused for shortening a period (the 409 of `moved`, after its transaction rolled
   * back), like every other refusal; then lets the error go on its way.
   */
  async auditRefusedShortening(actor: Actor, action: string, targets: AuditTargetOf | readonly AuditTargetOf[], error: unknown): Promise<never> {
    if (error instanceof DomainError && error.details?.reason === SHORTENED) {
      for (const target of Array.isArray(targets) ? targets : [targets as AuditTargetOf]) {
        await this.o.access.recordRefusal(actor, action, { ...target, ids: { ...target.ids, movedEarlier: String(error.details.earlier) } }, SHORTENED);
      }
    }
    throw error;
  }

  /** Checks that a series exists in the organisation's plan, for callers about to file under it (no access check of its own). */
  async requireSeries(organisationId: string, code: string): Promise<RecordSeries> {
    const series = await this.o.store.repos.retention.series(organisationId, code);
    if (!series) throw invalid(`There is no record series ${code} in ${await this.organisationName(this.o.store.repos, organisationId)}'s file plan.`, { field: 'series' });
    return series;
  }

  /** Checks, before something is created in `organisationId`, that the actor may file under `code` there and that it exists. */
  async requireFilable(actor: Actor, organisationId: string, code: string): Promise<void> {
    const org = { kind: 'organisation' as const, organisationId };
    const answers = await this.o.access.can(actor, [{ action: 'records.file-plan', resource: org }, { action: 'organisation.manage-collections', resource: org }]);
    if (!answers.some(Boolean)) await this.o.access.require(actor, 'records.file-plan', org, { organisationId, ids: { seriesCode: code } }, { missing: 'file plan' });
    await this.requireSeries(organisationId, code);
  }

  /** A collection's filing, for its page: readable by whoever may list the collection. */
  async collectionFiling(actor: Actor, collectionId: string): Promise<CollectionFiling> {
    const collection = await this.liveCollection(collectionId);
    await this.o.access.require(actor, 'collection.list', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId } });
    return this.filingOf(collection);
  }

  private async filingOf(collection: Collection): Promise<CollectionFiling> {
    const collectionId = collection.id;
    const repos = this.o.store.repos;
    const chain: Collection[] = [];
    for (let c: Collection | undefined = collection; c && chain.length < 100; c = c.parentId ? await repos.collections.byId(c.parentId) : undefined) chain.push(c);
    const codes = await Promise.all(chain.map((c) => repos.retention.collectionSeries(c.id)));
    const code = codes.find((c) => c !== null) ?? null;
    const series = code === null ? null : (await repos.retention.series(collection.organisationId, code)) ?? null;
    const events = (await repos.retention.eventsFor({ documentIds: [], collectionIds: [collectionId] })).filter((e) => e.documentId === null && e.clearedAt === null);
    return { ownSeries: codes[0] ?? null, series, events };
  }

  // ── Retention events ──────────────────────────────────────────────────────

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
      const filing = await this.filingOf(collection);
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
   */
  async clearEvent(actor: Actor, eventId: string, options: { confirmShorter?: boolean } = {}): Promise<RetentionEvent> {
    const event = await this.o.store.repos.retention.event(eventId);
    if (!event) throw notFound('retention event');
    const decision = await this.requireFilePlan(actor, event.organisationId, { eventId }, 'retention event');
    if (event.clearedAt !== null) throw conflict('That event was already cleared.');
    const now = this.o.clock.now();
    const target = { organisationId: event.organisationId, ids: { eventId, kind: event.kind } };
    await this.o.store.transaction(async (repos) => {
      const reached = event.documentId !== null ? { documentIds: [event.documentId] } : { collectionId: event.collectionId! };
      const shift = await this.eventChanged(repos, event.organisationId, reached, () => repos.retention.clearEvent(eventId, now.toISOString(), actor.userId), options, 'Clearing this event');
      await repos.audit.insert([auditEvent(actor, 'records.event.clear', { ...target, ids: { ...target.ids, ...shortened(shift) } }, decision, now)]);
    }).catch((error: unknown) => this.auditRefusedShortening(actor, 'records.event.clear', target, error));
    return { ...event, clearedAt: now.toISOString(), clearedBy: actor.userId };
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
    await this.o.store.transaction(async (repos) => {
      const shift = await this.eventChanged(repos, organisationId, reached, async () => {
        for (const { event } of events) await repos.retention.insertEvent(event);
      }, options, 'Recording this event');
      // How many due dates it moved is the change's, not one document's: told on each of its events.
      await repos.audit.insert(events.map(({ event, decision }, i) => auditEvent(actor, 'records.event.record', {
        organisationId: event.organisationId, ids: { eventId: event.id, ...targets[i]!.ids, ...shortened(shift) },
      }, decision, now)));
    }).catch((error: unknown) => this.auditRefusedShortening(actor, 'records.event.record', targets, error));
  }

  // ── Retention facts ───────────────────────────────────────────────────────

  /**
   * Retention facts and active holds of each of these documents that exists, for the disposal slice's
   * sweeps and execution. No access check: internal use only, never handed to an interface as is.
   */
  retentionFacts(documentIds: readonly string[]): Promise<Map<string, DocumentRetention>> {
    return computeRetention(this.o.store.repos, documentIds);
  }

  /** A document's retention, for whoever may read the document. */
  async retentionOf(actor: Actor, documentId: string): Promise<RetentionView> {
    const doc = await this.o.store.repos.documents.byId(documentId);
    if (!doc) throw notFound('document');
    await this.o.access.require(actor, 'document.read', documentResource(doc), { organisationId: doc.organisationId, ids: { documentId } });
    const view = (await this.viewsOf([documentId])).get(documentId) ?? unfiled();
    // A partner reading the document learns that it is held, not the owning organisation's name for the hold.
    const named = (await this.o.access.decisionFor(actor, 'records.hold-names', { kind: 'organisation', organisationId: doc.organisationId })).allow;
    return named ? view : { ...view, holds: view.holds.map((h) => ({ id: h.id, name: UNNAMED_HOLD })) };
  }

  private async viewsOf(ids: readonly string[]): Promise<Map<string, RetentionView>> {
    const repos = this.o.store.repos;
    const facts = await computeFacts(repos, ids);
    const holds = await repos.holds.activeForDocuments([...facts.keys()]);
    const out = new Map<string, RetentionView>();
    for (const [id, { facts: f, series }] of facts) {
      const view = unfiled();
      view.holds = holds.get(id) ?? [];
      if (f.state !== 'unfiled') {
        Object.assign(view, { series: f.seriesCode, seriesTitle: series?.title ?? null, trigger: f.trigger, action: f.action, state: f.state });
        if (f.state === 'scheduled') Object.assign(view, { triggerDate: f.triggerDate, dueAt: f.dueAt, extended: f.extended });
      }
      out.set(id, view);
    }
    return out;
  }

  // ── Helpers ───────────────────────────────────────────────────────────────

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

  private async liveDocument(documentId: string): Promise<Document> {
    const doc = await this.o.store.repos.documents.byId(documentId);
    if (!doc || doc.status === 'disposed') throw notFound('document');
    return doc;
  }

  private async organisationName(repos: Repos, organisationId: string): Promise<string> {
    return (await repos.organisations.byId(organisationId))?.name ?? 'this organisation';
  }
}

/** How many documents' due dates a change moved earlier and later. */
export interface DueDateShift {
  earlier: number;
  later: number;
}

/** A move's audit ids for the due dates it moved (none when it moved none). */
export function dueDatesMoved(shift: DueDateShift): Record<string, string> {
  return shift.earlier + shift.later > 0 ? { movedEarlier: String(shift.earlier), movedLater: String(shift.later) } : {};
}

/** A change's audit ids for a confirmed shortening: how many due dates it brought earlier and later, and that it was confirmed. */
const shortened = (shift: DueDateShift): Record<string, string> => (shift.earlier > 0 ? { ...dueDatesMoved(shift), confirmShorter: 'true' } : {});

/** The reason a change refused for bringing due dates earlier, unconfirmed, is audited with. */
export const SHORTENED = 'retention_shortened';

type AuditTargetOf = { organisationId: string; ids: Record<string, string> };

/** Every document filed under a series in or below a collection. */
async function documentsBelow(repos: Repos, organisationId: string, collectionId: string): Promise<string[]> {
  return (await repos.retention.placements(await repos.retention.documentsInSeries(organisationId)))
    .filter((p) => p.collections.some((c) => c.id === collectionId)).map((p) => p.documentId);
}

const REFILING = (earlier: number): string => `Filing it under this series brings the due date of ${plural(earlier, 'document')} earlier. Check the series' period, then confirm the change (confirmShorter) to go ahead.`;

const unfiled = (): RetentionView => ({ series: null, seriesTitle: null, trigger: null, triggerDate: null, dueAt: null, action: null, state: 'unfiled', extended: false, holds: [] });
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
