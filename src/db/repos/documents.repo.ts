// Documents and their versions. The document row carries the current version's facts via a join.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DocumentFacts } from '../../domain/audit/access-facts-record.js';
import type { DocumentPatch, DocumentsRepository, InCollectionOptions, ThumbnailRef, VersionTextState } from '../../domain/repositories.js';
import type { TextStatus } from '../../domain/search/types.js';
import type { Document, DocumentStatus, ScanStatus, Version } from '../../domain/types.js';
import type { DialectCaps } from '../kysely.js';
import { preparedQuery, standInColumns } from '../prepared-query.js';
import type { DocumentsTable, Schema, VersionsTable } from '../schema.js';
import { claimBlobReference } from './blob-references.js';
import { toDocument, toVersion, type DocumentRow } from './rows.js';
import { folderNameKey } from './folder-name-key.js';
import { nameKey } from '../../domain/names.js';
import { givingLiveName } from '../unique-violations.js';
import { DISPOSED } from './disposed-status.js';

/** Documents with their current version's facts, which every listing and lookup of them shows. */
function selectDocuments(db: Kysely<Schema>) {
  return db
    .selectFrom('documents')
    .innerJoin('versions', 'versions.id', 'documents.current_version_id')
    .selectAll('documents')
    .select(['versions.size as size', 'versions.sha256 as sha256', 'versions.media_type as media_type', 'versions.source_modified_at as source_modified_at']);
}

const documentById = preparedQuery((db, values: { id: string }) => selectDocuments(db).where('documents.id', '=', values.id));

/**
 * Every download asks this. The document row already joins its current version; the rest of that
 * version's columns come with it, so a download reads one row instead of two.
 */
const documentWithCurrentVersion = preparedQuery((db, values: { id: string }) =>
  selectDocuments(db).where('documents.id', '=', values.id).select([
    'versions.id as v_id', 'versions.document_id as v_document_id', 'versions.organisation_id as v_organisation_id', 'versions.number as v_number',
    'versions.blob_id as v_blob_id', 'versions.wrapped_key as v_wrapped_key', 'versions.key_id as v_key_id', 'versions.scan_status as v_scan_status',
    'versions.scan_detail as v_scan_detail', 'versions.scan_engine as v_scan_engine', 'versions.scanned_at as v_scanned_at',
    'versions.author_id as v_author_id', 'versions.created_at as v_created_at', 'versions.release_reason as v_release_reason',
  ]));

/** A new document's row: its own series and extended retention are set later, by records managers. */
type NewDocumentRow = Omit<Selectable<DocumentsTable>, 'series_code' | 'retain_until' | 'name_key_duplicate'>;
/**
 * A new version's row: its text state and thumbnail are the worker's, set when it has read the file; a
 * release reason is written only by a release from quarantine; it waits for the offsite replica until the
 * replication job records its copy (replicated_at, BlobReplicasRepo.markReplicated).
 */
type NewVersionRow = Omit<Selectable<VersionsTable>, 'text_status' | 'text_reason' | 'thumbnail_blob_id' | 'thumbnail_wrapped_key' | 'thumbnail_key_id' | 'thumbnail_size' | 'release_reason' | 'replicated_at'>;

// Every upload writes a document and a version and looks for a document of the same name; the worker
// reads and records each version's text state. Prepared once.
const insertDocumentRow = preparedQuery((db, values: NewDocumentRow) =>
  db.insertInto('documents').values(standInColumns(values, {
    id: true, organisation_id: true, collection_id: true, name: true, name_key: true, classification: true, service_area: true, status: true,
    current_version: true, current_version_id: true, legal_hold: true, arrangement_id: true, copied_from_document_id: true,
    copied_via_arrangement_id: true, created_at: true, updated_at: true, deleted_at: true,
  })));
const insertVersionRow = preparedQuery((db, values: NewVersionRow) =>
  db.insertInto('versions').values(standInColumns(values, {
    id: true, document_id: true, organisation_id: true, number: true, size: true, sha256: true, media_type: true, blob_id: true,
    wrapped_key: true, key_id: true, scan_status: true, scan_detail: true, scan_engine: true, scanned_at: true, author_id: true,
    created_at: true, source_modified_at: true,
  })));
