// WebDAV state: dead properties per document and write locks per path.
import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface DavLock {
  token: string;
  path: string;
  userId: string;
  scope: 'exclusive' | 'shared';
  depth: '0' | 'infinity';
  owner: string | null;
  timeoutSeconds: number;
  expiresAt: string;
  createdAt: string;
}

export class DavRepo {
  constructor(private readonly db: Kysely<Schema>) {}

  async properties(documentId: string): Promise<{ namespace: string; name: string; value: string }[]> {
    return this.db.selectFrom('dead_properties').select(['namespace', 'name', 'value']).where('document_id', '=', documentId).execute();
  }

  /** Dead properties of many resources at once (PROPFIND allprop over a large collection). */
  async propertiesOfMany(resourceIds: string[]): Promise<{ documentId: string; namespace: string; name: string; value: string }[]> {
    const out: { documentId: string; namespace: string; name: string; value: string }[] = [];
    for (let i = 0; i < resourceIds.length; i += 500) {
      const rows = await this.db.selectFrom('dead_properties').select(['document_id', 'namespace', 'name', 'value']).where('document_id', 'in', resourceIds.slice(i, i + 500)).execute();
      for (const r of rows) out.push({ documentId: r.document_id, namespace: r.namespace, name: r.name, value: r.value });
    }
    return out;
  }

  async setProperty(documentId: string, namespace: string, name: string, value: string): Promise<void> {
    await this.db.deleteFrom('dead_properties').where('document_id', '=', documentId).where('namespace', '=', namespace).where('name', '=', name).execute();
    await this.db.insertInto('dead_properties').values({ document_id: documentId, namespace, name, value }).execute();
  }

  async removeProperty(documentId: string, namespace: string, name: string): Promise<void> {
    await this.db.deleteFrom('dead_properties').where('document_id', '=', documentId).where('namespace', '=', namespace).where('name', '=', name).execute();
  }

  async copyProperties(fromDocumentId: string, toDocumentId: string): Promise<void> {
    const props = await this.properties(fromDocumentId);
    await this.db.deleteFrom('dead_properties').where('document_id', '=', toDocumentId).execute();
    if (props.length > 0) await this.db.insertInto('dead_properties').values(props.map((p) => ({ ...p, document_id: toDocumentId }))).execute();
  }

  async insertLock(l: DavLock): Promise<void> {
    await this.db
      .insertInto('dav_locks')
      .values({ token: l.token, path: l.path, user_id: l.userId, scope: l.scope, depth: l.depth, owner: l.owner, timeout_seconds: l.timeoutSeconds, expires_at: l.expiresAt, created_at: l.createdAt })
      .execute();
  }

  /** Unexpired locks on this path, its ancestors (depth infinity) or, with `descendants`, below it. */
  async locksAffecting(path: string, now: string, descendants: boolean): Promise<DavLock[]> {
    const rows = await this.db.selectFrom('dav_locks').selectAll().where('expires_at', '>', now).execute();
    return rows
      .map((r) => ({ token: r.token, path: r.path, userId: r.user_id, scope: r.scope as DavLock['scope'], depth: r.depth as DavLock['depth'], owner: r.owner, timeoutSeconds: r.timeout_seconds, expiresAt: r.expires_at, createdAt: r.created_at }))
      .filter((l) => l.path === path || (l.depth === 'infinity' && path.startsWith(l.path.endsWith('/') ? l.path : `${l.path}/`)) || (descendants && l.path.startsWith(path.endsWith('/') ? path : `${path}/`)));
  }

  async lockByToken(token: string): Promise<DavLock | undefined> {
    const r = await this.db.selectFrom('dav_locks').selectAll().where('token', '=', token).executeTakeFirst();
    return r && { token: r.token, path: r.path, userId: r.user_id, scope: r.scope as DavLock['scope'], depth: r.depth as DavLock['depth'], owner: r.owner, timeoutSeconds: r.timeout_seconds, expiresAt: r.expires_at, createdAt: r.created_at };
  }

  async refreshLock(token: string, timeoutSeconds: number, expiresAt: string): Promise<void> {
    await this.db.updateTable('dav_locks').set({ timeout_seconds: timeoutSeconds, expires_at: expiresAt }).where('token', '=', token).execute();
  }

  async deleteLock(token: string): Promise<void> {
    await this.db.deleteFrom('dav_locks').where('token', '=', token).execute();
  }

  async deleteExpired(now: string): Promise<void> {
    await this.db.deleteFrom('dav_locks').where('expires_at', '<=', now).execute();
  }
}
