// Folder and error helpers shared by the filesystem blob store and its layout record: making and
// syncing folders, listing fan-out folders, and turning filesystem failures into DomainErrors.
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
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

export async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(path, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    throw unavailable('flush a folder')(error);
  } finally {
    await handle?.close().catch(() => undefined);
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
