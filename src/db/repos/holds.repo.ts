// Legal holds and what they cover. Coverage reaches down the collection tree, so "is this held?" walks
// each document's collections up to the top and is read fresh on every call.
import { sql, type Kysely } from 'kysely';
import type { HoldItem, HoldRef, LegalHold } from '../../domain/records/holds.js';
import type { HoldsRepository } from '../../domain/repositories.js';
import type { DialectCaps } from '../kysely.js';
import type { LegalHoldItemsTable, LegalHoldsTable, Schema } from '../schema.js';
import { chainOf, collectionsWithAncestors } from './collection-chains.js';

const toHold = (r: LegalHoldsTable): LegalHold => ({
  id: r.id, organisationId: r.organisation_id, name: r.name, reason: r.reason, reference: r.reference, createdBy: r.created_by,
  createdAt: r.created_at, releasedAt: r.released_at, releasedBy: r.released_by, releaseReason: r.release_reason,
});

const toItem = (r: LegalHoldItemsTable): HoldItem => ({
  id: r.id, holdId: r.hold_id, organisationId: r.organisation_id, documentId: r.document_id, collectionId: r.collection_id, addedBy: r.added_by, addedAt: r.added_at,
});

const CHUNK = 500;

export class HoldsRepo implements HoldsRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly caps: DialectCaps) {}

  // SQLite has one writer at a time, so its transactions are already ordered: the locks are PostgreSQL's.
  async lockForPlacing(places: { documentIds: readonly string[]; collectionIds: readonly string[] }): Promise<void> {
    if (!this.caps.rowLocks) return;
    // Always in id order, documents first, as lockForDestroying starts with its document: no lock cycle between placers.
    const documentIds = [...new Set(places.documentIds)].sort();
    const collectionIds = [...new Set(places.collectionIds)].sort();
    for (let i = 0; i < documentIds.length; i += CHUNK) {
      await this.db.selectFrom('documents').select('id').where('id', 'in', documentIds.slice(i, i + CHUNK)).orderBy('id').modifyEnd(sql`for update`).execute();
    }
    for (let i = 0; i < collectionIds.length; i += CHUNK) {
      await this.db.selectFrom('collections').select('id').where('id', 'in', collectionIds.slice(i, i + CHUNK)).orderBy('id').modifyEnd(sql`for update`).execute();
    }
  }

  async lockForDestroying(documentId: string): Promise<void> {
    if (!this.caps.rowLocks) return;
    const doc = await this.db.selectFrom('documents').select('collection_id').where('id', '=', documentId).modifyEnd(sql`for update`).executeTakeFirst();
    // Up the chain, each collection share-locked before its parent is read: a hold placed on any of them is ordered with this.
    const seen = new Set<string>();
    for (let id = doc?.collection_id ?? null; id !== null && !seen.has(id);) {
      seen.add(id);
      const row = await this.db.selectFrom('collections').select('parent_id').where('id', '=', id).modifyEnd(sql`for share`).executeTakeFirst();
      id = row?.parent_id ?? null;
    }
  }

  async lockForChanging(places: { documentIds: readonly string[]; collectionIds: readonly string[] }): Promise<void> {
    if (!this.caps.rowLocks) return;
    // Documents first, then collections, each in id order: the order lockForPlacing takes them, so no cycle with a placer.
    const documentIds = [...new Set(places.documentIds)].sort();
    const parents: string[] = [];
    for (let i = 0; i < documentIds.length; i += CHUNK) {
      const rows = await this.db.selectFrom('documents').select(['id', 'collection_id']).where('id', 'in', documentIds.slice(i, i + CHUNK)).orderBy('id').modifyEnd(sql`for update`).execute();
      parents.push(...rows.map((r) => r.collection_id));
    }
    const changing = new Set(places.collectionIds);
    // The collections above them (a hold on a folder reaches down from there), read before they are locked.
    const links = await collectionsWithAncestors(this.db, [...changing, ...parents]);
    const ids = [...links.keys()].sort();
    // Strictly in id order whatever the mode: each run of one mode is one ordered statement.
    for (let i = 0; i < ids.length;) {
      const exclusive = changing.has(ids[i]!);
      let j = i;
      while (j < ids.length && j - i < CHUNK && changing.has(ids[j]!) === exclusive) j++;
      await this.db.selectFrom('collections').select('id').where('id', 'in', ids.slice(i, j)).orderBy('id').modifyEnd(exclusive ? sql`for update` : sql`for share`).execute();
      i = j;
    }
    await this.lockAncestorsMovedMeanwhile(ids);
  }

  /**
   * A folder above may have moved between the read of the chains and their locks: its mover held it then, so
   * the lock waited for the move and the chain read before it is the old one. A hold placed in that moment on
   * a folder above the new place would be neither waited for nor seen by the decision. Now that every
   * collection in `locked` is locked its parent cannot change, so each parent not yet locked is locked too, and
   * then its own parent read, up to the top (as lockForDestroying walks). Out of id order, but only when a
   * move raced this change; PostgreSQL ends a lock cycle that makes, and the change is refused with nothing
   * written, to be tried again (Store.transaction).
   */
  private async lockAncestorsMovedMeanwhile(locked: readonly string[]): Promise<void> {
    const held = new Set(locked);
    let check = [...locked];
    while (check.length > 0) {
      const unlocked = new Set<string>();
      for (let i = 0; i < check.length; i += CHUNK) {
        const rows = await this.db.selectFrom('collections').select('parent_id').where('id', 'in', check.slice(i, i + CHUNK)).execute();
        for (const { parent_id: parent } of rows) if (parent !== null && !held.has(parent)) unlocked.add(parent);
      }
      check = [...unlocked].sort();
      for (let i = 0; i < check.length; i += CHUNK) {
        await this.db.selectFrom('collections').select('id').where('id', 'in', check.slice(i, i + CHUNK)).orderBy('id').modifyEnd(sql`for share`).execute();
      }
      for (const id of check) held.add(id);
    }
  }

  async insert(h: LegalHold): Promise<void> {
    await this.db.insertInto('legal_holds').values({
      id: h.id, organisation_id: h.organisationId, name: h.name, reason: h.reason, reference: h.reference, created_by: h.createdBy,
      created_at: h.createdAt, released_at: h.releasedAt, released_by: h.releasedBy, release_reason: h.releaseReason,
    }).execute();
  }

  async byId(id: string): Promise<LegalHold | undefined> {
    const row = await this.db.selectFrom('legal_holds').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toHold(row);
  }

  async list(organisationId: string): Promise<LegalHold[]> {
    const rows = await this.db.selectFrom('legal_holds').selectAll().where('organisation_id', '=', organisationId).orderBy('created_at', 'desc').orderBy('id').execute();
    const holds = rows.map(toHold);
    return [...holds.filter((h) => h.releasedAt === null), ...holds.filter((h) => h.releasedAt !== null)];
  }

  async addItem(item: HoldItem): Promise<void> {
    await this.db.insertInto('legal_hold_items').values({
      id: item.id, hold_id: item.holdId, organisation_id: item.organisationId, document_id: item.documentId, collection_id: item.collectionId,
      added_by: item.addedBy, added_at: item.addedAt,
    }).execute();
  }

  async items(holdId: string): Promise<HoldItem[]> {
    const rows = await this.db.selectFrom('legal_hold_items').selectAll().where('hold_id', '=', holdId).orderBy('added_at').orderBy('id').execute();
    return rows.map(toItem);
  }

  async everyHold(): Promise<LegalHold[]> {
    return (await this.db.selectFrom('legal_holds').selectAll().orderBy('id').execute()).map(toHold);
  }

  async everyItem(): Promise<HoldItem[]> {
    return (await this.db.selectFrom('legal_hold_items').selectAll().orderBy('id').execute()).map(toItem);
  }

  async release(id: string, change: { at: string; by: string | null; reason: string }): Promise<boolean> {
    const updated = await this.db.updateTable('legal_holds').set({ released_at: change.at, released_by: change.by, release_reason: change.reason })
      .where('id', '=', id).where('released_at', 'is', null).executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  async activeForDocuments(documentIds: readonly string[]): Promise<Map<string, HoldRef[]>> {
    const out = new Map<string, HoldRef[]>();
    const unique = [...new Set(documentIds)];
    // A folder move or delete asks about every document in it: keep each query under the drivers' parameter limits.
    if (unique.length > CHUNK) {
      for (let i = 0; i < unique.length; i += CHUNK) for (const [id, holds] of await this.activeForDocuments(unique.slice(i, i + CHUNK))) out.set(id, holds);
      return out;
    }
    if (unique.length === 0) return out;
    const docs = await this.db.selectFrom('documents').select(['id', 'collection_id']).where('id', 'in', unique).execute();
    const links = await collectionsWithAncestors(this.db, docs.map((d) => d.collection_id));
    const items = await this.activeItems({ documentIds: docs.map((d) => d.id), collectionIds: [...links.keys()] });
    for (const d of docs) {
      const places = new Set([d.id, ...chainOf(d.collection_id, links).map((l) => l.id)]);
      const holds = uniqueHolds(items.filter((i) => places.has(i.documentId ?? i.collectionId ?? '')));
      if (holds.length > 0) out.set(d.id, holds);
    }
    return out;
  }

  async activeForCollections(collectionIds: readonly string[]): Promise<Map<string, HoldRef[]>> {
    const out = new Map<string, HoldRef[]>();
    if (collectionIds.length === 0) return out;
    const links = await collectionsWithAncestors(this.db, collectionIds);
    const items = await this.activeItems({ documentIds: [], collectionIds: [...links.keys()] });
    for (const id of new Set(collectionIds)) {
      const places = new Set(chainOf(id, links).map((l) => l.id));
      const holds = uniqueHolds(items.filter((i) => i.collectionId !== null && places.has(i.collectionId)));
      if (holds.length > 0) out.set(id, holds);
    }
    return out;
  }

  /** Items of active holds on any of these places, with their hold's name. */
  private async activeItems(places: { documentIds: string[]; collectionIds: string[] }) {
    if (places.documentIds.length === 0 && places.collectionIds.length === 0) return [];
    return this.db.selectFrom('legal_hold_items as i').innerJoin('legal_holds as h', 'h.id', 'i.hold_id')
      .select(['h.id as holdId', 'h.name as name', 'i.document_id as documentId', 'i.collection_id as collectionId'])
      .where('h.released_at', 'is', null)
      .where((eb) => eb.or([
        ...(places.documentIds.length ? [eb('i.document_id', 'in', places.documentIds)] : []),
        ...(places.collectionIds.length ? [eb('i.collection_id', 'in', places.collectionIds)] : []),
      ]))
      .orderBy('h.created_at').orderBy('h.id')
      .execute();
  }
}

function uniqueHolds(items: { holdId: string; name: string }[]): HoldRef[] {
  const byId = new Map<string, HoldRef>();
  for (const i of items) if (!byId.has(i.holdId)) byId.set(i.holdId, { id: i.holdId, name: i.name });
  return [...byId.values()];
}
