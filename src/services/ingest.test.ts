// The upload pipeline over a real encrypted folder store: what it records, and how a body that fails
// before or while the store reads it ends the upload.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyRing, Scanner } from '../domain/ports.js';
import { EncryptedBlobs } from '../storage/encrypted-blobs.js';
import { FsBlobStore } from '../storage/fs.blob-store.js';
import { HEAD_BYTES, ingest } from './ingest.js';

const binding = { organisationId: 'org-1', documentId: 'doc-1', versionId: 'ver-1' };
const noScanner: Scanner = { maxStreamBytes: 1024, scan: async () => ({ outcome: 'clean', engine: 'test' }) } as unknown as Scanner;
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function setup(beforeKey: () => Promise<void> = async () => undefined) {
  const dir = await mkdtemp(path.join(tmpdir(), 'sr-ingest-'));
  dirs.push(dir);
  const dataKey = randomBytes(32);
  const keys: KeyRing = {
    newDataKey: async () => {
      await beforeKey();
      return { dataKey, wrappedKey: Buffer.from('wrapped'), keyId: 'key-1' };
    },
    openDataKey: async () => dataKey,
  };
  const store = new FsBlobStore({ dataDir: dir, unsafeNoSync: true });
  return { dir, store, blobs: new EncryptedBlobs({ keys, store }) };
}

async function* pieces(plain: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < plain.length; at += size) yield plain.subarray(at, at + size);
}

describe('ingest', () => {
  it('stores what it hashed and counted, and the blob reads back as the body', async () => {
    const { blobs } = await setup();
    const plain = randomBytes(300_001);
    const got = await ingest(blobs, noScanner, binding, pieces(plain, 65_536 - 300), { maxBytes: 1 << 20, inlineScanMaxBytes: 0, declaredSize: plain.length });
    expect(got.size).toBe(plain.length);
    expect(got.sha256).toBe(createHash('sha256').update(plain).digest('hex'));
    expect(got.head.equals(plain.subarray(0, HEAD_BYTES))).toBe(true);
    expect(got.verdict).toBeNull();
    const back = await blobs.readRange({ ...binding, blobId: got.blob.blobId, keyId: got.blob.keyId, wrappedKey: got.blob.wrappedKey, size: got.size }, { start: 0, end: plain.length - 1 });
    expect(back.equals(plain)).toBe(true);
  });

  it('a body that fails before the store reads it fails the upload with its reason, stores nothing and crashes nothing', async () => {
    const body = new PassThrough();
    // The body breaks while the data key is being made, before anything listens to it but the guard.
    const { dir, blobs } = await setup(async () => {
      body.destroy(new Error('the client went away'));
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    await expect(ingest(blobs, noScanner, binding, body, { maxBytes: 1 << 20, inlineScanMaxBytes: 0 })).rejects.toThrow('the client went away');
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('a body longer than announced is refused and nothing stays staged', async () => {
    const { dir, blobs } = await setup();
    const plain = randomBytes(200_000);
    await expect(ingest(blobs, noScanner, binding, pieces(plain, 65_536), { maxBytes: 1 << 20, inlineScanMaxBytes: 0, declaredSize: 100_000 }))
      .rejects.toMatchObject({ code: 'INVALID' });
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });
});
