// A backup's folder location on a real temporary directory: each file it stores is durable when the
// write resolves (the file and its folder fsynced), complete or absent, and never written over.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pathsSynced } from '../../test/support/fsync-watch.js';
import { openBackupLocation, writePart } from './backup-archive.js';

let root: string;
let dir: string;

beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'strongroom-backup-location-'));
  dir = join(root, 'backup');
});
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('a backup folder', () => {
  it('fsyncs each part and the manifest, then the folder, before the write resolves', async () => {
    const location = openBackupLocation(dir);
    const part = randomBytes(40 * 1024 * 1024);
    const paths = await pathsSynced(async () => {
      await location.write('database.sqlite', Readable.from([part.subarray(0, 1000), part.subarray(1000)]));
      await location.writeText('manifest.note', 'signed manifest\n');
    });
    // The new folder is flushed into its parent first.
    expect(paths).toEqual([root, join(dir, 'database.sqlite'), dir, join(dir, 'manifest.note'), dir]);
    expect((await fsp.readFile(join(dir, 'database.sqlite'))).equals(part)).toBe(true);
    expect(await location.readText('manifest.note', 1024)).toBe('signed manifest\n');
    expect((await fsp.stat(join(dir, 'database.sqlite'))).mode & 0o777).toBe(0o600);
    // The manifest is signed, not secret: readable by others unless the umask says otherwise, writable by none.
    const manifestMode = (await fsp.stat(join(dir, 'manifest.note'))).mode & 0o777;
    expect(manifestMode & 0o600).toBe(0o600);
    expect(manifestMode & ~0o644).toBe(0);
    expect((await fsp.stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('leaves no file behind when the source fails part-way, and never writes over a file already there', async () => {
    const location = openBackupLocation(dir);
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(3 * 1024 * 1024);
      throw new Error('the database snapshot could not be read');
    }
    await expect(location.write('database.sqlite', Readable.from(failing()))).rejects.toThrow('the database snapshot could not be read');
    expect(await location.names()).toEqual([]);

    await location.writeText('manifest.note', 'the first backup\n');
    await expect(location.writeText('manifest.note', 'another backup\n')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(location.write('manifest.note', Readable.from([Buffer.from('another backup\n')]))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await location.readText('manifest.note', 1024)).toBe('the first backup\n');
  });

  it.each([
    ['a write finds the disk full', 'writev', 'ENOSPC', 'INSUFFICIENT_STORAGE'],
    ['a flush behind the writer fails', 'datasync', 'EIO', 'UNAVAILABLE'],
  ] as const)('fails a part, not hangs it, when %s part-way, and leaves no file', async (_when, method, errno, code) => {
    const probe = await fsp.open(root, 'r');
    await probe.close();
    vi.spyOn(Object.getPrototypeOf(probe) as fsp.FileHandle, method).mockRejectedValue(Object.assign(new Error(errno), { code: errno }));
    try {
      const part = writePart(openBackupLocation(dir), 'backup-id', randomBytes(32), 'blobs.jsonl');
      // As takeBackup writes the blob list: line after line, waiting whenever the part is behind.
      const writing = (async () => {
        const line = `${'x'.repeat(1000)}\n`;
        for (let i = 0; i < 40 * 1024; i++) await part.write(line);
        await part.done();
      })();
      const outcome = await Promise.race([writing.then(() => 'stored', (error: unknown) => error), new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000))]);
      expect(outcome).toMatchObject({ code });
      expect(await fsp.readdir(dir)).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
  }, 20_000);
});
