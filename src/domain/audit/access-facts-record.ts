// Whether the facts access is decided on are the ones the audit log gives. decide() judges a record by
// its row: its classification (against the person's clearance and an arrangement's ceiling), its service
// area (which arrangement covers it) and its arrangement binding (a joint workspace). A database
// administrator who writes OFFICIAL over OFFICIAL-SENSITIVE opens a record to everyone cleared only for
// OFFICIAL; one who writes "payroll" over "hr", or binds a folder to an arrangement, opens it to another
// council's staff; none of it leaves an event.
//
// Classification. Every operation that sets one records it: a document's upload, copy, rename, move and
// restore (each raises it to its folder's), a person's reclassification, and a collection's creation and
// move. What no event of the record itself says: a collection's move recomputes everything beneath it
// (domain/placement.ts), raising each sub-collection to its parent's classification and each document to
// its folder's. So the log's answer for a record is its latest own event's classification, raised to its
// parent's when any collection on its chain (its folder and every folder above, as the rows now give
// them) has moved since. That is exact, not a bound: a parent's classification only ever rises by its own
// move or an ancestor's, and each such move raises the record with it. Two exceptions, both the
// recomputation's: it does not reach into a folder in the bin (folders are never restored, so a binned
// folder and what is in it keep what they had when binned), nor disposed documents (stubs, never read).
//
// Service area and arrangement binding are never chosen for anything below the top level: a
// sub-collection has exactly its parent's and a document its folder's (placement.ts), and every move
// recomputes them beneath it. A top-level collection keeps the service area its creation recorded, and
// is bound to an arrangement only as the joint workspace it was created as, never moved under anything
// since (a move under a folder takes that folder's binding, and one back to the top level none).
//
// Organisation: decide() treats a record whose row names a council as that council's own, so one written
// into another council (a document, or a top-level folder with everything in it) opens it to that
// council's staff. Nothing changes it: a collection moves only within its organisation, and a document
// moved to another is a copy there. So a record's is its parent's, in the bin or out, and a top-level
// folder's the one its creation was recorded under.
//
// The chain is the rows' own; a chain changed by hand is named by the placement check (placement-record.ts).
import type { AuditEvent } from './event.js';
import type { Classification } from '../types.js';
import { CLASSIFICATIONS } from '../types.js';
import { higherClassification } from '../placement.js';
import { TOP_LEVEL } from './placement-record.js';

/** Events that set a document's classification (the source's side of a copy, or of a move elsewhere, does not). */
export const DOCUMENT_CLASSIFICATION_ACTIONS = ['document.upload', 'document.copy', 'document.rename', 'document.move', 'document.restore', 'document.classify'] as const;
/** Events that set a collection's facts; a move also recomputes everything beneath it. */
export const COLLECTION_FACT_ACTIONS = ['collection.create', 'collection.move'] as const;
/** What changes records beneath it without an event of their own. */
export const SUBTREE_RECOMPUTING_ACTIONS = ['collection.move'] as const;

/** `targetOrganisationId`: whose a collection's creation made it (compared when given). */
type RecordingEvent = Pick<AuditEvent, 'action' | 'decision' | 'targetIds' | 'time'> & { targetOrganisationId?: string | null };

/** Rows as stored: a value written by hand may not even be one Strongroom has. */
export interface CollectionFacts { id: string; organisationId: string; parentId: string | null; deletedAt: string | null; classification: string; serviceArea: string; arrangementId: string | null }
export interface DocumentFacts { id: string; organisationId: string; collectionId: string; status: string; classification: string; serviceArea: string; arrangementId: string | null }

const DIRECT = 'its row was changed in the database directly, not by Strongroom.';

const isClassification = (value: string): value is Classification => (CLASSIFICATIONS as readonly string[]).includes(value);

const recorded = (e: Pick<RecordingEvent, 'targetIds'>): Classification | undefined => {
  const classification = e.targetIds.classification;
  return classification !== undefined && isClassification(classification) ? classification : undefined;
};

/**
 * The classification an event gave its document; undefined when it set it without saying (a placement
 * recorded before 5 December 2026, when only a move that raised it said so); null when it did not set it.
 */
export function documentClassifiedAs(e: Pick<RecordingEvent, 'action' | 'decision' | 'targetIds'>): Classification | undefined | null {
  if (e.decision !== 'allow' || !e.targetIds.documentId) return null;
  switch (e.action) {
    case 'document.upload':
    case 'document.rename':
    case 'document.restore':
    case 'document.classify':
      return recorded(e);
    case 'document.copy':
      return e.targetIds.copyDocumentId !== undefined ? null : recorded(e);
    case 'document.move':
      return e.targetIds.movedToDocumentId !== undefined ? null : recorded(e);
    default:
      return null;
  }
}

