// Which scheduled backups are kept, and the folder shelf's listing and removal (the bucket shelf is
// covered by test/backup/scheduled-backup.int.test.ts against the loopback S3 server).
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupFolderName, beyondKept, openBackupShelf, type ShelvedBackup } from './backup-shelf.js';

/** A backup on the shelf; `signed` as if its manifest verified (id and time from its name unless given). */
const b = (name: string, complete = true, signed?: { id: string; createdAt: string }): ShelvedBackup => ({
  name, where: `/r/backups/${name}`, complete,
  ...(complete ? { signed: signed ?? { id: `id-${name}`, createdAt: `${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}T${name.slice(9, 11)}:${name.slice(11, 13)}:${name.slice(13, 15)}Z` } } : {}),
});
/** A folder with a manifest that did not verify (planted, or another vault's). */
const unsigned = (name: string): ShelvedBackup => ({ name, where: `/r/backups/${name}`, complete: true });

describe('beyondKept', () => {
  it('keeps the newest N signed backups and removes everything older than the N-th', () => {
    const all = [b('20261203T010000Z'), b('20261202T010000Z'), b('20261201T010000Z'), b('20261130T010000Z')];
    expect(beyondKept(all, 2).map((x) => x.name)).toEqual(['20261201T010000Z', '20261130T010000Z']);
    expect(beyondKept(all, 4)).toEqual([]);
    expect(beyondKept(all, 10)).toEqual([]);
  });

  it('does not count half-written backups, removes those older than the kept ones, and leaves newer ones (perhaps in progress)', () => {
    const all = [b('20261204T010000Z', false), b('20261203T010000Z'), b('20261202T010000Z', false), b('20261201T010000Z'), b('20261130T010000Z', false)];
    expect(beyondKept(all, 2).map((x) => x.name)).toEqual(['20261130T010000Z']);
    expect(beyondKept(all, 1).map((x) => x.name)).toEqual(['20261202T010000Z', '20261201T010000Z', '20261130T010000Z']);
  });

  it('never lets planted folders push real backups out: unsigned ones are not counted, copies count once, by signed time', () => {
    const copyOfOld = b('20991231T000000Z', true, { id: 'id-20261130T010000Z', createdAt: '2026-11-30T01:00:00Z' });
    const all = [copyOfOld, unsigned('20991230T000000Z'), unsigned('20991229T000000Z'), b('20261202T010000Z'), b('20261201T010000Z'), b('20261130T010000Z'), unsigned('20261129T010000Z')];
    expect(beyondKept(all, 2).map((x) => x.name)).toEqual(['20991231T000000Z', '20261130T010000Z', '20261129T010000Z']);
    // Fewer signed backups than kept: only extra copies of one go.
    expect(beyondKept([copyOfOld, b('20261130T010000Z'), unsigned('20261129T010000Z')], 3).map((x) => x.name)).toEqual(['20991231T000000Z']);
  });

  it('leaves a half-written folder from the last two days (another worker may be writing it), even behind the kept ones', () => {
    const all = [b('20261203T010000Z'), b('20261202T230000Z', false), b('20261201T010000Z', false), b('20261130T010000Z', false)];
    expect(beyondKept(all, 1, { now: new Date('2026-12-03T01:30:00Z') }).map((x) => x.name)).toEqual(['20261201T010000Z', '20261130T010000Z']);
    expect(beyondKept(all, 1).map((x) => x.name)).toEqual(['20261202T230000Z', '20261201T010000Z', '20261130T010000Z']);
  });

  it('names a backup folder by the UTC second it started', () => {
    expect(backupFolderName(new Date('2026-11-30T08:05:09.123Z'))).toBe('20261130T080509Z');
  });
});

describe('the folder shelf', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sr-shelf-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lists backup folders newest first with whether each is complete, ignoring anything else, and removes one whole', async () => {
    const shelf = openBackupShelf({ kind: 'folder', dir: root });
    const backups = path.join(root, 'backups');
    for (const name of ['20261130T010000Z', '20261201T010000Z']) {
      await mkdir(path.join(backups, name), { recursive: true });
      await writeFile(path.join(backups, name, 'keys.json'), 'x');
    }
    await writeFile(path.join(backups, '20261201T010000Z', 'manifest.note'), 'signed');
    await mkdir(path.join(backups, 'by-hand'));
    expect(await shelf.list()).toEqual([
      { name: '20261201T010000Z', where: path.join(backups, '20261201T010000Z'), complete: true },
      { name: '20261130T010000Z', where: path.join(backups, '20261130T010000Z'), complete: false },
    ]);
    await shelf.remove(b('20261130T010000Z', false));
    expect((await readdir(backups)).sort()).toEqual(['20261201T010000Z', 'by-hand']);
    // Only a scheduled backup's own folder name: never a path out of the shelf.
    await expect(shelf.remove(b('../../etc'))).rejects.toThrow("../../etc is not a scheduled backup's folder.");
    await expect(shelf.remove(b('by-hand'))).rejects.toThrow("by-hand is not a scheduled backup's folder.");
    expect((await readdir(backups)).sort()).toEqual(['20261201T010000Z', 'by-hand']);
  });

  it('lists nothing when no backup was taken yet', async () => {
    expect(await openBackupShelf({ kind: 'folder', dir: path.join(root, 'never') }).list()).toEqual([]);
  });
});
