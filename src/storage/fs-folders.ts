// Folder and error helpers shared by the filesystem blob store, its layout record and the other files
// kept beside the database (backups, checkpoint copies, keys): making and syncing folders, reading a
// small file that must be a regular one, listing fan-out folders, and turning filesystem failures
// into DomainErrors.
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DomainError } from '../domain/errors.js';

/** Ids are 128 random bits in lower-case hex; nothing else can name a file, so no path can escape. */
export const ID_PATTERN = /^[0-9a-f]{32}$/;
export const FANOUT_PATTERN = /^[0-9a-f]{2}$/;

/** Creates a directory; true if this call created it. */
export async function makeDirectory(path: string): Promise<boolean> {
  try {
    await fsp.mkdir(path, { mode: 0o700 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Flushes a folder, so the names made, renamed or removed in it survive a crash. O_DIRECTORY: a FIFO
 * or a file put where the folder should be is refused at once, never waited on.
 */
export async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    await handle.sync();
  } catch (error) {
    throw unavailable('flush a folder')(error);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Makes a folder and any missing above it, and flushes each folder that gained one, so a crash cannot
 * lose a new folder (and the files made in it) while the files themselves were flushed.
 */
export async function makeFolderDurably(path: string, mode = 0o700): Promise<void> {
  const first = await fsp.mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  const made: string[] = [];
  for (let folder = resolve(path); ; folder = dirname(folder)) {
    made.unshift(folder);
    if (folder === resolve(first) || dirname(folder) === folder) break;
  }
  for (const folder of made) await syncDirectory(dirname(folder));
}

/**
 * A small file's text, or undefined when there is none. Opened without blocking or following a link,
 * checked to be a regular file, and read to at most `maxBytes`: a FIFO, a device or a link put in its
 * place by whoever can write the folder is refused at once, not waited on for ever or followed.
 */
export async function readSmallTextFile(path: string, maxBytes: number): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${path} is a symbolic link, not a regular file.`, { cause: error });
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`${path} is not a regular file.`);
    // The size is what is read, not what stat said: a file that grows meanwhile is still bounded.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes.`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

export async function sortedEntries(dir: string, pattern: RegExp): Promise<string[]> {
  const names = await fsp.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw unavailable('list blobs')(error);
  });
  return names.filter((name) => pattern.test(name)).sort();
}

export async function missingAsEmpty(error: NodeJS.ErrnoException): Promise<undefined> {
  if (error.code === 'ENOENT') return undefined;
  throw unavailable('list blobs')(error);
}

/** errno codes that mean "no room": the disk is full or the service's quota is used up. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Turns a filesystem failure into a DomainError. A full disk is told apart from an unreachable
 * one: the first is the operator's to fix by freeing space, and clients should not simply retry.
 */
export function storageError(action: string, error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (NO_SPACE.has((error as NodeJS.ErrnoException).code ?? '')) {
    return new DomainError('INSUFFICIENT_STORAGE', 'There is not enough storage space left to save this file, so nothing was stored. Ask your administrator to free some space, then try again.', { cause: error });
  }
  return new DomainError('UNAVAILABLE', `Could not ${action}.`, { cause: error });
}

export function unavailable(action: string) {
  return (error: unknown): never => {
    throw storageError(action, error);
  };
}
