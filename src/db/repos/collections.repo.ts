// The file plan: collections in a tree per organisation.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';
import type { CollectionFacts } from '../../domain/audit/access-facts-record.js';
import type { CollectionsRepository } from '../../domain/repositories.js';
import type { Collection } from '../../domain/types.js';
import { preparedQuery } from '../prepared-query.js';
import type { Schema } from '../schema.js';
import { toCollection } from './rows.js';
import { folderNameKey } from './folder-name-key.js';
import { nameKey } from '../../domain/names.js';
import { givingLiveName } from '../unique-violations.js';

// Every upload, and every check of a collection's place, reads a collection by id: prepared once.
const collectionById = preparedQuery((db, values: { id: string }) => db.selectFrom('collections').selectAll().where('id', '=', values.id));
const collectionByIdShareLocked = preparedQuery((db, values: { id: string }) =>
  db.selectFrom('collections').selectAll().where('id', '=', values.id).modifyEnd(sql`for share`));
// Every WebDAV request walks its path a collection at a time.
const topCollectionByName = preparedQuery((db, values: { organisationId: string; name: string }) =>
  db.selectFrom('collections').selectAll().where('organisation_id', '=', values.organisationId).where('name', '=', values.name).where('deleted_at', 'is', null).where('parent_id', 'is', null));
const childCollectionByName = preparedQuery((db, values: { organisationId: string; parentId: string; name: string }) =>
  db.selectFrom('collections').selectAll().where('organisation_id', '=', values.organisationId).where('name', '=', values.name).where('deleted_at', 'is', null).where('parent_id', '=', values.parentId));
// What a claim reads: the live holders of a name in any case (its key), oldest first, as the key indexes count them.
const topCollectionsHoldingName = preparedQuery((db, values: { organisationId: string; key: string }) =>
  db.selectFrom('collections').selectAll().where('organisation_id', '=', values.organisationId).where('name_key', '=', values.key).where('deleted_at', 'is', null).where('parent_id', 'is', null)
    .orderBy('created_at').orderBy('id'));
const childCollectionsHoldingName = preparedQuery((db, values: { organisationId: string; parentId: string; key: string }) =>
  db.selectFrom('collections').selectAll().where('organisation_id', '=', values.organisationId).where('name_key', '=', values.key).where('deleted_at', 'is', null).where('parent_id', '=', values.parentId)
    .orderBy('created_at').orderBy('id'));

const sameKeyAndPlace = (key: string, parentId: string | null) =>
  sql<string>`case when name_key = ${key} and ${parentId === null ? sql`parent_id is null` : sql`parent_id = ${parentId}`} then name_key_duplicate else '' end`;

