// Reads of small blobs on a local disk, done with synchronous calls, and likewise the open and close
// around a new blob's folder flush. An asynchronous file-system call is a trip through libuv's thread
// pool and back, and reading a small blob takes four of them (open, fstat, read, close): about 200 µs
// of CPU for a 4 KiB blob on this project's 2-core machine, against 30 µs for the same four calls
// made synchronously, which a page-cache hit answers in microseconds; and in the pool they queue
// behind the uploads' fsyncs. SQLite already reads its pages on the event loop in the same way. Only
// where no call can wait on a network: a synchronous call there would stall every request for as
// long as the network does, so anything else (another file system, a symlink, a mount inside the
// blob folder, a long read) takes the pool (docs/architecture.md, "Reading a blob").
import { closeSync, constants as fsConstants, fstatSync, fsync, lstatSync, promises as fsp, openSync, readSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import type { ByteRange } from '../domain/ports.js';
import { IntegrityError } from '../domain/errors.js';
import { longerThanExpected, readBounds } from './blob-streams.js';
import { storageError } from './fs-folders.js';

/**
 * statfs magic numbers (linux/magic.h) of file systems on a local disk or in memory. Anything else
 * (NFS, SMB/CIFS, FUSE such as sshfs, s3fs or an rclone mount, Ceph, 9p, cluster file systems, or a
 * type this list does not know) is read through the thread pool.
 */
const LOCAL_FILE_SYSTEMS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs (a container's own file system)
]);

/** Whether the file system holding `path` is one of LOCAL_FILE_SYSTEMS; false when it cannot be told. */
export async function onLocalFileSystem(path: string): Promise<boolean> {
  try {
    return LOCAL_FILE_SYSTEMS.has((await fsp.statfs(path)).type >>> 0);
  } catch {
    return false;
  }
}

/**
 * Reads of up to this many bytes are made in one synchronous call, into memory; longer ones are
 * streamed through the thread pool, so a large read neither holds the event loop nor its whole size
 * in memory. A miss of the page cache costs the event loop one disk read of at most this size, as a
 * database page read does.
 */
export const INLINE_READ_BYTES = 64 * 1024;

/** Flags of the synchronous open: a symlink is refused (ELOOP) rather than followed where it points. */
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW;

/** Where a blob lies: its fan-out folders, outermost first, and the device they must be on. */
export interface LocalFolders {
  folders: readonly string[];
  device: number;
  /** Told of a folder that is a symlink, not a folder, or on another device: its blobs then take the thread pool. */
  elsewhere: (folder: string) => void;
}

/**
 * The bytes of a blob (the whole of it, or a range) read with synchronous calls, or undefined when
 * they must be read through the thread pool instead: the blob or one of its folders is a symlink,
 * a folder is on another device than the blob folder (something was mounted since), or more than
 * INLINE_READ_BYTES are wanted. Throws as the store expects: ENOENT as it came (the store tells a
 * missing blob from a moved folder), INTEGRITY for a FIFO, directory or device, or for a blob longer
 * than `maxBytes` (read no further), and UNAVAILABLE for a failed read.
 */
export function readSmallBlob(id: string, path: string, range: ByteRange | undefined, local: LocalFolders, maxBytes = Infinity): Buffer | undefined {
  if (!inLocalFolders(local)) return undefined;
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return undefined;
    throw error;
  }
  try {
    const stat = regularFile(id, fd);
    if (stat.dev !== local.device) return undefined;
    if (stat.size > maxBytes) throw longerThanExpected(id, maxBytes);
    const bounds = readBounds(stat.size, range);
    if (bounds === undefined) return Buffer.alloc(0);
    if (bounds.end - bounds.start + 1 > INLINE_READ_BYTES) return undefined;
    return readAt(fd, bounds.start, bounds.end - bounds.start + 1);
  } finally {
    // A close that fails after a read that worked loses nothing: what was read is what was asked for.
    try {
      closeSync(fd);
    } catch {
      // nothing to do
    }
  }
}

/** fsync through the pool; `fsync` named at each call, so a test's spy on node:fs sees it. */
const fsyncDescriptor = (fd: number): Promise<void> => promisify(fsync)(fd);

/** Flags of a folder's synchronous open: only a folder, and not through a symlink in its place. */
const FOLDER_FLAGS = fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW;

/**
 * Flushes the innermost of the blob's folders (a name renamed into it survives a crash), opening and
 * closing it with synchronous calls: a folder on the local disk is opened from the kernel's cache, and
 * its close waits on nothing, so only the flush itself takes the thread pool (one round trip where
 * fs-folders' syncDirectory takes three). False, having done nothing, where the folders are not all
 * local ones (inLocalFolders): the caller then flushes through the pool.
 */
export async function flushLocalFolder(local: LocalFolders): Promise<boolean> {
  try {
    if (!inLocalFolders(local)) return false;
  } catch (error) {
    // A folder gone or unreadable just after the blob was renamed into it: the flush failed.
    throw storageError('flush a folder', error);
  }
  const folder = local.folders.at(-1)!;
  let fd: number;
  try {
    fd = openSync(folder, FOLDER_FLAGS);
  } catch (error) {
    throw storageError('flush a folder', error);
  }
  try {
    await fsyncDescriptor(fd);
  } catch (error) {
    throw storageError('flush a folder', error);
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Flushed or not, the outcome was decided by the fsync above.
    }
  }
  return true;
}

/** A blob's size from a synchronous lstat, or undefined when the thread pool must be asked (as readSmallBlob decides). */
export function smallBlobSize(path: string, local: LocalFolders): number | undefined {
  if (!inLocalFolders(local)) return undefined;
  const stat = lstatSync(path);
  return stat.isFile() && stat.dev === local.device ? stat.size : undefined;
}

/**
 * Whether each of the blob's folders, outermost first, is a folder and not a symlink, on the blob
 * folder's device, looked at for every read: an lstat follows no final symlink, and each folder is
 * checked before a path through it is named, so no synchronous call is led onto a share by a symlink
 * planted since. A folder that fails is reported, and its blobs take the thread pool from then on.
 */
function inLocalFolders({ folders, device, elsewhere }: LocalFolders): boolean {
  for (const folder of folders) {
    const stat = lstatSync(folder);
    if (stat.isSymbolicLink() || !stat.isDirectory() || stat.dev !== device) {
      elsewhere(folder);
      return false;
    }
  }
  return true;
}

/** The open blob's status, after checking it is a regular file (not a directory, FIFO or device put in its place). */
function regularFile(id: string, fd: number): Stats {
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch (error) {
    throw storageError('read a blob', error);
  }
  if (!stat.isFile()) throw notARegularFile(id);
  return stat;
}

export function notARegularFile(id: string): IntegrityError {
  return new IntegrityError(`Blob ${id} is not a regular file: something other than Strongroom put it there.`);
}

/** `length` bytes from `position`, fewer if the file ends first. */
function readAt(fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  try {
    while (filled < length) {
      const read = readSync(fd, bytes, filled, length - filled, position + filled);
      if (read === 0) break;
      filled += read;
    }
  } catch (error) {
    throw storageError('read a blob', error);
  }
  return bytes.subarray(0, filled);
}

export function oneChunk(bytes: Buffer): Readable {
  const stream = new Readable({ read() {} });
  if (bytes.length > 0) stream.push(bytes);
  stream.push(null);
  return stream;
}
