// A deliberately naive reference model of the content-access rules, written from the specification
// (not from policy.ts) so that policy.test.ts can compare decide() against it on generated worlds.
// Shape: prohibitions first (any one denies), then grants (any one allows). Nothing clever.
import type { AccessLevel, Actor, Arrangement, Classification } from '../types.js';
import type { ContentAction } from './actions.js';
import type { CollectionResource, DecisionContext, DocumentResource } from './policy.js';

/** The level each content action needs, copied by hand from the specification. */
export const LEVEL_NEEDED: Record<ContentAction, AccessLevel> = {
  'collection.list': 'read',
  'document.read': 'read',
  'document.download': 'read',
  'collection.create': 'contribute',
  'document.create': 'contribute',
  'document.version': 'contribute',
  'document.rename': 'manage',
  'document.delete': 'manage',
  'document.restore': 'manage',
  'document.classify': 'manage',
  'document.access-history': 'manage',
};

export type ContentResource = CollectionResource | DocumentResource;

/** Actions that add a collection or a document inside the resource (a collection). */
const isCreateInside = (action: ContentAction): boolean => action === 'collection.create' || action === 'document.create';

/** What the model concludes. `grantedBy` says which rule allowed; `via` lists every arrangement that would do. */
export type ModelDecision =
  | { allow: false }
  | { allow: true; grantedBy: 'system' | 'security_review' | 'own_organisation' }
  | { allow: true; grantedBy: 'arrangement'; via: string[] };

const rank = (c: Classification): number => (c === 'OFFICIAL' ? 1 : 2);
const levelRank = (l: AccessLevel): number => ({ read: 1, contribute: 2, manage: 3 })[l];

export const clearedFor = (clearance: Classification, wanted: Classification): boolean => rank(wanted) <= rank(clearance);
export const levelCovers = (held: AccessLevel, action: ContentAction): boolean => levelRank(LEVEL_NEEDED[action]) <= levelRank(held);

const isUnscanned = (r: ContentResource): boolean =>
  r.kind === 'document' && (r.status === 'pending_scan' || r.status === 'quarantined');

const isOwnSecurityAdmin = (actor: Actor, r: ContentResource): boolean =>
  actor.organisationId === r.organisationId && actor.roles.includes('security_admin');

/** The verdict on the version a download asks for, when the resource names one. */
const versionScanOf = (r: ContentResource): string | undefined => (r.kind === 'document' ? r.versionScan : undefined);

/** Malware and files held or blocked by the file policy: never handed out, to anyone, the system included. */
export function versionQuarantined(action: ContentAction, r: ContentResource): boolean {
  return action === 'document.download' && ['infected', 'blocked', 'held'].includes(versionScanOf(r) ?? '');
}

/**
 * A legal hold freezes its records for everyone, the system included: no deletion, disposal or purge,
 * no new version, rename, move or reclassification, of a held document or of a held collection.
 */
const FROZEN: readonly string[] = ['document.delete', 'document.version', 'document.rename', 'document.classify', 'document.dispose', 'document.purge'];
export function frozenByHold(action: string, r: ContentResource, context: DecisionContext): boolean {
  return FROZEN.includes(action) && (context.holds.get(r.id)?.length ?? 0) > 0;
}

/** Rules that deny whatever else would allow. */
export function prohibited(actor: Actor, action: ContentAction, r: ContentResource, context: DecisionContext): boolean {
  if (frozenByHold(action, r, context)) return true;
  if (r.kind === 'document') {
    if (r.status === 'disposed') return true;
    if (isUnscanned(r)) {
      // Quarantined files are downloadable by no one; a pending one by its own security admin, to decide on it,
      // and then only the version under review (the one still pending), never an older one.
      const reviewing = isOwnSecurityAdmin(actor, r) && r.status === 'pending_scan' && (versionScanOf(r) === undefined || versionScanOf(r) === 'pending');
      const stillPossible = reviewing ? ['document.read', 'document.download'] : ['document.read'];
      if (!stillPossible.includes(action)) return true;
    }
    // A version still waiting for its verdict (a rescan of an older one) is not handed out meanwhile.
    if (action === 'document.download' && versionScanOf(r) === 'pending') {
      if (!(r.status === 'pending_scan' && isOwnSecurityAdmin(actor, r))) return true;
    }
    if (r.deleted && !['document.read', 'document.restore', 'document.access-history'].includes(action)) return true;
  }
  if (!clearedFor(actor.clearance, r.classification)) return true;
  // Nobody creates what they could not read, nor classifies anything so.
  if (isCreateInside(action) && context.newClassification !== undefined && !clearedFor(actor.clearance, context.newClassification)) return true;
  if (action === 'document.classify') {
    if (context.newClassification === undefined || !clearedFor(actor.clearance, context.newClassification)) return true;
  }
  return false;
}

