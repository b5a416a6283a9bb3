// Whether a document, and each collection above it, sits where the audit log last put it. Placement is
// rows (documents.collection_id, collections.parent_id), and a legal hold on a collection covers what is
// in it by those rows: a database administrator who moves a held document's row out of a held folder, or
// re-parents a folder inside one, frees the record for the disposal job without anyone having released
// anything. Every operation that places a record writes a sealed event naming where it put it (an upload
// or copy its collection, a move its destination; a collection's creation or move its parent), so the
// job and `audit verify` compare the rows with the latest such event.
//
// Why the latest placement, and not "every collection the log ever put the record in": a record may
// leave a folder honestly before a hold is placed on that folder, so holds over every past place would
// refuse honest disposals; the latest placement is exactly where the services left it, and the hold
// check (hold-record.ts) then runs over a chain the log vouches for.
import type { AuditEvent } from './event.js';

/** Every event that places a document (the move's and copy's source sides are told apart by their ids). */
export const DOCUMENT_PLACEMENT_ACTIONS = ['document.upload', 'document.copy', 'document.move'] as const;
export const COLLECTION_PLACEMENT_ACTIONS = ['collection.create', 'collection.move'] as const;

/** What a placement event writes as the parent of a collection at the top level. */
export const TOP_LEVEL = 'none';

type RecordingEvent = Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>;

const DIRECT = 'its row was changed in the database directly, not by Strongroom.';

/**
 * Where an event put its document: the collection's id; undefined when it placed the document without
 * saying where (an upload recorded before uploads named their collection, 4 December 2026); null when
 * it did not place it. The source's side of a copy (`copyDocumentId`) and of a move to another
 * organisation (`movedToDocumentId`, a copy there and a deletion here) leave the source where it was.
 */
export function documentPlacedIn(e: RecordingEvent): string | undefined | null {
  if (e.decision !== 'allow' || !e.targetIds.documentId) return null;
  if (e.action === 'document.upload') return e.targetIds.collectionId;
  if (e.action === 'document.copy') return e.targetIds.copyDocumentId !== undefined ? null : e.targetIds.collectionId;
  if (e.action === 'document.move') return e.targetIds.movedToDocumentId !== undefined ? null : e.targetIds.collectionId;
  return null;
}

/**
 * Under which collection an event put its collection: the parent's id or TOP_LEVEL; undefined when it
 * does not say (a creation recorded before creations named the parent); null when it did not place it.
 * A move has always named its parent when it had one, so a move without one is to the top level.
 */
export function collectionPlacedUnder(e: RecordingEvent): string | undefined | null {
  if (e.decision !== 'allow' || !e.targetIds.collectionId) return null;
  if (e.action === 'collection.create') return e.targetIds.parentId;
  if (e.action === 'collection.move') return e.targetIds.parentId ?? TOP_LEVEL;
  return null;
}

/** Where the log last put each document and collection; absent when it never said (no event, or only one from before it was recorded). */
export interface LastPlacements {
  documents: ReadonlyMap<string, string>;
  collections: ReadonlyMap<string, string>;
}

/** `events`: placement events IN THE ORDER THEY WERE WRITTEN (the latest one stands). Others are ignored. */
export function lastPlacements(events: readonly RecordingEvent[]): LastPlacements {
  const documents = new Map<string, string>();
  const collections = new Map<string, string>();
  const note = (map: Map<string, string>, id: string, where: string | undefined) => (where === undefined ? map.delete(id) : map.set(id, where));
  for (const e of events) {
    const inCollection = documentPlacedIn(e);
    if (inCollection !== null) note(documents, e.targetIds.documentId!, inCollection);
    const under = collectionPlacedUnder(e);
    if (under !== null) note(collections, e.targetIds.collectionId!, under);
  }
  return { documents, collections };
}

const under = (parent: string): string => (parent === TOP_LEVEL ? 'at the top level' : `under collection ${parent}`);

/** Why the document's row does not name the collection the log last put it in (null: it does, or the log does not say). `subject`: "Document X…". */
export function unrecordedDocumentPlacement(subject: string, row: { documentId: string; collectionId: string }, last: LastPlacements): string | null {
  const recorded = last.documents.get(row.documentId);
  if (recorded === undefined || recorded === row.collectionId) return null;
  return `${subject} is in collection ${row.collectionId}, but the audit log last placed it in collection ${recorded}: ${DIRECT}`;
}

/** Why the collection's row does not name the parent the log last put it under (null: it does, or the log does not say). */
export function unrecordedCollectionPlacement(subject: string, row: { id: string; parentId: string | null }, last: LastPlacements): string | null {
  const recorded = last.collections.get(row.id);
  const parent = row.parentId ?? TOP_LEVEL;
  if (recorded === undefined || recorded === parent) return null;
  return `${subject} is ${under(parent)}, but the audit log last placed it ${under(recorded)}: ${DIRECT}`;
}

/**
 * For the disposal job: why a document's place as its rows give it (its collection, then each parent up
 * to the top) is not where the log last put each of them; null when it is. A chain that stops before the
 * top (a parent with no row) is not a place the log can vouch for either.
 */
export function unrecordedPlace(
  subject: string,
  place: { documentId: string; collectionId: string; chain: readonly { id: string; parentId: string | null }[] },
  last: LastPlacements,
): string | null {
  const own = unrecordedDocumentPlacement(subject, place, last);
  if (own) return own;
  const lower = `${subject.charAt(0).toLowerCase()}${subject.slice(1)}`;
  if (place.chain[0]?.id !== place.collectionId) return `${subject} is in collection ${place.collectionId}, which has no row: the rows were changed in the database directly, not by Strongroom.`;
  for (const [i, link] of place.chain.entries()) {
    const problem = unrecordedCollectionPlacement(`Collection ${link.id}, above ${lower},`, link, last);
    if (problem) return problem;
    if (link.parentId !== null && place.chain[i + 1]?.id !== link.parentId) {
      return `Collection ${link.id}, above ${lower}, is under collection ${link.parentId}, which has no row or is below it: the rows were changed in the database directly, not by Strongroom.`;
    }
  }
  return null;
}

/** For `audit verify`: the first document or collection, of any organisation, not where the log last put it. */
export function unrecordedPlacementRow(
  rows: { documents: readonly { id: string; collectionId: string }[]; collections: readonly { id: string; parentId: string | null }[] },
  events: readonly RecordingEvent[],
): string | null {
  const last = lastPlacements(events);
  for (const c of rows.collections) {
    const problem = unrecordedCollectionPlacement(`Collection ${c.id}`, c, last);
    if (problem) return problem;
  }
  for (const d of rows.documents) {
    const problem = unrecordedDocumentPlacement(`Document ${d.id}`, { documentId: d.id, collectionId: d.collectionId }, last);
    if (problem) return problem;
  }
  return null;
}
