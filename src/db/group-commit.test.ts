// Group commit: concurrent callers share fsyncs, and none is answered by a sync that began before
// its own write was committed. The sync is a fake held open by the test, so "in flight" is exact.
import { statSync } from 'node:fs';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDescriptorsOn } from '../../test/support/descriptors.js';
import { datasyncsWatched } from '../../test/support/fsync-watch.js';
import { DurabilityLostError, GATHERED_COMMIT_WAIT_MS, GroupCommit, KeptFileSync, fdatasyncFile } from './group-commit.js';

/** A sync function whose calls stay open until released, each remembering how many commits preceded it. */
function heldSyncs(commitsSoFar: () => number) {
  const syncs: { beganAfterCommits: number; finished: boolean; release(): void }[] = [];
  const sync = (file: string) => {
    expect(file).toBe('/vault/strongroom.db-wal');
    return new Promise<void>((resolve) => {
      const entry = {
        beganAfterCommits: commitsSoFar(), finished: false,
        release: () => { entry.finished = true; resolve(); },
      };
      syncs.push(entry);
    });
  };
  return { syncs, sync };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('shares one sync among the callers that arrive while another runs, and answers each only after a sync that began after its write', async () => {
    let commits = 0;
    const { syncs, sync } = heldSyncs(() => commits);
    const group = new GroupCommit('/vault/strongroom.db-wal', sync);
    const answered: { write: number; syncsFinished: { beganAfterCommits: number }[] }[] = [];
    const callers: Promise<void>[] = [];
    const write = () => {
      group.noteCommit();
      commits += 1;
      const number = commits;
      callers.push(group.durable().then(() => {
        answered.push({ write: number, syncsFinished: syncs.filter((s) => s.finished) });
      }));
    };

    // 200 callers in 10 waves of 20; each wave arrives while the previous wave's sync is in flight.
    for (let wave = 0; wave < 10; wave++) {
      for (let i = 0; i < 20; i++) write();
      await settle();
      expect(syncs.filter((s) => !s.finished), `wave ${wave}: one sync in flight, never two`).toHaveLength(1);
      syncs.find((s) => !s.finished)!.release();
      await settle();
    }
    // The last wave's sync.
    while (syncs.some((s) => !s.finished)) {
      syncs.find((s) => !s.finished)!.release();
      await settle();
    }
    await Promise.all(callers);

    expect(answered).toHaveLength(200);
    for (const a of answered) {
      expect(a.syncsFinished.some((s) => s.beganAfterCommits >= a.write), `write ${a.write} was answered before a sync that began after it finished`).toBe(true);
    }
    // 200 writes, 10 syncs: one a wave. The first wave's sync is asked for by its first write but
    // begins a microtask later, so it covers the other 19 too.
    expect(syncs.length).toBe(10);
    expect(group.pending).toBe(false);
  });

  it('makes a caller that arrives during a sync begun before its write wait for the next one', async () => {
    let commits = 0;
    const { syncs, sync } = heldSyncs(() => commits);
    const group = new GroupCommit('/vault/strongroom.db-wal', sync);
    group.noteCommit();
    commits += 1;
    const first = group.durable();
    await settle();
    group.noteCommit();
    commits += 1;
    let secondDone = false;
    const second = group.durable().then(() => { secondDone = true; });
    syncs[0]!.release();
    await first;
    await settle();
    expect(secondDone, 'answered by the sync that began before its write').toBe(false);
    expect(syncs).toHaveLength(2);
    expect(syncs[1]!.beganAfterCommits).toBe(2);
    syncs[1]!.release();
    await second;
    expect(secondDone).toBe(true);
  });

  it('lets a writer gather behind the sync in flight, and begins the next sync only once it has committed, so that sync covers its write', async () => {
    let commits = 0;
    const { syncs, sync } = heldSyncs(() => commits);
    // Waits for the gathered writer however slow the machine (the bound is the next test's).
    const group = new GroupCommit('/vault/strongroom.db-wal', sync, { gatheredCommitWaitMs: 60_000 });
    const commit = () => {
      group.noteCommit();
      commits += 1;
    };
    expect(group.commitAfterSync(), 'no sync running: write at once').toBeUndefined();
    commit();
    const first = group.durable();
    await settle();
    const behind = group.commitAfterSync();
    expect(behind).toBeDefined();
    let gathered = false;
    void behind!.then(() => { gathered = true; });
    // Another writer commits meanwhile without gathering: it waits for the next sync.
    commit();
    let otherDone = false;
    const other = group.durable().then(() => { otherDone = true; });
    await settle();
    expect(gathered, 'told to write before the sync in flight ended').toBe(false);

    syncs[0]!.release();
    await first;
    const committed = await behind!;
    await settle();
    expect(syncs, 'the next sync began before the gathered writer committed').toHaveLength(1);
    expect(group.commitAfterSync(), 'a sync waiting for gathered writers has not begun: write at once').toBeUndefined();
    commit();
    committed();
    let gatheredDone = false;
    const gatheredCaller = group.durable().then(() => { gatheredDone = true; });
    await settle();
    expect(syncs).toHaveLength(2);
    expect(syncs[1]!.beganAfterCommits, 'the next sync covers the gathered write').toBe(3);
    expect([otherDone, gatheredDone]).toEqual([false, false]);
    syncs[1]!.release();
    await Promise.all([other, gatheredCaller]);
    expect(syncs, 'one sync for both: the gathered writer waited for no more syncs than the other').toHaveLength(2);
    expect(group.pending).toBe(false);
  });

  it('begins the next sync without a gathered writer that has not committed after GATHERED_COMMIT_WAIT_MS, so no caller waits on it for ever', async () => {
    let commits = 0;
    const { syncs, sync } = heldSyncs(() => commits);
    const group = new GroupCommit('/vault/strongroom.db-wal', sync);
    group.noteCommit();
    commits += 1;
    const first = group.durable();
    await settle();
    const behind = group.commitAfterSync()!;
    syncs[0]!.release();
    await first;
    await behind; // told to write, and never says it has: its write waits on something that waits on durable()
    group.noteCommit();
    commits += 1;
    const started = performance.now();
    const second = group.durable();
    await expect.poll(() => syncs.length, { interval: 2 }).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(GATHERED_COMMIT_WAIT_MS - 2);
    expect(syncs[1]!.beganAfterCommits).toBe(2);
    syncs[1]!.release();
    await second;
  });

  it('tells a gathered writer to write when the sync in flight fails, and its caller then learns that durability is lost', async () => {
    let release: (error?: Error) => void = () => undefined;
    const group = new GroupCommit('/vault/strongroom.db-wal', () => new Promise<void>((resolve, reject) => {
      release = (error) => (error ? reject(error) : resolve());
    }));
    group.noteCommit();
    const first = group.durable();
    await settle();
    const behind = group.commitAfterSync()!;
    release(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(first).rejects.toBeInstanceOf(DurabilityLostError);
    const committed = await behind;
    group.noteCommit();
    committed();
    await expect(group.durable()).rejects.toBeInstanceOf(DurabilityLostError);
  });

  it('does not sync when nothing was committed since the last sync', async () => {
    let calls = 0;
    const group = new GroupCommit('/vault/strongroom.db-wal', async () => { calls += 1; });
    await group.durable();
    expect(calls).toBe(0);
    group.noteCommit();
    await Promise.all([group.durable(), group.durable(), group.durable()]);
    expect(calls).toBe(1);
    await group.durable();
    expect(calls).toBe(1);
  });

  it('fails every caller from the first failed sync on, even once the disk answers again', async () => {
    let fail = true;
    const group = new GroupCommit('/vault/strongroom.db-wal', async () => {
      if (fail) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    group.noteCommit();
    const waiting = [group.durable(), group.durable()];
    for (const w of waiting) await expect(w).rejects.toBeInstanceOf(DurabilityLostError);
    fail = false;
    group.noteCommit();
    await expect(group.durable()).rejects.toThrow(/could not be synced to disk/);
  });
});

describe('fdatasyncFile', () => {
  it('syncs an existing file, and treats a missing one (checkpointed and removed) as nothing to sync', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-sync-'));
    try {
      const file = path.join(dir, 'strongroom.db-wal');
      await expect(fdatasyncFile(file)).resolves.toBeUndefined();
      await writeFile(file, 'frames');
      await expect(fdatasyncFile(file)).resolves.toBeUndefined();
      await expect(fdatasyncFile(path.join(dir, 'missing', 'x'))).resolves.toBeUndefined();
      await expect(fdatasyncFile(dir + '\0')).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('KeptFileSync', () => {
  it('syncs through one descriptor kept open, and has nothing to sync before the log exists', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-kept-'));
    const file = path.join(dir, 'strongroom.db-wal');
    const kept = new KeptFileSync();
    try {
      let ino = 0;
      const seen = await datasyncsWatched(async () => {
        await kept.sync(file); // no log yet: nothing to sync, nothing opened
        await writeFile(file, 'frames');
        ino = statSync(file).ino;
        await kept.sync(file);
        await Promise.all([kept.sync(file), kept.sync(file), kept.sync(file)]);
      });
      expect(seen.opens).toBe(1);
      expect(seen.syncs.map((s) => s.ino)).toEqual([ino, ino, ino, ino]);
      expect(new Set(seen.syncs.map((s) => s.handle)).size).toBe(1);
      expect(await openDescriptorsOn(file)).toBe(1);
      await kept.close();
      expect(await openDescriptorsOn(file)).toBe(0);
    } finally {
      await kept.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails, and so fails every later barrier, when the log is removed or replaced while it is kept', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-kept-'));
    const file = path.join(dir, 'strongroom.db-wal');
    try {
      for (const tamper of [() => unlink(file), async () => { await writeFile(`${file}.new`, 'other'); await rename(`${file}.new`, file); }]) {
        await writeFile(file, 'frames');
        const kept = new KeptFileSync();
        const group = new GroupCommit(file, kept.sync);
        group.noteCommit();
        await group.durable();
        await tamper();
        await expect(kept.sync(file)).rejects.toThrow(/removed or replaced while the database was open/);
        group.noteCommit();
        await expect(group.durable()).rejects.toBeInstanceOf(DurabilityLostError);
        group.noteCommit();
        await expect(group.durable()).rejects.toBeInstanceOf(DurabilityLostError);
        await kept.close();
        await rm(file, { force: true });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps nothing open when closed while it opens the log', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-kept-'));
    const file = path.join(dir, 'strongroom.db-wal');
    await writeFile(file, 'frames');
    const kept = new KeptFileSync();
    try {
      const syncing = kept.sync(file);
      await kept.close();
      await syncing;
      expect(await openDescriptorsOn(file)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('closes its descriptor on close, after a sync asked for before it, and syncs afresh if asked after', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-kept-'));
    const file = path.join(dir, 'strongroom.db-wal');
    await writeFile(file, 'frames');
    const kept = new KeptFileSync();
    try {
      const seen = await datasyncsWatched(async () => {
        await kept.sync(file);
        const asked = kept.sync(file);
        await kept.close();
        await asked;
        await kept.sync(file);
      });
      expect(seen.syncs).toHaveLength(3);
      expect(seen.syncs[0]!.handle.fd).toBe(-1);
      expect(seen.syncs[2]!.handle).not.toBe(seen.syncs[0]!.handle);
      expect(await openDescriptorsOn(file)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
