// A provisioned person's access follows their SCIM groups: each group's displayName, its externalId (Entra
// sends the group's object id, the same value OIDC and SAML group claims carry) and its SCIM id are looked up
// in the organisation's group mapping (shared with OIDC and SAML, domain/identity/federation.ts mapGroups).
// Someone in no mapped group falls to the floor: a member with no teams and OFFICIAL clearance, so leaving the
// last mapped group in the directory takes access away at once.
import type { Decision } from '../domain/access/policy.js';
import { mapGroups, type MappedAccess } from '../domain/identity/federation.js';
import type { ScimGroup } from '../domain/identity/scim-repositories.js';
import type { Repos } from '../domain/repositories.js';
import type { User } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { personBeforeIds, personStateIds } from './person-state.js';
import { revokeScimTokensIfNoLongerAllowed } from './person-revocation.js';
import type { DirectoryActor } from './scim-tokens.service.js';

/** The access of a provisioned person in no mapped group (and of every person SCIM creates, until groups say more). */
export const ACCESS_FLOOR: MappedAccess = { roles: ['member'], teams: [], clearance: 'OFFICIAL' };

/** The names a SCIM group is known by in the group mapping. */
export function groupLabels(groups: readonly ScimGroup[]): string[] {
  return groups.flatMap((g) => [g.displayName, g.id, ...(g.externalId ? [g.externalId] : [])]);
}

/** Recomputes each person's roles, teams and clearance from their SCIM groups, in the caller's transaction, audited. */
export async function recomputeAccess(repos: Repos, policy: Pick<AccessService, 'mayWithin'>, actor: DirectoryActor, decision: Decision, userIds: Iterable<string>, now: Date): Promise<void> {
  const mappings = await repos.federation.groupMappings(actor.organisationId);
  for (const userId of new Set(userIds)) {
    const user = await repos.users.byId(userId);
    if (!user || user.organisationId !== actor.organisationId) continue;
    const access = mapGroups(mappings, groupLabels(await repos.scim.groupsOf(userId))) ?? ACCESS_FLOOR;
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

function sameAccess(user: User, access: MappedAccess): boolean {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
  return same(user.roles, access.roles) && same(user.teams, access.teams) && user.clearance === access.clearance;
}