export class CollectionsRepo implements CollectionsRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly caps: DialectCaps) {}

  async insert(c: Collection): Promise<void> {
    await givingLiveName('collection', () => this.db
      .insertInto('collections')
      .values({
        id: c.id, organisation_id: c.organisationId, parent_id: c.parentId, name: c.name, name_key: nameKey(c.name), service_area: c.serviceArea,
        classification: c.classification, arrangement_id: c.arrangementId, created_at: c.createdAt, deleted_at: null,
      })
      .execute());
  }

  async byId(id: string): Promise<Collection | undefined> {
    const [row] = (await collectionById.run(this.db, { id })).rows;
    return row && toCollection(row);
  }

  async byIds(ids: readonly string[]): Promise<Collection[]> {
    if (ids.length === 0) return [];
    return (await this.db.selectFrom('collections').selectAll().where('id', 'in', [...ids]).execute()).map(toCollection);
  }

  /**
   * A collection read inside a transaction that files something into it. On PostgreSQL the row is
   * share-locked, so a concurrent move of the collection (which updates the row) and the filing are
   * ordered: whichever commits second sees the other's result. SQLite has one writer at a time.
   */
  async byIdForFiling(id: string): Promise<Collection | undefined> {
    const [row] = (await (this.caps.rowLocks ? collectionByIdShareLocked : collectionById).run(this.db, { id })).rows;
    return row && toCollection(row);
  }

  async children(organisationId: string, parentId: string | null): Promise<Collection[]> {
    let q = this.db.selectFrom('collections').selectAll().where('organisation_id', '=', organisationId).where('deleted_at', 'is', null);
    q = parentId === null ? q.where('parent_id', 'is', null) : q.where('parent_id', '=', parentId);
    return (await q.orderBy('name').execute()).map(toCollection);
  }

  async childByName(organisationId: string, parentId: string | null, name: string): Promise<Collection | undefined> {
    const { rows: [row] } = parentId === null
      ? await topCollectionByName.run(this.db, { organisationId, name })
      : await childCollectionByName.run(this.db, { organisationId, parentId, name });
    return row && toCollection(row);
  }

  async childrenHoldingName(organisationId: string, parentId: string | null, name: string): Promise<Collection[]> {
    const key = nameKey(name);
    const { rows } = parentId === null
      ? await topCollectionsHoldingName.run(this.db, { organisationId, key })
      : await childCollectionsHoldingName.run(this.db, { organisationId, parentId, key });
    return rows.map(toCollection);
  }

  async claimName(organisationId: string, parentId: string | null, name: string): Promise<Collection[]> {
    // PostgreSQL: a lock on the (parent, name) pair alone, held to the end of the transaction, so folders of other
    // names are not ordered behind each other. Under a parent the key is the one a document of that name claims
    // there (DocumentsRepo.claimName), so a folder and a document taking one name wait for each other; the
    // organisation keys the top level (parent null), which holds no documents.
    // SQLite: its one connection runs one transaction at a time, and a write from another process after this
    // read fails the commit (busy).
    // Either key is the name's in any case (nameKey), so `Reports` and `reports` wait for each other.
    const key = parentId === null ? `collection-name:${organisationId}/top/${nameKey(name)}` : folderNameKey(parentId, name);
    if (this.caps.rowLocks) await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(this.db);
    return this.childrenHoldingName(organisationId, parentId, name);
  }

  async listByOrganisation(organisationId: string): Promise<Collection[]> {
    return (
      await this.db.selectFrom('collections').selectAll().where('organisation_id', '=', organisationId).where('deleted_at', 'is', null).orderBy('name').execute()
    ).map(toCollection);
  }

  async byArrangement(arrangementId: string): Promise<Collection[]> {
    return (await this.db.selectFrom('collections').selectAll().where('arrangement_id', '=', arrangementId).execute()).map(toCollection);
  }

  /** Writes a collection's name, place and the facts derived from its place (domain/placement.ts). */
  async place(id: string, p: { name: string; parentId: string | null; serviceArea: string; classification: string; arrangementId: string | null }): Promise<void> {
    await givingLiveName('collection', () => this.db.updateTable('collections')
      // The key with the name. A row the upgrade kept as a case duplicate (migration 202612260000) is one no longer
      // once its key or place changes (the claim having found the new one free); placed as it was, it stays one.
      .set({ name: p.name, name_key: nameKey(p.name), name_key_duplicate: sameKeyAndPlace(nameKey(p.name), p.parentId), parent_id: p.parentId, service_area: p.serviceArea, classification: p.classification, arrangement_id: p.arrangementId })
      .where('id', '=', id).execute());
  }

  async everyPlacement(): Promise<CollectionFacts[]> {
    return (await this.db.selectFrom('collections').select(['id', 'organisation_id', 'parent_id', 'deleted_at', 'classification', 'service_area', 'arrangement_id']).orderBy('id').execute())
      .map((r) => ({ id: r.id, organisationId: r.organisation_id, parentId: r.parent_id, deletedAt: r.deleted_at, classification: r.classification, serviceArea: r.service_area, arrangementId: r.arrangement_id }));
  }

  async softDelete(id: string, at: string): Promise<void> {
    await this.db.updateTable('collections').set({ deleted_at: at }).where('id', '=', id).execute();
  }
}
