// StoreOwnership over an empty marker: one being written by another node is waited for; one a crash
// left empty is claimed over, as an absent one is, and the claim audited; a dry run claims nothing.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PendingAuditEvent, Store } from '../domain/repositories.js';
import { STORE_MARKER_NAME, formatStoreMarker, parseStoreMarker } from '../domain/store-marker.js';
import { FsBlobStore } from '../storage/fs.blob-store.js';
import { StoreOwnership } from './store-ownership.js';

const MINE = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const audited: PendingAuditEvent[] = [];
const names = {
  repos: { orphanBlobs: { referencedAmong: async () => new Set<string>() }, audit: { insert: async (events: PendingAuditEvent[]) => void audited.push(...events) } },
} as unknown as Store;
const options = { vaultId: MINE, store: names, clock: { now: () => new Date('2026-12-05T12:00:00Z') }, logger: pino({ level: 'silent' }), emptyMarkerWaitMs: 1 };

describe('StoreOwnership, an empty store marker', () => {
  let folder: string;
  let blobs: FsBlobStore;
  const ownership = new StoreOwnership(options);
  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'sr-empty-marker-'));
    blobs = new FsBlobStore({ dataDir: folder, blobsDir: path.join(folder, 'blobs') });
    await blobs.writeMarker('');
    audited.length = 0;
  });
  afterEach(() => rm(folder, { recursive: true, force: true }));
  const marker = async () => parseStoreMarker(await readFile(path.join(folder, 'blobs', STORE_MARKER_NAME), 'utf8')).vaultId;

  it('is claimed over when it stays empty (a crash between creating and writing it), and the claim audited once', async () => {
    expect(await ownership.confirm('primary', blobs)).toEqual({ role: 'primary', location: path.join(folder, 'blobs'), why: 'empty-marker', claimed: true });
    expect(await marker()).toBe(MINE);
    expect(audited.map((e) => [e.action, e.actorUserId, e.decision, e.targetOrganisationId, e.channel, e.targetIds])).toEqual([['storage.claim', null, 'allow', null, 'job', {
      store: 'primary', kind: 'folder', location: path.join(folder, 'blobs'), vaultId: MINE, why: 'empty-marker', blobsSeen: '0',
    }]]);
    expect(await ownership.confirm('primary', blobs)).toBeUndefined();
    expect(audited).toHaveLength(1);
  });

  it('is left empty by a dry run, which answers the claim it would make and audits nothing', async () => {
    const dry = new StoreOwnership({ ...options, dryRun: true });
    expect(await dry.confirm('replica', blobs)).toEqual({ role: 'replica', location: path.join(folder, 'blobs'), why: 'empty-marker', claimed: false });
    expect(await readFile(path.join(folder, 'blobs', STORE_MARKER_NAME), 'utf8')).toBe('');
    expect(audited).toEqual([]);
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
