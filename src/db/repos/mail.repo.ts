// Mail preferences and invitation tokens (hashes only) over Kysely, the same on SQLite and PostgreSQL.
import type { Kysely } from 'kysely';
import type { InvitationRow, MailPreferences, MailRepository } from '../../domain/mail/repositories.js';
import type { Schema } from '../schema.js';

export class MailRepo implements MailRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async preferences(userId: string): Promise<MailPreferences> {
    const row = await this.db.selectFrom('mail_preferences').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return { nonEssentialOptOut: row?.non_essential_opt_out === 1, updatedAt: row?.updated_at ?? null };
  }

  async setPreferences(userId: string, preferences: { nonEssentialOptOut: boolean }, at: string): Promise<void> {
    const values = { non_essential_opt_out: preferences.nonEssentialOptOut ? 1 : 0, updated_at: at };
    await this.db.insertInto('mail_preferences').values({ user_id: userId, ...values }).onConflict((oc) => oc.column('user_id').doUpdateSet(values)).execute();
  }

  async replaceInvitation(row: Omit<InvitationRow, 'usedAt'>): Promise<void> {
    await this.db.deleteFrom('invitations').where('user_id', '=', row.userId).execute();
    await this.db.insertInto('invitations').values({ token_hash: row.tokenHash, user_id: row.userId, created_at: row.createdAt, expires_at: row.expiresAt, used_at: null }).execute();
  }

  async withdrawInvitations(userId: string): Promise<void> {
    await this.db.deleteFrom('invitations').where('user_id', '=', userId).execute();
  }

  async invitationByHash(tokenHash: string): Promise<InvitationRow | undefined> {
    const r = await this.db.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r && { tokenHash: r.token_hash, userId: r.user_id, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at };
  }

  async useInvitation(tokenHash: string, at: string): Promise<boolean> {
    // One statement decides: two requests with the same link cannot both use it.
    const result = await this.db.updateTable('invitations').set({ used_at: at })
      .where('token_hash', '=', tokenHash).where('used_at', 'is', null).where('expires_at', '>', at).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
