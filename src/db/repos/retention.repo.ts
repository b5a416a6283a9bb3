// The file plan's series and revisions, where documents and collections are filed, and retention events.
import type { Kysely } from 'kysely';
import type { RetentionEvent } from '../../domain/records/events.js';
import type { DisposalAction, RecordSeries, SeriesRevision } from '../../domain/records/series.js';
import type { DocumentsInSeriesPage, RetentionPlacement, RetentionRepository } from '../../domain/repositories.js';
import type { RecordSeriesTable, RetentionEventsTable, Schema } from '../schema.js';
import { chainOf, collectionsWithAncestors } from './collection-chains.js';
import { DISPOSED } from './disposed-status.js';

/** Documents read a statement when every document in a series is asked for: a page of the council, not all of it. */
const SERIES_PAGE = 1000;

const toSeries = (r: RecordSeriesTable): RecordSeries => ({
  organisationId: r.organisation_id, code: r.code, title: r.title, serviceArea: r.service_area, trigger: r.trigger,
  retainYears: r.retain_years, action: r.action as DisposalAction, authority: r.authority, revision: r.revision, createdAt: r.created_at, updatedAt: r.updated_at,
});

const seriesRow = (s: RecordSeries): RecordSeriesTable => ({
  organisation_id: s.organisationId, code: s.code, title: s.title, service_area: s.serviceArea, trigger: s.trigger,
  retain_years: s.retainYears, action: s.action, authority: s.authority, revision: s.revision, created_at: s.createdAt, updated_at: s.updatedAt,
});

const toEvent = (r: RetentionEventsTable): RetentionEvent => ({
  id: r.id, organisationId: r.organisation_id, kind: r.kind, date: r.event_date, documentId: r.document_id, collectionId: r.collection_id,
  recordedBy: r.recorded_by, recordedAt: r.recorded_at, clearedAt: r.cleared_at, clearedBy: r.cleared_by,
});

