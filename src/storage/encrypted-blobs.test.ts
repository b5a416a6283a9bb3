// EncryptedBlobs end to end over a real filesystem store and key ring: writing, whole and ranged
// reads, and blobs or keys that were moved, damaged or cut short on disk.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError, IntegrityError } from '../domain/errors.js';
import { HEADER_SIZE, TAG_SIZE, encryptedSize } from './blob-format.js';
import { EncryptedBlobs, IN_MEMORY_CONTENT_BYTES, type EncryptedVersionRef } from './encrypted-blobs.js';
import { FsBlobStore } from './fs.blob-store.js';
import { KeyRingImpl, MasterKey, type OrganisationKeyRow, type OrganisationKeyStore } from './keys.js';

class MemoryOrganisationKeyStore implements OrganisationKeyStore {
  readonly rows: OrganisationKeyRow[] = [];
  async current(organisationId: string) {
    const row = this.rows.filter((r) => r.organisationId === organisationId).at(-1);
    return row && { id: row.id, wrapped: row.wrapped };
  }
  async byId(keyId: string) {
    const row = this.rows.find((r) => r.id === keyId);
    return row && { id: row.id, organisationId: row.organisationId, wrapped: row.wrapped };
  }
  async insert(row: OrganisationKeyRow) {
    this.rows.push(row);
  }
}

const CS = 1024;
let dataDir: string;
let store: FsBlobStore;
let blobs: EncryptedBlobs;
let keys: KeyRingImpl;

beforeEach(async () => {
  dataDir = await fsp.mkdtemp(join(tmpdir(), 'strongroom-encrypted-'));
  store = new FsBlobStore({ dataDir });
  keys = new KeyRingImpl({ master: MasterKey.fromBytes(randomBytes(32)), store: new MemoryOrganisationKeyStore() });
  blobs = new EncryptedBlobs({ keys, store, chunkSize: CS });
});
afterEach(async () => {
  await fsp.rm(dataDir, { recursive: true, force: true });
});

let versionCounter = 0;
async function writeVersion(plain: Buffer, organisationId = 'org-a'): Promise<EncryptedVersionRef> {
  const target = { organisationId, documentId: 'doc-1', versionId: `ver-${++versionCounter}` };
  const written = await blobs.write(target, Readable.from(plain.length === 0 ? [] : [plain.subarray(0, 100), plain.subarray(100)]));
  expect(written.plainSize).toBe(plain.length);
  expect(written.encryptedSize).toBe(encryptedSize(plain.length, CS));
  return { ...target, blobId: written.blobId, keyId: written.keyId, wrappedKey: written.wrappedKey, size: plain.length };
}

async function collect(stream: Readable): Promise<{ out: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const part of stream) parts.push(part as Buffer);
    return { out: Buffer.concat(parts), error: undefined };
  } catch (error) {
    return { out: Buffer.concat(parts), error };
  }
}

const blobPath = (id: string): string => join(dataDir, 'blobs', id.slice(0, 2), id);

