// The offsite replica's ledger: which version blobs the replica holds, which it was told to delete,
// and which the scrub found bad on both sides. Lag and the unrecoverable count are read from here
// at every metrics scrape, so every process reports the cluster's figures.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { BlobReplicasRepository, ReplicaLag } from '../../domain/repositories.js';
import type { Version } from '../../domain/types.js';
import { AWAITING_REPLICA } from '../migrations/202612230100_versions_awaiting_replica.js';
import type { Schema } from '../schema.js';
import { toVersion } from './rows.js';

type Row = Schema['blob_replicas'];

export class BlobReplicasRepo implements BlobReplicasRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async markReplicated(blobId: string, versionId: string, at: string): Promise<void> {
    await this.upsert(blobId, versionId, { replicated_at: at, deleted_at: null, delete_refused: null });
    // The version leaves versions_awaiting_replica_by_organisation, which the lag is counted from.
    await this.db.updateTable('versions').set({ replicated_at: at }).where('blob_id', '=', blobId).execute();
  }

  async restoredAs(versionId: string, blobId: string): Promise<void> {
    await this.db.updateTable('versions').set({ blob_id: blobId, replicated_at: null }).where('id', '=', versionId).execute();
  }

  async markDeleted(blobId: string, versionId: string, at: string, refused: string | null): Promise<void> {
    await this.upsert(blobId, versionId, refused === null ? { replicated_at: null, deleted_at: at, delete_refused: null } : { delete_refused: refused });
  }

  async markScrubbed(blobId: string, versionId: string, at: string): Promise<void> {
    await this.upsert(blobId, versionId, { scrubbed_at: at });
  }

  async markUnrecoverable(blobId: string, versionId: string, at: string): Promise<boolean> {
    const known = await this.db.selectFrom('blob_replicas').select('unrecoverable_at').where('blob_id', '=', blobId).executeTakeFirst();
    if (known?.unrecoverable_at) return false;
    await this.upsert(blobId, versionId, { unrecoverable_at: at, scrubbed_at: at });
    return true;
  }

  async clearUnrecoverable(blobId: string): Promise<void> {
    await this.db.updateTable('blob_replicas').set({ unrecoverable_at: null }).where('blob_id', '=', blobId).execute();
  }

  /**
   * From versions_awaiting_replica_by_organisation alone: its cost is the lag's, whatever the vault's size (migration
   * 202612230100 says why); an organisation's (its Storage page) costs its own lag's, whatever other councils' (202612281300).
   */
  async lag(organisationId?: string): Promise<ReplicaLag> {
    let query = this.db
      .selectFrom('versions')
      .select((eb) => [eb.fn.countAll<number | string>().as('pending'), eb.fn.min('created_at').as('oldest')])
      .where(AWAITING_REPLICA);
    if (organisationId !== undefined) query = query.where('organisation_id', '=', organisationId);
    const row = await query.executeTakeFirstOrThrow();
    return { pending: Number(row.pending), oldestCommittedAt: (row.oldest as string | null) ?? null };
  }

  /**
   * From the few ledger rows marked unrecoverable (blob_replicas_unrecoverable), each version looked up by
   * its blob. SQLite's planner, without statistics, read every version for a join, and every ledger row for
   * `unrecoverable_at is not null`; a range of the index (every time is a non-empty text) it reads as one.
   * An organisation's: those with a live version of its own.
   */
  async unrecoverable(organisationId?: string): Promise<number> {
    const row = await this.db
      .selectFrom('blob_replicas as r')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('r.unrecoverable_at', '>', '')
      .where(({ exists, selectFrom }) => {
        const live = selectFrom('versions as v').select('v.id').whereRef('v.blob_id', '=', 'r.blob_id').where('v.wrapped_key', 'is not', null);
        return exists(organisationId === undefined ? live : live.where('v.organisation_id', '=', organisationId));
      })
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async liveVersions(options: { limit: number; afterId?: string; random?: boolean }): Promise<Version[]> {
    if (options.random) return this.sampleLiveVersions(options.limit);
    const rows = await this.liveFrom(options.afterId ?? '', options.limit, 'after');
    return rows.map(toVersion);
  }

  /**
   * A random sample of live versions, read by index: `order by random()` read and sorted every version (about
   * a second on the main connection for a million, at every daily scrub). A vault holding no more than `limit`
   * gives all of them; a larger one `limit` distinct versions, each the first live one at or after a random id.
   * Ids are random UUIDs, so every version can be drawn, one after a wide gap in the ids a little more often.
   */
  private async sampleLiveVersions(limit: number): Promise<Version[]> {
    const first = await this.liveFrom('', limit + 1, 'after');
    if (first.length <= limit) return first.map(toVersion);
    const drawn = new Map<string, Selectable<Schema['versions']>>();
    // Draws that land on a version already drawn are tried again, a bounded number of times.
    for (let draws = 0; drawn.size < limit && draws < limit * 4; draws++) {
      const [row] = await this.liveFrom(randomUUID(), 1, 'from');
      const picked = row ?? first[0]!; // past the last id: wrap round to the first
      drawn.set(picked.id, picked);
    }
    return [...drawn.values()].map(toVersion);
  }

  /** Live versions in id order, from (inclusive) or after `id`: one range of the primary key. */
  private async liveFrom(id: string, limit: number, bound: 'from' | 'after') {
    return this.db.selectFrom('versions').selectAll().where('wrapped_key', 'is not', null)
      .where('id', bound === 'from' ? '>=' : '>', id).orderBy('id').limit(limit).execute();
  }

  private async upsert(blobId: string, versionId: string, fields: Partial<Omit<Row, 'blob_id' | 'version_id'>>): Promise<void> {
    await this.db
      .insertInto('blob_replicas')
      .values({ blob_id: blobId, version_id: versionId, replicated_at: null, deleted_at: null, delete_refused: null, scrubbed_at: null, unrecoverable_at: null, ...fields })
      .onConflict((oc) => oc.column('blob_id').doUpdateSet(fields))
      .execute();
  }
}
