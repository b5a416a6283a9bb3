// Opening a file of the share being imported. The share is written to by the people whose files it
// holds while the import runs with the operator's rights (directly, beside the vault's data directory
// and its keys), so a path the walk saw can lead elsewhere by the time it is opened: the file, or any
// folder on its path, swapped for a symbolic link. The file is opened without following a link in its
// last part, and the place the kernel actually opened is then compared with where the walk found it
// (resolved once, at the root the operator named): a folder on the way that became a link leads
// somewhere else, and the file is refused rather than read.
import { constants, type ReadStream } from 'node:fs';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { FileRefused, type SourceFile } from './target.js';

/** O_NONBLOCK: a file swapped for a pipe must not hang the open (it is refused as not a regular file). */
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export const changedWhileImported = (how: string): string => `changed while it was being imported (${how}); not read`;

/** The file, opened for reading, if it is still the regular file the walk found at `file.realPath`. */
export async function openSourceFile(file: SourceFile): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(file.path, FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new FileRefused(changedWhileImported('it is now a symbolic link'));
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new FileRefused(changedWhileImported('it is no longer a regular file'));
    const opened = await whereOpened(handle);
    // Without /proc (not Linux), the identity the walk saw is what is left to compare.
    const same = opened === null ? info.dev === file.identity.dev && info.ino === file.identity.ino : opened === file.realPath;
    if (!same) throw new FileRefused(changedWhileImported('a folder on its path now leads somewhere else'));
    return handle;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** The file as a stream that closes it when it ends or is destroyed. */
export async function openSourceStream(file: SourceFile): Promise<ReadStream> {
  return (await openSourceFile(file)).createReadStream({ autoClose: true });
}

/** Where the kernel says an open file is, or null where there is no /proc. */
async function whereOpened(handle: FileHandle): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
