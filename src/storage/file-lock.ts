// An exclusive lock on a file, shared by every process that uses the folder, that the kernel lets go
// of when its holder's process ends, however it ends. A lock file judged by its age can be taken
// from a holder that is only slow (a stalled disk, a stopped process), and two holders then write at
// once; this one is never taken over, and a holder that was killed frees it at once.
//
// Node has no flock(2), so util-linux's flock(1) (in every Debian system) takes it on a descriptor
// this process opened and hands over: a flock lock belongs to the open file description, not to the
// process that asked for it, so it stays held after flock(1) exits, until this process closes the
// descriptor or ends. Locks made with flock(2) work the same on NFS, where Linux keeps them as
// whole-file locks on the server.
import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { readSmallTextFile } from './fs-folders.js';

/** flock(1) exits with this when the lock stayed held for the whole wait. */
const HELD_ELSEWHERE = 75;
/** A holder's note (its process and when it took the lock) is a line; anything longer is not one. */
const NOTE_MAX_BYTES = 1024;

export interface FileLockOptions {
  /** How long to wait for another holder to let go; 0 refuses at once. */
  waitMs: number;
  /** Permissions of the lock file when this call makes it. */
  mode?: number;
}

/** The lock stayed with another holder for the whole wait; `holder` is what that holder wrote of itself. */
export class FileLockHeldError extends Error {
  constructor(readonly file: string, readonly holder: string | undefined, waitMs: number) {
    super(`${file} is locked by another process${holder ? ` (${holder})` : ''}${waitMs > 0 ? ` and was not let go within ${waitMs / 1000} s` : ''}.`);
    this.name = 'FileLockHeldError';
  }
}

/** Runs `work` holding the lock on `file`, and lets go of it after, whether `work` succeeds or not. */
export async function withFileLock<T>(file: string, options: FileLockOptions, work: () => Promise<T>): Promise<T> {
  const release = await takeFileLock(file, options);
  try {
    return await work();
  } finally {
    await release();
  }
}

/**
 * Takes the lock on `file` (made if missing) and answers its release. The file is never removed: a
 * process that opened it to wait would then lock a name no one else uses. One removed by hand
 * anyway is noticed (the locked file is no longer the one the name gives) and the lock taken again.
 */
export async function takeFileLock(file: string, options: FileLockOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const handle = await openLockFile(file, options.mode ?? 0o644);
    try {
      if (!(await lockDescriptor(handle, Math.max(0, deadline - Date.now())))) {
        throw new FileLockHeldError(file, (await readSmallTextFile(file, NOTE_MAX_BYTES).catch(() => undefined))?.trim(), options.waitMs);
      }
      if (await stillNamed(file, handle)) {
        await handle.truncate(0);
        await handle.write(`process ${process.pid}, since ${new Date().toISOString()}\n`, 0);
        let released = false;
        return async () => {
          if (released) return;
          released = true;
          // Emptied first, so a note never names a process that no longer holds the lock.
          await handle.truncate(0).catch(() => undefined);
          await handle.close();
        };
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    await handle.close();
  }
}

/**
 * Opened for writing (NFS grants an exclusive lock only on a file open for writing), without
 * following a link or blocking: a link or a FIFO put in its place by whoever can write the folder is
 * refused at once, never followed or waited on.
 */
async function openLockFile(file: string, mode: number): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`The lock file ${file} is a symbolic link, not a regular file.`, { cause: error });
    if (code === 'ENXIO') throw new Error(`The lock file ${file} is not a regular file.`, { cause: error });
    throw error;
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new Error(`The lock file ${file} is not a regular file.`);
  }
  return handle;
}

/** True once flock(1) has locked the descriptor's file description for this process; false if it stayed held for `waitMs`. */
async function lockDescriptor(handle: FileHandle, waitMs: number): Promise<boolean> {
  const wait = waitMs > 0 ? ['--wait', (waitMs / 1000).toFixed(3)] : ['--nonblock'];
  // The descriptor is the child's fd 3, the same open file description as this process's.
  const child = spawn('flock', ['--exclusive', ...wait, '--conflict-exit-code', String(HELD_ELSEWHERE), '3'], { stdio: ['ignore', 'ignore', 'pipe', handle.fd] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`Could not run flock(1) (util-linux) to take a lock: ${error.message}`, { cause: error })));
    child.once('close', resolve);
  });
  if (code === 0) return true;
  if (code === HELD_ELSEWHERE) return false;
  throw new Error(`flock(1) failed to take a lock (exit ${code}): ${stderr.trim() || 'no message'}`);
}

/** Whether the file name still gives the file this descriptor locked. */
async function stillNamed(file: string, handle: FileHandle): Promise<boolean> {
  const [named, locked] = await Promise.all([fsp.lstat(file).catch(() => null), handle.stat()]);
  return named !== null && named.ino === locked.ino && named.dev === locked.dev;
}
