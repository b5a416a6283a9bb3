// The file plan and retention: record series (versioned, audited), where collections and documents are
// filed, and each document's retention facts (series, trigger, due date, action, holds). Retention
// events are retention-events.service.ts's; the checks that refiling and moves do not bring due dates
// earlier unconfirmed, retention-due-dates.ts's.
// Records management is always the owning organisation's: every change asks AccessService for a
// records action on the organisation the record belongs to, so no arrangement reaches it.
import type { Decision } from '../domain/access/policy.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import { UNNAMED_HOLD, type HoldRef } from '../domain/records/holds.js';
import { dueDateMove, type CalendarDate } from '../domain/records/retention.js';
import { seriesProblems, type SeriesTerms } from '../domain/records/schedule.js';
import type { DisposalAction, RecordSeries, SeriesRevision } from '../domain/records/series.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import { changeDecidedWithin, organisationAction } from './decided-within.js';
import type { IdentityService } from './identity.service.js';
import { documentsBelow, plural, refiled, type DueDateChecks } from './retention-due-dates.js';
import { computeFacts, computeRetention, dueOf, filingOf, type CollectionFiling, type DocumentRetention } from './retention-facts.js';

export type { CollectionFiling, DocumentRetention } from './retention-facts.js';

export interface RetentionServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  serviceAreas: readonly string[];
  /** The retention schedule every organisation's file plan starts from (assets/retention-schedule.csv). */
  schedule?: readonly SeriesTerms[];
  /** Refiling is checked, and a refusal audited, as moves are. */
  dueDates: DueDateChecks;
  /** Reads the records manager again inside the transaction that changes a series or a filing (changeDecidedWithin). */
  identity: Pick<IdentityService, 'actorWithin'>;
}

/** A refiling decided before a move's transaction and written inside it (RetentionService.stageDocumentSeries). */
export interface StagedRefiling {
  /** In the move's transaction, inside its due-date comparison: decided again, the series written and its event. */
  write(repos: Repos, now: Date): Promise<void>;
  /** What a refiling that brings due dates earlier unconfirmed is refused with, when the request is not a move. */
  refusal(earlier: number): string;
}

/**
 * A new collection's filing, decided before the collection is created and written in the transaction that creates
 * it (RetentionService.stageNewCollectionSeries), so a folder is never created without the series it was asked for.
 */
