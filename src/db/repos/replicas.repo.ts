// The offsite replica's ledger: which version blobs the replica holds, which it was told to delete,
// and which the scrub found bad on both sides. Lag and the unrecoverable count are read from here
// at every metrics scrape, so every process reports the cluster's figures.
import { sql, type Kysely } from 'kysely';
import type { BlobReplicasRepository, ReplicaLag } from '../../domain/repositories.js';
import type { Version } from '../../domain/types.js';
import type { Schema } from '../schema.js';
import { toVersion } from './rows.js';

type Row = Schema['blob_replicas'];

export class BlobReplicasRepo implements BlobReplicasRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async markReplicated(blobId: string, versionId: string, at: string): Promise<void> {
    await this.upsert(blobId, versionId, { replicated_at: at, deleted_at: null, delete_refused: null });
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

  async lag(): Promise<ReplicaLag> {
    const row = await this.db
      .selectFrom('versions as v')
      .leftJoin('blob_replicas as r', 'r.blob_id', 'v.blob_id')
      .select((eb) => [eb.fn.countAll<number | string>().as('pending'), eb.fn.min('v.created_at').as('oldest')])
      .where('v.wrapped_key', 'is not', null)
      .where('r.replicated_at', 'is', null)
      .executeTakeFirstOrThrow();
    return { pending: Number(row.pending), oldestCommittedAt: (row.oldest as string | null) ?? null };
  }

  async unrecoverable(): Promise<number> {
    const row = await this.db
      .selectFrom('blob_replicas as r')
      .innerJoin('versions as v', 'v.blob_id', 'r.blob_id')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('r.unrecoverable_at', 'is not', null)
      .where('v.wrapped_key', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async liveVersions(options: { limit: number; afterId?: string; random?: boolean }): Promise<Version[]> {
    let query = this.db.selectFrom('versions').selectAll().where('wrapped_key', 'is not', null);
    if (options.random) {
      query = query.orderBy(sql`random()`);
    } else {
      query = query.where('id', '>', options.afterId ?? '').orderBy('id');
    }
    return (await query.limit(options.limit).execute()).map(toVersion);
  }

  private async upsert(blobId: string, versionId: string, fields: Partial<Omit<Row, 'blob_id' | 'version_id'>>): Promise<void> {
    await this.db
      .insertInto('blob_replicas')
      .values({ blob_id: blobId, version_id: versionId, replicated_at: null, deleted_at: null, delete_refused: null, scrubbed_at: null, unrecoverable_at: null, ...fields })
      .onConflict((oc) => oc.column('blob_id').doUpdateSet(fields))
      .execute();
  }
}