const documentByName = preparedQuery((db, values: { collectionId: string; name: string }) =>
  // The live document of exactly this name (a WebDAV path's last step; claims read documentsHoldingName), as the
  // live-name index (migration 202612200000) and every listing count them: a disposed stub (a record destroyed, or a
  // quarantined file destroyed) is none, so its name can be given again.
  selectDocuments(db).where('documents.collection_id', '=', values.collectionId).where('documents.name', '=', values.name)
    .where('documents.deleted_at', 'is', null).where('documents.status', '!=', DISPOSED));
// What a claim reads: the live holders of a name in any case (its key), oldest first, as the key index counts them.
const documentsHoldingName = preparedQuery((db, values: { collectionId: string; key: string }) =>
  selectDocuments(db).where('documents.collection_id', '=', values.collectionId).where('documents.name_key', '=', values.key)
    .where('documents.deleted_at', 'is', null).where('documents.status', '!=', DISPOSED).orderBy('documents.created_at').orderBy('documents.id'));
const versionById = preparedQuery((db, values: { id: string }) => db.selectFrom('versions').selectAll().where('id', '=', values.id));
const textStateOf = preparedQuery((db, values: { versionId: string }) =>
  db.selectFrom('versions').select(['text_status', 'text_reason', 'thumbnail_blob_id', 'thumbnail_wrapped_key', 'thumbnail_key_id', 'thumbnail_size']).where('id', '=', values.versionId));
const setTextOnly = preparedQuery((db, values: { versionId: string; status: string; reason: string | null }) =>
  db.updateTable('versions').set({ text_status: values.status, text_reason: values.reason }).where('id', '=', values.versionId));
const setTextAndThumbnail = preparedQuery((db, values: {
  versionId: string; status: string; reason: string | null;
  thumbnailBlobId: string | null; thumbnailWrappedKey: Buffer | null; thumbnailKeyId: string | null; thumbnailSize: number | null;
}) =>
  db.updateTable('versions').set({
    text_status: values.status, text_reason: values.reason, thumbnail_blob_id: values.thumbnailBlobId,
    thumbnail_wrapped_key: values.thumbnailWrappedKey, thumbnail_key_id: values.thumbnailKeyId, thumbnail_size: values.thumbnailSize,
  }).where('id', '=', values.versionId));

