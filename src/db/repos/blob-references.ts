// The fence between writing a blob reference and the garbage collection deleting that blob. Every
// statement that makes a row name a blob (a version's blob, a thumbnail) first removes the blob's
// orphan candidates in the same transaction, and fails if a sweep had already condemned it. The sweep
// condemns only in one statement that sees no reference (OrphanBlobsRepo.condemn), so of the two
// writes to the candidate's row one comes first: either the sweep condemns and this write refuses (the
// upload fails and stores nothing: its blob was garbage a day old), or this write removes the candidate
// and the sweep finds nothing to condemn. A blob a committed row names is never deleted.
import type { Kysely } from 'kysely';
import { DomainError } from '../../domain/errors.js';
import { preparedQuery } from '../prepared-query.js';
import type { Schema } from '../schema.js';

const removeCandidates = preparedQuery((db, values: { blobId: string }) =>
  db.deleteFrom('orphan_blob_candidates').where('blob_id', '=', values.blobId).returning('condemned_at'));

/** Call before (and in the same transaction as) the statement that makes a row name `blobId`. */
export async function claimBlobReference(db: Kysely<Schema>, blobId: string): Promise<void> {
  const removed = (await removeCandidates.run(db, { blobId })).rows;
  if (removed.some((row) => row.condemned_at !== null)) {
    throw new DomainError('CONFLICT', 'This file\'s stored copy was found abandoned and is being removed; send the file again.');
  }
}
