// What a person may read, in terms a query can apply, built from the helpers decide() itself uses
// (ownServiceAreas, arrangementReach): for search, a set of grants with the same rules as decide() for
// `document.read` on a searchable document (available, not deleted; domain/search/types.ts ReadableScope);
// for a folder listing, the classifications it may bound its rows by, whatever their status.
import type { ReadableGrant, ReadableScope } from '../search/types.js';
import type { Actor, Arrangement, Classification, ScanStatus } from '../types.js';
import { CLASSIFICATIONS, classificationAtMost, levelAtLeast } from '../types.js';
import { CONTENT_ACTIONS } from './actions.js';
import { arrangementReach, ownServiceAreas } from './policy.js';

const lower = (a: Classification, b: Classification): Classification => (classificationAtMost(a, b) ? a : b);

/**
 * The actor's own organisation (their service areas, at or below their clearance), and for each
 * arrangement that serves them now: the partners' content in its service area (host staff) and its
 * joint workspace (staff of every party), at or below both the ceiling and their clearance. The
 * system actor reads everything; an actor without an organisation or user reads nothing.
 */
export function readableScope(actor: Actor, arrangements: readonly Arrangement[], now: Date): ReadableScope {
  if (actor.kind === 'system') return { grants: [], everything: true };
  if (actor.organisationId === null || actor.userId === null) return { grants: [] };
  const grants: ReadableGrant[] = [
    { organisationId: actor.organisationId, serviceAreas: ownServiceAreas(actor), maxClassification: actor.clearance, arrangementId: null, via: null },
  ];
  for (const arrangement of arrangements) {
    const reach = arrangementReach(arrangement, actor, now);
    if (!reach || !levelAtLeast(reach.accessLevel, CONTENT_ACTIONS['document.read'])) continue;
    const maxClassification = lower(reach.ceiling, actor.clearance);
    const serviceAreas = [reach.serviceArea];
    for (const partner of reach.partners) {
      grants.push({ organisationId: partner, serviceAreas, maxClassification, arrangementId: null, via: reach.arrangementId });
    }
    if (reach.jointWorkspaceOf !== null) {
      grants.push({ organisationId: reach.jointWorkspaceOf, serviceAreas, maxClassification, arrangementId: reach.arrangementId, via: reach.arrangementId });
    }
  }
  return { grants };
}

/**
 * Does `now` grant less than `before` did: some grant of `before` (organisation, service areas, ceiling, joint
 * workspace) that `now` does not hold as it was? A search's scope is worked out before its statement runs; one
 * that narrowed while it ran (an arrangement suspended or ended, a team taken away) is asked again.
 */
export function scopeNarrowed(before: ReadableScope, now: ReadableScope): boolean {
  if (before.everything && !now.everything) return true;
  if (now.everything) return false;
  const key = (g: ReadableGrant) => JSON.stringify([g.organisationId, g.serviceAreas === 'all' ? 'all' : [...g.serviceAreas].sort(), g.maxClassification, g.arrangementId]);
  const held = new Set(now.grants.map(key));
  return before.grants.some((g) => !held.has(key(g)));
}

/** Does some grant of the scope cover a document with these facts? (The same test the adapters run in SQL.) */
export function scopeCovers(
  scope: ReadableScope,
  doc: { organisationId: string; serviceArea: string; classification: Classification; arrangementId: string | null },
): boolean {
  if (scope.everything) return true;
  return scope.grants.some(
    (g) =>
      g.organisationId === doc.organisationId &&
      (g.serviceAreas === 'all' || g.serviceAreas.includes(doc.serviceArea)) &&
      classificationAtMost(doc.classification, g.maxClassification) &&
      (g.arrangementId === null || g.arrangementId === doc.arrangementId),
  );
}

/**
 * Would a search under this scope show this document as it is now, through this indexed version:
 * available, not in the bin, covered (the test the adapters run in SQL), and the version one of the
 * document's own that its readers may read (clean, or released from quarantine). Read from the
 * documents and versions rows, never from the index's.
 */
export function searchShows(
  scope: ReadableScope,
  doc: { id: string; organisationId: string; serviceArea: string; classification: Classification; arrangementId: string | null; status: string; deletedAt: string | null },
  version: { documentId: string; scanStatus: ScanStatus } | undefined,
): boolean {
  const readableVersion = version !== undefined && version.documentId === doc.id && (version.scanStatus === 'clean' || version.scanStatus === 'released');
  return readableVersion && doc.status === 'available' && doc.deletedAt === null && scopeCovers(scope, doc);
}

/**
 * The classifications of `organisationId`'s documents that decide() may let the actor read (`document.read`),
 * whatever the documents' status, or 'any' where it sets no bound. Every way decide() lets a person read (their
 * team, a records manager's file plan, an own security admin's review, an arrangement) is refused above their
 * clearance, and an arrangement's also above its ceiling; the system actor and the directory are not bounded
 * here. A listing asks its store for these rows only, so a person cleared for little of a large folder does not
 * have every row of it read and refused; decide() still judges every row read.
 */
export function readableClassifications(actor: Actor, arrangements: readonly Arrangement[], organisationId: string, now: Date): readonly Classification[] | 'any' {
  if (actor.kind !== 'user') return 'any';
  if (actor.organisationId === null || actor.userId === null) return [];
  let ceiling: Classification | null = actor.organisationId === organisationId ? actor.clearance : null;
  for (const arrangement of arrangements) {
    const reach = arrangementReach(arrangement, actor, now);
    if (!reach || !levelAtLeast(reach.accessLevel, CONTENT_ACTIONS['document.read'])) continue;
    if (!reach.partners.includes(organisationId) && reach.jointWorkspaceOf !== organisationId) continue;
    const through = lower(reach.ceiling, actor.clearance);
    if (ceiling === null || classificationAtMost(ceiling, through)) ceiling = through;
  }
  if (ceiling === null) return [];
  const readable = CLASSIFICATIONS.filter((c) => classificationAtMost(c, ceiling));
  return readable.length === CLASSIFICATIONS.length ? 'any' : readable;
}
