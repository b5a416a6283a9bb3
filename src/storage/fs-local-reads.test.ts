// Synchronous reads of blobs on a local disk: which file systems count as local, what is left to the
// thread pool, and failures said as the store says them with the descriptor closed (the store's own
// tests cover what is read).
import { promises as fsp, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../domain/errors.js';

const failing = vi.hoisted(() => ({ read: undefined as NodeJS.ErrnoException | undefined, close: undefined as NodeJS.ErrnoException | undefined, opened: [] as number[], closed: [] as number[] }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readSync = ((...args: Parameters<typeof fs.readSync>) => {
    const error = failing.read;
    failing.read = undefined;
    if (error) throw error;
    return fs.readSync(...args);
  }) as typeof fs.readSync;
  const openSync = ((...args: Parameters<typeof fs.openSync>) => {
    const fd = fs.openSync(...args);
    failing.opened.push(fd);
    return fd;
  }) as typeof fs.openSync;
  const closeSync = (fd: number): void => {
    fs.closeSync(fd);
    failing.closed.push(fd);
    const error = failing.close;
    failing.close = undefined;
    if (error) throw error;
  };
  const replaced = { readSync, openSync, closeSync };
  return { ...fs, ...replaced, default: { ...fs, ...replaced } };
});
const { INLINE_READ_BYTES, onLocalFileSystem, readSmallBlob } = await import('./fs-local-reads.js');
type LocalFolders = import('./fs-local-reads.js').LocalFolders;

const ID = 'a'.repeat(32);
const eio = (): NodeJS.ErrnoException => Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });

function expectAllClosed(): void {
  expect(failing.closed).toEqual(failing.opened);
}

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'strongroom-local-reads-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('onLocalFileSystem', () => {
  it('tells a local disk and memory from anything else, and says no when it cannot tell', async () => {
    expect(await onLocalFileSystem(dir)).toBe(true);
    expect(await onLocalFileSystem('/dev/shm')).toBe(true);
    expect(await onLocalFileSystem('/proc')).toBe(false);
    expect(await onLocalFileSystem('/sys')).toBe(false);
    expect(await onLocalFileSystem(join(dir, 'missing'))).toBe(false);
  });
});

describe('readSmallBlob', () => {
  let file: string;
  let device: number;
  beforeEach(async () => {
    file = join(dir, 'blob');
    await fsp.writeFile(file, 'some bytes');
    device = statSync(file).dev;
    failing.opened = [];
    failing.closed = [];
  });

  it('reads a small blob or range, an empty one, and leaves long reads, symlinks and other devices to the thread pool', async () => {
    const elsewhere = vi.fn();
    const local = (on = device): LocalFolders => ({ folders: [dir], device: on, elsewhere });
    expect(readSmallBlob(ID, file, undefined, local())!.toString()).toBe('some bytes');
    expect(readSmallBlob(ID, file, { start: 5, end: 100 }, local())!.toString()).toBe('bytes');
    expect(readSmallBlob(ID, file, { start: 10, end: 12 }, local())!.length).toBe(0);
    await fsp.writeFile(file, Buffer.alloc(INLINE_READ_BYTES + 1));
    expect(readSmallBlob(ID, file, undefined, local())).toBeUndefined();
    expect(readSmallBlob(ID, file, { start: 1, end: INLINE_READ_BYTES }, local())!.length).toBe(INLINE_READ_BYTES);
    const link = join(dir, 'link');
    await fsp.symlink(file, link);
    expect(readSmallBlob(ID, link, { start: 0, end: 1 }, local())).toBeUndefined();
    expect(elsewhere).not.toHaveBeenCalled();
    expect(readSmallBlob(ID, file, { start: 0, end: 1 }, local(device + 1))).toBeUndefined();
    expect(elsewhere).toHaveBeenCalledExactlyOnceWith(dir);
    // A folder that is a symlink (to a share, say) is not walked through.
    const linkedFolder = join(tmpdir(), `strongroom-linked-${process.pid}`);
    await fsp.symlink(dir, linkedFolder);
    try {
      expect(readSmallBlob(ID, join(linkedFolder, 'blob'), undefined, { folders: [linkedFolder], device, elsewhere })).toBeUndefined();
      expect(elsewhere).toHaveBeenLastCalledWith(linkedFolder);
    } finally {
      await fsp.rm(linkedFolder);
    }
    expectAllClosed();
  });

  it('says UNAVAILABLE when the read fails, INTEGRITY for a folder, and closes the file either way', async () => {
    failing.read = eio();
    const error = (() => {
      try {
        readSmallBlob(ID, file, undefined, { folders: [dir], device, elsewhere: () => undefined });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('UNAVAILABLE');
    expect(() => readSmallBlob(ID, dir, undefined, { folders: [tmpdir()], device: statSync(dir).dev, elsewhere: () => undefined })).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    expect(() => readSmallBlob(ID, join(dir, 'missing'), undefined, { folders: [dir], device, elsewhere: () => undefined })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(failing.opened).toHaveLength(2);
    expectAllClosed();
  });

  it('refuses a blob longer than the caller allows as INTEGRITY, reading none of it, and closes it', async () => {
    const local = { folders: [dir], device, elsewhere: () => undefined };
    expect(readSmallBlob(ID, file, undefined, local, 10)!.toString()).toBe('some bytes');
    expect(() => readSmallBlob(ID, file, undefined, local, 9)).toThrow(expect.objectContaining({ code: 'INTEGRITY', message: `Blob ${ID} is longer than the 9 bytes its record allows.` }));
    expect(failing.opened).toHaveLength(2);
    expectAllClosed();
  });

  it('keeps what it read when the close then fails', async () => {
    failing.close = eio();
    expect(readSmallBlob(ID, file, undefined, { folders: [dir], device, elsewhere: () => undefined })!.toString()).toBe('some bytes');
    expectAllClosed();
  });
});