export class RetentionRepo implements RetentionRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async listSeries(organisationId: string): Promise<RecordSeries[]> {
    return (await this.db.selectFrom('record_series').selectAll().where('organisation_id', '=', organisationId).orderBy('code').execute()).map(toSeries);
  }

  async series(organisationId: string, code: string): Promise<RecordSeries | undefined> {
    const row = await this.db.selectFrom('record_series').selectAll().where('organisation_id', '=', organisationId).where('code', '=', code).executeTakeFirst();
    return row && toSeries(row);
  }

  async insertSeries(series: RecordSeries, change: { reason: string; changedBy: string | null }): Promise<boolean> {
    const inserted = await this.db.insertInto('record_series').values(seriesRow(series)).onConflict((oc) => oc.columns(['organisation_id', 'code']).doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    await this.addRevision(series, change);
    return true;
  }

  async saveSeries(series: RecordSeries, expectedRevision: number, change: { reason: string; changedBy: string | null }): Promise<boolean> {
    const { organisation_id: _o, code: _c, created_at: _a, ...fields } = seriesRow(series);
    const updated = await this.db.updateTable('record_series').set(fields)
      .where('organisation_id', '=', series.organisationId).where('code', '=', series.code).where('revision', '=', expectedRevision).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await this.addRevision(series, change);
    return true;
  }

  private async addRevision(series: RecordSeries, change: { reason: string; changedBy: string | null }): Promise<void> {
    await this.db.insertInto('record_series_revisions').values({
      organisation_id: series.organisationId, code: series.code, revision: series.revision, snapshot: JSON.stringify(series),
      reason: change.reason, changed_by: change.changedBy, changed_at: series.updatedAt,
    }).execute();
  }

  async seriesRevisions(organisationId: string, code: string): Promise<SeriesRevision[]> {
    const rows = await this.db.selectFrom('record_series_revisions').selectAll().where('organisation_id', '=', organisationId).where('code', '=', code).orderBy('revision').execute();
    return rows.map((r) => ({ revision: r.revision, snapshot: JSON.parse(r.snapshot) as RecordSeries, reason: r.reason, changedBy: r.changed_by, changedAt: r.changed_at }));
  }

  async setCollectionSeries(collectionId: string, seriesCode: string | null): Promise<void> {
    await this.db.updateTable('collections').set({ series_code: seriesCode }).where('id', '=', collectionId).execute();
  }

  async collectionSeries(collectionId: string): Promise<string | null> {
    return (await this.db.selectFrom('collections').select('series_code').where('id', '=', collectionId).executeTakeFirst())?.series_code ?? null;
  }

  async setDocumentSeries(documentId: string, seriesCode: string | null): Promise<void> {
    await this.db.updateTable('documents').set({ series_code: seriesCode }).where('id', '=', documentId).execute();
  }

  async setRetainUntil(documentId: string, date: string | null): Promise<void> {
    await this.db.updateTable('documents').set({ retain_until: date }).where('id', '=', documentId).execute();
  }

  async placements(documentIds: readonly string[]): Promise<RetentionPlacement[]> {
    if (documentIds.length === 0) return [];
    const docs = await this.db.selectFrom('documents').select(['id', 'organisation_id', 'collection_id', 'created_at', 'series_code', 'retain_until'])
      .where('id', 'in', [...new Set(documentIds)]).execute();
    const links = await collectionsWithAncestors(this.db, docs.map((d) => d.collection_id));
    return docs.map((d) => ({
      documentId: d.id, organisationId: d.organisation_id, createdAt: d.created_at, ownSeriesCode: d.series_code, retainUntil: d.retain_until, collectionId: d.collection_id,
      collections: chainOf(d.collection_id, links).map((l) => ({ id: l.id, parentId: l.parentId, seriesCode: l.seriesCode })),
    }));
  }

  async documentsInSeries(organisationId: string, seriesCodes?: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for (let after: string | null = null; ;) {
      const page: DocumentsInSeriesPage = await this.documentsInSeriesPage(organisationId, after, SERIES_PAGE, seriesCodes);
      found.push(...page.ids);
      if (page.last === null) return found;
      after = page.last;
    }
  }

  async documentsInSeriesPage(organisationId: string, after: string | null, limit: number, seriesCodes?: readonly string[]): Promise<DocumentsInSeriesPage> {
    // One range of documents_organisation_id (organisation_id, id) a page: never the whole council in one statement.
    let query = this.db.selectFrom('documents').select(['id', 'collection_id', 'series_code']).where('organisation_id', '=', organisationId).where('status', '!=', DISPOSED);
    if (after !== null) query = query.where('id', '>', after);
    const docs = await query.orderBy('id').limit(limit).execute();
    const links = await collectionsWithAncestors(this.db, docs.map((d) => d.collection_id));
    const wanted = seriesCodes ? new Set(seriesCodes) : null;
    const ids = docs.filter((d) => {
      const code = d.series_code ?? chainOf(d.collection_id, links).find((l) => l.seriesCode !== null)?.seriesCode ?? null;
      return code !== null && (wanted === null || wanted.has(code));
    }).map((d) => d.id);
    return { ids, last: docs.length < limit ? null : docs.at(-1)!.id };
  }

  async insertEvent(e: RetentionEvent): Promise<void> {
    await this.db.insertInto('retention_events').values({
      id: e.id, organisation_id: e.organisationId, kind: e.kind, event_date: e.date, document_id: e.documentId, collection_id: e.collectionId,
      recorded_by: e.recordedBy, recorded_at: e.recordedAt, cleared_at: e.clearedAt, cleared_by: e.clearedBy,
    }).execute();
  }

  async event(id: string): Promise<RetentionEvent | undefined> {
    const row = await this.db.selectFrom('retention_events').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toEvent(row);
  }

  async clearEvent(id: string, at: string, by: string | null): Promise<void> {
    await this.db.updateTable('retention_events').set({ cleared_at: at, cleared_by: by }).where('id', '=', id).where('cleared_at', 'is', null).execute();
  }

  async eventsFor(places: { documentIds: readonly string[]; collectionIds: readonly string[] }): Promise<RetentionEvent[]> {
    if (places.documentIds.length === 0 && places.collectionIds.length === 0) return [];
    const rows = await this.db.selectFrom('retention_events').selectAll().where((eb) => eb.or([
      ...(places.documentIds.length ? [eb('document_id', 'in', [...places.documentIds])] : []),
      ...(places.collectionIds.length ? [eb('collection_id', 'in', [...places.collectionIds])] : []),
    ])).orderBy('recorded_at').execute();
    return rows.map(toEvent);
  }

  async seriesSetBelow(collectionId: string): Promise<string[]> {
    // Level by level down the tree (file plans are shallow), then the series set on any of them or their documents.
    const tree = new Set([collectionId]);
    for (let level = [collectionId]; level.length > 0;) {
      const rows = await this.db.selectFrom('collections').select('id').where('parent_id', 'in', level).execute();
      level = rows.map((r) => r.id).filter((id) => !tree.has(id));
      level.forEach((id) => tree.add(id));
    }
    const ids = [...tree];
    const onCollections = await this.db.selectFrom('collections').select('series_code').distinct().where('id', 'in', ids).where('series_code', 'is not', null).execute();
    const onDocuments = await this.db.selectFrom('documents').select('series_code').distinct().where('collection_id', 'in', ids).where('series_code', 'is not', null).execute();
    return [...new Set([...onCollections, ...onDocuments].map((r) => r.series_code!))].sort();
  }
}
