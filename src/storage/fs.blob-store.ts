// BlobStore over the local filesystem: blobs at <dataDir>/blobs/ab/<id> (a store begun before layouts
// were recorded: blobs/ab/cd/<id>), staged in <dataDir>/tmp. `put` is durable when it resolves: temp
// file written and fsynced, renamed into place, directory fsynced. A crash before that leaves only a
// `.part` file, which cleanStaging removes.
import { randomBytes } from 'node:crypto';
import { createReadStream, constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange } from '../domain/ports.js';
import { DomainError } from '../domain/errors.js';
import { checkRange, guardEarlyErrors, toBuffer } from './blob-streams.js';

/** Ids are 128 random bits in lower-case hex; nothing else can name a file, so no path can escape. */
const ID_PATTERN = /^[0-9a-f]{32}$/;
const FANOUT_PATTERN = /^[0-9a-f]{2}$/;
const PART_SUFFIX = '.part';
/**
 * The file in the blobs folder that records its layout: `fanout=1` (blobs/ab/<id>, 256 folders, all
 * made when the store is begun) or `fanout=2` (blobs/ab/cd/<id>, 65,536 folders made as blobs arrive).
 * Two levels meant that until a vault held hundreds of thousands of blobs nearly every upload made a
 * folder and synced its parent: a third of a small upload's file-system work. One level of 256 holds
 * 40,000 blobs a folder at ten million, which ext4 and XFS index. Stores begun without the file were
 * two-level and stay so.
 */
const LAYOUT_FILE = 'layout';
type Layout = 1 | 2;
/** Writes are gathered to about this size so a 64 KiB-chunked stream costs one syscall per MiB. */
const WRITE_BATCH_BYTES = 1024 * 1024;
const READ_HIGH_WATER_MARK = 1024 * 1024;
/** Beyond this many pieces in one write, join them: tiny input chunks would make huge iovecs. */
const MAX_IOVECS = 64;
/**
 * A slow upload still writes (and so touches its staging file's modification time) at least this
 * often, however few bytes arrive: staging cleanup on a shared folder goes by that time, so a file
 * untouched for much longer than this belongs to no upload in flight on any node.
 */
export const STAGING_TOUCH_MS = 60_000;

export interface FsBlobStoreOptions {
  dataDir: string;
  /**
   * Blobs in this folder instead of <dataDir>/blobs (STRONGROOM_BLOBS=/path), staged in its `tmp`
   * subfolder so the final rename never crosses filesystems; `tmp` is not a fan-out name, so it is never listed.
   */
  blobsDir?: string;
  /** Skip fsync (tests and throwaway demos only; an acknowledged upload may then be lost on power failure). */
  unsafeNoSync?: boolean;
  /** How often a slow upload writes what it has, at the latest (default STAGING_TOUCH_MS; tests). */
  stagingTouchMs?: number;
}

export class FsBlobStore implements BlobStore {
  readonly #blobsDir: string;
  readonly #stagingDir: string;
  readonly #sync: boolean;
  readonly #touchMs: number;
  /** Fan-out directories ("ab", or "abcd" for "ab/cd") known to exist, to skip mkdir on every put. */
  readonly #knownDirs = new Set<string>();
  #ready: Promise<Layout> | undefined;

  constructor(options: FsBlobStoreOptions) {
    this.#blobsDir = options.blobsDir ?? join(options.dataDir, 'blobs');
    this.#stagingDir = options.blobsDir !== undefined ? join(options.blobsDir, 'tmp') : join(options.dataDir, 'tmp');
    this.#sync = options.unsafeNoSync !== true;
    this.#touchMs = options.stagingTouchMs ?? STAGING_TOUCH_MS;
  }

  async put(source: Readable | AsyncIterable<Uint8Array>): Promise<{ id: string; size: number }> {
    return this.#put(randomBytes(16).toString('hex'), source, '');
  }

  /** The rename into place replaces an existing blob atomically: a reader sees the old bytes or the new. */
  async putAs(id: string, source: Readable | AsyncIterable<Uint8Array>): Promise<{ id: string; size: number }> {
    checkId(id);
    // A random staging name: two copies of the same blob at once (a repair and a replicate job) must not share a file.
    return this.#put(id, source, `-${randomBytes(4).toString('hex')}`);
  }