const isOwnCollectionEvent = (e: RecordingEvent): boolean =>
  e.decision === 'allow' && e.targetIds.collectionId !== undefined && (COLLECTION_FACT_ACTIONS as readonly string[]).includes(e.action);

/** Each record's latest own event that set its classification: where it is in `events`, and what it said (undefined: it did not say). */
function latestClassification(events: readonly RecordingEvent[], idOf: (e: RecordingEvent) => string | undefined, classifiedAs: (e: RecordingEvent) => Classification | undefined | null) {
  const latest = new Map<string, { at: number; classification: Classification | undefined }>();
  events.forEach((e, at) => {
    const classification = classifiedAs(e);
    if (classification !== null) latest.set(idOf(e)!, { at, classification });
  });
  return latest;
}

/** Each collection's moves: where they are in `events`, and when. */
function movesOf(events: readonly RecordingEvent[]): Map<string, { at: number; time: string }[]> {
  const moves = new Map<string, { at: number; time: string }[]>();
  events.forEach((e, at) => {
    const id = e.targetIds.collectionId;
    if (e.decision !== 'allow' || id === undefined || !(SUBTREE_RECOMPUTING_ACTIONS as readonly string[]).includes(e.action)) return;
    moves.set(id, [...(moves.get(id) ?? []), { at, time: e.time }]);
  });
  return moves;
}

interface Tree { byId: ReadonlyMap<string, CollectionFacts>; moves: ReadonlyMap<string, readonly { at: number; time: string }[]> }

/**
 * Whether a collection from `firstId` up to the top (as the rows give it) moved after position `since`
 * and, for what is in the bin, before `binnedAt` (the recomputation does not reach into the bin).
 */
function chainMovedSince(tree: Tree, firstId: string, since: number, binnedAt: string | null): boolean {
  const seen = new Set<string>();
  for (let id: string | null = firstId; id !== null && !seen.has(id); id = tree.byId.get(id)?.parentId ?? null) {
    seen.add(id);
    if ((tree.moves.get(id) ?? []).some((m) => m.at > since && (binnedAt === null || Date.parse(m.time) < Date.parse(binnedAt)))) return true;
  }
  return false;
}

/** Why a row's classification is not the log's (null: it is, or the log does not say). */
function classificationProblem(
  subject: string, row: string, latest: { at: number; classification: Classification | undefined } | undefined,
  parent: CollectionFacts | undefined, tree: Tree, binnedAt: string | null,
): string | null {
  if (!isClassification(row)) return `${subject} is classified "${row}", which is no classification Strongroom has: ${DIRECT}`;
  if (latest?.classification === undefined) return null;
  const raised = parent !== undefined && isClassification(parent.classification) && chainMovedSince(tree, parent.id, latest.at, binnedAt);
  const expected = raised ? higherClassification(latest.classification, parent.classification as Classification) : latest.classification;
  return row === expected ? null : `${subject} is classified ${row}, but the audit log gives it ${expected}: ${DIRECT}`;
}

const binding = (arrangementId: string | null): string => (arrangementId === null ? 'no arrangement' : `arrangement ${arrangementId}`);

/**
 * Why a record's organisation is not its parent's (null: it is). Nothing changes a record's organisation
 * (a collection moves only within its own; a document moved to another council is a copy there), in the
 * bin or out of it, so this holds for every record, binned or not.
 */
function organisationProblem(subject: string, row: { organisationId: string }, parentName: string, parent: CollectionFacts): string | null {
  return row.organisationId === parent.organisationId ? null : `${subject} is in organisation ${row.organisationId}, but ${parentName} is in ${parent.organisationId}: ${DIRECT}`;
}

/** Why a record's service area or binding is not its parent's (null: they are). `parentName`: "its collection Y". */
function inheritedProblem(subject: string, row: { serviceArea: string; arrangementId: string | null }, parentName: string, parent: CollectionFacts): string | null {
  if (row.serviceArea !== parent.serviceArea) return `${subject} is in service area ${row.serviceArea}, but ${parentName} is in ${parent.serviceArea}: ${DIRECT}`;
  if (row.arrangementId !== parent.arrangementId) return `${subject} is bound to ${binding(row.arrangementId)}, but ${parentName} to ${binding(parent.arrangementId)}: ${DIRECT}`;
  return null;
}

/**
 * A top-level collection's own facts by its events (`own`: its creation and moves, in log order): the
 * service area its creation recorded (undefined: it did not say, before 5 December 2026), and its binding:
 * the one it was created with as a joint workspace while it has never been moved under anything, else
 * none. Undefined when its creation is not in the log or did not say where it was made.
 */
