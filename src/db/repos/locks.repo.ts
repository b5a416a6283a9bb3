// Write locks on documents and collections (taken over WebDAV, binding every interface).
import type { Kysely, Selectable } from 'kysely';
import type { LocksRepository, ResourceLock } from '../../domain/repositories.js';
import { preparedQuery } from '../prepared-query.js';
import type { ResourceLocksTable, Schema } from '../schema.js';

export type { ResourceLock } from '../../domain/repositories.js';

const fromRow = (r: Selectable<ResourceLocksTable>): ResourceLock => ({
  token: r.token, organisationId: r.organisation_id, documentId: r.document_id, collectionId: r.collection_id,
  depth: r.depth as ResourceLock['depth'], scope: r.scope as ResourceLock['scope'], userId: r.user_id, owner: r.owner,
  rootPath: r.root_path, timeoutSeconds: r.timeout_seconds, expiresAt: r.expires_at, createdAt: r.created_at,
});

/** Every write checks its organisation's live locks: prepared once. */
const liveLocksOf = preparedQuery((db, values: { organisationId: string; now: string }) =>
  db.selectFrom('resource_locks').selectAll().where('organisation_id', '=', values.organisationId).where('expires_at', '>', values.now).orderBy('created_at'));

export class LocksRepo implements LocksRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(l: ResourceLock): Promise<void> {
    await this.db.insertInto('resource_locks').values({
      token: l.token, organisation_id: l.organisationId, document_id: l.documentId, collection_id: l.collectionId, depth: l.depth,
      scope: l.scope, user_id: l.userId, owner: l.owner, root_path: l.rootPath, timeout_seconds: l.timeoutSeconds, expires_at: l.expiresAt, created_at: l.createdAt,
    }).execute();
  }

  /** Unexpired locks on one organisation's resources (few at any time: they last hours). */
  async liveInOrganisation(organisationId: string, now: string): Promise<ResourceLock[]> {
    return (await liveLocksOf.run(this.db, { organisationId, now })).rows.map(fromRow);
  }

  async byToken(token: string): Promise<ResourceLock | undefined> {
    const r = await this.db.selectFrom('resource_locks').selectAll().where('token', '=', token).executeTakeFirst();
    return r && fromRow(r);
  }

  async refresh(token: string, timeoutSeconds: number, expiresAt: string): Promise<void> {
    await this.db.updateTable('resource_locks').set({ timeout_seconds: timeoutSeconds, expires_at: expiresAt }).where('token', '=', token).execute();
  }

  async delete(token: string): Promise<boolean> {
    const result = await this.db.deleteFrom('resource_locks').where('token', '=', token).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteExpired(now: string): Promise<void> {
    await this.db.deleteFrom('resource_locks').where('expires_at', '<=', now).execute();
  }
}
