// Whether a blob the orphan sweep condemned (and so deleted, or is deleting) is named by the database again.
// The sweep deletes only a blob that one statement found named by nothing, and that statement's mark refuses
// every later write naming it (db/repos/blob-references.ts), so Strongroom never names a condemned orphan. A
// database administrator who points a version (and its replica ledger row) elsewhere for two sweeps and back
// gets its stored copies deleted with no row left changed: the transaction that condemns a batch writes an
// event listing its blobs before any is deleted (so a delete is never unrecorded, whatever happens after it),
// the deletes' outcome is a second event, and `audit verify` names a version that names one of them.
import type { AuditEvent } from './event.js';

/** Written with the condemnation, before the deletes: these blobs are named by nothing and being deleted. */
export const ORPHAN_CONDEMNATION_ACTION = 'storage.orphans-condemned';
/** Written after the deletes: how many were deleted (with their ids and bytes) and how many deletes failed. */
export const ORPHAN_REMOVAL_ACTION = 'storage.orphans-removed';
export const ORPHAN_RECORD_ACTIONS = [ORPHAN_CONDEMNATION_ACTION, ORPHAN_REMOVAL_ACTION] as const;

/** How many blob ids one event lists: the sweep writes as many events as it needs. */
export const ORPHAN_IDS_PER_EVENT = 100;

type SweptRecord = Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>;

/** What the events say of a blob: condemned (its delete pending, failed or not yet recorded), or recorded as deleted. */
export type SweptOrphan = 'condemned' | 'deleted';

/**
 * The blobs each store's sweeps condemned or recorded as deleted (`blobIds`, space-separated: deletions since
 * 5 December 2026, condemnations since the 6th; a blob deleted since is named by its condemnation first).
 */
export function sweptOrphans(events: readonly SweptRecord[]): Map<string, Map<string, SweptOrphan>> {
  const byStore = new Map<string, Map<string, SweptOrphan>>();
  for (const e of events) {
    const { store, blobIds } = e.targetIds;
    if (e.decision !== 'allow' || !store || !blobIds) continue;
    if (e.action !== ORPHAN_CONDEMNATION_ACTION && e.action !== ORPHAN_REMOVAL_ACTION) continue;
    const blobs = byStore.get(store) ?? new Map<string, SweptOrphan>();
    byStore.set(store, blobs);
    for (const id of blobIds.split(' ').filter(Boolean)) {
      if (e.action === ORPHAN_REMOVAL_ACTION) blobs.set(id, 'deleted');
      else if (!blobs.has(id)) blobs.set(id, 'condemned');
    }
  }
  return byStore;
}

/** Said to a person: a blob the sweep condemned in (or deleted from) `store` is named by the database now. */
export function removedOrphanNamed(store: string, blobId: string, as: SweptOrphan): string {
  const what = as === 'deleted'
    ? `which the orphan sweep deleted from the ${store} store as named by nothing`
    : `which the orphan sweep condemned in the ${store} store as named by nothing, to be deleted`;
  return `Blob ${blobId}, ${what}, is named by a version now: `
    + `the database was changed directly (a version or its replica record pointed elsewhere while the sweep ran, and back), and that stored copy is ${as === 'deleted' ? 'gone' : 'gone or going'}.`;
}
