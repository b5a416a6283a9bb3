// A backup's folder location on a real temporary directory: each file it stores is durable when the
// write resolves (the file and its folder fsynced), complete or absent, and never written over.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathsSynced } from '../../test/support/fsync-watch.js';
import { openBackupLocation } from './backup-archive.js';

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
    expect(paths).toEqual([join(dir, 'database.sqlite'), dir, join(dir, 'manifest.note'), dir]);
    expect((await fsp.readFile(join(dir, 'database.sqlite'))).equals(part)).toBe(true);
    expect(await location.readText('manifest.note', 1024)).toBe('signed manifest\n');
    expect((await fsp.stat(join(dir, 'database.sqlite'))).mode & 0o777).toBe(0o600);
    expect((await fsp.stat(join(dir, 'manifest.note'))).mode & 0o777).toBe(0o644);
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
});
