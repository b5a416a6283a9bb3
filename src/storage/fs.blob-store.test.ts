// The filesystem BlobStore on a real temporary directory: durability order, failures, ids, staging.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs, { fstatSync, promises as fsp, readdirSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { FsBlobStore } from './fs.blob-store.js';
import { INLINE_READ_BYTES } from './fs-local-reads.js';
import { openDescriptorsOn } from '../../test/support/descriptors.js';

let dataDir: string;
let store: FsBlobStore;

beforeEach(async () => {
  dataDir = await fsp.mkdtemp(join(tmpdir(), 'strongroom-blobs-'));
  store = new FsBlobStore({ dataDir });
});
afterEach(async () => {
  await fsp.rm(dataDir, { recursive: true, force: true });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function listAll(s: FsBlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of s.list()) ids.push(id);
  return ids.sort();
}

const stagingFiles = async (): Promise<string[]> => fsp.readdir(join(dataDir, 'tmp')).catch(() => []);

const blobPath = (id: string): string => join(dataDir, 'blobs', id.slice(0, 2), id);

/** The prototype of Node's FileHandle (not exported), to watch what the store does with its files. */
async function fileHandlePrototype(): Promise<fsp.FileHandle> {
  const handle = await fsp.open(dataDir, 'r');
  await handle.close();
  return Object.getPrototypeOf(handle) as fsp.FileHandle;
}

/**
 * Watches `fs.fsync`, by which a folder on the local disk is flushed (opened and closed synchronously):
 * for each call, the folder's inode and the names it held when flushed.
 */
function watchFolderFlushes(): { flushed: { ino: number; names: string[] }[]; restore(): void } {
  const fsync = fs.fsync;
  const flushed: { ino: number; names: string[] }[] = [];
  const spy = vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    flushed.push({ ino: fstatSync(fd).ino, names: readdirSync(`/proc/self/fd/${fd}`) });
    fsync(fd, callback);
  }) as typeof fs.fsync);
  syncBuiltinESMExports();
  return {
    flushed,
    restore: () => {
      spy.mockRestore();
      syncBuiltinESMExports();
    },
  };
}

function pieces(buffer: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) out.push(buffer.subarray(i, i + size));
  return out;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe(code);
}

