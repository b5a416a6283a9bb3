// Signature sync: clamd's database directory ends up holding exactly ours (plus the official ones
// when asked), copies only what changed, and the digest follows our files' contents.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestSignatures, syncSignatureDatabases } from './clamd.signatures.js';

let root: string;
let ours: string;
let official: string;
let databaseDir: string;
let warnings: string[];
const warn = (_obj: object, msg: string): void => void warnings.push(msg);

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sr-sigs-'));
  [ours, official, databaseDir] = ['ours', 'official', 'db'].map((d) => path.join(root, d)) as [string, string, string];
  for (const dir of [ours, official, databaseDir]) await mkdir(dir);
  await writeFile(path.join(ours, 'strongroom.ndb'), 'Strongroom.Test:0:*:41424344\n');
  await writeFile(path.join(ours, 'README'), 'not a database');
  warnings = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('syncSignatureDatabases', () => {
  it('installs our databases only, removes strangers, and returns the digest of ours', async () => {
    await writeFile(path.join(databaseDir, 'old.ndb'), 'stale');
    const digest = await syncSignatureDatabases({ signaturesDir: ours, databaseDir, warn });
    expect(await readdir(databaseDir)).toEqual(['strongroom.ndb']);
    expect(((await stat(path.join(databaseDir, 'strongroom.ndb'))).mode & 0o777)).toBe(0o600);
    expect(digest).toBe(digestSignatures(ours));
    expect(digest).toMatch(/^strongroom-[0-9a-f]{12}$/);
  });

  it('adds the official databases when asked, and warns when there are none', async () => {
    expect(await syncSignatureDatabases({ signaturesDir: ours, officialDatabaseDir: official, databaseDir, warn })).toBe(digestSignatures(ours));
    expect(warnings).toEqual(['no official ClamAV databases found (has freshclam run?); using ours only']);
    await writeFile(path.join(official, 'main.cvd'), 'official');
    await writeFile(path.join(official, 'freshclam.dat'), 'state');
    await syncSignatureDatabases({ signaturesDir: ours, officialDatabaseDir: official, databaseDir, warn });
    expect((await readdir(databaseDir)).sort()).toEqual(['main.cvd', 'strongroom.ndb']);
  });

  it('copies a file again only when its size or time changed, and the digest follows our contents', async () => {
    const before = await syncSignatureDatabases({ signaturesDir: ours, databaseDir, warn });
    const source = path.join(ours, 'strongroom.ndb');
    const { mtime } = await stat(source);
    await writeFile(source, 'Strongroom.Test:0:*:41424345\n'); // same size
    await utimes(source, mtime, mtime);
    expect(await syncSignatureDatabases({ signaturesDir: ours, databaseDir, warn })).not.toBe(before);
    expect(await readFile(path.join(databaseDir, 'strongroom.ndb'), 'utf8')).toBe('Strongroom.Test:0:*:41424344\n');
    await utimes(source, mtime, new Date(mtime.getTime() + 5000));
    await syncSignatureDatabases({ signaturesDir: ours, databaseDir, warn });
    expect(await readFile(path.join(databaseDir, 'strongroom.ndb'), 'utf8')).toBe('Strongroom.Test:0:*:41424345\n');
  });

  it('refuses a directory without databases, or none at all', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    await expect(syncSignatureDatabases({ signaturesDir: empty, databaseDir, warn })).rejects.toThrow(/no signature databases/);
    await expect(syncSignatureDatabases({ signaturesDir: path.join(root, 'missing'), databaseDir, warn })).rejects.toThrow(/cannot read the shipped ClamAV signatures/);
  });
});
