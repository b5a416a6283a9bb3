// Switching a person off is revocation, not only a flag: their web sessions are deleted, every API token
// and WebDAV app password is revoked and any invitation link withdrawn, in the transaction that disables them, each revocation audited. The
// authenticate paths also refuse a disabled person, but a credential must not come back to life if the
// account is switched on again: re-enabled people sign in afresh and make new tokens.
import type { Decision } from '../domain/access/policy.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor, User } from '../domain/types.js';
import { auditEvent } from './audit-events.js';

/** Ends `user`'s sessions and revokes their credentials inside the caller's transaction; returns how many credentials. */
export async function revokePersonAccess(repos: Repos, actor: Actor, user: User, decision: Pick<Decision, 'allow' | 'reason' | 'via'>, now: Date, ids: Record<string, string> = {}): Promise<number> {
  await repos.sessions.deleteForUser(user.id);
  // An unused invitation link sets a first password: a credential too, which re-enabling must not revive.
  await repos.mail.withdrawInvitations(user.id);
  const live = (await repos.users.listCredentials(user.id)).filter((c) => c.revokedAt === null);
  for (const credential of live) await repos.users.revokeCredential(credential.id, now.toISOString());
  if (live.length > 0) {
    await repos.audit.insert(live.map((c) => auditEvent(actor, 'credential.revoke', { organisationId: user.organisationId, ids: { ...ids, userId: user.id, credentialId: c.id } }, decision, now)));
  }
  return live.length;
}