describe('FsBlobStore', () => {
  it('stores, reads, sizes, ranges, lists and deletes', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const { id, size } = await store.put(Readable.from(pieces(bytes, 65_552)));
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(size).toBe(bytes.length);
    expect(await store.size(id)).toBe(bytes.length);
    expect((await readAll(await store.get(id))).equals(bytes)).toBe(true);
    expect((await readAll(await store.get(id, { start: 5, end: 5 }))).equals(bytes.subarray(5, 6))).toBe(true);
    expect((await readAll(await store.get(id, { start: 1_000_000, end: 2_500_000 }))).equals(bytes.subarray(1_000_000, 2_500_001))).toBe(true);
    expect(await listAll(store)).toEqual([id]);
    await store.delete(id);
    await store.delete(id); // idempotent
    expect(await listAll(store)).toEqual([]);
    await expectCode(store.get(id), 'NOT_FOUND');
    await expectCode(store.size(id), 'NOT_FOUND');
  });

  it('lays a new store out as blobs/ab/<id>, its 256 folders made at once and the layout recorded, owner-only, with nothing left in staging', async () => {
    const { id } = await store.put(Readable.from([Buffer.from('hello')]));
    const path = join(dataDir, 'blobs', id.slice(0, 2), id);
    const stat = await fsp.stat(path);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(await fsp.readFile(path, 'utf8')).toBe('hello');
    expect(await stagingFiles()).toEqual([]);
    expect(await fsp.readFile(join(dataDir, 'blobs', 'layout'), 'utf8')).toBe('fanout=1\n');
    const folders = (await fsp.readdir(join(dataDir, 'blobs'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual(Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')));
    const files = (await fsp.readdir(join(dataDir, 'blobs'), { withFileTypes: true })).filter((e) => !e.isDirectory()).map((e) => e.name);
    expect(files).toEqual(['layout']);
  });

  it('keeps a store begun with two levels (blobs/ab/cd/<id>, no layout recorded) as it is, and records that', async () => {
    const old = randomBytes(16).toString('hex');
    await fsp.mkdir(join(dataDir, 'blobs', old.slice(0, 2), old.slice(2, 4)), { recursive: true });
    await fsp.writeFile(join(dataDir, 'blobs', old.slice(0, 2), old.slice(2, 4), old), 'before');
    expect((await readAll(await store.get(old))).toString()).toBe('before');
    const { id } = await store.put(Readable.from([Buffer.from('after')]));
    expect(await fsp.readFile(join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'utf8')).toBe('after');
    expect(await listAll(store)).toEqual([old, id].sort());
    expect(await fsp.readFile(join(dataDir, 'blobs', 'layout'), 'utf8')).toBe('fanout=2\n');
    // Another process reads the record, not the folders.
    expect(await listAll(new FsBlobStore({ dataDir }))).toEqual([old, id].sort());
  });

  it('reads a one-level folder copied without its layout record as one level', async () => {
    const { id } = await store.put(Readable.from([Buffer.from('kept')]));
    await fsp.rm(join(dataDir, 'blobs', 'layout'));
    const other = new FsBlobStore({ dataDir });
    expect((await readAll(await other.get(id))).toString()).toBe('kept');
    // Reading writes nothing; the next write records what the folder holds.
    await expect(fsp.stat(join(dataDir, 'blobs', 'layout'))).rejects.toMatchObject({ code: 'ENOENT' });
    const { id: next } = await other.put(Readable.from([Buffer.from('next')]));
    await fsp.stat(join(dataDir, 'blobs', next.slice(0, 2), next));
    expect(await fsp.readFile(join(dataDir, 'blobs', 'layout'), 'utf8')).toBe('fanout=1\n');
  });

  it('agrees on one layout when several processes begin one empty shared folder at once', async () => {
    const stores = Array.from({ length: 6 }, () => new FsBlobStore({ dataDir }));
    const ids = await Promise.all(stores.map(async (s, i) => (await s.put(Readable.from([Buffer.from(`n${i}`)]))).id));
    for (const id of ids) await fsp.stat(join(dataDir, 'blobs', id.slice(0, 2), id));
    expect(await fsp.readFile(join(dataDir, 'blobs', 'layout'), 'utf8')).toBe('fanout=1\n');
    expect(await listAll(store)).toEqual([...ids].sort());
    expect(await stagingFiles()).toEqual([]);
  });

  it('refuses a layout record it did not write, rather than guess where the blobs are, and says so without the server\'s paths', async () => {
    await fsp.mkdir(join(dataDir, 'blobs'), { recursive: true });
    for (const record of ['fanout=3\n', 'fanout=1', `fanout=1\n${'x'.repeat(40)}`]) {
      await fsp.writeFile(join(dataDir, 'blobs', 'layout'), record);
      const fresh = new FsBlobStore({ dataDir });
      await expectCode(fresh.put(Readable.from([Buffer.from('x')])), 'UNAVAILABLE');
      await expectCode(fresh.get('a'.repeat(32)), 'UNAVAILABLE');
      await expectCode(fresh.size('a'.repeat(32)), 'UNAVAILABLE');
      await expectCode(fresh.delete('a'.repeat(32)), 'UNAVAILABLE');
      await expectCode(listAll(fresh), 'UNAVAILABLE');
      const error = await fresh.get('a'.repeat(32)).then(() => undefined, (e: unknown) => e as Error);
      expect(error?.message).toBe('Could not read the blob layout record.');
    }
    // Nor a pipe or a link in its place: opened without waiting or following.
    await fsp.rm(join(dataDir, 'blobs', 'layout'));
    execFileSync('mkfifo', [join(dataDir, 'blobs', 'layout')]);
    await expectCode(new FsBlobStore({ dataDir }).get('a'.repeat(32)), 'UNAVAILABLE');
    await fsp.rm(join(dataDir, 'blobs', 'layout'));
    await fsp.writeFile(join(dataDir, 'elsewhere'), 'fanout=1\n');
    await fsp.symlink(join(dataDir, 'elsewhere'), join(dataDir, 'blobs', 'layout'));
    await expectCode(new FsBlobStore({ dataDir }).get('a'.repeat(32)), 'UNAVAILABLE');
  });

  it('follows the record, and refuses a record the folder\'s contents contradict', async () => {
    await fsp.mkdir(join(dataDir, 'blobs'), { recursive: true });
    await fsp.writeFile(join(dataDir, 'blobs', 'layout'), 'fanout=2\n');
    const { id } = await store.put(Readable.from([Buffer.from('two')]));
    expect(await fsp.readFile(join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'utf8')).toBe('two');
    // Changed by hand to one level: the second level inside the first says otherwise.
    await fsp.writeFile(join(dataDir, 'blobs', 'layout'), 'fanout=1\n');
    await expectCode(new FsBlobStore({ dataDir }).get(id), 'UNAVAILABLE');
    await expectCode(new FsBlobStore({ dataDir }).put(Readable.from([Buffer.from('x')])), 'UNAVAILABLE');
  });

  it('reads a missing or empty folder without making anything', async () => {
    await expectCode(store.get('a'.repeat(32)), 'NOT_FOUND');
    await expectCode(store.size('a'.repeat(32)), 'NOT_FOUND');
    await store.delete('a'.repeat(32));
    expect(await listAll(store)).toEqual([]);
    await expect(fsp.stat(join(dataDir, 'blobs'))).rejects.toMatchObject({ code: 'ENOENT' });
    await fsp.mkdir(join(dataDir, 'blobs'));
    await expectCode(store.get('a'.repeat(32)), 'NOT_FOUND');
    expect(await fsp.readdir(join(dataDir, 'blobs'))).toEqual([]);
  });

  it('says so loudly when a second level appears in a one-level folder (a node of an older version writing to it)', async () => {
    const { id } = await store.put(Readable.from([Buffer.from('one')]));
    await fsp.mkdir(join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4)));
    await expectCode(listAll(store), 'UNAVAILABLE');
  });

  it('learns the layout again when another folder is mounted where the blobs were', async () => {
    const { id: local } = await store.put(Readable.from([Buffer.from('local')]));
    // The share appears: a two-level store (begun before the record) now sits at the same path.
    await fsp.rename(join(dataDir, 'blobs'), join(dataDir, 'hidden'));
    const shared = randomBytes(16).toString('hex');
    await fsp.mkdir(join(dataDir, 'blobs', shared.slice(0, 2), shared.slice(2, 4)), { recursive: true });
    await fsp.writeFile(join(dataDir, 'blobs', shared.slice(0, 2), shared.slice(2, 4), shared), 'shared');
    expect((await readAll(await store.get(shared))).toString()).toBe('shared');
    await expectCode(store.get(local), 'NOT_FOUND');
    const { id } = await store.put(Readable.from([Buffer.from('new')]));
    expect(await fsp.readFile(join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'utf8')).toBe('new');
    expect(await fsp.readFile(join(dataDir, 'blobs', 'layout'), 'utf8')).toBe('fanout=2\n');
    expect(await listAll(store)).toEqual([shared, id].sort());
  });

  it('reads a two-level store\'s blobs synchronously, and through the thread pool once its outer folder is a symlink', async () => {
    const id = randomBytes(16).toString('hex');
    const inner = join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4));
    await fsp.mkdir(inner, { recursive: true });
    await fsp.writeFile(join(inner, id), 'two levels');
    await store.put(Readable.from([Buffer.from('learns the layout')]));
    const reads = vi.spyOn(await fileHandlePrototype(), 'read');
    const elsewhere = await fsp.mkdtemp(join(tmpdir(), 'strongroom-elsewhere-'));
    try {
      expect((await readAll(await store.get(id))).toString()).toBe('two levels');
      expect(reads).not.toHaveBeenCalled();
      await fsp.rename(join(dataDir, 'blobs', id.slice(0, 2)), join(elsewhere, 'outer'));
      await fsp.symlink(join(elsewhere, 'outer'), join(dataDir, 'blobs', id.slice(0, 2)));
      expect((await readAll(await store.get(id))).toString()).toBe('two levels');
      expect(await store.size(id)).toBe(10);
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
      await fsp.rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('flushes the innermost folder of a two-level store, the one that names the new blob', async () => {
    const old = randomBytes(16).toString('hex');
    await fsp.mkdir(join(dataDir, 'blobs', old.slice(0, 2), old.slice(2, 4)), { recursive: true });
    await fsp.writeFile(join(dataDir, 'blobs', old.slice(0, 2), old.slice(2, 4), old), 'before');
    await store.put(Readable.from([Buffer.from('learns the layout')]));
    const folders = watchFolderFlushes();
    try {
      const { id } = await store.put(Readable.from([Buffer.from('two levels')]));
      expect(folders.flushed).toEqual([{ ino: statSync(join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4))).ino, names: [id] }]);
    } finally {
      folders.restore();
    }
  });

  it('fails a put whose folder cannot be flushed, or is gone, or is swapped for a symlink, with UNAVAILABLE', async () => {
    await store.put(Readable.from([Buffer.from('learns the layout')]));
    const id = () => `ab${randomBytes(15).toString('hex')}`;
    // The flush itself fails.
    const fsync = fs.fsync;
    const failing = vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      void fd;
      callback(Object.assign(new Error('I/O error'), { code: 'EIO' }));
    }) as typeof fs.fsync);
    syncBuiltinESMExports();
    try {
      await expectCode(store.putAs(id(), Readable.from([Buffer.from('x')])), 'UNAVAILABLE');
    } finally {
      failing.mockRestore();
      syncBuiltinESMExports();
    }
    expect(fs.fsync).toBe(fsync);

    // The folder moved away just after the rename into it.
    const rename = fsp.rename;
    const moving = vi.spyOn(fsp, 'rename').mockImplementationOnce(async (from, to) => {
      await rename(from, to);
      await rename(join(dataDir, 'blobs', 'ab'), join(dataDir, 'ab-moved'));
    });
    syncBuiltinESMExports();
    try {
      await expectCode(store.putAs(id(), Readable.from([Buffer.from('x')])), 'UNAVAILABLE');
    } finally {
      moving.mockRestore();
      syncBuiltinESMExports();
    }

    // The folder swapped for a symlink to a real folder between its check and its open: not followed.
    const elsewhere = await fsp.mkdtemp(join(tmpdir(), 'strongroom-elsewhere-'));
    await fsp.rm(join(dataDir, 'ab-moved'), { recursive: true });
    await fsp.mkdir(join(dataDir, 'blobs', 'ab'));
    const lstatSync = fs.lstatSync;
    const swapping = vi.spyOn(fs, 'lstatSync').mockImplementation(((path: string) => {
      const status = lstatSync(path);
      if (path === join(dataDir, 'blobs', 'ab')) {
        fs.renameSync(path, join(elsewhere, 'ab'));
        fs.symlinkSync(join(elsewhere, 'ab'), path);
      }
      return status;
    }) as typeof fs.lstatSync);
    const folders = watchFolderFlushes();
    try {
      await expectCode(store.putAs(id(), Readable.from([Buffer.from('x')])), 'UNAVAILABLE');
      expect(folders.flushed).toEqual([]);
    } finally {
      swapping.mockRestore();
      folders.restore();
      await fsp.rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('checks before every write that the blob folder is the one it learnt, with no read between', async () => {
    await store.put(Readable.from([Buffer.from('learns the layout')]));
    await fsp.rename(join(dataDir, 'blobs'), join(dataDir, 'hidden'));
    const shared = randomBytes(16).toString('hex');
    await fsp.mkdir(join(dataDir, 'blobs', shared.slice(0, 2), shared.slice(2, 4)), { recursive: true });
    await fsp.writeFile(join(dataDir, 'blobs', shared.slice(0, 2), shared.slice(2, 4), shared), 'shared');
    const { id } = await store.put(Readable.from([Buffer.from('new')]));
    expect(await fsp.readFile(join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'utf8')).toBe('new');
  });

  it('sweeps a layout record staged by a process that stopped before publishing it', async () => {
    await store.put(Readable.from([Buffer.from('x')]));
    const staged = join(dataDir, 'blobs', '.layout-0123456789abcdef.part');
    await fsp.writeFile(staged, 'fanout=1\n');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await fsp.utimes(staged, hourAgo, hourAgo);
    expect(await store.cleanStaging(60_000)).toBe(1);
    await expect(fsp.stat(staged)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('accepts an async iterable of Uint8Arrays and an empty stream', async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([1, 2, 3]);
      yield new Uint8Array(0);
      yield new Uint8Array([4]);
    }
    const a = await store.put(source());
    expect([...(await readAll(await store.get(a.id)))]).toEqual([1, 2, 3, 4]);
    const empty = await store.put(Readable.from([]));
    expect(empty.size).toBe(0);
    expect((await readAll(await store.get(empty.id))).length).toBe(0);
  });

  it('says UNAVAILABLE and closes the blob when its size cannot be read through the thread pool', async () => {
    store = new FsBlobStore({ dataDir, synchronousReads: false });
    const { id } = await store.put(Readable.from([Buffer.from('a blob')]));
    const stat = vi.spyOn(await fileHandlePrototype(), 'stat').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    try {
      await expectCode(store.get(id), 'UNAVAILABLE');
    } finally {
      stat.mockRestore();
    }
    expect(await openDescriptorsOn(blobPath(id))).toBe(0);
  });

  it('joins many tiny chunks correctly', async () => {
    const bytes = randomBytes(200_000);
    const { id } = await store.put(Readable.from(pieces(bytes, 3)));
    expect((await readAll(await store.get(id))).equals(bytes)).toBe(true);
  });

  it('makes a blob visible only once put has resolved', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* source(): AsyncGenerator<Buffer> {
      yield randomBytes(2 * 1024 * 1024);
      await gate;
      yield Buffer.from('tail');
    }
    const putting = store.put(source());
    // Wait until the staging file exists and holds the first part.
    for (let i = 0; i < 200 && (await stagingFiles()).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const staged = await stagingFiles();
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatch(/^[0-9a-f]{32}\.part$/);
    expect(await listAll(store)).toEqual([]);
    release();
    const { id, size } = await putting;
    expect(size).toBe(2 * 1024 * 1024 + 4);
    expect(await listAll(store)).toEqual([id]);
    expect(await stagingFiles()).toEqual([]);
  });

  it('leaves no blob and no staging file when the source fails, and reports the source error', async () => {
    const boom = new Error('client went away');
    async function* source(): AsyncGenerator<Buffer> {
      yield randomBytes(3 * 1024 * 1024);
      throw boom;
    }
    await expect(store.put(source())).rejects.toBe(boom);
    const stream = new Readable({ read() {} });
    const putting = store.put(stream);
    stream.push(randomBytes(1000));
    setImmediate(() => stream.destroy(boom));
    await expect(putting).rejects.toBe(boom);
    // A source that failed before put even started reading.
    const early = new Readable({ read() {} });
    early.destroy(boom);
    await expect(store.put(early)).rejects.toBe(boom);
    expect(await listAll(store)).toEqual([]);
    expect(await stagingFiles()).toEqual([]);
  });

  it('flushes a large blob behind the writer as it goes, a small one only once, and none when told not to sync', async () => {
    await store.put(Readable.from([Buffer.from('the layout and first folder are made, and synced, once')]));
    const prototype = await fileHandlePrototype();
    // Each flush behind the writer answers at once, so none is still running when the next is due and
    // the count is exact (a slow disk would make the store skip one, which is what it should do).
    const flushes = vi.spyOn(prototype, 'datasync').mockResolvedValue(undefined);
    const syncs = vi.spyOn(prototype, 'sync');
    const folders = watchFolderFlushes();
    try {
      // 40 MiB in 64 KiB pieces: a flush is due after 16 and 32 MiB.
      const large = randomBytes(40 * 1024 * 1024);
      const { id } = await store.put(Readable.from(pieces(large, 64 * 1024)));
      expect(flushes).toHaveBeenCalledTimes(2);
      // The blob through its handle, then its folder (local here: opened and closed synchronously), once it holds the blob's name.
      expect(syncs).toHaveBeenCalledTimes(1);
      expect(folders.flushed).toEqual([{ ino: statSync(join(dataDir, 'blobs', id.slice(0, 2))).ino, names: [id] }]);
      expect((await readAll(await store.get(id))).equals(large)).toBe(true);

      flushes.mockClear();
      syncs.mockClear();
      folders.flushed.length = 0;
      await store.put(Readable.from(pieces(randomBytes(8 * 1024 * 1024), 64 * 1024)));
      expect(flushes).not.toHaveBeenCalled();
      expect(syncs).toHaveBeenCalledTimes(1);
      expect(folders.flushed).toHaveLength(1);

      // Told to read through the thread pool, the store flushes the folder through it too.
      const pooled = new FsBlobStore({ dataDir, synchronousReads: false });
      await pooled.put(Readable.from([randomBytes(100)])); // learns the layout, and syncs the blob folder once
      syncs.mockClear();
      folders.flushed.length = 0;
      await pooled.put(Readable.from([randomBytes(100)]));
      expect(syncs).toHaveBeenCalledTimes(2);
      expect(folders.flushed).toEqual([]);

      flushes.mockClear();
      syncs.mockClear();
      const unsynced = new FsBlobStore({ dataDir, unsafeNoSync: true });
      await unsynced.put(Readable.from(pieces(large, 64 * 1024)));
      expect(flushes).not.toHaveBeenCalled();
      expect(syncs).not.toHaveBeenCalled();
      expect(folders.flushed).toEqual([]);
    } finally {
      flushes.mockRestore();
      syncs.mockRestore();
      folders.restore();
    }
  });

  it('fails the put, leaving no blob and no staging file, when a flush behind the writer fails', async () => {
    const flushes = vi.spyOn(await fileHandlePrototype(), 'datasync').mockRejectedValue(Object.assign(new Error('I/O error'), { code: 'EIO' }));
    try {
      let pulled = 0;
      async function* source(): AsyncGenerator<Buffer> {
        for (; pulled < 64; pulled++) yield randomBytes(1024 * 1024);
      }
      await expectCode(store.put(source()), 'UNAVAILABLE');
      expect(flushes).toHaveBeenCalledTimes(1);
      // The failure ends the upload at the next write, not after the whole source.
      expect(pulled).toBeLessThan(20);
      expect(await listAll(store)).toEqual([]);
      expect(await stagingFiles()).toEqual([]);
    } finally {
      flushes.mockRestore();
    }
  });

  it('rejects malformed ids, so no path can escape the blob folder', async () => {
    const { id } = await store.put(Readable.from([Buffer.from('x')]));
    const bad = ['../../keys/master.key', '..', '', id.toUpperCase(), id.slice(0, 31), id + '0', `${id.slice(0, 30)}/a`, `${id.slice(0, 31)}\0`, 'g'.repeat(32)];
    for (const candidate of bad) {
      await expectCode(store.get(candidate), 'INVALID');
      await expectCode(store.size(candidate), 'INVALID');
      await expectCode(store.delete(candidate), 'INVALID');
    }
    expect(await listAll(store)).toEqual([id]);
  });

  it('rejects invalid byte ranges', async () => {
    const { id } = await store.put(Readable.from([Buffer.from('abc')]));
    await expectCode(store.get(id, { start: 2, end: 1 }), 'INVALID');
    await expectCode(store.get(id, { start: -1, end: 1 }), 'INVALID');
  });

  it('lists every blob across fan-out folders and ignores strangers', async () => {
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push((await store.put(Readable.from([randomBytes(10)]))).id);
    await fsp.writeFile(join(dataDir, 'blobs', 'README'), 'not a blob');
    await fsp.mkdir(join(dataDir, 'blobs', 'zz'), { recursive: true });
    expect(await listAll(store)).toEqual(ids.sort());
    // A second instance (another process) sees the same blobs and can add to existing folders.
    const other = new FsBlobStore({ dataDir });
    expect(await listAll(other)).toEqual(ids.sort());
    await other.put(Readable.from([Buffer.from('y')]));
    expect(await listAll(store)).toHaveLength(41);
  });

  it('cleanStaging removes orphaned .part files older than the grace period', async () => {
    const staging = join(dataDir, 'tmp');
    expect(await store.cleanStaging(0)).toBe(0); // no staging folder yet
    await fsp.mkdir(staging, { recursive: true });
    const old = join(staging, `${'a'.repeat(32)}.part`);
    const fresh = join(staging, `${'b'.repeat(32)}.part`);
    const other = join(staging, 'keep.txt');
    for (const path of [old, fresh, other]) await fsp.writeFile(path, 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await fsp.utimes(old, hourAgo, hourAgo);
    await fsp.utimes(other, hourAgo, hourAgo);
    expect(await store.cleanStaging(60_000)).toBe(1);
    expect((await fsp.readdir(staging)).sort()).toEqual([`${'b'.repeat(32)}.part`, 'keep.txt']);
    expect(await store.cleanStaging(0)).toBe(1);
    expect(await fsp.readdir(staging)).toEqual(['keep.txt']);
  });

  it('keeps a trickling upload\'s staging file fresh, so an age-based clean-up leaves it alone', async () => {
    // Far below the 1 MiB write batch: without the time-based write the file would stay empty and
    // untouched (its age growing) until the upload ended.
    const trickling = new FsBlobStore({ dataDir, unsafeNoSync: true, stagingTouchMs: 50 });
    const staging = join(dataDir, 'tmp');
    const sizes: number[] = [];
    const cleaned: number[] = [];
    async function* slow(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 4; i++) {
        yield Buffer.from(`piece ${i}\n`);
        await new Promise((resolve) => setTimeout(resolve, 120));
        const [part] = (await fsp.readdir(staging)).filter((name) => name.endsWith('.part'));
        const stat = await fsp.stat(join(staging, part!));
        sizes.push(stat.size);
        // Another node's clean-up by age (here: anything untouched for 400 ms) runs meanwhile.
        cleaned.push(await trickling.cleanStaging(400));
      }
    }
    const { id, size } = await trickling.put(slow());
    expect(size).toBe(32);
    expect(sizes[0]).toBe(0); // the first piece waits for the next one (batching)
    expect(sizes.slice(1).every((s, i) => s > sizes[i]!)).toBe(true);
    expect(cleaned).toEqual([0, 0, 0, 0]);
    const read: Buffer[] = [];
    for await (const chunk of await trickling.get(id)) read.push(chunk as Buffer);
    expect(Buffer.concat(read).toString()).toBe('piece 0\npiece 1\npiece 2\npiece 3\n');
  });

  it('reports an unreachable disk as UNAVAILABLE, not NOT_FOUND', async () => {
    const blocked = join(dataDir, 'file-not-dir');
    await fsp.writeFile(blocked, 'x');
    const broken = new FsBlobStore({ dataDir: blocked });
    await expectCode(broken.put(Readable.from([Buffer.from('x')])), 'UNAVAILABLE');
  });
});

describe.each([
  { synchronous: true, way: 'on a local disk, with synchronous calls' },
  { synchronous: false, way: 'through the thread pool (as on a network file system)' },
])('FsBlobStore reads $way', ({ synchronous }) => {
  beforeEach(async () => {
    store = new FsBlobStore({ dataDir, synchronousReads: synchronous });
    // A store learns its folder's file system with its layout: the first put (or read of a folder with blobs).
    await store.put(Readable.from([Buffer.from('first')]));
  });

    it('reads a small blob whole, in one read of its own size through the thread pool or none there on a local disk', async () => {
      const bytes = randomBytes(4096 + 60);
      const { id } = await store.put(Readable.from([bytes]));
      const handles = await fileHandlePrototype();
      const reads = vi.spyOn(handles, 'read');
      const stats = vi.spyOn(handles, 'stat');
      try {
        expect((await readAll(await store.get(id))).equals(bytes)).toBe(true);
        // Not a 1 MiB buffer for 4 KiB, nor a second read to find the end: (buffer, offset, length, position).
        expect(reads.mock.calls.map((call) => (call as unknown[])[2])).toEqual(synchronous ? [] : [bytes.length]);
        expect(stats).toHaveBeenCalledTimes(synchronous ? 0 : 1);
      } finally {
        reads.mockRestore();
        stats.mockRestore();
      }
      expect(await openDescriptorsOn(blobPath(id))).toBe(0);
    });

    it('follows a symlink where a blob or its folder should be only through the thread pool, and reads no more than a file says it holds', async () => {
      const bytes = randomBytes(5000);
      const { id } = await store.put(Readable.from([bytes]));
      const elsewhere = await fsp.mkdtemp(join(tmpdir(), 'strongroom-elsewhere-'));
      try {
        const moved = join(elsewhere, id);
        await fsp.rename(blobPath(id), moved);
        await fsp.symlink(moved, blobPath(id));
        const reads = vi.spyOn(await fileHandlePrototype(), 'read');
        try {
          expect((await readAll(await store.get(id))).equals(bytes)).toBe(true);
          expect(await store.size(id)).toBe(bytes.length);
          expect(reads).toHaveBeenCalledTimes(1);
          // The folder itself a symlink (as to a share): its blobs are read through the pool too.
          const folder = join(dataDir, 'blobs', id.slice(0, 2));
          await fsp.rm(folder, { recursive: true });
          await fsp.mkdir(join(elsewhere, 'fanout'));
          await fsp.rename(moved, join(elsewhere, 'fanout', id));
          await fsp.symlink(join(elsewhere, 'fanout'), folder);
          expect((await readAll(await store.get(id, { start: 1, end: 10 }))).equals(bytes.subarray(1, 11))).toBe(true);
          expect(reads).toHaveBeenCalledTimes(2);
        } finally {
          reads.mockRestore();
        }
        // A file that says it is empty and is not (/proc's): the size once open bounds the read.
        await fsp.rm(join(elsewhere, 'fanout', id));
        await fsp.symlink('/proc/self/environ', join(elsewhere, 'fanout', id));
        expect((await readAll(await store.get(id))).length).toBe(0);
        expect((await readAll(await store.get(id, { start: 0, end: 100 }))).length).toBe(0);
      } finally {
        await fsp.rm(elsewhere, { recursive: true, force: true });
      }
    });

    it('flushes a folder that became a symlink through the thread pool, never opening it synchronously', async () => {
      const { id } = await store.put(Readable.from([randomBytes(100)]));
      const elsewhere = await fsp.mkdtemp(join(tmpdir(), 'strongroom-elsewhere-'));
      const syncs = vi.spyOn(await fileHandlePrototype(), 'sync');
      const folders = watchFolderFlushes();
      try {
        const folder = join(dataDir, 'blobs', id.slice(0, 2));
        await fsp.rm(folder, { recursive: true });
        await fsp.mkdir(join(elsewhere, 'fanout'));
        await fsp.symlink(join(elsewhere, 'fanout'), folder);
        const bytes = randomBytes(100);
        await store.putAs(id, Readable.from([bytes]));
        expect(folders.flushed).toEqual([]);
        expect(syncs).toHaveBeenCalledTimes(2); // the blob, then its folder, both through the pool
        expect(await fsp.readFile(join(elsewhere, 'fanout', id))).toEqual(await fsp.readFile(blobPath(id)));
        expect((await readAll(await store.get(id))).equals(bytes)).toBe(true);
      } finally {
        syncs.mockRestore();
        folders.restore();
        await fsp.rm(elsewhere, { recursive: true, force: true });
      }
    });

    it('closes a blob it handed to a put that failed before reading it', async () => {
      const { id } = await store.put(Readable.from([randomBytes(INLINE_READ_BYTES * 3)]));
      const blocked = join(dataDir, 'file-not-dir');
      await fsp.writeFile(blocked, 'x');
      const unreachable = new FsBlobStore({ dataDir: blocked });
      for (let i = 0; i < 3; i++) await expectCode(unreachable.putAs(id, await store.get(id)), 'UNAVAILABLE');
      expect(await openDescriptorsOn(blobPath(id))).toBe(0);
    });

    it('reads ranges within, across and past the end, small ones and long ones, and says NOT_FOUND for a blob that is not there', async () => {
      const bytes = randomBytes(INLINE_READ_BYTES * 3 + 101);
      const { id } = await store.put(Readable.from(pieces(bytes, 65_552)));
      const ranges = [
        { start: 0, end: 0 }, { start: 7, end: 4096 }, { start: 0, end: INLINE_READ_BYTES - 1 }, { start: 1, end: INLINE_READ_BYTES + 1 },
        { start: 100, end: 3 * INLINE_READ_BYTES }, { start: bytes.length - 10, end: bytes.length + 50 }, { start: bytes.length + 5, end: bytes.length + 9 },
      ];
      for (const range of ranges) {
        expect((await readAll(await store.get(id, range))).equals(bytes.subarray(range.start, range.end + 1))).toBe(true);
      }
      expect(await store.size(id)).toBe(bytes.length);
      expect(await openDescriptorsOn(blobPath(id))).toBe(0);
      await expectCode(store.get('b'.repeat(32)), 'NOT_FOUND');
      await expectCode(store.get('b'.repeat(32), { start: 0, end: 1 }), 'NOT_FOUND');
      await expectCode(store.size('b'.repeat(32)), 'NOT_FOUND');
    });

    it('reads a blob changed behind its back as it was once open: bytes added before are read (for decryption to refuse), bytes cut after are missing', async () => {
      const bytes = randomBytes(3 * 1024 * 1024);
      const { id } = await store.put(Readable.from([bytes]));
      const file = blobPath(id);
      await fsp.appendFile(file, Buffer.from('extra'));
      expect((await readAll(await store.get(id))).length).toBe(bytes.length + 5);

      const grown = await store.get(id);
      await fsp.appendFile(file, Buffer.from('later'));
      expect((await readAll(grown)).length).toBe(bytes.length + 5);

      const cut = await store.get(id);
      await fsp.truncate(file, 1024 * 1024);
      expect((await readAll(cut)).equals(bytes.subarray(0, 1024 * 1024))).toBe(true);
    });

    it('refuses a directory or a FIFO put where a blob should be, at once and without keeping it open', async () => {
      const { id } = await store.put(Readable.from([Buffer.from('a blob')]));
      const file = blobPath(id);
      await fsp.rm(file);
      execFileSync('mkfifo', [file]);
      // Opened for reading with no writer, a FIFO would block its libuv thread until one came.
      await expectCode(store.get(id), 'INTEGRITY');
      await expectCode(store.get(id, { start: 0, end: 3 }), 'INTEGRITY');
      await fsp.rm(file);
      await fsp.mkdir(file);
      await expectCode(store.get(id), 'INTEGRITY');
      expect(await openDescriptorsOn(file)).toBe(0);
    });

});
