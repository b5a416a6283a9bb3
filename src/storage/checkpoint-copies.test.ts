// The checkpoints kept outside the database: written durably, the newest copy never goes back,
// and folders from before the newest copy was kept are still read.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, unlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeLog } from '../../test/fixtures/audit/audit-log.js';
import { pathsSynced } from '../../test/support/fsync-watch.js';
import { CheckpointCopies } from './checkpoint-copies.js';
import { takeFileLock } from './file-lock.js';

const log = makeLog(30);
let root: string;
let copies: CheckpointCopies;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sr-copies-'));
  copies = new CheckpointCopies({ offsiteDir: path.join(root, 'offsite'), signerFile: path.join(root, 'data', 'keys', 'audit-last-checkpoint.note') });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('CheckpointCopies', () => {
  it('knows nothing before the first checkpoint', async () => {
    expect(await copies.latest()).toEqual([]);
    expect(await copies.all()).toEqual({ offsite: [], newest: [], signer: [] });
  });

  it('keeps every checkpoint offsite, the newest beside them and the last signed beside the key', async () => {
    await copies.remember(5, log.checkpoint(5));
    await copies.remember(12, log.checkpoint(12));
    expect(await readdir(path.join(root, 'offsite', 'audit-checkpoints'))).toEqual(['000000000005.note', '000000000012.note']);
    expect(await readFile(path.join(root, 'data', 'keys', 'audit-last-checkpoint.note'), 'utf8')).toBe(log.checkpoint(12));
    const latest = await copies.latest();
    expect(latest.map((c) => c.note)).toEqual([log.checkpoint(12), log.checkpoint(12)]);
    expect(latest[0]!.source).toContain('000000000012.note');
    const all = await copies.all();
    expect(all.offsite.map((c) => [c.source, c.claimedSize])).toEqual([['offsite checkpoint 000000000005.note', 5], ['offsite checkpoint 000000000012.note', 12]]);
    expect(all.newest.map((c) => c.note)).toEqual([log.checkpoint(12)]);
  });

  it('never moves the newest offsite copy back when a slower process publishes an older one', async () => {
    await copies.remember(20, log.checkpoint(20));
    await copies.remember(15, log.checkpoint(15));
    expect(await readFile(path.join(root, 'offsite', 'audit-newest-checkpoint.note'), 'utf8')).toBe(log.checkpoint(20));
  });

  it("never moves the signer's own copy back either", async () => {
    await copies.remember(20, log.checkpoint(20));
    await copies.remember(15, log.checkpoint(15));
    expect(await readFile(path.join(root, 'data', 'keys', 'audit-last-checkpoint.note'), 'utf8')).toBe(log.checkpoint(20));
  });

  it('keeps the larger checkpoint as newest and own copy when two processes publish at the same moment, and neither fails', async () => {
    // Each round is a fresh folder: two signers (no memory shared but the files) publishing at once.
    for (let round = 0; round < 10; round++) {
      const dir = path.join(root, `round-${round}`);
      const [a, b] = [0, 1].map(() => new CheckpointCopies({ offsiteDir: path.join(dir, 'offsite'), signerFile: path.join(dir, 'keys', 'audit-last-checkpoint.note') }));
      await Promise.all([a!.remember(25, log.checkpoint(25)), b!.remember(12, log.checkpoint(12))]);
      expect(await readFile(path.join(dir, 'offsite', 'audit-newest-checkpoint.note'), 'utf8')).toBe(log.checkpoint(25));
      expect(await readFile(path.join(dir, 'keys', 'audit-last-checkpoint.note'), 'utf8')).toBe(log.checkpoint(25));
      expect((await readdir(path.join(dir, 'offsite'))).sort()).toEqual(['audit-checkpoints', 'audit-newest-checkpoint.note']);
    }
  });

  it('waits for a signer holding the lock, however old its lock file looks, instead of taking it over', async () => {
    await copies.remember(10, log.checkpoint(10));
    const lockFile = path.join(root, 'offsite', 'audit-newest-checkpoint.lock');
    const release = await takeFileLock(lockFile, { waitMs: 0 });
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(lockFile, anHourAgo, anHourAgo);
    const publishing = copies.remember(25, log.checkpoint(25));
    await sleep(400);
    expect(await readFile(path.join(root, 'offsite', 'audit-newest-checkpoint.note'), 'utf8')).toBe(log.checkpoint(10));
    await release();
    await publishing;
    expect(await readFile(path.join(root, 'offsite', 'audit-newest-checkpoint.note'), 'utf8')).toBe(log.checkpoint(25));
  });

  it("compares and replaces its own copy under a lock beside it, which whoever can write only the offsite folder cannot break", async () => {
    await copies.remember(10, log.checkpoint(10));
    const signerFile = path.join(root, 'data', 'keys', 'audit-last-checkpoint.note');
    // Another signer holds the lock beside the key; the offsite folder's lock is free (or broken).
    const release = await takeFileLock(`${signerFile}.lock`, { waitMs: 0 });
    const publishing = copies.remember(25, log.checkpoint(25));
    await sleep(400);
    expect(await readFile(path.join(root, 'offsite', 'audit-newest-checkpoint.note'), 'utf8')).toBe(log.checkpoint(25));
    expect(await readFile(signerFile, 'utf8')).toBe(log.checkpoint(10));
    await release();
    await publishing;
    expect(await readFile(signerFile, 'utf8')).toBe(log.checkpoint(25));
    expect(await readdir(path.join(root, 'data', 'keys'))).toEqual(['audit-last-checkpoint.note']);
  });

  it('falls back to the highest-numbered file in a folder written before the newest copy was kept', async () => {
    await copies.remember(7, log.checkpoint(7));
    await copies.remember(25, log.checkpoint(25));
    await unlink(path.join(root, 'offsite', 'audit-newest-checkpoint.note'));
    await unlink(path.join(root, 'data', 'keys', 'audit-last-checkpoint.note'));
    expect(await copies.latest()).toEqual([{ source: 'offsite checkpoint 000000000025.note', note: log.checkpoint(25), claimedSize: 25 }]);
  });

  it('flushes each copy and then the folder that names it before remembering resolves', async () => {
    const offsite = path.join(root, 'offsite');
    const keys = path.join(root, 'data', 'keys');
    await copies.remember(5, log.checkpoint(5));
    const paths = await pathsSynced(() => copies.remember(12, log.checkpoint(12)));
    // Each file is written under a temporary name, flushed and renamed into place, then its folder
    // flushed; the newest copy's and the signer's folders once the lock is let go.
    expect(paths.map((p) => (p.endsWith('.tmp') ? `${path.dirname(p)}/(temporary)` : p))).toEqual([
      path.join(offsite, 'audit-checkpoints', '(temporary)'), path.join(offsite, 'audit-checkpoints'),
      path.join(offsite, '(temporary)'), path.join(keys, '(temporary)'),
      offsite, keys,
    ]);
  });

  it('flushes both folders even when it finds a newer copy there and replaces nothing', async () => {
    await copies.remember(12, log.checkpoint(12));
    // What it found may be another signer's rename that signer has not flushed yet.
    const paths = await pathsSynced(() => copies.remember(8, log.checkpoint(8)));
    expect(paths.slice(-2)).toEqual([path.join(root, 'offsite'), path.join(root, 'data', 'keys')]);
    expect(await readFile(path.join(root, 'data', 'keys', 'audit-last-checkpoint.note'), 'utf8')).toBe(log.checkpoint(12));
  });

  it('flushes the folders it makes into the folders above them, the first time', async () => {
    const paths = await pathsSynced(() => copies.remember(5, log.checkpoint(5)));
    // offsite/ and offsite/audit-checkpoints/ are new, and so are data/ and data/keys/.
    for (const parent of [root, path.join(root, 'offsite'), path.join(root, 'data')]) expect(paths).toContain(parent);
  });

  it('refuses a FIFO put where a checkpoint copy should be, at once, rather than wait on it', async () => {
    await copies.remember(5, log.checkpoint(5));
    const newest = path.join(root, 'offsite', 'audit-newest-checkpoint.note');
    await unlink(newest);
    execFileSync('mkfifo', [newest]);
    await expect(copies.latest()).rejects.toThrow('is not a regular file');
    await expect(copies.remember(12, log.checkpoint(12))).rejects.toThrow('is not a regular file');
  });
});
