// Writing a stream into a file: in batches, one write in flight while the next is gathered, and
// for a file that is to be durable, flushed to the disk behind the writer as it goes. The blob
// store's staging files are written this way, and so (writeNewFileDurably) are the files kept beside
// the database: a backup's in a folder, a restore's, the audit signing key.
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { toBuffer } from './blob-streams.js';
import { storageError, syncDirectory, unavailable } from './fs-folders.js';

/** Writes are gathered to about this size so a 64 KiB-chunked stream costs one syscall per MiB. */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** Beyond this many pieces in one write, join them: tiny input chunks would make huge iovecs. */
const MAX_IOVECS = 64;
/**
 * While a large file that is to be durable is written, its data is flushed to the disk behind the
 * writer about this often, so the fsync that makes it durable has at most this much left to do
 * instead of the whole file: the flushing overlaps with receiving and encrypting what follows
 * (docs/performance.md "A large upload's flush, overlapped").
 */
export const FLUSH_BEHIND_BYTES = 16 * 1024 * 1024;

/** What a file is written from: a stream, or buffers given in order (all at once or as they come). */
export type ByteSource = Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface WriteStreamOptions {
  /** A batch is written once this many milliseconds have passed, however small (default: only by size). */
  touchMs?: number;
  /** Start a data flush every time this many more bytes are written (default: none). */
  flushBehind?: number | undefined;
}

/**
 * Writes the stream to the file in batches of about 1 MiB, keeping one write in flight while the
 * next batch is gathered so encryption upstream and disk I/O overlap; a batch is also written once
 * `touchMs` has passed, so a trickling upload keeps its file's age fresh. With `flushBehind`, every
 * time that many more bytes are written a data flush of what is written so far starts, beside the
 * writes rather than before them (one at a time: a flush still running when the next is due is
 * left to cover more). The caller's fsync still makes the file durable; these only leave it less
 * to do. Returns the bytes written.
 */
export async function writeStream(handle: FileHandle, source: ByteSource, options: WriteStreamOptions = {}): Promise<number> {
  const { touchMs = Number.POSITIVE_INFINITY, flushBehind } = options;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let total = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let flushing: Promise<void> | undefined;
  let unflushed = 0;
  let writeError: unknown;
  let failed = false;
  let lastWrite = Date.now();
  // Errors are parked and rethrown at the next write so a rejection is never left unhandled
  // while we wait on the source.
  const park = (operation: string) => (error: unknown): void => {
    if (failed) return;
    failed = true;
    writeError = storageError(operation, error);
  };

  const flushBehindWriter = (written: Promise<void>): void => {
    flushing = written
      .then(() => (failed ? undefined : handle.datasync()))
      .catch(park('flush a file'))
      .finally(() => { flushing = undefined; });
  };

  const write = async (): Promise<void> => {
    await inFlight;
    if (failed) throw writeError;
    const buffers = batch.length > MAX_IOVECS ? [Buffer.concat(batch, batchBytes)] : batch;
    unflushed += batchBytes;
    batch = [];
    batchBytes = 0;
    lastWrite = Date.now();
    inFlight = writeAll(handle, buffers).catch(park('write a file'));
    if (flushBehind !== undefined && unflushed >= flushBehind && flushing === undefined) {
      unflushed = 0;
      flushBehindWriter(inFlight);
    }
  };

  try {
    for await (const chunk of source) {
      const buffer = toBuffer(chunk);
      if (buffer.length === 0) continue;
      batch.push(buffer);
      batchBytes += buffer.length;
      total += buffer.length;
      if (batchBytes >= WRITE_BATCH_BYTES || Date.now() - lastWrite >= touchMs) await write();
    }
    if (batchBytes > 0) await write();
  } finally {
    // Never leave a write or a flush running against a handle the caller is about to close and unlink.
    await inFlight;
    await flushing;
  }
  if (failed) throw writeError;
  return total;
}

async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    // A short write is rare on regular files, but possible; carry on from where it stopped.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (skip >= buffer.length) {
        skip -= buffer.length;
      } else {
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    if (rest.length > 0 && bytesWritten === 0) throw new Error('The disk accepted no bytes.');
    pending = rest;
  }
}

/**
 * Creates `file` (it must not exist yet), writes the stream into it and makes it durable: flushed
 * behind the writer as it goes, fsynced, then its folder fsynced so the name survives a crash too.
 * Any failure removes the file, so nothing half-written, or written but not known to be durable, is
 * left under the name; a file already there is never touched. A source that is a stream is ended
 * either way.
 */
export async function writeNewFileDurably(file: string, source: ByteSource, mode: number): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(file, 'wx', mode);
  } catch (error) {
    if (isReadable(source)) source.destroy();
    throw error;
  }
  let open = true;
  try {
    await writeStream(handle, source, { flushBehind: FLUSH_BEHIND_BYTES });
    await handle.sync().catch(unavailable('flush a file'));
    open = false;
    await handle.close().catch(unavailable('close a file'));
    await syncDirectory(dirname(file));
  } catch (error) {
    if (open) await handle.close().catch(() => undefined);
    if (isReadable(source)) source.destroy();
    await fsp.rm(file, { force: true }).catch(() => undefined);
    throw error;
  }
}

const isReadable = (source: ByteSource): source is Readable => typeof (source as Readable).destroy === 'function' && typeof (source as Readable).pipe === 'function';
