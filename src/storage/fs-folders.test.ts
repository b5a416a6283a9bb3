// Folder helpers on a real temporary directory: a small file read back from a folder others can
// write is refused unless it is a regular file within its bound, and a folder made is flushed into
// every folder that gained it.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathsSynced } from '../../test/support/fsync-watch.js';
import { makeFolderDurably, readSmallTextFile } from './fs-folders.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sr-folders-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readSmallTextFile', () => {
  it('reads a regular file within its bound, and says undefined for none', async () => {
    await writeFile(path.join(root, 'note'), 'a checkpoint\n');
    expect(await readSmallTextFile(path.join(root, 'note'), 13)).toBe('a checkpoint\n');
    expect(await readSmallTextFile(path.join(root, 'absent'), 13)).toBeUndefined();
  });

  it('refuses a larger file, a FIFO, a folder and a link, at once', async () => {
    await writeFile(path.join(root, 'large'), 'x'.repeat(14));
    await expect(readSmallTextFile(path.join(root, 'large'), 13)).rejects.toThrow('is larger than 13 bytes');
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    await expect(readSmallTextFile(path.join(root, 'fifo'), 13)).rejects.toThrow('is not a regular file');
    await mkdir(path.join(root, 'folder'));
    await expect(readSmallTextFile(path.join(root, 'folder'), 13)).rejects.toThrow('is not a regular file');
    // A link to a file whose stat says 0 bytes but which reads as more (/proc) is not followed.
    await symlink('/proc/self/environ', path.join(root, 'link'));
    await expect(readSmallTextFile(path.join(root, 'link'), 13)).rejects.toThrow('is a symbolic link');
  });
});

describe('makeFolderDurably', () => {
  it('flushes the folder above each folder it makes, and nothing when all are there', async () => {
    const deep = path.join(root, 'a', 'b', 'c');
    expect(await pathsSynced(() => makeFolderDurably(deep))).toEqual([root, path.join(root, 'a'), path.join(root, 'a', 'b')]);
    expect(await pathsSynced(() => makeFolderDurably(deep))).toEqual([]);
    expect(await pathsSynced(() => makeFolderDurably(path.join(root, 'a', 'd')))).toEqual([path.join(root, 'a')]);
  });
});
