// Which vault a blob store belongs to, checked before the vault uses it: at every open (refusing to
// start) and before each orphan sweep deletes anything there. A store is claimed (its marker written)
// when it holds nothing yet, or when it holds blobs and no marker but this vault's database names some
// of them: a store this vault used before markers existed. See docs/architecture.md "One vault per
// blob store". Each claim is an audit event (`storage.claim`); a dry run claims nothing and says what it would claim.
import type { Logger } from 'pino';
import type { BlobStore, Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import { DomainError } from '../domain/errors.js';
import {
  STORE_CLAIM_ACTION, belongsToAnotherVault, formatStoreMarker, parseStoreMarker, storeKind, unmarkedForeignStore, unreadableMarker,
  type StoreClaimReason, type StoreMarker, type StoreRole,
} from '../domain/store-marker.js';
import { auditEvent } from './audit-events.js';
import { systemActor } from './identity.service.js';

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
  /**
   * A dry run (`--dry-run` of a command): every check is made and a foreign store refused as ever, but no
   * store is claimed: an unmarked one this vault would claim is answered (and logged), its marker unwritten.
   */
  dryRun?: boolean;
}

/** A store this vault claimed (its marker written, and audited), or in a dry run would claim. */
export interface StoreClaim {
  role: StoreRole;
  location: string;
  why: Exclude<StoreClaimReason, 'adopted'>;
  /** False in a dry run: the store is unmarked still. */
  claimed: boolean;
}

/** The audit event recording that this vault took a store (domain/store-marker.ts STORE_CLAIM_ACTION). */
export function storeClaimEvent(vaultId: string, role: StoreRole, location: string, why: StoreClaimReason, at: Date, extra: Record<string, string> = {}) {
  return auditEvent(systemActor('job'), STORE_CLAIM_ACTION, {
    organisationId: null, ids: { store: role, kind: storeKind(location), location, vaultId, why, ...extra },
  }, { allow: true, reason: 'system', via: null }, at);
}

/** An empty marker is read again this many times before it is taken for one a crash left half-made. */
const EMPTY_MARKER_REREADS = 10;

export class StoreOwnership {
  constructor(private readonly o: StoreOwnershipOptions) {}

  /**
   * Resolves when `blobStore`, used as `role`, is this vault's (claiming it if it is new, or this
   * vault's from before markers). Throws DomainError CONFLICT, saying what to do, when it is another
   * vault's or cannot be told to be this one's; UNAVAILABLE when the store cannot be reached. Answers
   * the claim this call made (or in a dry run would make), undefined when the store was marked already.
   */
  async confirm(role: StoreRole, blobStore: BlobStore): Promise<StoreClaim | undefined> {
    const found = await this.#readMarker(blobStore);
    if (found !== undefined && found !== '') {
      this.#check(role, blobStore, found);
      return undefined;
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
    const why: StoreClaim['why'] = found === '' ? 'empty-marker' : sample.length > 0 ? 'upgrade' : 'new';
    if (this.o.dryRun) {
      this.o.logger.warn({ store: role, location: blobStore.location, vaultId: this.o.vaultId, why },
        `dry run: the ${role === 'primary' ? 'blob store' : 'replica'} at ${blobStore.location} has no store marker; a real run would claim it for this vault`);
      return { role, location: blobStore.location, why, claimed: false };
    }
    // Still empty: a marker a crash (or a store that could not write it whole) left half-made, claimed over as if absent.
    const written = await blobStore.writeMarker(formatStoreMarker({ vaultId: this.o.vaultId, claimedAt: this.o.clock.now().toISOString() }), found === '');
    // Read back: a vault claiming the same store at the same moment may have won, where the storage cannot refuse a second marker.
    const kept = await blobStore.readMarker();
    if (kept === undefined || kept === '') throw new DomainError('UNAVAILABLE', `The store marker written at ${blobStore.location} is not there when read back.`);
    this.#check(role, blobStore, kept);
    if (!written) return undefined; // another node of this vault claimed it, and audited that
    // Audited once the marker stands: the claim that wrote it (only one does) records it.
    await this.o.store.repos.audit.insert([storeClaimEvent(this.o.vaultId, role, blobStore.location, why, this.o.clock.now(), { blobsSeen: String(sample.length) })]);
    this.o.logger.warn({ store: role, location: blobStore.location, vaultId: this.o.vaultId, blobsSeen: sample.length, namedByNothing: unnamed },
      sample.length > 0 ? 'claimed a blob store this vault used before store markers: its marker now names this vault' : 'claimed a new blob store for this vault');
    // A store two vaults shared before markers holds the other's blobs too, which this vault's sweeps would take for orphans.
    if (unnamed > 0) {
      this.o.logger.warn({ store: role, location: blobStore.location, blobsSeen: sample.length, namedByNothing: unnamed },
        'of the blobs seen in the store just claimed, some are named by nothing here: if another vault shared this store, its blobs are among them; check `strongroom storage sweep-orphans --dry-run` before the next sweep');
    }
    return { role, location: blobStore.location, why, claimed: true };
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
