// Synchronous reads of blobs on a local disk: which file systems count as local, and a failing read
// said as UNAVAILABLE with its descriptor closed (the store's own tests cover what is read).
import { closeSync, openSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../domain/errors.js';

const failNextRead = vi.hoisted(() => ({ with: undefined as NodeJS.ErrnoException | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readSync = ((...args: Parameters<typeof fs.readSync>) => {
    const error = failNextRead.with;
    failNextRead.with = undefined;
    if (error) throw error;
    return fs.readSync(...args);
  }) as typeof fs.readSync;
  return { ...fs, readSync, default: { ...fs, readSync } };
});
const { onLocalFileSystem, readOpenBlob } = await import('./fs-local-reads.js');

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

describe('readOpenBlob', () => {
  it('says UNAVAILABLE when the read fails, and closes the file', async () => {
    const file = join(dir, 'blob');
    await fsp.writeFile(file, 'some bytes');
    const fd = openSync(file, 'r');
    failNextRead.with = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    let error: unknown;
    try {
      readOpenBlob('a'.repeat(32), fd, undefined, 1024);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('UNAVAILABLE');
    expect(() => closeSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