function topLevelFacts(own: readonly RecordingEvent[]): { organisationId: string | undefined; serviceArea: string | undefined; arrangementId: string | null | undefined } {
  const creation = own.find((e) => e.action === 'collection.create');
  if (!creation) return { organisationId: undefined, serviceArea: undefined, arrangementId: undefined };
  const organisationId = creation.targetOrganisationId ?? undefined;
  const serviceArea = creation.targetIds.serviceArea;
  const parent = creation.targetIds.parentId;
  if (parent === undefined) return { organisationId, serviceArea, arrangementId: undefined };
  const stayedAtTop = parent === TOP_LEVEL && own.every((e) => e.action !== 'collection.move' || e.targetIds.parentId === undefined);
  return { organisationId, serviceArea, arrangementId: stayedAtTop ? creation.targetIds.arrangementId ?? null : null };
}

/**
 * For `audit verify`: the first collection whose classification, service area or binding is not the one
 * the log gives it. `events`: every collection creation and move, IN LOG ORDER. Every collection is
 * checked before any document, so a document's folder is known to hold facts the log vouches for.
 */
export function unrecordedCollectionFacts(collections: readonly CollectionFacts[], events: readonly RecordingEvent[]): string | null {
  const tree: Tree = { byId: new Map(collections.map((c) => [c.id, c])), moves: movesOf(events) };
  const latest = latestClassification(events, (e) => e.targetIds.collectionId, (e) => (isOwnCollectionEvent(e) ? recorded(e) : null));
  const own = new Map<string, RecordingEvent[]>();
  for (const e of events) if (isOwnCollectionEvent(e)) own.set(e.targetIds.collectionId!, [...(own.get(e.targetIds.collectionId!) ?? []), e]);
  // Top down, so what a folder inherits is compared with a parent already vouched for, and the folder named is the one written.
  for (const c of [...collections].sort((a, b) => depth(tree, a) - depth(tree, b))) {
    const subject = `Collection ${c.id}`;
    const parent = c.parentId === null ? undefined : tree.byId.get(c.parentId);
    const problem = classificationProblem(subject, c.classification, latest.get(c.id), parent, tree, c.deletedAt);
    if (problem) return problem;
    if (c.parentId === null) {
      const facts = topLevelFacts(own.get(c.id) ?? []);
      if (facts.organisationId !== undefined && facts.organisationId !== c.organisationId) return `${subject} is in organisation ${c.organisationId}, but the audit log created it in ${facts.organisationId}: ${DIRECT}`;
      if (facts.serviceArea !== undefined && facts.serviceArea !== c.serviceArea) return `${subject} is in service area ${c.serviceArea}, but the audit log created it in ${facts.serviceArea}: ${DIRECT}`;
      if (facts.arrangementId !== undefined && facts.arrangementId !== c.arrangementId) return `${subject} is bound to ${binding(c.arrangementId)}, but the audit log gives it ${binding(facts.arrangementId)}: ${DIRECT}`;
    } else if (parent !== undefined) {
      const inherited = organisationProblem(subject, c, `its parent collection ${parent.id}`, parent)
        ?? (c.deletedAt === null ? inheritedProblem(subject, c, `its parent collection ${parent.id}`, parent) : null);
      if (inherited) return inherited;
    }
  }
  return null;
}

/** How many collections are above this one, as the rows give it (a loop ends the count). */
function depth(tree: Tree, c: CollectionFacts): number {
  const seen = new Set<string>([c.id]);
  for (let id = c.parentId; id !== null && !seen.has(id); id = tree.byId.get(id)?.parentId ?? null) seen.add(id);
  return seen.size;
}

/**
 * For `audit verify`: the first of `documents` whose classification, service area or binding is not the
 * one the log gives it. `events`: the events filed under these documents together with every
 * collection move, IN LOG ORDER; `collections`: every collection's row, already checked
 * (unrecordedCollectionFacts). Disposed documents are stubs no one reads: not judged.
 */
export function unrecordedDocumentFacts(documents: readonly DocumentFacts[], collections: readonly CollectionFacts[], events: readonly RecordingEvent[]): string | null {
  const tree: Tree = { byId: new Map(collections.map((c) => [c.id, c])), moves: movesOf(events) };
  const latest = latestClassification(events, (e) => e.targetIds.documentId, documentClassifiedAs);
  for (const d of documents) {
    if (d.status === 'disposed') continue;
    const subject = `Document ${d.id}`;
    const folder = tree.byId.get(d.collectionId);
    const problem = classificationProblem(subject, d.classification, latest.get(d.id), folder, tree, folder?.deletedAt ?? null);
    if (problem) return problem;
    if (folder !== undefined) {
      const inherited = organisationProblem(subject, d, `its collection ${folder.id}`, folder)
        ?? (folder.deletedAt === null ? inheritedProblem(subject, d, `its collection ${folder.id}`, folder) : null);
      if (inherited) return inherited;
    }
  }
  return null;
}
