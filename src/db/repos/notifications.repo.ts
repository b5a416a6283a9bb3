// Notices shown to people in the web interface (quarantined uploads, releases).
import type { Kysely } from 'kysely';
import type { Notification, NotificationsRepository } from '../../domain/repositories.js';
import type { Schema } from '../schema.js';

export type { Notification } from '../../domain/repositories.js';

export class NotificationsRepo implements NotificationsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(n: Notification): Promise<void> {
    await this.db
      .insertInto('notifications')
      .values({ id: n.id, user_id: n.userId, organisation_id: n.organisationId, kind: n.kind, document_id: n.documentId, version_id: n.versionId, request_id: n.requestId ?? null, message: n.message, created_at: n.createdAt, read_at: null })
      .execute();
  }

  async forUser(userId: string, limit = 20): Promise<Notification[]> {
    const rows = await this.db.selectFrom('notifications').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, userId: r.user_id, organisationId: r.organisation_id, kind: r.kind, documentId: r.document_id, versionId: r.version_id, requestId: r.request_id, message: r.message, createdAt: r.created_at, readAt: r.read_at }));
  }
}