  async #put(id: string, source: Readable | AsyncIterable<Uint8Array>, stagingSuffix: string): Promise<{ id: string; size: number }> {
    // Until the loop below starts reading, nothing listens for the source's errors, and an
    // unheard 'error' event would crash the process; the loop still sees the error afterwards.
    const unguard = guardEarlyErrors(source);
    try {
      const layout = await this.#ensureReady();
      return await this.#write(id, source, stagingSuffix, layout);
    } finally {
      unguard();
    }
  }

  async #write(id: string, source: Readable | AsyncIterable<Uint8Array>, stagingSuffix: string, layout: Layout): Promise<{ id: string; size: number }> {
    const partPath = join(this.#stagingDir, `${id}${stagingSuffix}${PART_SUFFIX}`);
    let handle: FileHandle | undefined;
    let renamed = false;
    try {
      handle = await fsp.open(partPath, 'wx', 0o600).catch(unavailable('create a staging file'));
      const size = await writeStream(handle, source, this.#touchMs);
      if (this.#sync) await handle.sync().catch(unavailable('flush a blob'));
      await handle.close().catch(unavailable('close a blob'));
      handle = undefined;

      const dir = await this.#ensureFanout(id, layout);
      await fsp.rename(partPath, join(dir, id)).catch(unavailable('move a blob into place'));
      renamed = true;
      if (this.#sync) await syncDirectory(dir);
      return { id, size };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      if (!renamed) await fsp.rm(partPath, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  async get(id: string, range?: ByteRange): Promise<Readable> {
    checkId(id);
    const path = this.#pathOf(id, await this.#ensureReady());
    if (range !== undefined) checkRange(range);
    // Open first so a missing blob is a rejected promise rather than a later stream error.
    const handle = await fsp.open(path, fsConstants.O_RDONLY).catch(translate(id));
    return createReadStream('', {
      fd: handle,
      highWaterMark: READ_HIGH_WATER_MARK,
      ...(range === undefined ? {} : { start: range.start, end: range.end }),
    });
  }

  async size(id: string): Promise<number> {
    checkId(id);
    const stat = await fsp.stat(this.#pathOf(id, await this.#ensureReady())).catch(translate(id));
    return stat.size;
  }

  /** Idempotent. Not fsynced: a delete undone by a crash is redone by the next garbage collection. */
  async delete(id: string): Promise<void> {
    checkId(id);
    await fsp.rm(this.#pathOf(id, await this.#ensureReady()), { force: true }).catch(unavailable('delete a blob'));
  }

  async *list(): AsyncIterable<string> {
    const layout = await this.#ensureReady();
    for (const outer of await sortedEntries(this.#blobsDir, FANOUT_PATTERN)) {
      const inners = layout === 1 ? [''] : await sortedEntries(join(this.#blobsDir, outer), FANOUT_PATTERN);
      for (const inner of inners) {
        const dir = await fsp.opendir(join(this.#blobsDir, outer, inner)).catch(missingAsEmpty);
        if (dir === undefined) continue;
        for await (const entry of dir) {
          if (entry.isFile() && ID_PATTERN.test(entry.name) && entry.name.startsWith(outer + inner)) yield entry.name;
        }
      }
    }
  }

  /**
   * Deletes staging files older than `olderThanMs` (by modification time, which a live upload moves
   * on at least every STAGING_TOUCH_MS). 0 removes them all, including any upload still being
   * written, so use 0 only when no upload can be running (tests); a server passes an hour, as
   * another node may share the folder.
   */
  async cleanStaging(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    const names = await fsp.readdir(this.#stagingDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw unavailable('list staging files')(error);
    });
    for (const name of names) {
      if (!name.endsWith(PART_SUFFIX)) continue;
      const path = join(this.#stagingDir, name);
      const stat = await fsp.stat(path).catch(() => undefined);
      if (stat === undefined || !stat.isFile()) continue;
      if (olderThanMs > 0 && stat.mtimeMs > cutoff) continue;
      await fsp.rm(path, { force: true }).catch(unavailable('remove a staging file'));
      removed++;
    }
    return removed;
  }

  #pathOf(id: string, layout: Layout): string {
    return join(this.#folderOf(checkId(id), layout), id);
  }

  #folderOf(id: string, layout: Layout): string {
    return layout === 1 ? join(this.#blobsDir, id.slice(0, 2)) : join(this.#blobsDir, id.slice(0, 2), id.slice(2, 4));
  }

  /** Makes the blob and staging folders and learns (or, for a new store, records) the layout. */
  #ensureReady(): Promise<Layout> {
    this.#ready ??= (async () => {
      await fsp.mkdir(this.#blobsDir, { recursive: true, mode: 0o700 });
      await fsp.mkdir(this.#stagingDir, { recursive: true, mode: 0o700 });
      return this.#layout();
    })().catch((error: unknown) => {
      this.#ready = undefined; // let a later call retry (e.g. after a disk is remounted)
      throw error instanceof DomainError ? error : unavailable('create the blob directories')(error);
    });
    return this.#ready;
  }

  /**
   * The layout recorded in the blobs folder. A folder without the record is new (no fan-out folders:
   * one level, its 256 folders made now) or was begun before the record existed (two levels). The
   * record is published before any one-level folder is made, and by a hard link, which fails when a
   * record is already there: two nodes starting on one shared folder both end up with the first one's.
   */
  async #layout(): Promise<Layout> {
    const recorded = await this.#readLayout();
    if (recorded !== undefined) return recorded;
    const layout: Layout = (await sortedEntries(this.#blobsDir, FANOUT_PATTERN)).length > 0 ? 2 : 1;
    // Written beside the record (a hard link stays on one file system), under a name no listing takes for a blob.
    const staged = join(this.#blobsDir, `.${LAYOUT_FILE}-${randomBytes(8).toString('hex')}${PART_SUFFIX}`);
    try {
      await this.#publishLayout(staged, layout);
    } catch (error) {
      // A folder this process may only read (a mounted copy): what is in it says the layout, unrecorded.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EROFS' || code === 'EACCES') return layout;
      throw error;
    }
    const published = await this.#readLayout();
    if (published === undefined) throw unavailable('record the blob layout')(new Error(`${LAYOUT_FILE} is missing after it was written`));
    if (published === 1) {
      for (let i = 0; i < 256; i++) await makeDirectory(join(this.#blobsDir, i.toString(16).padStart(2, '0')));
    }
    if (this.#sync) await syncDirectory(this.#blobsDir);
    return published;
  }

  async #publishLayout(staged: string, layout: Layout): Promise<void> {
    try {
      const handle = await fsp.open(staged, 'wx', 0o600);
      try {
        await handle.writeFile(`fanout=${layout}\n`);
        if (this.#sync) await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.link(staged, join(this.#blobsDir, LAYOUT_FILE)).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return;
        // A file system without hard links (some network shares): an exclusive create instead, which
        // a node starting at the same instant may read half-written and refuse once, then read whole.
        if (error.code !== 'EPERM' && error.code !== 'ENOTSUP' && error.code !== 'ENOSYS') throw error;
        await fsp.writeFile(join(this.#blobsDir, LAYOUT_FILE), `fanout=${layout}\n`, { flag: 'wx', mode: 0o600 }).catch((again: NodeJS.ErrnoException) => {
          if (again.code !== 'EEXIST') throw again;
        });
      });
    } finally {
      await fsp.rm(staged, { force: true }).catch(() => undefined);
    }
  }

  async #readLayout(): Promise<Layout | undefined> {
    const text = await fsp.readFile(join(this.#blobsDir, LAYOUT_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return undefined;
    const m = /^fanout=([12])\n?$/.exec(text);
    if (!m) throw new DomainError('UNAVAILABLE', `The blob store's ${join(this.#blobsDir, LAYOUT_FILE)} is not one Strongroom wrote (expected "fanout=1" or "fanout=2"): restore it from a backup of the folder.`);
    return Number(m[1]) as Layout;
  }

  /**
   * Makes the blob's fan-out folder if needed. A folder that is new must itself survive a crash, so
   * its parent is fsynced too; after that it is remembered and costs nothing. In the one-level layout
   * all 256 were made with the store, so each is found there (one mkdir per folder per process).
   */
  async #ensureFanout(id: string, layout: Layout): Promise<string> {
    const outer = join(this.#blobsDir, id.slice(0, 2));
    const folder = this.#folderOf(id, layout);
    const key = layout === 1 ? id.slice(0, 2) : id.slice(0, 4);
    if (this.#knownDirs.has(key)) return folder;
    try {
      if (await makeDirectory(outer) && this.#sync) await syncDirectory(this.#blobsDir);
      if (layout === 2 && await makeDirectory(folder) && this.#sync) await syncDirectory(outer);
    } catch (error) {
      throw unavailable('create a blob directory')(error);
    }
    this.#knownDirs.add(key);
    return folder;
  }
}

/**
 * Writes the stream to the file in batches of about 1 MiB, keeping one write in flight while the
 * next batch is gathered so encryption upstream and disk I/O overlap; a batch is also written once
 * `touchMs` has passed, so a trickling upload keeps its file's age fresh. Returns the bytes written.
 */
async function writeStream(handle: FileHandle, source: Readable | AsyncIterable<Uint8Array>, touchMs: number): Promise<number> {
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let total = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let writeError: unknown;
  let failed = false;
  let lastFlush = Date.now();

  const flush = async (): Promise<void> => {
    await inFlight;
    if (failed) throw writeError;
    const buffers = batch.length > MAX_IOVECS ? [Buffer.concat(batch, batchBytes)] : batch;
    batch = [];
    batchBytes = 0;
    lastFlush = Date.now();
    // Errors are parked and rethrown at the next flush so a rejection is never left unhandled
    // while we wait on the source.
    inFlight = writeAll(handle, buffers).catch((error: unknown) => {
      failed = true;
      writeError = storageError('write a blob', error);
    });
  };

  try {
    for await (const chunk of source) {
      const buffer = toBuffer(chunk);
      if (buffer.length === 0) continue;
      batch.push(buffer);
      batchBytes += buffer.length;
      total += buffer.length;
      if (batchBytes >= WRITE_BATCH_BYTES || Date.now() - lastFlush >= touchMs) await flush();
    }
    if (batchBytes > 0) await flush();
  } finally {
    // Never leave a write running against a handle the caller is about to close and unlink.
    await inFlight;
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




function checkId(id: string): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new DomainError('INVALID', 'Malformed blob id.');
  return id;
}

/** Creates a directory; true if this call created it. */
async function makeDirectory(path: string): Promise<boolean> {
  try {
    await fsp.mkdir(path, { mode: 0o700 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(path, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    throw unavailable('flush a blob directory')(error);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function sortedEntries(dir: string, pattern: RegExp): Promise<string[]> {
  const names = await fsp.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw unavailable('list blobs')(error);
  });
  return names.filter((name) => pattern.test(name)).sort();
}

async function missingAsEmpty(error: NodeJS.ErrnoException): Promise<undefined> {
  if (error.code === 'ENOENT') return undefined;
  throw unavailable('list blobs')(error);
}

/** Keeps "not there" apart from "cannot reach the disk", which callers handle differently. */
function translate(id: string) {
  return (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new DomainError('NOT_FOUND', `No blob ${id}.`, { cause: error });
    throw unavailable('read a blob')(error);
  };
}

/** errno codes that mean "no room": the disk is full or the service's quota is used up. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Turns a filesystem failure into a DomainError. A full disk is told apart from an unreachable
 * one: the first is the operator's to fix by freeing space, and clients should not simply retry.
 */
function storageError(action: string, error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (NO_SPACE.has((error as NodeJS.ErrnoException).code ?? '')) {
    return new DomainError('INSUFFICIENT_STORAGE', 'There is not enough storage space left to save this file, so nothing was stored. Ask your administrator to free some space, then try again.', { cause: error });
  }
  return new DomainError('UNAVAILABLE', `Could not ${action}.`, { cause: error });
}

function unavailable(action: string) {
  return (error: unknown): never => {
    throw storageError(action, error);
  };
}
