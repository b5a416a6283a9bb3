// What an arrangement opens, and to whom: whether it is in force, whom it serves, and which
// organisations' content it reaches. decide() (policy.ts) asks arrangementCovers() of every item in
// another organisation or a joint workspace; readableScope() (search) and reachableOrganisations()
// (pages, WebDAV) read the same reach, so none of them can open more than decide() does.
import type { AccessLevel, Actor, Arrangement, Classification, ServiceArea } from '../types.js';
import { classificationAtMost } from '../types.js';
import type { CollectionResource, DocumentResource } from './resources.js';

export function arrangementInForce(arrangement: Arrangement, now: Date): boolean {
  if (arrangement.status !== 'active') return false;
  if (Date.parse(arrangement.startsAt) > now.getTime()) return false;
  if (arrangement.endsAt !== null && Date.parse(arrangement.endsAt) <= now.getTime()) return false;
  return arrangement.partnerOrganisationIds.every((id) => arrangement.acceptedBy.includes(id));
}

/** An arrangement serves an actor while it is in force and the actor is in its service-area team. */
function arrangementServes(arrangement: Arrangement, actor: Actor, now: Date): boolean {
  return arrangementInForce(arrangement, now) && actor.teams.includes(arrangement.serviceArea);
}

/**
 * What an arrangement opens to an actor now, in one of its service areas at or below its ceiling:
 * the host's joint workspace (to the serving team in every party) and, to the host's serving team,
 * the partners' own content. Null when it does not serve the actor. arrangementCovers() (and so
 * decide()) and readableScope() (search) both read it, so search finds exactly what decide() opens.
 */
export interface ArrangementReach {
  arrangementId: string;
  serviceArea: ServiceArea;
  ceiling: Classification;
  accessLevel: AccessLevel;
  /** The host organisation, when the actor's organisation is a party to the joint workspace. */
  jointWorkspaceOf: string | null;
  /** The partners whose content the actor (host staff) reaches; empty for partner staff. */
  partners: readonly string[];
}

export function arrangementReach(arrangement: Arrangement, actor: Actor, now: Date): ArrangementReach | null {
  if (!arrangementServes(arrangement, actor, now)) return null;
  const parties = [arrangement.hostOrganisationId, ...arrangement.partnerOrganisationIds];
  const own = actor.organisationId ?? '';
  return {
    arrangementId: arrangement.id,
    serviceArea: arrangement.serviceArea,
    ceiling: arrangement.ceiling,
    accessLevel: arrangement.accessLevel,
    jointWorkspaceOf: parties.includes(own) ? arrangement.hostOrganisationId : null,
    partners: own === arrangement.hostOrganisationId ? arrangement.partnerOrganisationIds : [],
  };
}

/**
 * Does this arrangement reach this resource for this actor? The serving team is the host's team
 * for the service area; a joint workspace is open to that team in every party.
 */
export function arrangementCovers(
  arrangement: Arrangement,
  actor: Actor,
  resource: CollectionResource | DocumentResource,
  now: Date,
): boolean {
  const reach = arrangementReach(arrangement, actor, now);
  if (!reach) return false;
  if (resource.serviceArea !== reach.serviceArea) return false;
  if (!classificationAtMost(resource.classification, reach.ceiling)) return false;
  // Joint workspace: hosted by the host, usable by every party's service team.
  if (resource.arrangementId === arrangement.id && resource.organisationId === reach.jointWorkspaceOf) return true;
  return reach.partners.includes(resource.organisationId);
}

/**
 * The other organisations whose content some arrangement lets this actor reach now: exactly those
 * where decide() could allow some content action on some resource (an OFFICIAL collection of the
 * arrangement's service area, or its joint workspace). Host staff reach their partners; partner
 * staff reach the host's joint workspace; nobody reaches another partner through the host. Pages,
 * WebDAV's organisation folders and "recent documents" list these; decide() still judges every item.
 * The system actor reaches everything by its own rule, not through arrangements: none here.
 */
export function reachableOrganisations(actor: Actor, arrangements: readonly Arrangement[], now: Date): string[] {
  const own = actor.organisationId;
  if (actor.kind !== 'user' || own === null || actor.userId === null) return [];
  const out = new Set<string>();
  for (const a of arrangements) {
    if (!arrangementServes(a, actor, now)) continue;
    if (a.hostOrganisationId === own) a.partnerOrganisationIds.forEach((id) => out.add(id));
    else if (a.partnerOrganisationIds.includes(own)) out.add(a.hostOrganisationId);
  }
  out.delete(own);
  return [...out].sort();
}
