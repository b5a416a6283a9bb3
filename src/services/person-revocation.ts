// Switching a person off is revocation, not only a flag: their web sessions are deleted, every API token
// and WebDAV app password is revoked, any invitation link withdrawn, and every SCIM provisioning token they
// created revoked, in the transaction that disables them, each revocation audited. The authenticate paths
// also refuse a disabled person, but a credential must not come back to life if the account is switched on
// again: re-enabled people sign in afresh and make new tokens.
import type { Decision } from '../domain/access/policy.js';
import type { AccessService } from './access.service.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor, User } from '../domain/types.js';
import { auditEvent } from './audit-events.js';
import { actorFor } from './identity.service.js';

/** Ends `user`'s sessions and revokes their credentials and SCIM tokens inside the caller's transaction; returns how many were revoked. */
export async function revokePersonAccess(repos: Repos, actor: Actor, user: User, decision: Pick<Decision, 'allow' | 'reason' | 'via'>, now: Date, ids: Record<string, string> = {}): Promise<number> {
  await repos.sessions.deleteForUser(user.id);
  // An unused invitation link sets a first password: a credential too, which re-enabling must not revive.
  await repos.mail.withdrawInvitations(user.id);
  return (await revokeCredentialsOf(repos, actor, user, decision, now, ids)) + (await revokeScimTokensMadeBy(repos, actor, user, decision, now, ids));
}

/**
 * Revokes every live API token and WebDAV app password of `user` inside the caller's transaction, each
 * audited as `credential.revoke`: when they are switched off, and when their password changes (whoever
 * knew the old one may have made a credential with it, which must not outlive it). Returns how many.
 */
export async function revokeCredentialsOf(repos: Repos, actor: Actor, user: User, decision: Pick<Decision, 'allow' | 'reason' | 'via'>, now: Date, ids: Record<string, string> = {}): Promise<number> {
  const live = (await repos.users.listCredentials(user.id)).filter((c) => c.revokedAt === null);
  for (const credential of live) await repos.users.revokeCredential(credential.id, now.toISOString());
  if (live.length > 0) {
    await repos.audit.insert(live.map((c) => auditEvent(actor, 'credential.revoke', { organisationId: user.organisationId, ids: { ...ids, userId: user.id, credentialId: c.id } }, decision, now)));
  }
  return live.length;
}

/**
 * Revokes, in the caller's transaction and audited, the live SCIM tokens `user` created: when they are
 * switched off, and when they may no longer manage the organisation's identity settings (a role
 * taken away, by an admin or by the directory's groups). A SCIM token is the organisation's, not the
 * person's, but whoever made it saw its secret once and may have kept it: left alive, it would let
 * them switch their own account on again, or put themselves back in an admin group. Returns how many.
 */
export async function revokeScimTokensMadeBy(repos: Repos, actor: Actor, user: User, decision: Pick<Decision, 'allow' | 'reason' | 'via'>, now: Date, ids: Record<string, string> = {}): Promise<number> {
  const theirScimTokens = (await repos.scim.tokens(user.organisationId)).filter((t) => t.createdBy === user.id && t.revokedAt === null);
  for (const token of theirScimTokens) await repos.scim.revokeToken(token.id, now.toISOString());
  if (theirScimTokens.length > 0) {
    // The revoked token is the target (scimTokenId, as when an admin revokes one); a directory doing the
    // change is named apart, since its own token may be the one revoked or another.
    const { scimTokenId: actingToken, ...rest } = ids;
    const acting: Record<string, string> = actingToken === undefined ? {} : { actingScimTokenId: actingToken };
    await repos.audit.insert(theirScimTokens.map((t) => auditEvent(actor, 'scim-token.revoke', { organisationId: user.organisationId, ids: { ...rest, ...acting, userId: user.id, scimTokenId: t.id } }, decision, now)));
  }
  return theirScimTokens.length;
}

/**
 * `revokeScimTokensMadeBy` for a person whose roles just changed (`user` as they are now), when
 * decide() no longer lets them manage the organisation's identity settings, where SCIM tokens are made.
 */
export async function revokeScimTokensIfNoLongerAllowed(repos: Repos, access: Pick<AccessService, 'mayWithin'>, actor: Actor, user: User, decision: Pick<Decision, 'allow' | 'reason' | 'via'>, now: Date, ids: Record<string, string> = {}): Promise<number> {
  const asThemNow = actorFor(user, { channel: actor.channel, clientAddress: null, requestId: null });
  if (await access.mayWithin(repos, asThemNow, 'organisation.identity', { kind: 'organisation', organisationId: user.organisationId })) return 0;
  return revokeScimTokensMadeBy(repos, actor, user, decision, now, ids);
}