export interface StagedNewFiling {
  /**
   * Opens the creating transaction: decides the filing again on the actor as it reads them (changeDecidedWithin;
   * refused, only the refusal's event is committed and the refusal thrown), runs `create` (the collection's own
   * writes), then files `collection` under the series, with its event. Whatever `create` throws rolls it all back.
   */
  within(collection: Collection, now: Date, create: (repos: Repos) => Promise<void>): Promise<void>;
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
    await this.o.access.requireOrganisation(actor, 'records.file-plan', organisationId, { seriesCode: String(terms.code) }, { missing: 'file plan' });
    const clean = this.validTerms(terms);
    const now = this.o.clock.now();
    const series: RecordSeries = { ...clean, organisationId, revision: 1, createdAt: now.toISOString(), updatedAt: now.toISOString() };
    const again = organisationAction('records.file-plan', organisationId, { seriesCode: series.code }, 'records.series.create', 'file plan');
    await changeDecidedWithin(this.o, actor, [again], async (repos, { actor: acting, decision }) => {
      if (!(await repos.retention.insertSeries(series, { reason: reason?.trim() || 'Created', changedBy: acting.userId }))) {
        throw conflict(`There is already a series ${series.code} in ${await this.organisationName(repos, organisationId)}'s file plan.`);
      }
      await repos.audit.insert([auditEvent(acting, 'records.series.create', { organisationId, ids: { seriesCode: series.code, revision: '1' } }, decision, now)]);
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
    await this.o.access.requireOrganisation(actor, 'records.file-plan', organisationId, { seriesCode: code }, { missing: 'record series' });
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
    const again = organisationAction('records.file-plan', organisationId, { seriesCode: code }, 'records.series.update', 'record series');
    await changeDecidedWithin(this.o, actor, [again], async (repos, { actor: acting, decision }) => {
      if (!(await repos.retention.saveSeries(saved, current.revision, { reason: options.reason?.trim() || 'No reason given', changedBy: acting.userId }))) {
        throw conflict(`${code} was changed by someone else at the same moment; look at it again and retry.`);
      }
      await repos.audit.insert([auditEvent(acting, 'records.series.update', {
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
   * organisation's creation (OrganisationsService) and `init`/`demo` (`seedAll`).
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
    const { organisationId, target, right } = await this.decideCollectionFiling(actor, collectionId, code);
    const now = this.o.clock.now();
    // Decided again inside the transaction, on the actor as it reads them, by the right that allowed it before.
    const again = organisationAction(right, organisationId, target.ids, 'records.collection.series', 'collection');
    await changeDecidedWithin(this.o, actor, [again], async (repos, { actor: acting, decision }) => {
      // What it reaches: every document below the collection filed under a series before or after the change.
      const below = () => documentsBelow(repos, organisationId, collectionId);
      const before = await below();
      const moved = await refiled(repos, before, () => repos.retention.setCollectionSeries(collectionId, code), below, options, REFILING);
      await repos.audit.insert([auditEvent(acting, 'records.collection.series', { ...target, ids: { ...target.ids, movedEarlier: String(moved.earlier) } }, decision, now)]);
    }).catch((error: unknown) => this.o.dueDates.auditRefusedShortening(actor, 'records.collection.series', target, error));
  }

  /** Files one document under its own series (overriding its collection's), or back under its collection's (null). */
  async setDocumentSeries(actor: Actor, documentId: string, code: string | null, options: { confirmShorter?: boolean } = {}): Promise<void> {
    const { doc, target } = await this.decideDocumentFiling(actor, documentId, code);
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [organisationAction('records.file-plan', doc.organisationId, target.ids, 'records.document.series', 'document')], async (repos, { actor: acting, decision }) => {
      const moved = await refiled(repos, [documentId], () => repos.retention.setDocumentSeries(documentId, code), async () => [documentId], options, REFILING);
      // Whether it brought the due date earlier, as a collection's refiling says: who did is read from it at disposal approval.
      await repos.audit.insert([auditEvent(acting, 'records.document.series', { ...target, ids: { ...target.ids, movedEarlier: String(moved.earlier) } }, decision, now)]);
    }).catch((error: unknown) => this.o.dueDates.auditRefusedShortening(actor, 'records.document.series', target, error));
  }

  /**
   * A document's refiling decided and checked (the records manager's right, the series in the file plan) but not
   * written, for a request that also renames or moves it (a PATCH): the move writes it in its own transaction,
   * inside the due-date comparison it makes, so the request is all or nothing (a move refused after the refiling
   * was decided leaves the document's series as it was) and the two are confirmed together.
   */
  async stageDocumentSeries(actor: Actor, documentId: string, code: string | null): Promise<StagedRefiling> {
    const { doc, target } = await this.decideDocumentFiling(actor, documentId, code);
    return this.staged(actor, 'records.document.series', target, { kind: 'document', organisationId: doc.organisationId }, (repos) => repos.retention.setDocumentSeries(documentId, code));
  }

  /** As stageDocumentSeries, for a collection (and everything below it without a series of its own) renamed or moved in the same request. */
  async stageCollectionSeries(actor: Actor, collectionId: string, code: string | null): Promise<StagedRefiling> {
    const { organisationId, target, right } = await this.decideCollectionFiling(actor, collectionId, code);
    return this.staged(actor, 'records.collection.series', target, { kind: 'collection', organisationId }, (repos) => repos.retention.setCollectionSeries(collectionId, code), right);
  }

  /**
   * A collection about to be created in `organisationId` filed under `code`, decided now (the right to file there,
   * by either right as decideCollectionFiling; the series in the plan) and written by `within` in the creating
   * transaction, decided again there: a creator whose role was taken away, or who was switched off, meanwhile
   * leaves no folder behind (POST /api/v1/collections with a series; `demo`).
   */
  async stageNewCollectionSeries(actor: Actor, organisationId: string, code: string): Promise<StagedNewFiling> {
    const target = { organisationId, ids: { seriesCode: code } };
    const right = await this.decideFilingRight(actor, organisationId, target, 'file plan');
    await this.requireSeries(organisationId, code);
    const again = organisationAction(right, organisationId, target.ids, 'records.collection.series', 'file plan');
    return {
      within: (collection, now, create) => changeDecidedWithin(this.o, actor, [again], async (repos, { actor: acting, decision }) => {
        await create(repos);
        // Decided on the file plan of the parent's organisation as read before; the parent moved to another meanwhile is not that plan.
        if (collection.organisationId !== organisationId) throw conflict('The parent collection was moved at the same moment; try again.');
        await this.seriesIn(repos, organisationId, code);
        await repos.retention.setCollectionSeries(collection.id, code);
        await repos.audit.insert([auditEvent(acting, 'records.collection.series', { organisationId, ids: { collectionId: collection.id, seriesCode: code } }, decision, now)]);
      }),
    };
  }

  /** Whether the actor may file this document under `code` (the records manager's right; the series in the file plan), before any transaction. */
  private async decideDocumentFiling(actor: Actor, documentId: string, code: string | null) {
    const doc = await this.liveDocument(documentId);
    const target = { organisationId: doc.organisationId, ids: { documentId, ...(code ? { seriesCode: code } : {}) } };
    await this.o.access.require(actor, 'records.file-plan', { kind: 'organisation', organisationId: doc.organisationId }, target, { missing: 'document' });
    if (code !== null) await this.requireSeries(doc.organisationId, code);
    return { doc, target };
  }

  /**
   * Whether the actor may file this collection under `code`, and by which right: a records manager's, or an org admin's
   * managing collections (either will do; a refusal is audited, and answered 404, as the records manager's action).
   */
  private async decideCollectionFiling(actor: Actor, collectionId: string, code: string | null) {
    const { organisationId } = await this.liveCollection(collectionId);
    const target = { organisationId, ids: { collectionId, ...(code ? { seriesCode: code } : {}) } };
    const right = await this.decideFilingRight(actor, organisationId, target, 'collection');
    if (code !== null) await this.requireSeries(organisationId, code);
    return { organisationId, target, right };
  }

  /** Which right lets the actor file collections in `organisationId`'s plan; neither: refused as `records.file-plan` (audited), told `missing` is not there. */
  private async decideFilingRight(actor: Actor, organisationId: string, target: AuditTarget, missing: string): Promise<FilingRight> {
    const org = { kind: 'organisation' as const, organisationId };
    const [filePlan, manage] = await this.o.access.decisions(actor, [{ action: 'records.file-plan', resource: org }, { action: 'organisation.manage-collections', resource: org }]);
    if (!filePlan!.allow && !manage!.allow) await this.o.access.require(actor, 'records.file-plan', org, target, { missing });
    return filePlan!.allow ? 'records.file-plan' : 'organisation.manage-collections';
  }

  private staged(
    actor: Actor, auditAs: string, target: { organisationId: string; ids: Record<string, string> }, told: { kind: 'document' | 'collection'; organisationId: string },
    write: (repos: Repos) => Promise<void>, action: FilingRight = 'records.file-plan',
  ): StagedRefiling {
    return {
      refusal: REFILING,
      write: async (repos, now) => {
        // Decided again on the rows as the move's transaction reads them; a refusal rolls the whole request back
        // and is audited by the move's afterRollback.
        const [decision] = await this.o.access.requireWithin(repos, actor, [{ action, resource: { kind: 'organisation', organisationId: target.organisationId }, target, auditAs, told }]) as [Decision];
        await write(repos);
        await repos.audit.insert([auditEvent(actor, auditAs, target, decision, now)]);
      },
    };
  }

  /** Checks that a series exists in the organisation's plan, for callers about to file under it (no access check of its own). */
  async requireSeries(organisationId: string, code: string): Promise<RecordSeries> {
    return this.seriesIn(this.o.store.repos, organisationId, code);
  }

  private async seriesIn(repos: Repos, organisationId: string, code: string): Promise<RecordSeries> {
    const series = await repos.retention.series(organisationId, code);
    if (!series) throw invalid(`There is no record series ${code} in ${await this.organisationName(repos, organisationId)}'s file plan.`, { field: 'series' });
    return series;
  }

  /** A collection's filing, for its page: readable by whoever may list the collection. */
  async collectionFiling(actor: Actor, collectionId: string): Promise<Omit<CollectionFiling, 'chain'>> {
    const collection = await this.liveCollection(collectionId);
    await this.o.access.require(actor, 'collection.list', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId } });
    const { ownSeries, series } = await filingOf(this.o.store.repos, collection);
    return { ownSeries, series };
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

/** The rights either of which lets someone file collections: a records manager's, or an org admin's managing collections. */
type FilingRight = 'records.file-plan' | 'organisation.manage-collections';

const REFILING = (earlier: number): string => `Filing it under this series brings the due date of ${plural(earlier, 'document')} earlier. Check the series' period, then confirm the change (confirmShorter) to go ahead.`;

const unfiled = (): RetentionView => ({ series: null, seriesTitle: null, trigger: null, triggerDate: null, dueAt: null, action: null, state: 'unfiled', extended: false, holds: [] });
const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
