// Mail preferences, invitation tokens (hashes only) and security notices sent, over Kysely, the same on SQLite and PostgreSQL.
import type { Kysely } from 'kysely';
import { mailMessageSchema, type AccountChangeMessage } from '../../domain/mail/message.js';
import type { HeldOrSentNotice, InvitationRow, MailPreferences, MailRepository } from '../../domain/mail/repositories.js';
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

  async noticeFate(jobId: number): Promise<{ held: boolean } | undefined> {
    const row = await this.db.selectFrom('account_notices').select('held').where('job_id', '=', jobId).executeTakeFirst();
    return row && { held: row.held === 1 };
  }

  async latestNoticeWindow(userId: string): Promise<{ openedAt: string; counted: number } | undefined> {
    const latest = await this.db.selectFrom('account_notices').select('window_opened_at').where('user_id', '=', userId)
      .orderBy('window_opened_at', 'desc').limit(1).executeTakeFirst();
    if (!latest) return undefined;
    const { counted } = await this.db.selectFrom('account_notices').select((eb) => eb.fn.countAll<number | string>().as('counted'))
      .where('user_id', '=', userId).where('window_opened_at', '=', latest.window_opened_at).executeTakeFirstOrThrow();
    return { openedAt: latest.window_opened_at, counted: Number(counted) };
  }

  async recordNotice(row: HeldOrSentNotice): Promise<void> {
    await this.db.insertInto('account_notices').values({
      job_id: row.jobId, user_id: row.userId, window_opened_at: row.windowOpenedAt, held: row.held ? 1 : 0,
      address: row.held ? row.address : null, message: row.held ? JSON.stringify(row.message) : null, summarised_at: null,
    }).execute();
  }

  async forgetNoticeWindows(before: string, userId?: string): Promise<void> {
    await this.db.deleteFrom('account_notices').$if(userId !== undefined, (q) => q.where('user_id', '=', userId!)).where('window_opened_at', '<', before)
      .where((eb) => eb.or([eb('held', '=', 0), eb('summarised_at', 'is not', null)]))
      // A notice sent alone whose send-email job is still queued, running or failed keeps its decision: forgotten, its
      // retry (the relay down past the window's end) would be decided again in the next window, and maybe held.
      .where((eb) => eb.not(eb.exists(eb.selectFrom('jobs').select('jobs.id').whereRef('jobs.id', '=', 'account_notices.job_id').where('jobs.status', '!=', 'done'))))
      .execute();
  }

  async heldNotices(userId: string, windowOpenedAt: string, address: string, limit: number): Promise<{ jobId: number; message: AccountChangeMessage }[]> {
    const rows = await this.db.selectFrom('account_notices').select(['job_id', 'message']).where('user_id', '=', userId)
      .where('window_opened_at', '=', windowOpenedAt).where('held', '=', 1).where('address', '=', address).where('summarised_at', 'is', null)
      .orderBy('job_id').limit(limit).execute();
    return rows.flatMap((r) => {
      const message = mailMessageSchema.parse(JSON.parse(r.message ?? 'null'));
      return message.kind === 'account-change' ? [{ jobId: Number(r.job_id), message }] : [];
    });
  }

  async noticesSummarised(jobIds: readonly number[], at: string): Promise<void> {
    if (jobIds.length === 0) return;
    await this.db.updateTable('account_notices').set({ summarised_at: at }).where('job_id', 'in', [...jobIds]).execute();
  }
}
