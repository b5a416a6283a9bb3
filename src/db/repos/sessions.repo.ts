// Server-side web sessions; the cookie holds a random id, the table holds only its hash.
import type { Kysely } from 'kysely';
import type { SessionRow, SessionsRepository } from '../../domain/repositories.js';
import type { Schema } from '../schema.js';

export type { SessionRow } from '../../domain/repositories.js';

export class SessionsRepo implements SessionsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(s: SessionRow): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({ id_hash: s.idHash, user_id: s.userId, csrf_token: s.csrfToken, stage: s.stage, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt, provider_mfa: s.providerMfa ? 1 : 0 })
      .execute();
  }

  async byHash(idHash: string): Promise<SessionRow | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return r && { idHash: r.id_hash, userId: r.user_id, csrfToken: r.csrf_token, stage: r.stage, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at, providerMfa: Number(r.provider_mfa) === 1 };
  }

  async touch(idHash: string, at: string): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
  }

  async setStage(idHash: string, stage: string): Promise<void> {
    await this.db.updateTable('sessions').set({ stage }).where('id_hash', '=', idHash).execute();
  }

  async delete(idHash: string): Promise<boolean> {
    const result = await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteForUser(userId: string): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async deleteProviderMfaIn(organisationId: string): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('provider_mfa', '=', 1)
      .where('user_id', 'in', (q) => q.selectFrom('users').select('id').where('organisation_id', '=', organisationId)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
