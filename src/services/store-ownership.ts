// Which vault a blob store belongs to, checked before the vault uses it: at every open (refusing to
// start) and before each orphan sweep deletes anything there. A store is claimed (its marker written)
// when it holds nothing yet, or when it holds blobs and no marker but this vault's database names some
// of them: a store this vault used before markers existed. See docs/architecture.md "One vault per
// blob store".
import type { Logger } from 'pino';
import type { BlobStore, Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import { DomainError } from '../domain/errors.js';
import {
  belongsToAnotherVault, formatStoreMarker, parseStoreMarker, unmarkedForeignStore, unreadableMarker, type StoreMarker, type StoreRole,
} from '../domain/store-marker.js';

/**
 * How many of an unmarked store's blobs are looked at before it is claimed. This vault names some of
 * those in a store it used (most, unless a restore left the old ids there); another vault's, none, as
 * ids are random.
 */
export const UNMARKED_SAMPLE = 1000;

export interface StoreOwnershipOptions {
  /** This vault's id (services/vault-identity.ts). */
  vaultId: string;
  store: Store;
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
  /** How long to wait between reads of an empty marker (one being written where the storage cannot link it into place whole). */
  emptyMarkerWaitMs?: number;
}

/** An empty marker is read again this many times before it is taken for one a crash left half-made. */
const EMPTY_MARKER_REREADS = 10;

export class StoreOwnership {
  constructor(private readonly o: StoreOwnershipOptions) {}

  /**
   * Resolves when `blobStore`, used as `role`, is this vault's (claiming it if it is new, or this
   * vault's from before markers). Throws DomainError CONFLICT, saying what to do, when it is another
   * vault's or cannot be told to be this one's; UNAVAILABLE when the store cannot be reached.
   */
  async confirm(role: StoreRole, blobStore: BlobStore): Promise<void> {
    const found = await this.#readMarker(blobStore);
    if (found !== undefined && found !== '') {
      this.#check(role, blobStore, found);
      return;
    }
    const sample: string[] = [];
    for await (const id of blobStore.list()) {
      sample.push(id);
      if (sample.length >= UNMARKED_SAMPLE) break;
    }
    let unnamed = 0;
    if (sample.length > 0) {
      const named = await this.o.store.repos.orphanBlobs.referencedAmong(role, sample);
      if (named.size === 0) throw new DomainError('CONFLICT', unmarkedForeignStore(role, blobStore.location, this.o.vaultId, sample.length));
      unnamed = sample.length - named.size;
    }
    // Still empty: a marker a crash (or a store that could not write it whole) left half-made, claimed over as if absent.
    const written = await blobStore.writeMarker(formatStoreMarker({ vaultId: this.o.vaultId, claimedAt: this.o.clock.now().toISOString() }), found === '');
    // Read back: a vault claiming the same store at the same moment may have won, where the storage cannot refuse a second marker.
    const kept = await blobStore.readMarker();
    if (kept === undefined || kept === '') throw new DomainError('UNAVAILABLE', `The store marker written at ${blobStore.location} is not there when read back.`);
    this.#check(role, blobStore, kept);
    if (written) {
      this.o.logger.warn({ store: role, location: blobStore.location, vaultId: this.o.vaultId, blobsSeen: sample.length, namedByNothing: unnamed },
        sample.length > 0 ? 'claimed a blob store this vault used before store markers: its marker now names this vault' : 'claimed a new blob store for this vault');
      // A store two vaults shared before markers holds the other's blobs too, which this vault's sweeps would take for orphans.
      if (unnamed > 0) {
        this.o.logger.warn({ store: role, location: blobStore.location, blobsSeen: sample.length, namedByNothing: unnamed },
          'of the blobs seen in the store just claimed, some are named by nothing here: if another vault shared this store, its blobs are among them; check `strongroom storage sweep-orphans --dry-run` before the next sweep');
      }
    }
  }

  /**
   * The marker's text, read again for a while when it is empty: a folder without hard links gets its
   * marker created empty and then written (storage/fs.blob-store.ts), so another node's claim may be
   * half-way. Empty after that: '' (a crash stopped that claim).
   */
  async #readMarker(blobStore: BlobStore): Promise<string | undefined> {
    let text = await blobStore.readMarker();
    for (let i = 0; text === '' && i < EMPTY_MARKER_REREADS; i++) {
      await new Promise((resolve) => setTimeout(resolve, this.o.emptyMarkerWaitMs ?? 50));
      text = await blobStore.readMarker();
    }
    return text;
  }

  #check(role: StoreRole, blobStore: BlobStore, text: string): StoreMarker {
    let marker: StoreMarker;
    try {
      marker = parseStoreMarker(text);
    } catch (error) {
      throw new DomainError('CONFLICT', unreadableMarker(role, blobStore.location, (error as Error).message));
    }
    if (marker.vaultId !== this.o.vaultId) throw new DomainError('CONFLICT', belongsToAnotherVault(role, blobStore.location, marker.vaultId, this.o.vaultId));
    return marker;
  }
}