describe('EncryptedBlobs', () => {
  it.each([0, 1, CS - 1, CS, CS + 1, 3 * 1024 * 1024 + 5])('round-trips %i bytes, whole and in ranges', async (size) => {
    const plain = randomBytes(size);
    const version = await writeVersion(plain);
    const whole = await collect(await blobs.openRange(version));
    expect(whole.error).toBeUndefined();
    expect(whole.out.equals(plain)).toBe(true);
    if (size > 0) {
      for (const [start, end] of [[0, 0], [0, size - 1], [size - 1, size - 1], [Math.floor(size / 2), size + 100]] as const) {
        expect((await blobs.readRange(version, { start, end })).equals(plain.subarray(start, end + 1))).toBe(true);
      }
    }
  });

  it.each([0, 1, CS, 10 * CS + 7, IN_MEMORY_CONTENT_BYTES])('sends %i bytes from memory, whole and in ranges', async (size) => {
    const plain = randomBytes(size);
    const version = await writeVersion(plain);
    const whole = await blobs.content(version);
    expect(Buffer.isBuffer(whole) && whole.equals(plain)).toBe(true);
    if (size === 0) return;
    for (const [start, end] of [[0, 0], [size - 1, size - 1], [Math.floor(size / 3), size - 2]] as const) {
      const part = await blobs.content(version, { start, end });
      expect(Buffer.isBuffer(part) && part.equals(plain.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('streams a version one byte over the in-memory size, as openRange does', async () => {
    const plain = randomBytes(IN_MEMORY_CONTENT_BYTES + 1);
    const version = await writeVersion(plain);
    const whole = await blobs.content(version);
    expect(whole).toBeInstanceOf(Readable);
    expect((await collect(whole as Readable)).out.equals(plain)).toBe(true);
    expect((await collect((await blobs.content(version, { start: 5, end: 9 })) as Readable)).out.equals(plain.subarray(5, 10))).toBe(true);
  });

  it('refuses a small version damaged anywhere before giving a byte, and a missing or swapped blob', async () => {
    const plain = randomBytes(10 * CS);
    const version = await writeVersion(plain);
    const path = blobPath(version.blobId);
    const bytes = await fsp.readFile(path);
    // The last chunk: a stream would have handed on nine good chunks before failing.
    bytes[bytes.length - 3]! ^= 0x01;
    await fsp.writeFile(path, bytes);
    await expect(blobs.content(version)).rejects.toBeInstanceOf(IntegrityError);
    await expect(blobs.content(version, { start: 0, end: 10 })).rejects.toBeInstanceOf(IntegrityError);
    const other = await writeVersion(randomBytes(100));
    await expect(blobs.content({ ...other, blobId: (await writeVersion(randomBytes(100))).blobId })).rejects.toBeInstanceOf(IntegrityError);
    await store.delete(other.blobId);
    await expect(blobs.content(other)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it.each([true, false])('reads no more than its bound of a blob whose record understates it (synchronous reads: %s)', async (synchronousReads) => {
    const big = await writeVersion(randomBytes(300_000));
    const reading = new EncryptedBlobs({ keys, store: new FsBlobStore({ dataDir, synchronousReads }), chunkSize: CS });
    const understated = { ...big, size: 100 };
    // The longest blob 100 bytes could be: one-byte chunks, a tag each.
    const bound = encryptedSize(100, 1);
    await expect(reading.content(understated)).rejects.toThrow(new IntegrityError(`Blob ${big.blobId} is longer than the ${bound} bytes its record allows.`));
  });

  it.each([-1, Number.NaN, 1.5])('treats a recorded size of %s as damage, reading nothing', async (size) => {
    const version = await writeVersion(randomBytes(100));
    await expect(blobs.content({ ...version, size })).rejects.toThrow(new IntegrityError(`The version record's size (${size}) is not one a file can have.`));
  });

  it('stores only ciphertext', async () => {
    const plain = Buffer.from('PERSONAL: payroll record for a named person. '.repeat(200));
    const version = await writeVersion(plain);
    const onDisk = await fsp.readFile(blobPath(version.blobId));
    expect(onDisk.includes(Buffer.from('payroll'))).toBe(false);
  });

  it('a missing blob rejects with NOT_FOUND before any byte', async () => {
    const version = await writeVersion(randomBytes(10));
    await store.delete(version.blobId);
    await expect(blobs.openRange(version)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(blobs.openRange(version, { start: 0, end: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a blob pointed at by another version record is rejected', async () => {
    const plain = randomBytes(5000);
    const a = await writeVersion(plain);
    const b = await writeVersion(randomBytes(5000));
    // b's record now names a's blob: b's data key does not open it.
    const swapped = { ...b, blobId: a.blobId };
    expect((await collect(await blobs.openRange(swapped))).error).toBeInstanceOf(IntegrityError);
    expect((await collect(await blobs.openRange(swapped, { start: 0, end: 10 }))).error).toBeInstanceOf(IntegrityError);
    // And a's wrapped key copied along with it is bound to a's version, so it does not open for b.
    await expect(blobs.openRange({ ...swapped, wrappedKey: a.wrappedKey })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('a blob or key copied to another organisation is rejected', async () => {
    const a = await writeVersion(randomBytes(100), 'org-a');
    const b = await writeVersion(randomBytes(100), 'org-b');
    await expect(blobs.openRange({ ...a, organisationId: 'org-b' })).rejects.toBeInstanceOf(IntegrityError);
    await expect(blobs.openRange({ ...a, organisationId: 'org-b', keyId: b.keyId })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('a tampered wrapped key is rejected', async () => {
    const version = await writeVersion(randomBytes(100));
    const bad = Buffer.from(version.wrappedKey);
    bad[20]! ^= 1;
    await expect(blobs.openRange({ ...version, wrappedKey: bad })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('a damaged blob on disk fails, emitting only authentic bytes', async () => {
    const plain = randomBytes(10 * CS);
    const version = await writeVersion(plain);
    const path = blobPath(version.blobId);
    const bytes = await fsp.readFile(path);
    bytes[HEADER_SIZE + 6 * (CS + TAG_SIZE) + 3]! ^= 0x40;
    await fsp.writeFile(path, bytes);
    const whole = await collect(await blobs.openRange(version));
    expect(whole.error).toBeInstanceOf(IntegrityError);
    expect(whole.out.length).toBeLessThanOrEqual(6 * CS);
    expect(whole.out.equals(plain.subarray(0, whole.out.length))).toBe(true);
    await expect(blobs.readRange(version, { start: 6 * CS, end: 6 * CS })).rejects.toBeInstanceOf(IntegrityError);
    expect((await blobs.readRange(version, { start: 0, end: CS - 1 })).equals(plain.subarray(0, CS))).toBe(true);
  });

  it('a blob cut short on disk fails whole and in any range', async () => {
    const plain = randomBytes(10 * CS);
    const version = await writeVersion(plain);
    await fsp.truncate(blobPath(version.blobId), HEADER_SIZE + 5 * (CS + TAG_SIZE));
    expect((await collect(await blobs.openRange(version))).error).toBeInstanceOf(IntegrityError);
    // Even a range well inside what is left: the recorded size no longer matches.
    await expect(blobs.readRange(version, { start: 0, end: 10 })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('a failed source leaves no blob and no staging file', async () => {
    const boom = new Error('upload aborted');
    async function* source(): AsyncGenerator<Buffer> {
      yield randomBytes(300_000);
      throw boom;
    }
    await expect(blobs.write({ organisationId: 'org-a', documentId: 'd', versionId: 'v' }, source())).rejects.toBe(boom);
    const ids: string[] = [];
    for await (const id of store.list()) ids.push(id);
    expect(ids).toEqual([]);
    expect(await fsp.readdir(join(dataDir, 'tmp'))).toEqual([]);
  });

  it('a failing store stops the source and reports the store error', async () => {
    const keys = new KeyRingImpl({ master: MasterKey.fromBytes(randomBytes(32)), store: new MemoryOrganisationKeyStore() });
    const failing = {
      ...store,
      put: async (source: AsyncIterable<Uint8Array>) => {
        for await (const _ of source) throw new DomainError('UNAVAILABLE', 'disk full');
        return { id: 'x', size: 0 };
      },
    } as unknown as FsBlobStore;
    let produced = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 1000; i++) {
        produced++;
        yield randomBytes(CS);
      }
    }
    await expect(new EncryptedBlobs({ keys, store: failing, chunkSize: CS }).write({ organisationId: 'o', documentId: 'd', versionId: 'v' }, source())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(produced).toBeLessThan(100);
  });

  it('closes the file when a reader stops early', async () => {
    const version = await writeVersion(randomBytes(2 * 1024 * 1024));
    const stream = await blobs.openRange(version);
    for await (const _ of stream) break;
    expect(stream.destroyed).toBe(true);
    await blobs.openRange(version, { start: 0, end: 1024 * 1024 }).then(async (s) => {
      for await (const _ of s) break;
      expect(s.destroyed).toBe(true);
    });
  });

  it('writing and reading back 64 MiB through the disk keeps memory flat', async () => {
    const gc = exposeGc();
    const piece = randomBytes(64 * 1024);
    const total = 64 * 1024 * 1024;
    async function* source(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < total; sent += piece.length) yield piece;
    }
    const big = new EncryptedBlobs({
      keys: new KeyRingImpl({ master: MasterKey.fromBytes(randomBytes(32)), store: new MemoryOrganisationKeyStore() }),
      store,
    });
    gc();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakArrayBuffers = before.arrayBuffers;
    // Collect, then sample, so the peak is what the streams hold rather than uncollected garbage.
    const sampler = setInterval(() => {
      gc();
      const now = process.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakArrayBuffers = Math.max(peakArrayBuffers, now.arrayBuffers);
    }, 5);
    try {
      const target = { organisationId: 'org-a', documentId: 'doc-big', versionId: 'ver-big' };
      const written = await big.write(target, source());
      let read = 0;
      for await (const part of await big.openRange({ ...target, ...written, size: total })) read += (part as Buffer).length;
      expect(read).toBe(total);
    } finally {
      clearInterval(sampler);
    }
    const mb = 1024 * 1024;
    expect((peakRss - before.rss) / mb).toBeLessThan(48);
    expect((peakArrayBuffers - before.arrayBuffers) / mb).toBeLessThan(48);
  });
});

function exposeGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
