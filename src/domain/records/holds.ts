// Legal holds: a named reason (litigation, an inquiry, an open subject access request) to keep records
// exactly as they are. A hold over a collection covers every document in it and below it, including
// documents added later, until the hold is released. Plain data; nothing here does I/O.

export interface LegalHold {
  id: string;
  organisationId: string;
  name: string;
  reason: string;
  /** A case, inquiry or request reference, if there is one. */
  reference: string | null;
  createdBy: string | null;
  createdAt: string;
  releasedAt: string | null;
  releasedBy: string | null;
  releaseReason: string | null;
}

/** What a hold covers: one document, or one collection and everything below it. */
export interface HoldItem {
  id: string;
  holdId: string;
  organisationId: string;
  documentId: string | null;
  collectionId: string | null;
  addedBy: string | null;
  addedAt: string;
}

/** A hold in force over a document, as decide() is told of it: enough to say which hold refused. */
export interface HoldRef {
  id: string;
  name: string;
}

export const isHoldActive = (hold: Pick<LegalHold, 'releasedAt'>): boolean => hold.releasedAt === null;

/**
 * What a records manager is told when a hold refuses something: the hold by name and id, and that
 * it lasts until released. The same words on every interface (REST, web, WebDAV, CLI).
 */
export function heldMessage(kind: 'document' | 'collection', hold: HoldRef, options: { containing?: boolean; named: boolean }): string {
  const what = kind === 'document' ? 'This document is' : options.containing ? 'This collection has something inside it that is' : 'This collection is';
  const which = options.named ? `legal hold “${hold.name}”` : 'a legal hold of the organisation that owns it';
  return `${what} under ${which} (hold ${hold.id}); it cannot be deleted, changed or disposed of until the hold is released.`;
}

/** What someone outside the owning organisation is shown of a hold in force: that it exists, not its name. */
export const UNNAMED_HOLD = 'Legal hold (named only to the owning organisation)';

/** A release must say why, so the register shows who let the records go and on what grounds. */
export const RELEASE_REASON_MIN = 10;
