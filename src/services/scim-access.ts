// A provisioned person's access follows their SCIM groups: each group's displayName, its externalId (Entra
// sends the group's object id, the same value OIDC and SAML group claims carry) and its SCIM id are looked up
// in the organisation's group mapping (shared with OIDC and SAML, domain/identity/federation.ts mapGroups).
// Someone in no mapped group falls to the floor: a member with no teams and OFFICIAL clearance, so leaving the
// last mapped group in the directory takes access away at once, except the org admin role of the organisation's
// last enabled org admin (decide()'s person.remove-org-admin), which the directory cannot take: that would leave
// nobody to manage the council's people, identity settings and provisioning.
import type { Decision } from '../domain/access/policy.js';
import { mapGroups, type MappedAccess } from '../domain/identity/federation.js';
import type { ScimGroup } from '../domain/identity/scim-repositories.js';
import type { Repos } from '../domain/repositories.js';
import type { PersonResource } from '../domain/access/policy.js';
import type { Actor, User } from '../domain/types.js';
import { lastAdminResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { personBeforeIds, personStateIds } from './person-state.js';
import { revokeScimTokensIfNoLongerAllowed } from './person-revocation.js';
import type { DirectoryActor } from './scim-tokens.service.js';

/** The access of a provisioned person in no mapped group (and of every person SCIM creates, until groups say more). */
export const ACCESS_FLOOR: MappedAccess = { roles: ['member'], teams: [], clearance: 'OFFICIAL' };

/**
 * The access of the organisation's last enabled org admin whose groups map to nothing: the floor, with the org
 * admin role the directory cannot take (decide()'s person.remove-org-admin), as SCIM's groups leave them too.
 */
export const LAST_ADMIN_FLOOR: MappedAccess = { ...ACCESS_FLOOR, roles: [...ACCESS_FLOOR.roles, 'org_admin'] };

/** Whether a person is an enabled org admin of this organisation: the only people the last-admin rule can keep. */
export function isEnabledOrgAdminOf(user: User | undefined, organisationId: string): user is User {
  return user !== undefined && user.organisationId === organisationId && !user.disabled && user.roles.includes('org_admin');
}

/** The names a SCIM group is known by in the group mapping. */
export function groupLabels(groups: readonly ScimGroup[]): string[] {
  return groups.flatMap((g) => [g.displayName, g.id, ...(g.externalId ? [g.externalId] : [])]);
}

/** Recomputes each person's roles, teams and clearance from their SCIM groups, in the caller's transaction, audited. */
export async function recomputeAccess(repos: Repos, policy: Pick<AccessService, 'mayWithin' | 'checkWithin'>, actor: DirectoryActor, decision: Decision, userIds: Iterable<string>, now: Date): Promise<void> {
  const mappings = await repos.federation.groupMappings(actor.organisationId);
  const ids = [...new Set(userIds)];
  await lockInIdOrder(repos, actor.organisationId, ids);
  for (const userId of ids) {
    const user = await repos.users.byId(userId);
    if (!user || user.organisationId !== actor.organisationId) continue;
    const mapped = mapGroups(mappings, groupLabels(await repos.scim.groupsOf(userId))) ?? ACCESS_FLOOR;
    const access = await keepingLastOrgAdmin(repos, policy, actor, { userId, scimTokenId: actor.scimTokenId }, user, mapped);
    if (sameAccess(user, access)) continue;
    const before = await personBeforeIds(repos, userId);
    await repos.users.update(userId, { roles: access.roles, teams: access.teams, clearance: access.clearance });
    await repos.audit.insert([auditEvent(actor, 'user.update', {
      organisationId: user.organisationId,
      ids: { userId, scimTokenId: actor.scimTokenId, roles: access.roles.join('+'), teams: access.teams.join('+'), clearance: access.clearance, ...before, ...(await personStateIds(repos, userId)) },
    }, decision, now)]);
    // A group left can take away the role SCIM tokens are made with: tokens this person made go with it.
    await revokeScimTokensIfNoLongerAllowed(repos, policy, actor, { ...user, ...access }, decision, now, { scimTokenId: actor.scimTokenId });
  }
}

/**
 * Locks the rows of the people a recomputation looks at and, when one of them is an enabled org admin (whose role
 * keepingLastOrgAdmin may lock the organisation's enabled org admins to keep), those admins' too: all in id order,
 * before anything is written, as every change of people locks them (users-admin.service.ts lockOrder). Locked as
 * each was reached, a group change held a member's row (written) while it waited for an admin's that an org admin
 * switching that member off held, waiting for the member's: PostgreSQL ended one of the two (40P01).
 */
async function lockInIdOrder(repos: Repos, organisationId: string, userIds: readonly string[]): Promise<void> {
  const enabledAdmin = (u: User) => !u.disabled && u.roles.includes('org_admin');
  const people: User[] = [];
  for (const id of userIds) {
    const user = await repos.users.byId(id);
    if (user && user.organisationId === organisationId) people.push(user);
  }
  const admins = people.some(enabledAdmin) ? (await repos.users.listByOrganisation(organisationId)).filter(enabledAdmin) : [];
  for (const id of [...new Set([...people, ...admins].map((u) => u.id))].sort()) await repos.users.lock(id);
}

function sameAccess(user: User, access: MappedAccess): boolean {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
  return same(user.roles, access.roles) && same(user.teams, access.teams) && user.clearance === access.clearance;
}

/**
 * The person as decide() is asked about the directory switching them off or taking their org admin role, in the
 * caller's transaction: whether they are the organisation's last enabled org admin, read after the rows of its
 * enabled org admins are locked in id order, so two such changes sent at once (Entra sends requests in
 * parallel) cannot each find the other admin still there.
 */
export async function lockedLastAdminResource(repos: Repos, user: User): Promise<{ person: User; resource: PersonResource }> {
  const admins = (await repos.users.listByOrganisation(user.organisationId)).filter((u) => !u.disabled && u.roles.includes('org_admin'));
  for (const id of admins.map((u) => u.id).sort()) await repos.users.lock(id);
  const person = (await repos.users.byId(user.id)) ?? user;
  return { person, resource: await lastAdminResource({ repos }, person) };
}

/**
 * decide()'s `person.remove-org-admin` asked of `actor` (a directory) about an enabled org admin, in the caller's
 * transaction with the organisation's enabled org admins' rows locked (lockedLastAdminResource): refused
 * (`last_org_admin`) when they are its last enabled org admin, the refusal audited as `user.update` with `ids`.
 */
export async function lastOrgAdminRuleWithin(repos: Repos, policy: Pick<AccessService, 'checkWithin'>, actor: Actor, ids: Record<string, string>, user: User): Promise<Decision> {
  const { person, resource } = await lockedLastAdminResource(repos, user);
  const target = { organisationId: person.organisationId, ids };
  return policy.checkWithin(repos, actor, 'person.remove-org-admin', resource, target, { auditAs: 'user.update' });
}

/**
 * The access a person's directory groups map to (SCIM's groups, or a provider's groups claim at sign-in), with
 * the org admin role kept when it would be taken from the last enabled org admin (lastOrgAdminRuleWithin): the
 * rest of the change stands, so the directory's request or the sign-in succeeds; the role goes at a later
 * change once another org admin is enabled. In the caller's transaction.
 */
export async function keepingLastOrgAdmin(repos: Repos, policy: Pick<AccessService, 'checkWithin'>, actor: Actor, ids: Record<string, string>, user: User, access: MappedAccess): Promise<MappedAccess> {
  if (!user.roles.includes('org_admin') || access.roles.includes('org_admin') || user.disabled) return access;
  const decision = await lastOrgAdminRuleWithin(repos, policy, actor, ids, user);
  return decision.allow ? access : { ...access, roles: [...access.roles, 'org_admin'] };
}
