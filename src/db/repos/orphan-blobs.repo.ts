// The garbage collection's candidates (orphan_blob_candidates) and which blob ids the database names.
// See services/orphan-blobs.service.ts for the rule, and blob-references.ts for the fence it relies on.
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { OrphanBlobCandidate, OrphanBlobsRepository, SweptStore } from '../../domain/repositories.js';
import type { Schema } from '../schema.js';

/** Ids per statement: well under SQLite's and PostgreSQL's limits on bound values. */
const BATCH = 500;

export class OrphanBlobsRepo implements OrphanBlobsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async referencedAmong(store: SweptStore, blobIds: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let at = 0; at < blobIds.length; at += BATCH) {
      const ids = blobIds.slice(at, at + BATCH);
      const versions = await this.db.selectFrom('versions').select('blob_id as id').where('blob_id', 'in', ids).execute();
      const thumbnails = await this.db.selectFrom('versions').select('thumbnail_blob_id as id').where('thumbnail_blob_id', 'in', ids).execute();
      const ledger = store === 'replica' ? await this.db.selectFrom('blob_replicas').select('blob_id as id').where('blob_id', 'in', ids).execute() : [];
      for (const row of [...versions, ...thumbnails, ...ledger]) if (row.id !== null) found.add(row.id);
    }
    return found;
  }

  async candidates(store: SweptStore, page: { among?: readonly string[] } = {}): Promise<OrphanBlobCandidate[]> {
    const read = async (among?: readonly string[]): Promise<OrphanBlobCandidate[]> => {
      let query = this.db.selectFrom('orphan_blob_candidates').select(['blob_id', 'first_seen_at', 'condemned_at']).where('store', '=', store);
      if (among !== undefined) query = query.where('blob_id', 'in', among);
      const rows = await query.orderBy('blob_id').execute();
      return rows.map((r) => ({ blobId: r.blob_id, firstSeenAt: r.first_seen_at, condemnedAt: r.condemned_at }));
    };
    if (page.among === undefined) return read();
    const found: OrphanBlobCandidate[] = [];
    for (let at = 0; at < page.among.length; at += BATCH) found.push(...await read(page.among.slice(at, at + BATCH)));
    return found;
  }

  async record(store: SweptStore, blobIds: readonly string[], at: string): Promise<void> {
    for (let i = 0; i < blobIds.length; i += BATCH) {
      const values = blobIds.slice(i, i + BATCH).map((blobId) => ({ store, blob_id: blobId, first_seen_at: at, condemned_at: null, listed_at: at }));
      await this.db.insertInto('orphan_blob_candidates').values(values).onConflict((oc) => oc.columns(['store', 'blob_id']).doNothing()).execute();
    }
  }

  async markListed(store: SweptStore, blobIds: readonly string[], at: string): Promise<void> {
    for (let i = 0; i < blobIds.length; i += BATCH) {
      // Never back in time: a sweep that began earlier and marks later leaves the later mark of another.
      await this.db.updateTable('orphan_blob_candidates').set({ listed_at: at }).where('store', '=', store)
        .where('blob_id', 'in', blobIds.slice(i, i + BATCH))
        .where((eb) => eb.or([eb('listed_at', 'is', null), eb('listed_at', '<', at)])).execute();
    }
  }

  async forgetUnlisted(store: SweptStore, since: string): Promise<number> {
    // One statement, checked in it: a row condemned since the caller's listing stays (the fence), and so does
    // one another sweep recorded or listed since `since` (its blob may have been written after this listing
    // began; recording a candidate lists it). Null: last listed before the column was added.
    const result = await this.db.deleteFrom('orphan_blob_candidates').where('store', '=', store)
      .where('condemned_at', 'is', null)
      .where((eb) => eb.or([eb('listed_at', 'is', null), eb('listed_at', '<', since)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async forget(store: SweptStore, blobIds: readonly string[]): Promise<void> {
    for (let i = 0; i < blobIds.length; i += BATCH) {
      // Checked in the statement: a row another sweep condemned since this one read it stays, being the fence.
      await this.db.deleteFrom('orphan_blob_candidates').where('store', '=', store).where('blob_id', 'in', blobIds.slice(i, i + BATCH))
        .where('condemned_at', 'is', null).execute();
    }
  }

  async condemn(store: SweptStore, blobId: string, seenBy: string, at: string): Promise<boolean> {
    // One statement: the check that nothing names the blob and the mark that fences every later write
    // of a reference to it (blob-references.ts) cannot be separated by a commit.
    const result = await this.db.updateTable('orphan_blob_candidates')
      .set({ condemned_at: sql<string>`coalesce(condemned_at, ${at})` })
      .where('store', '=', store)
      .where('blob_id', '=', blobId)
      .where('first_seen_at', '<=', seenBy)
      .where((eb) => eb.and([
        eb.not(eb.exists(eb.selectFrom('versions').select(sql`1`.as('one')).where('versions.blob_id', '=', blobId))),
        eb.not(eb.exists(eb.selectFrom('versions').select(sql`1`.as('one')).where('versions.thumbnail_blob_id', '=', blobId))),
        store === 'replica'
          ? eb.not(eb.exists(eb.selectFrom('blob_replicas').select(sql`1`.as('one')).where('blob_replicas.blob_id', '=', blobId)))
          : sql<SqlBool>`1 = 1` as Expression<SqlBool>,
      ]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async forgetAll(): Promise<void> {
    await this.db.deleteFrom('orphan_blob_candidates').execute();
  }

  async databaseNow(): Promise<Date> {
    // PostgreSQL answers a timestamptz (a Date); SQLite a UTC 'YYYY-MM-DD HH:MM:SS' (its process is the only one).
    const { rows } = await sql<{ now: Date | string }>`select current_timestamp as now`.execute(this.db);
    const now = rows[0]!.now;
    const at = now instanceof Date ? now : new Date(`${now.replace(' ', 'T')}Z`);
    if (Number.isNaN(at.getTime())) throw new Error(`The database's clock answered ${String(now)}`);
    return at;
  }
}
