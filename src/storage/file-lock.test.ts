// The lock shared by processes on a folder: one holder at a time, never taken from a holder that is
// only slow, let go at once when its holder is killed, and refusing a link or a FIFO in its place.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { link, lstat, mkdtemp, readFile, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileLockHeldError, takeFileLock, withFileLock } from './file-lock.js';

let root: string;
let file: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sr-file-lock-'));
  file = path.join(root, 'the.lock');
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** Whether a taker that does not wait gets the lock now (and lets go of it at once). */
async function free(): Promise<boolean> {
  try {
    await (await takeFileLock(file, { waitMs: 0 }))();
    return true;
  } catch (error) {
    if (error instanceof FileLockHeldError) return false;
    throw error;
  }
}

/** A process of its own that takes the lock through this module and holds it until killed; resolves once it holds it. */
async function holderProcess(): Promise<ChildProcess> {
  const module = path.join(path.dirname(fileURLToPath(import.meta.url)), 'file-lock.ts');
  const code = `const { takeFileLock } = await import(${JSON.stringify(module)}); await takeFileLock(${JSON.stringify(file)}, { waitMs: 0 }); console.log('held'); setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString('utf8').includes('held') && resolve());
    child.once('exit', (status) => reject(new Error(`the holder exited (${status}) before it held the lock`)));
  });
  return child;
}

describe('file lock', () => {
  it('lets one holder in at a time, the others waiting their turn', async () => {
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = withFileLock(file, { waitMs: 5_000 }, async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('first out');
    });
    await sleep(100);
    const second = withFileLock(file, { waitMs: 5_000 }, async () => {
      order.push('second in');
    });
    await sleep(300);
    expect(order).toEqual(['first in']);
    expect(await free()).toBe(false);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
    expect(await free()).toBe(true);
  });

  it('is never taken from a holder that is only slow, however old its file looks, and names the holder when the wait ends', async () => {
    const release = await takeFileLock(file, { waitMs: 0 });
    // An hour old: a lock judged by its age would be taken over here.
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(file, anHourAgo, anHourAgo);
    const started = Date.now();
    const refused = await takeFileLock(file, { waitMs: 400 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FileLockHeldError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect((refused as Error).message).toBe(`${file} is locked by another process (the lock file says: ${(await readFile(file, 'utf8')).trim()}) and was not let go within 0.4 s.`);
    expect((refused as Error).message).toContain(`host ${hostname()}, process ${process.pid}, since `);
    await release();
    // Let go: the holder removed the file as it let go, and the next taker gets it.
    await expect(lstat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await free()).toBe(true);
  });

  it('repeats what the lock file says of its holder on one line, without control characters, and cut short', async () => {
    await writeFile(file, `process 1, SAFE TO KILL\nlevel=info msg=forged\u001b[2J${'x'.repeat(500)}`);
    // Held by a process that is not this module, so what the file says is whatever was put there.
    const holder = spawn('flock', ['--exclusive', file, 'sleep', '30'], { stdio: 'ignore' });
    children.push(holder);
    await sleep(200);
    const refused = (await takeFileLock(file, { waitMs: 0 }).catch((error: unknown) => error)) as FileLockHeldError;
    expect(refused).toBeInstanceOf(FileLockHeldError);
    expect(refused.holder).toBe(`process 1, SAFE TO KILL level=info msg=forged [2J${'x'.repeat(500)}`.slice(0, 200));
    expect(refused.message).not.toMatch(/[\n\u001b]/);
  });

  it('is let go at once when its holder is killed, and held meanwhile even by a stopped holder', async () => {
    const holder = await holderProcess();
    holder.kill('SIGSTOP');
    expect(await free()).toBe(false);
    const waiting = takeFileLock(file, { waitMs: 10_000 });
    await sleep(200);
    holder.kill('SIGKILL');
    const started = Date.now();
    const release = await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
    await release();
  });

  it('takes the lock again when the file it waited on was removed by hand meanwhile', async () => {
    const releaseFirst = await takeFileLock(file, { waitMs: 0 });
    const waiting = takeFileLock(file, { waitMs: 5_000 });
    await sleep(200);
    await unlink(file);
    await releaseFirst();
    const release = await waiting;
    // The lock is held on the file the name now gives, so a third taker is kept out.
    expect(await free()).toBe(false);
    await release();
    expect(await free()).toBe(true);
  });

  it('refuses a hard link to another file put where the lock file should be, and leaves that file as it was', async () => {
    const note = path.join(root, '000000000007.note');
    await writeFile(note, 'a signed checkpoint\n');
    await link(note, file);
    await expect(takeFileLock(file, { waitMs: 1_000 })).rejects.toThrow(`The lock file ${file} is not a regular file of its own (it has other names).`);
    expect(await readFile(note, 'utf8')).toBe('a signed checkpoint\n');
  });

  it('refuses a link or a FIFO put where the lock file should be, at once', async () => {
    const elsewhere = path.join(root, 'elsewhere');
    await writeFile(elsewhere, 'not a lock\n');
    await symlink(elsewhere, file);
    await expect(takeFileLock(file, { waitMs: 1_000 })).rejects.toThrow(`The lock file ${file} is a symbolic link, not a regular file.`);
    expect(await readFile(elsewhere, 'utf8')).toBe('not a lock\n');
    await unlink(file);
    execFileSync('mkfifo', [file]);
    const started = Date.now();
    await expect(takeFileLock(file, { waitMs: 1_000 })).rejects.toThrow(`The lock file ${file} is not a regular file.`);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