export class DocumentsRepo implements DocumentsRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly caps: Pick<DialectCaps, 'rowLocks'>) {}

  private selectDocuments() {
    return selectDocuments(this.db);
  }

  async insertDocument(d: Omit<Document, 'size' | 'sha256' | 'mediaType' | 'sourceModifiedAt'>): Promise<void> {
    await givingLiveName('document', () => insertDocumentRow.run(this.db, {
      id: d.id, organisation_id: d.organisationId, collection_id: d.collectionId, name: d.name, name_key: nameKey(d.name),
      classification: d.classification, service_area: d.serviceArea, status: d.status,
      current_version: d.currentVersion, current_version_id: d.currentVersionId, legal_hold: 0,
      arrangement_id: d.arrangementId, copied_from_document_id: d.copiedFromDocumentId, copied_via_arrangement_id: d.copiedViaArrangementId, created_at: d.createdAt, updated_at: d.updatedAt, deleted_at: d.deletedAt,
    }));
  }

  async insertVersion(v: Version): Promise<void> {
    await claimBlobReference(this.db, v.blobId);
    await insertVersionRow.run(this.db, {
      id: v.id, document_id: v.documentId, organisation_id: v.organisationId, number: v.number, size: v.size,
      sha256: v.sha256, media_type: v.mediaType, blob_id: v.blobId, wrapped_key: Buffer.from(v.wrappedKey),
      key_id: v.keyId, scan_status: v.scanStatus, scan_detail: v.scanDetail, scan_engine: v.scanEngine,
      scanned_at: v.scannedAt, author_id: v.authorId, created_at: v.createdAt, source_modified_at: v.sourceModifiedAt ?? null,
    });
  }

  async byId(id: string): Promise<Document | undefined> {
    const [row] = (await documentById.run(this.db, { id })).rows;
    return row && toDocument(row as DocumentRow);
  }

  /**
   * On PostgreSQL the document's row is locked (FOR NO KEY UPDATE) before it is read, so the caller
   * sees it as no other transaction can change it until this one ends. SQLite has one writer at a time.
   */
  async byIdForChange(id: string): Promise<Document | undefined> {
    if (this.caps.rowLocks) await sql`select 1 from documents where id = ${id} for no key update`.execute(this.db);
    return this.byId(id);
  }

  async byIds(ids: readonly string[]): Promise<Document[]> {
    if (ids.length === 0) return [];
    const rows = await this.selectDocuments().where('documents.id', 'in', [...ids]).execute();
    return rows.map((r) => toDocument(r as DocumentRow));
  }

  async placementPage(afterId: string | null, limit: number): Promise<(DocumentFacts & { deletedAt: string | null })[]> {
    let q = this.db.selectFrom('documents').select(['id', 'organisation_id', 'collection_id', 'deleted_at', 'status', 'classification', 'service_area', 'arrangement_id']);
    if (afterId !== null) q = q.where('id', '>', afterId);
    return (await q.orderBy('id').limit(limit).execute()).map((r) => ({
      id: r.id, organisationId: r.organisation_id, collectionId: r.collection_id, deletedAt: r.deleted_at, status: r.status, classification: r.classification, serviceArea: r.service_area, arrangementId: r.arrangement_id,
    }));
  }

  async byName(collectionId: string, name: string): Promise<Document | undefined> {
    const [row] = (await documentByName.run(this.db, { collectionId, name })).rows;
    return row && toDocument(row as DocumentRow);
  }

  async claimName(collectionId: string, name: string): Promise<Document[]> {
    // PostgreSQL: a lock on the (folder, name) pair alone, held to the end of the transaction, so uploads of other
    // names into the same folder are not ordered behind each other; the key is the one a sub-collection of that name
    // claims (CollectionsRepo.claimName), so a document and a folder taking one name wait for each other.
    // SQLite: its one connection runs one transaction at a time, and a write from another process after this read
    // fails the commit (busy).
    if (this.caps.rowLocks) await sql`select pg_advisory_xact_lock(hashtextextended(${folderNameKey(collectionId, name)}, 0))`.execute(this.db);
    return this.holdersOfName(collectionId, name);
  }

  async holdersOfName(collectionId: string, name: string): Promise<Document[]> {
    return (await documentsHoldingName.run(this.db, { collectionId, key: nameKey(name) })).rows.map((r) => toDocument(r as DocumentRow));
  }

  async inCollection(collectionId: string, options: InCollectionOptions = {}): Promise<Document[]> {
    // A disposed document is a stub of a record that no longer exists: it is in no listing, and does
    // not hold up moving or deleting its collection.
    let q = this.selectDocuments().where('documents.collection_id', '=', collectionId).where('documents.status', '!=', DISPOSED);
    if (!options.includeDeleted) q = q.where('documents.deleted_at', 'is', null);
    if (options.classifications !== undefined) {
      // None readable: no row to read. (`in ()` is not SQL.)
      if (options.classifications.length === 0) return [];
      q = q.where('documents.classification', 'in', options.classifications);
    }
    const { after, afterId } = options;
    // (name, id) is unique where a name alone is not (binned documents may share one): strictly after that pair.
    // Written `name >= after and (name > after or id > afterId)` so the name index still bounds the scan.
    if (after !== undefined && afterId !== undefined) {
      q = q.where('documents.name', '>=', after).where((eb) => eb.or([eb('documents.name', '>', after), eb('documents.id', '>', afterId)]));
    } else if (after !== undefined) q = q.where('documents.name', '>', after);
    q = q.orderBy('documents.name').orderBy('documents.id');
    const rows = await (options.limit === undefined ? q : q.limit(options.limit)).execute();
    return rows.map((r) => toDocument(r as DocumentRow));
  }

  async recentInOrganisations(organisationIds: string[], limit: number): Promise<Document[]> {
    if (organisationIds.length === 0) return [];
    const rows = await this.selectDocuments()
      .where('documents.organisation_id', 'in', organisationIds)
      .where('documents.deleted_at', 'is', null)
      .where('documents.status', '!=', DISPOSED)
      .orderBy('documents.updated_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => toDocument(r as DocumentRow));
  }

  async versions(documentId: string): Promise<Version[]> {
    return (await this.db.selectFrom('versions').selectAll().where('document_id', '=', documentId).orderBy('number').execute()).map(toVersion);
  }

  async withCurrentVersion(id: string): Promise<{ document: Document; version: Version } | undefined> {
    const [row] = (await documentWithCurrentVersion.run(this.db, { id })).rows;
    if (!row) return undefined;
    const version = toVersion({
      id: row.v_id, document_id: row.v_document_id, organisation_id: row.v_organisation_id, number: row.v_number, size: row.size, sha256: row.sha256,
      media_type: row.media_type, blob_id: row.v_blob_id, wrapped_key: row.v_wrapped_key, key_id: row.v_key_id, scan_status: row.v_scan_status,
      scan_detail: row.v_scan_detail, scan_engine: row.v_scan_engine, scanned_at: row.v_scanned_at, author_id: row.v_author_id,
      created_at: row.v_created_at, source_modified_at: row.source_modified_at, release_reason: row.v_release_reason,
    } as Parameters<typeof toVersion>[0]);
    return { document: toDocument(row as DocumentRow), version };
  }

  async version(documentId: string, number: number): Promise<Version | undefined> {
    const row = await this.db.selectFrom('versions').selectAll().where('document_id', '=', documentId).where('number', '=', number).executeTakeFirst();
    return row && toVersion(row);
  }

  async versionById(id: string): Promise<Version | undefined> {
    const [row] = (await versionById.run(this.db, { id })).rows;
    return row && toVersion(row);
  }

  async versionsByIds(ids: readonly string[]): Promise<Version[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('versions').selectAll().where('id', 'in', [...ids]).execute();
    return rows.map(toVersion);
  }

  async versionsByScanStatus(statuses: ScanStatus[], organisationId?: string): Promise<Version[]> {
    let q = this.db.selectFrom('versions').selectAll().where('scan_status', 'in', statuses);
    if (organisationId) q = q.where('organisation_id', '=', organisationId);
    return (await q.orderBy('created_at').execute()).map(toVersion);
  }

  async versionsSince(since: string, limit: number, afterId = ''): Promise<Version[]> {
    return (
      await this.db.selectFrom('versions').selectAll().where('created_at', '>=', since).where('id', '>', afterId)
        .where('scan_status', 'in', ['clean', 'released']).orderBy('id').limit(limit).execute()
    ).map(toVersion);
  }

  /** Points the document at a new current version; guarded so concurrent writers cannot both win. */
  async setCurrentVersion(documentId: string, expectedCurrent: number, version: Version, status: DocumentStatus, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('documents')
      .set({ current_version: version.number, current_version_id: version.id, status, updated_at: at })
      .where('id', '=', documentId)
      .where('current_version', '=', expectedCurrent)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async update(id: string, patch: DocumentPatch, at: string): Promise<void> {
    const set: Record<string, unknown> = { updated_at: at };
    // The key goes with every name written. A row the upgrade kept as a case duplicate (migration 202612260000) is
    // one no longer once its key or place changes (the claim having found the new one free); written as it was, it stays one.
    if (patch.name !== undefined) Object.assign(set, { name: patch.name, name_key: nameKey(patch.name) });
    if (patch.collectionId !== undefined) set.collection_id = patch.collectionId;
    if (patch.name !== undefined || patch.collectionId !== undefined) {
      const key = patch.name === undefined ? sql.ref('name_key') : sql`${nameKey(patch.name)}`;
      const place = patch.collectionId === undefined ? sql.ref('collection_id') : sql`${patch.collectionId}`;
      set.name_key_duplicate = sql`case when name_key = ${key} and collection_id = ${place} then name_key_duplicate else '' end`;
    }
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.deletedAt !== undefined) set.deleted_at = patch.deletedAt;
    if (patch.classification !== undefined) set.classification = patch.classification;
    if (patch.arrangementId !== undefined) set.arrangement_id = patch.arrangementId;
    if (patch.serviceArea !== undefined) set.service_area = patch.serviceArea;
    await givingLiveName('document', () => this.db.updateTable('documents').set(set).where('id', '=', id).execute());
  }

  async updateVersionScan(versionId: string, scan: { status: ScanStatus; detail: string | null; engine: string | null; at: string; releaseReason?: string }): Promise<void> {
    // The version's document first (see DocumentsRepository.updateVersionScan).
    if (this.caps.rowLocks) await sql`select 1 from documents where id = (select document_id from versions where id = ${versionId}) for no key update`.execute(this.db);
    await this.db
      .updateTable('versions')
      .set({ scan_status: scan.status, scan_detail: scan.detail, scan_engine: scan.engine, scanned_at: scan.at, ...(scan.releaseReason === undefined ? {} : { release_reason: scan.releaseReason }) })
      .where('id', '=', versionId)
      .execute();
  }

  /** Crypto-shredding: without the wrapped key no copy of the blob can ever be decrypted. */
  async destroyVersionKey(versionId: string): Promise<void> {
    await this.db.updateTable('versions').set({ wrapped_key: null, thumbnail_wrapped_key: null }).where('id', '=', versionId).execute();
  }

  async textState(versionId: string): Promise<VersionTextState | undefined> {
    const [row] = (await textStateOf.run(this.db, { versionId })).rows;
    if (!row) return undefined;
    const thumbnail = row.thumbnail_blob_id !== null && row.thumbnail_wrapped_key !== null && row.thumbnail_key_id !== null && row.thumbnail_size !== null
      ? { blobId: row.thumbnail_blob_id, wrappedKey: row.thumbnail_wrapped_key, keyId: row.thumbnail_key_id, size: Number(row.thumbnail_size) }
      : null;
    return { status: row.text_status as TextStatus, reason: row.text_reason, thumbnail, thumbnailBlobId: row.thumbnail_blob_id };
  }

  async forgetThumbnail(versionId: string, blobId: string): Promise<boolean> {
    const result = await this.db.updateTable('versions')
      .set({ thumbnail_blob_id: null, thumbnail_wrapped_key: null, thumbnail_key_id: null, thumbnail_size: null })
      .where('id', '=', versionId).where('thumbnail_blob_id', '=', blobId).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async blobNamedBesides(blobId: string, versionId: string): Promise<'content' | 'thumbnail' | null> {
    if (await this.db.selectFrom('versions').select('id').where('blob_id', '=', blobId).limit(1).executeTakeFirst()) return 'content';
    const thumbnail = await this.db.selectFrom('versions').select('id').where('thumbnail_blob_id', '=', blobId).where('id', '<>', versionId).limit(1).executeTakeFirst();
    return thumbnail ? 'thumbnail' : null;
  }

  async setTextState(versionId: string, state: { status: TextStatus; reason: string | null }, thumbnail?: ThumbnailRef | null): Promise<void> {
    const text = { versionId, status: state.status, reason: state.reason };
    if (thumbnail === undefined) {
      await setTextOnly.run(this.db, text);
      return;
    }
    if (thumbnail) await claimBlobReference(this.db, thumbnail.blobId);
    await setTextAndThumbnail.run(this.db, {
      ...text, thumbnailBlobId: thumbnail?.blobId ?? null, thumbnailWrappedKey: thumbnail ? Buffer.from(thumbnail.wrappedKey) : null,
      thumbnailKeyId: thumbnail?.keyId ?? null, thumbnailSize: thumbnail?.size ?? null,
    });
  }

  async versionsAwaitingText(options: { statuses: readonly TextStatus[]; organisationId?: string; afterId?: string; limit: number }): Promise<{ id: string; organisationId: string; size: number; authorOrganisationId: string | null }[]> {
    if (options.statuses.length === 0) return [];
    // A document in the bin is included: restoring it fires no lifecycle event that would extract it.
    let q = this.db
      .selectFrom('versions')
      .innerJoin('documents', 'documents.current_version_id', 'versions.id')
      .leftJoin('users as author', 'author.id', 'versions.author_id')
      .select(['versions.id', 'documents.organisation_id', 'versions.size', 'author.organisation_id as author_organisation_id'])
      .where('versions.text_status', 'in', [...options.statuses])
      .where('versions.scan_status', 'in', ['clean', 'released'])
      .where('versions.wrapped_key', 'is not', null)
      .where('documents.status', '!=', DISPOSED);
    if (options.organisationId !== undefined) q = q.where('documents.organisation_id', '=', options.organisationId);
    if (options.afterId !== undefined) q = q.where('versions.id', '>', options.afterId);
    const rows = await q.orderBy('versions.id').limit(options.limit).execute();
    return rows.map((r) => ({ id: r.id, organisationId: r.organisation_id, size: Number(r.size), authorOrganisationId: r.author_organisation_id }));
  }

  async blobIds(): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('versions').select('blob_id').execute()).map((r) => r.blob_id));
  }
}
