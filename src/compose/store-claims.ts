// At every open: the vault's id, and its blob stores confirmed to be its own (claimed if new), so a
// vault pointed at another's store or replica refuses to start rather than sweep the other's blobs
// away later. See docs/architecture.md "One vault per blob store".
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.js';
import type { BlobStore } from '../domain/ports.js';
import { parseStoreMarker, type StoreRole } from '../domain/store-marker.js';

export interface StoreAtOpen {
  role: StoreRole;
  store: BlobStore;
  /**
   * A bucket that does not answer now, or a replica anywhere, must not keep the vault from starting
   * (as its staging cleanup does not): the orphan sweep checks again before it deletes anything there.
   */
  outageTolerated: boolean;
}

/** Confirms each store, throwing the refusal (CONFLICT, its message saying what to do) of the first that is not this vault's. */
export async function confirmStoresAtOpen(ownership: { confirm(role: StoreRole, store: BlobStore): Promise<void> }, stores: StoreAtOpen[], logger: Logger): Promise<void> {
  for (const { role, store, outageTolerated } of stores) {
    try {
      await ownership.confirm(role, store);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'UNAVAILABLE' && outageTolerated) {
        logger.warn({ err: error, store: role, location: store.location }, 'could not check that this blob store is this vault\'s (its marker); the orphan sweep checks before it deletes anything there');
        continue;
      }
      throw error;
    }
  }
}

/** The vault a store's marker names, or undefined (none, unreadable, or the store out of reach): for a restore adopting its replica's vault. */
export async function vaultNamedBy(store: BlobStore): Promise<string | undefined> {
  try {
    const text = await store.readMarker();
    return text === undefined ? undefined : parseStoreMarker(text).vaultId;
  } catch {
    return undefined;
  }
}
