// Whether a blob the orphan sweep deleted is named by the database again. The sweep deletes only a blob
// that one statement found named by nothing, and that statement's mark refuses every later write naming
// it (db/repos/blob-references.ts), so Strongroom never names a deleted orphan. A database administrator
// who points a version (and its replica ledger row) elsewhere for two sweeps and back gets its stored
// copies deleted with no row left changed: each deletion's event lists the blobs it deleted, and
// `audit verify` names a version that names one of them.
import type { AuditEvent } from './event.js';

export const ORPHAN_REMOVAL_ACTION = 'storage.orphans-removed';

/** How many blob ids one event lists: the sweep writes as many events as it needs. */
export const ORPHAN_IDS_PER_EVENT = 100;

type Removal = Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>;

/** The blobs each store's sweeps recorded as deleted (`blobIds`, space-separated, since 5 December 2026). */
export function removedOrphans(events: readonly Removal[]): Map<string, string[]> {
  const byStore = new Map<string, string[]>();
  for (const e of events) {
    const { store, blobIds } = e.targetIds;
    if (e.decision !== 'allow' || e.action !== ORPHAN_REMOVAL_ACTION || !store || !blobIds) continue;
    byStore.set(store, [...(byStore.get(store) ?? []), ...blobIds.split(' ').filter(Boolean)]);
  }
  return byStore;
}

/** Said to a person: a blob the sweep deleted from `store` is named by the database now. */
export function removedOrphanNamed(store: string, blobId: string): string {
  return `Blob ${blobId}, which the orphan sweep deleted from the ${store} store as named by nothing, is named by a version now: `
    + 'the database was changed directly (a version or its replica record pointed elsewhere while the sweep ran, and back), and that stored copy is gone.';
}