export function inForce(a: Arrangement, now: Date): boolean {
  const started = new Date(a.startsAt).getTime() <= now.getTime();
  const notEnded = a.endsAt === null || new Date(a.endsAt).getTime() > now.getTime();
  const allAccepted = a.partnerOrganisationIds.every((p) => a.acceptedBy.includes(p));
  return a.status === 'active' && started && notEnded && allAccepted;
}

/** Is the resource in this arrangement's joint workspace, and is the actor one of its parties? */
export function jointWorkspaceOpenTo(a: Arrangement, actor: Actor, r: ContentResource): boolean {
  const actorIsParty = actor.organisationId === a.hostOrganisationId || a.partnerOrganisationIds.includes(actor.organisationId ?? '');
  return r.arrangementId === a.id && r.organisationId === a.hostOrganisationId && actorIsParty;
}

/** Host staff serving a partner's own documents. */
export function hostServesPartner(a: Arrangement, actor: Actor, r: ContentResource): boolean {
  return actor.organisationId === a.hostOrganisationId && a.partnerOrganisationIds.includes(r.organisationId);
}

/** Every arrangement that, on its own, lets this actor do this action on this resource. */
export function coveringArrangements(actor: Actor, action: ContentAction, r: ContentResource, context: DecisionContext): Arrangement[] {
  const createdAbove = isCreateInside(action) && context.newClassification !== undefined ? context.newClassification : r.classification;
  return context.arrangements.filter(
    (a) =>
      inForce(a, context.now) &&
      a.serviceArea === r.serviceArea &&
      actor.teams.includes(a.serviceArea) &&
      clearedFor(a.ceiling, r.classification) &&
      clearedFor(a.ceiling, createdAbove) &&
      levelCovers(a.accessLevel, action) &&
      (jointWorkspaceOpenTo(a, actor, r) || hostServesPartner(a, actor, r)),
  );
}

export function ownOrganisationGrants(actor: Actor, r: ContentResource): boolean {
  if (actor.organisationId !== r.organisationId) return false;
  return actor.teams.includes(r.serviceArea) || actor.roles.includes('records_manager');
}

export function securityReviewGrants(actor: Actor, action: ContentAction, r: ContentResource): boolean {
  return isUnscanned(r) && isOwnSecurityAdmin(actor, r) && (action === 'document.read' || action === 'document.download');
}

/**
 * The other organisations an actor reaches through arrangements, from the specification: every
 * party an in-force arrangement links them to, where they serve in its team. Hosts serve partners;
 * partners use the host's joint workspace; partners of one host are not linked to each other.
 */
export function modelReachable(actor: Actor, arrangements: readonly Arrangement[], now: Date): string[] {
  if (actor.kind !== 'user' || actor.organisationId === null) return [];
  const me = actor.organisationId;
  const reached: string[] = [];
  for (const a of arrangements) {
    if (!inForce(a, now) || !actor.teams.includes(a.serviceArea)) continue;
    if (a.hostOrganisationId === me) reached.push(...a.partnerOrganisationIds);
    if (a.partnerOrganisationIds.includes(me)) reached.push(a.hostOrganisationId);
  }
  return [...new Set(reached)].filter((id) => id !== me).sort();
}

export function modelDecide(actor: Actor, action: ContentAction, r: ContentResource, context: DecisionContext): ModelDecision {
  if (frozenByHold(action, r, context)) return { allow: false };
  if (versionQuarantined(action, r)) return { allow: false };
  if (actor.kind === 'system') return { allow: true, grantedBy: 'system' };
  if (actor.organisationId === null) return { allow: false };
  if (isCreateInside(action)) {
    // Creating goes inside a collection the actor may open, whatever else they may do.
    if (r.kind !== 'collection') return { allow: false };
    if (!modelDecide(actor, 'collection.list', r, { ...context, newClassification: undefined }).allow) return { allow: false };
  }
  if (prohibited(actor, action, r, context)) return { allow: false };
  if (securityReviewGrants(actor, action, r)) return { allow: true, grantedBy: 'security_review' };
  if (ownOrganisationGrants(actor, r)) return { allow: true, grantedBy: 'own_organisation' };
  const via = coveringArrangements(actor, action, r, context).map((a) => a.id);
  if (via.length > 0) return { allow: true, grantedBy: 'arrangement', via };
  return { allow: false };
}
