// An exclusive lock on a file, shared by every process that uses the folder, that the kernel lets go
// of when its holder's process ends, however it ends. A lock file judged by its age can be taken
// from a holder that is only slow (a stalled disk, a stopped process), and two holders then write at
// once; this one is never taken over, and a holder that was killed frees it at once.
//
// Node has no flock(2), so util-linux's flock(1) (in every Debian system) takes it on a descriptor
// this process opened and hands over: a flock lock belongs to the open file description, not to the
// process that asked for it, so it stays held after flock(1) exits, until this process closes the
// descriptor or ends. On NFS, Linux keeps flock(2) locks as whole-file locks on the server, and they
// are only as good as the mount's locking (docs/operations.md).
//
// The lock is only as strong as the folder: whoever can remove the file while it is held lets a
// second holder in (they then lock a new file of the same name). A lock guarding something in a
// folder such a person cannot write belongs in that folder.
import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { readSmallTextFile } from './fs-folders.js';

/** By its full path: a `flock` found first on the PATH (a package's bin folder) must not stand in for it. */
const FLOCK = '/usr/bin/flock';
/** flock(1) exits with this when the lock stayed held for the whole wait. */
const HELD_ELSEWHERE = 75;
/** A holder's note (host, process, since when) is a short line; what is read of it is cut to this. */
const NOTE_MAX_CHARS = 200;

export interface FileLockOptions {
  /** How long to wait for another holder to let go; 0 refuses at once. */
  waitMs: number;
}

/** The lock stayed with another holder for the whole wait; `holder` is what the lock file says of it, if anything. */
export class FileLockHeldError extends Error {
  constructor(readonly file: string, readonly holder: string | undefined, waitMs: number) {
    super(`${file} is locked by another process${holder ? ` (the lock file says: ${holder})` : ''}${waitMs > 0 ? ` and was not let go within ${waitMs / 1000} s` : ''}.`);
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
 * Takes the lock on `file` (made if missing, mode 0600: whoever may not open it may not hold it) and
 * answers its release. The holder removes the file as it lets go, still holding it: a process that
 * had opened the file to wait then locks a file no longer named, notices, and takes the lock again
 * on the file the name gives; so does one whose file was removed by hand while it waited.
 */
export async function takeFileLock(file: string, options: FileLockOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.waitMs;
  for (let attempt = 1; ; attempt++) {
    const handle = await openLockFile(file);
    try {
      if (!(await lockDescriptor(handle, Math.max(0, deadline - Date.now())))) {
        throw new FileLockHeldError(file, holderNote(await readSmallTextFile(file, 4096).catch(() => undefined)), options.waitMs);
      }
      if (await stillNamed(file, handle)) {
        await handle.truncate(0);
        await handle.write(`host ${hostname()}, process ${process.pid}, since ${new Date().toISOString()}\n`, 0);
        let released = false;
        return async () => {
          if (released) return;
          released = true;
          try {
            if (await stillNamed(file, handle)) await fsp.unlink(file).catch(ignoreGone);
          } finally {
            await handle.close();
          }
        };
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    await handle.close();
    // The name went to another file between the open and the lock; one more try even without a wait.
    if (attempt > 1 && Date.now() >= deadline) throw new Error(`The lock file ${file} kept being replaced while this process was taking it.`);
  }
}

/** A file removed meanwhile (by hand, or by whoever can write the folder) is what removing it was for. */
function ignoreGone(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

/** What a holder wrote of itself, on one line and without control characters: the file is not trusted to say anything else. */
function holderNote(text: string | undefined): string | undefined {
  // eslint-disable-next-line no-control-regex
  const line = text?.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, NOTE_MAX_CHARS);
  return line || undefined;
}

/**
 * Opened for writing (NFS grants an exclusive lock only on a file open for writing), without
 * following a link or blocking: a symbolic link, a FIFO or a hard link to another file put in its
 * place by whoever can write the folder is refused at once, never followed, waited on or written.
 */
async function openLockFile(file: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`The lock file ${file} is a symbolic link, not a regular file.`, { cause: error });
    if (code === 'ENXIO') throw new Error(`The lock file ${file} is not a regular file.`, { cause: error });
    throw error;
  }
  const info = await handle.stat();
  // One with no name left (removed since the open) passes: once locked it is found unnamed, and taken again.
  if (!info.isFile() || info.nlink > 1) {
    await handle.close();
    throw new Error(`The lock file ${file} is not a regular file${info.isFile() ? ' of its own (it has other names)' : ''}.`);
  }
  return handle;
}

/** True once flock(1) has locked the descriptor's file description for this process; false if it stayed held for `waitMs`. */
async function lockDescriptor(handle: FileHandle, waitMs: number): Promise<boolean> {
  const wait = waitMs > 0 ? ['--wait', (waitMs / 1000).toFixed(3)] : ['--nonblock'];
  // The descriptor is the child's fd 3, the same open file description as this process's.
  const child = spawn(FLOCK, ['--exclusive', ...wait, '--conflict-exit-code', String(HELD_ELSEWHERE), '3'], { stdio: ['ignore', 'ignore', 'pipe', handle.fd] });
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
