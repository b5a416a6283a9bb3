// Reads of blobs on a local disk, done with synchronous calls. An asynchronous file-system call is a
// trip through libuv's thread pool and back, and reading a small blob takes four of them (open, fstat,
// read, close): about 200 µs of CPU for a 4 KiB blob on this project's 2-core machine, against 20 µs
// for the same four calls made synchronously, which a page-cache hit answers in microseconds. SQLite
// already reads its pages on the event loop in the same way. Only on a file system whose calls cannot
// wait on a network: there, a synchronous call would stall every request for as long as the network
// does, so those stay in the thread pool (docs/performance.md, "Small blob reads on a local disk").
import { closeSync, createReadStream, fstatSync, promises as fsp, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ByteRange } from '../domain/ports.js';
import { IntegrityError } from '../domain/errors.js';
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
 * Reads up to this many bytes are read in one synchronous call, into memory; longer ones are streamed
 * from the open file through the thread pool as before, so a large read neither holds the event loop
 * nor its whole size in memory. A miss of the page cache costs the event loop one disk read of at
 * most this size, as a database page read does.
 */
export const INLINE_READ_BYTES = 64 * 1024;

/** The bytes of an open blob (the whole of it, or a range), closing `fd` when done or failed. */
export function readOpenBlob(id: string, fd: number, range: ByteRange | undefined, highWaterMark: number): Readable {
  let size: number;
  try {
    size = regularFileSize(id, fd);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  // A blob never changes in place (a replacement is another file renamed over it), so the size at the
  // open bounds the read: bytes cut off fail decryption, and bytes added afterwards are not read.
  const start = range?.start ?? 0;
  const end = Math.min(range?.end ?? size - 1, size - 1);
  const length = Math.max(end - start + 1, 0);
  if (length > INLINE_READ_BYTES) return createReadStream('', { fd, highWaterMark, start, end });
  try {
    return oneChunk(readAt(fd, start, length));
  } catch (error) {
    throw storageError('read a blob', error);
  } finally {
    closeSync(fd);
  }
}

/** The open blob's size, after checking it is a regular file (not a directory, FIFO or device put in its place). */
function regularFileSize(id: string, fd: number): number {
  let stat;
  try {
    stat = fstatSync(fd);
  } catch (error) {
    throw storageError('read a blob', error);
  }
  if (!stat.isFile()) throw notARegularFile(id);
  return stat.size;
}

export function notARegularFile(id: string): IntegrityError {
  return new IntegrityError(`Blob ${id} is not a regular file: something other than Strongroom put it there.`);
}

/** `length` bytes from `position`, fewer if the file ends first. */
function readAt(fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const read = readSync(fd, bytes, filled, length - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return bytes.subarray(0, filled);
}

function oneChunk(bytes: Buffer): Readable {
  const stream = new Readable({ read() {} });
  if (bytes.length > 0) stream.push(bytes);
  stream.push(null);
  return stream;
}
