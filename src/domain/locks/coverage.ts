// Which write locks a change runs into. Locks name a resource (a document, or a collection with
// depth 0 or infinity); coverage follows the file plan's ancestry by id, never path strings, so a
// rename or a move cannot carry a resource out from under a lock or into one unnoticed.

/** Where a document or collection sits: itself and the collections above it, nearest first. */
export interface Place {
  documentId: string | null;
  /** The collection itself, for a collection; null for a document. */
  collectionId: string | null;
  /** Collection ids above it, nearest first (a document's own collection comes first). */
  ancestors: readonly string[];
}

export interface LockOn {
  place: Place;
  depth: '0' | 'infinity';
}

/**
 * What a change touches:
 * - `content`: the resource itself (a new version, a classification, properties of a document or collection);
 * - `members`: a collection's membership (a member added, removed or renamed);
 * - `subtree`: a collection and everything below it (deleting or moving the collection).
 */
export type Touch = { kind: 'content' | 'members' | 'subtree'; place: Place };

const isOn = (lock: LockOn, place: Place): boolean =>
  place.documentId !== null ? lock.place.documentId === place.documentId : lock.place.documentId === null && lock.place.collectionId === place.collectionId;

/** A depth-infinity collection lock above the place covers it. */
const fromAbove = (lock: LockOn, place: Place): boolean =>
  lock.depth === 'infinity' && lock.place.documentId === null && lock.place.collectionId !== null && place.ancestors.includes(lock.place.collectionId);

/** A lock on something inside the collection at `place` (a document or sub-collection under it). */
const below = (lock: LockOn, place: Place): boolean => place.collectionId !== null && lock.place.ancestors.includes(place.collectionId);

/** Whether the lock applies to the resource at `place` (what lockdiscovery reports for it). */
export function lockApplies(lock: LockOn, place: Place): boolean {
  return isOn(lock, place) || fromAbove(lock, place);
}

/** Whether the lock protects what this change touches, so its token must be presented by its holder. */
export function lockCovers(lock: LockOn, touch: Touch): boolean {
  switch (touch.kind) {
    case 'content':
    case 'members':
      // A depth-0 collection lock protects the collection's own state and membership, not its members' content.
      return lockApplies(lock, touch.place);
    case 'subtree':
      return lockApplies(lock, touch.place) || below(lock, touch.place);
  }
}

/** Whether the lock is on the resource at `place` or on something inside it (what deleting or moving it ends). */
export function lockWithin(lock: LockOn, place: Place): boolean {
  return isOn(lock, place) || below(lock, place);
}

/**
 * Whether a new lock would conflict with an existing one: the new lock's footprint is its
 * resource (depth 0) or its whole subtree (depth infinity on a collection).
 */
export function lockConflicts(existing: LockOn, wanted: LockOn): boolean {
  const kind = wanted.depth === 'infinity' && wanted.place.documentId === null ? 'subtree' : 'content';
  return lockCovers(existing, { kind, place: wanted.place });
}
