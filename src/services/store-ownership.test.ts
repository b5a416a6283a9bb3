// StoreOwnership over an empty marker: one being written by another node is waited for; one a crash
// left empty is claimed over, as an absent one is.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../domain/repositories.js';
import { STORE_MARKER_NAME, formatStoreMarker, parseStoreMarker } from '../domain/store-marker.js';
import { FsBlobStore } from '../storage/fs.blob-store.js';
import { StoreOwnership } from './store-ownership.js';

const MINE = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const names = { repos: { orphanBlobs: { referencedAmong: async () => new Set<string>() } } } as unknown as Store;

describe('StoreOwnership, an empty store marker', () => {
  let folder: string;
  let blobs: FsBlobStore;
  const ownership = new StoreOwnership({ vaultId: MINE, store: names, clock: { now: () => new Date('2026-12-05T12:00:00Z') }, logger: pino({ level: 'silent' }), emptyMarkerWaitMs: 1 });
  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'sr-empty-marker-'));
    blobs = new FsBlobStore({ dataDir: folder, blobsDir: path.join(folder, 'blobs') });
    await blobs.writeMarker('');
  });
  afterEach(() => rm(folder, { recursive: true, force: true }));
  const marker = async () => parseStoreMarker(await readFile(path.join(folder, 'blobs', STORE_MARKER_NAME), 'utf8')).vaultId;

  it('is claimed over when it stays empty (a crash between creating and writing it)', async () => {
    await ownership.confirm('primary', blobs);
    expect(await marker()).toBe(MINE);
  });

  it('is read again while another node writes it, and its vault\'s then stands', async () => {
    // Another node's claim: its text lands between the second and third read.
    let reads = 0;
    const written = formatStoreMarker({ vaultId: OTHER, claimedAt: '2026-12-05T12:00:00Z' });
    const writing = new (class extends FsBlobStore {
      override async readMarker(): Promise<string | undefined> {
        if (++reads === 3) await writeFile(path.join(folder, 'blobs', STORE_MARKER_NAME), written);
        return super.readMarker();
      }
    })({ dataDir: folder, blobsDir: path.join(folder, 'blobs') });
    await expect(ownership.confirm('primary', writing)).rejects.toThrow(`belongs to vault ${OTHER}, not this vault (${MINE})`);
    expect(await marker()).toBe(OTHER);
  });
});
