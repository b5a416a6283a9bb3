// The marker every blob store (primary and replica) carries, naming the one vault it belongs to, and
// what a vault makes of the marker it finds (docs/architecture.md "One vault per blob store"). Two
// vaults on one store would each see the other's blobs as named by nothing, and the orphan sweep of
// either would delete them.
import type { SweptStore } from './documents/repositories.js';

/** The marker's name in a store: a file in the blob folder, a key under the bucket's prefix. Never a blob id. */
export const STORE_MARKER_NAME = 'strongroom-vault.json';
export const STORE_MARKER_FORMAT = 'strongroom-store-marker/1';
/** A marker is a line of JSON: anything larger is not one, and is not read further. */
export const STORE_MARKER_MAX_BYTES = 4096;
/** Vault ids are random UUIDs (services/vault-identity.ts). */
export const VAULT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface StoreMarker {
  /** The vault the store belongs to. */
  vaultId: string;
  /** When that vault claimed it (UTC), for the operator reading the marker. */
  claimedAt: string;
}

export function formatStoreMarker(marker: StoreMarker): string {
  return `${JSON.stringify({ format: STORE_MARKER_FORMAT, vault: marker.vaultId, claimedAt: marker.claimedAt })}\n`;
}

/** The marker a store holds; an Error saying what is wrong when the text is not one (a file written by hand, a damaged one). */
export function parseStoreMarker(text: string): StoreMarker {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`it is not a store marker (not JSON): ${JSON.stringify(text.slice(0, 80))}`);
  }
  const fields = parsed as { format?: unknown; vault?: unknown; claimedAt?: unknown } | null;
  if (fields === null || typeof fields !== 'object' || fields.format !== STORE_MARKER_FORMAT) throw new Error(`it is not a ${STORE_MARKER_FORMAT} marker`);
  if (typeof fields.vault !== 'string' || !VAULT_ID_PATTERN.test(fields.vault)) throw new Error('it names no vault id');
  return { vaultId: fields.vault, claimedAt: typeof fields.claimedAt === 'string' ? fields.claimedAt : '' };
}

/** Which store of a vault: its own blobs, or the offsite replica. */
export type StoreRole = SweptStore;

/**
 * The audit event of a vault taking a store: its marker written (`new`: the store held nothing; `upgrade`:
 * it held blobs this vault's database names, from before markers; `empty-marker`: over an empty marker a
 * crash left), or, restoring a backup from before vault ids, the id on the store's marker taken as this
 * vault's (`adopted`: nothing written). By the system; ids only: store, kind, location (never credentials), vaultId, why.
 */
export const STORE_CLAIM_ACTION = 'storage.claim';
export type StoreClaimReason = 'new' | 'upgrade' | 'empty-marker' | 'adopted';

/** A store's kind, from its location as the BlobStore port gives it (a folder, or s3://bucket/prefix). */
export function storeKind(location: string): 'folder' | 's3' {
  return location.startsWith('s3://') ? 's3' : 'folder';
}

const ROLE_SETTING: Record<StoreRole, string> = { primary: 'STRONGROOM_BLOBS', replica: 'STRONGROOM_REPLICA' };

/** A store whose marker names another vault: this vault must not use it. */
export function belongsToAnotherVault(role: StoreRole, where: string, ownerId: string, vaultId: string): string {
  return `The ${role === 'primary' ? 'blob store' : 'replica'} at ${where} belongs to vault ${ownerId}, not this vault (${vaultId}). `
    + `Two vaults must never share a blob store: each would see the other's blobs as orphans and delete them. `
    + `Point ${ROLE_SETTING[role]} at this vault's own store (or a new, empty one); if this vault was copied from that one by hand, `
    + 'restore it from a backup instead (docs/operations.md "One vault per blob store").';
}

/**
 * A store with blobs and no marker, none of whose blobs this vault's database names: another vault's
 * store from before markers existed (or one whose marker was removed), never claimed blindly.
 */
export function unmarkedForeignStore(role: StoreRole, where: string, vaultId: string, sampled: number): string {
  return `The ${role === 'primary' ? 'blob store' : 'replica'} at ${where} holds blobs and no store marker (${STORE_MARKER_NAME}), `
    + `and this vault (${vaultId}) names none of the ${sampled} it looked at: it looks like another vault's store. `
    + `Two vaults must never share a blob store. Point ${ROLE_SETTING[role]} at this vault's own store (or a new, empty one); `
    + 'if it really is this vault\'s, write its marker by hand as docs/operations.md "One vault per blob store" shows.';
}

/** A store whose marker cannot be read as one: refused rather than claimed over. */
export function unreadableMarker(role: StoreRole, where: string, problem: string): string {
  return `The ${role === 'primary' ? 'blob store' : 'replica'} at ${where} has a store marker (${STORE_MARKER_NAME}) that cannot be read: ${problem}. `
    + 'It was changed by hand or damaged; put back the marker naming this vault (docs/operations.md "One vault per blob store").';
}
