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
