// At every open: the vault's id, and its blob stores confirmed to be its own (claimed if new), so a
// vault pointed at another's store or replica refuses to start rather than sweep the other's blobs
// away later. See docs/architecture.md "One vault per blob store".
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.js';
import type { BlobStore, Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import { parseStoreMarker, type StoreRole } from '../domain/store-marker.js';
import { StoreOwnership, UNMARKED_SAMPLE, storeClaimEvent, type StoreClaim } from '../services/store-ownership.js';
import { vaultIdentity } from '../services/vault-identity.js';

export interface StoresAtOpen {
  store: Store;
  clock: Clock;
  logger: Logger;
  primary: BlobStore;
  /** A bucket primary that does not answer now does not stop the start (a folder's does). */
  primaryOutageTolerated: boolean;
  replica: BlobStore | null;
  /** Set when the open finishes a restore: the restore's --blobs-from store, if it has one. */
  restore: { blobsFrom: BlobStore | null } | null;
  /** A dry run: no store is claimed (services/store-ownership.ts); those it would claim are answered. */
  dryRun: boolean;
}

/**
 * The vault's id (made, durably, at its first open; a restore of a backup from before ids takes the one
 * its stores show it is) and its stores confirmed to be its own. Throws the refusal, which says what to
 * do (and, finishing a restore, that the restore is unfinished), before anything touches those stores.
 */
export async function claimStoresAtOpen(o: StoresAtOpen): Promise<{ vaultId: string; ownership: StoreOwnership; claims: StoreClaim[] }> {
  try {
    // A restore of a backup from before vault ids is the vault whose store holds blobs the backup names.
    const adoptFrom: AdoptionCandidate[] = [
      ...(o.replica ? [{ role: 'replica' as const, store: o.replica }] : []),
      ...(o.restore?.blobsFrom ? [{ role: 'replica' as const, store: o.restore.blobsFrom }] : []),
      { role: 'primary', store: o.primary },
    ];
    let adopted: Adoption | undefined;
    const adopt = async () => (adopted = await vaultToAdopt(adoptFrom, o.store.repos.orphanBlobs))?.vaultId;
    // Durable before any marker names it (services/vault-identity.ts).
    const vaultId = await vaultIdentity(o.store.repos.settings, () => o.store.durable(), o.restore ? adopt : undefined);
    // Taking the id a store's marker names takes that store, though nothing is written there: audited as a claim.
    if (adopted?.vaultId === vaultId) await o.store.repos.audit.insert([storeClaimEvent(vaultId, adopted.role, adopted.location, 'adopted', o.clock.now())]);
    const ownership = new StoreOwnership({ vaultId, store: o.store, clock: o.clock, logger: o.logger, dryRun: o.dryRun });
    const claims = await confirmStoresAtOpen(ownership, [
      { role: 'primary', store: o.primary, outageTolerated: o.primaryOutageTolerated },
      ...(o.replica ? [{ role: 'replica' as const, store: o.replica, outageTolerated: true }] : []),
    ], o.logger);
    return { vaultId, ownership, claims };
  } catch (error) {
    if (o.restore && error instanceof DomainError && error.code === 'CONFLICT' && !error.message.includes(REDO_RESTORE)) {
      throw new DomainError('CONFLICT', `${error.message} ${REDO_RESTORE}`, { cause: error });
    }
    throw error;
  }
}

export interface StoreAtOpen {
  role: StoreRole;
  store: BlobStore;
  /**
   * A bucket that does not answer now, or a replica anywhere, must not keep the vault from starting
   * (as its staging cleanup does not): the orphan sweep checks again before it deletes anything there.
   * A full store never does.
   */
  outageTolerated: boolean;
}

/**
 * Confirms each store, throwing the refusal (CONFLICT, its message saying what to do) of the first that is
 * not this vault's; answers the claims made (or, in a dry run, that would be).
 */
export async function confirmStoresAtOpen(ownership: { confirm(role: StoreRole, store: BlobStore): Promise<StoreClaim | undefined | void> }, stores: StoreAtOpen[], logger: Logger): Promise<StoreClaim[]> {
  const claims: StoreClaim[] = [];
  for (const { role, store, outageTolerated } of stores) {
    try {
      const claim = await ownership.confirm(role, store);
      if (claim) claims.push(claim);
    } catch (error) {
      // A full store (ENOSPC, a quota) can still be read: it fails only claiming an unmarked store (writing
      // its marker), which is then claimed later; until then the orphan sweep deletes nothing there.
      const full = error instanceof DomainError && error.code === 'INSUFFICIENT_STORAGE';
      if (full || (error instanceof DomainError && error.code === 'UNAVAILABLE' && outageTolerated)) {
        logger.warn({ err: error, store: role, location: store.location },
          `could not check that the ${role === 'primary' ? 'blob store' : 'replica'} at ${store.location} is this vault's (its marker)${full ? ': it is full' : ''}; the orphan sweep checks before it deletes anything there`);
        continue;
      }
      throw error;
    }
  }
  return claims;
}

/** What a restore that stopped says about doing it again (as assertNoUnfinishedRestore does). */
export const REDO_RESTORE = 'The restore is unfinished: once that is put right, run "strongroom restore" again into the same data directory '
  + '(it starts over from what this one left, after emptying a PostgreSQL database it loaded), or restore into a new one.';

export interface AdoptionCandidate {
  role: StoreRole;
  store: BlobStore;
}

/** The vault id a restore may take, and the store whose marker names it. */
export interface Adoption {
  vaultId: string;
  role: StoreRole;
  location: string;
}

/**
 * For a restore of a backup from before vault ids: the vault whose marker is on one of `candidates`
 * (the replica, the restore's --blobs-from store, the primary) AND whose store holds blobs the
 * restored database names, so the marker is evidence the backup is that vault's. A marker alone is
 * not: another vault's replica named by mistake would lend the restore its id, and the restored vault
 * would then sweep that vault's blobs as its own. Undefined (a new id is made, and the normal check at
 * open refuses a foreign store) when no candidate shows that. A candidate that cannot be read throws
 * (UNAVAILABLE): a new id made now would refuse this vault's own replica once it answers again.
 */
export async function vaultToAdopt(candidates: AdoptionCandidate[], named: { referencedAmong(role: StoreRole, ids: string[]): Promise<Set<string>> }): Promise<Adoption | undefined> {
  for (const { role, store } of candidates) {
    const unreadable = (what: string) => (error: unknown): never => {
      throw new DomainError('UNAVAILABLE', `Could not ${what} at ${store.location} to tell whether this backup is the vault that store belongs to: ${(error as Error).message} ${REDO_RESTORE}`, { cause: error });
    };
    const text = await store.readMarker().catch(unreadable('read the store marker'));
    if (text === undefined || text === '') continue;
    let vaultId: string;
    try {
      vaultId = parseStoreMarker(text).vaultId;
    } catch {
      continue; // the check at open refuses it, saying why
    }
    const sample: string[] = [];
    try {
      for await (const id of store.list()) {
        sample.push(id);
        if (sample.length >= UNMARKED_SAMPLE) break;
      }
    } catch (error) {
      unreadable('list the blobs')(error);
    }
    if (sample.length > 0 && (await named.referencedAmong(role, sample)).size > 0) return { vaultId, role, location: store.location };
  }
  return undefined;
}
