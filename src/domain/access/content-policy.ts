// Decides the content actions (CONTENT_ACTIONS) on documents, their versions and collections: status rules
// (disposed, deleted, pending scan, quarantined) first, then clearance, a security admin's review of their own
// organisation's file under review, the actor's own service areas, and last the arrangements that reach
// another organisation's content or a joint workspace. ownServiceAreas() is readableScope()'s too.
import type { AccessLevel, Actor, ScanStatus, ServiceArea } from '../types.js';
import { classificationAtMost, levelAtLeast } from '../types.js';
import type { ContentAction, CreateInsideAction } from './actions.js';
import { CONTENT_ACTIONS, isCreateInsideAction } from './actions.js';
import { arrangementCovers } from './arrangement-reach.js';
import { allow, deny, hasRole, type Decision, type DecisionContext } from './decision.js';
import type { CollectionResource, DocumentResource } from './resources.js';

/**
 * The service areas of their own organisation an actor works in: their teams', or all of them for a
 * records manager (who looks after the whole file plan). decide() and readableScope() both ask it.
 */
export function ownServiceAreas(actor: Actor): readonly ServiceArea[] | 'all' {
  return hasRole(actor, 'records_manager') ? 'all' : actor.teams;
}

export function decideContent(
  actor: Actor,
  action: ContentAction,
  resource: CollectionResource | DocumentResource,
  context: DecisionContext,
): Decision {
  return isCreateInsideAction(action) ? decideCreateInside(actor, action, resource, context) : decideOnResource(actor, action, resource, context);
}

/**
 * Creating inside a collection needs the right to see the collection as it is and the level to
 * write to it, and what is created must be something the actor could then see through the same
 * grant. Without the first, a person below a folder's classification (or a partner whose ceiling
 * is below it) could add to a folder they get 404 for; without the second, they could create
 * what they may not read.
 */
function decideCreateInside(
  actor: Actor,
  action: CreateInsideAction,
  parent: CollectionResource | DocumentResource,
  context: DecisionContext,
): Decision {
  if (parent.kind !== 'collection') return deny('wrong_resource');
  const see = decideOnResource(actor, 'collection.list', parent, context);
  if (!see.allow) return see;
  const created = context.newClassification === undefined || classificationAtMost(context.newClassification, parent.classification)
    ? parent
    : { ...parent, classification: context.newClassification };
  return decideOnResource(actor, action, created, context);
}

function decideOnResource(
  actor: Actor,
  action: ContentAction,
  resource: CollectionResource | DocumentResource,
  context: DecisionContext,
): Decision {
  // Status rules come first: they bind everyone, in every organisation.
  if (resource.kind === 'document') {
    const refusal = statusRefusal(actor, action, resource);
    if (refusal) return refusal;
  }
  if (!classificationAtMost(resource.classification, actor.clearance)) return deny('clearance');
  if (action === 'document.classify') {
    const target = context.newClassification;
    if (!target || !classificationAtMost(target, actor.clearance)) return deny('clearance');
  }
  if (resource.kind === 'document' && isUnderReview(resource) && isOwnSecurityAdmin(actor, resource)) {
    return allow('security_admin_review');
  }

  const needed: AccessLevel = CONTENT_ACTIONS[action];

  if (resource.organisationId === actor.organisationId) {
    const areas = ownServiceAreas(actor);
    if (areas === 'all') return allow(actor.teams.includes(resource.serviceArea) ? 'own_team' : 'records_manager');
    if (areas.includes(resource.serviceArea)) return allow('own_team');
  }

  // Another organisation's content (or a joint workspace): only through an arrangement.
  for (const arrangement of context.arrangements) {
    if (!arrangementCovers(arrangement, actor, resource, context.now)) continue;
    if (!levelAtLeast(arrangement.accessLevel, needed)) continue;
    return allow('arrangement', arrangement.id);
  }
  return deny(resource.organisationId === actor.organisationId ? 'not_in_team' : 'no_arrangement');
}

export const isQuarantinedScan = (scan: ScanStatus | undefined): boolean => scan === 'infected' || scan === 'blocked' || scan === 'held';

const isUnderReview = (doc: DocumentResource): boolean => doc.status === 'pending_scan' || doc.status === 'quarantined';
const isOwnSecurityAdmin = (actor: Actor, doc: DocumentResource): boolean =>
  doc.organisationId === actor.organisationId && hasRole(actor, 'security_admin');

/** Disposal, deletion, pending scans and quarantine refuse actions whatever else would grant them. */
function statusRefusal(actor: Actor, action: ContentAction, doc: DocumentResource): Decision | null {
  if (doc.status === 'disposed') return deny('disposed');
  if (doc.deleted && action !== 'document.read' && action !== 'document.restore' && action !== 'document.access-history') {
    return deny('deleted');
  }
  if (isUnderReview(doc) && action !== 'document.read') {
    // A pending file may be fetched by its organisation's security admin to decide on it, and only
    // the version under review (not an older one); a quarantined one is downloadable by no one
    // (release it first).
    const reviewDownload = action === 'document.download' && doc.status === 'pending_scan' && isOwnSecurityAdmin(actor, doc) && (doc.versionScan ?? 'pending') === 'pending';
    if (!reviewDownload) return deny(doc.status);
  }
  // An older version still being scanned (a rescan) waits for its verdict like a current one.
  if (action === 'document.download' && doc.versionScan === 'pending' && doc.status !== 'pending_scan') return deny('version_pending');
  return null;
}
