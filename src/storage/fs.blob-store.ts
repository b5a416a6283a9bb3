// BlobStore over the local filesystem: blobs at <dataDir>/blobs/ab/<id> (a store begun before layouts
// were recorded: blobs/ab/cd/<id>), staged in <dataDir>/tmp. `put` is durable when it resolves: temp
// file written and fsynced, renamed into place, directory fsynced. A crash before that leaves only a
// `.part` file, which cleanStaging removes.
import { randomBytes } from 'node:crypto';
import { createReadStream, constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange } from '../domain/ports.js';
import { DomainError } from '../domain/errors.js';
import { checkRange, collectSmall, guardEarlyErrors, readBounds, releaseSource } from './blob-streams.js';
import { BlobFolderLayout, type Layout } from './fs-blob-layout.js';
import { STORE_MARKER_MAX_BYTES, STORE_MARKER_NAME } from '../domain/store-marker.js';
import { FLUSH_BEHIND_BYTES, writeNewFileDurably, writeStream } from './fs-file-writes.js';
import { FANOUT_PATTERN, ID_PATTERN, makeDirectory, makeFolderDurably, missingAsEmpty, readSmallTextFile, sortedEntries, syncDirectory, unavailable } from './fs-folders.js';
import { flushLocalFolder, notARegularFile, oneChunk, readSmallBlob, smallBlobSize, type LocalFolders } from './fs-local-reads.js';

const PART_SUFFIX = '.part';
const READ_HIGH_WATER_MARK = 1024 * 1024;
const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK;
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
  /**
   * False: read, and open and close a folder to flush it, through the thread pool even on a local disk
   * (tests of that path); the file system decides otherwise.
   */
  synchronousReads?: boolean;
}

export class FsBlobStore implements BlobStore {
  readonly #blobsDir: string;
  readonly #stagingDir: string;
  readonly #sync: boolean;
  readonly #touchMs: number;
  readonly #synchronousReads: boolean;
  readonly #layout: BlobFolderLayout;
  /** Fan-out directories ("ab", or "abcd" for "ab/cd") known to exist, to skip mkdir on every put. */
  readonly #knownDirs = new Set<string>();
  #stagingReady: Promise<void> | undefined;

  constructor(options: FsBlobStoreOptions) {
    this.#blobsDir = options.blobsDir ?? join(options.dataDir, 'blobs');
    this.#stagingDir = options.blobsDir !== undefined ? join(options.blobsDir, 'tmp') : join(options.dataDir, 'tmp');
    this.#sync = options.unsafeNoSync !== true;
    this.#touchMs = options.stagingTouchMs ?? STAGING_TOUCH_MS;
    this.#synchronousReads = options.synchronousReads !== false;
    this.#layout = new BlobFolderLayout(this.#blobsDir, this.#sync);
  }

  get location(): string {
    return this.#blobsDir;
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
      const layout = await this.#layout.forWriting();
      await this.#ensureStaging();
      return await this.#write(id, source, stagingSuffix, layout);
    } catch (error) {
      await releaseSource(source);
      throw error;
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
      const size = await writeStream(handle, source, { touchMs: this.#touchMs, flushBehind: this.#sync ? FLUSH_BEHIND_BYTES : undefined });
      if (this.#sync) await handle.sync().catch(unavailable('flush a blob'));
      await handle.close().catch(unavailable('close a blob'));
      handle = undefined;

      const dir = await this.#ensureFanout(id, layout);
      await fsp.rename(partPath, join(dir, id)).catch(unavailable('move a blob into place'));
      renamed = true;
      if (this.#sync) await this.#flushFolder(id, dir);
      return { id, size };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      if (!renamed) await fsp.rm(partPath, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Flushes the folder a blob was renamed into: its open and close synchronous where its reads are (#localFolders). */
  async #flushFolder(id: string, dir: string): Promise<void> {
    const local = this.#localFolders(id, join(dir, id));
    if (local !== undefined && (await flushLocalFolder(local))) return;
    await syncDirectory(dir);
  }

  async get(id: string, range?: ByteRange): Promise<Readable> {
    checkId(id);
    if (range !== undefined) checkRange(range);
    // Open first so a missing blob is a rejected promise rather than a later stream error. Non-blocking,
    // so a FIFO planted where a blob should be cannot hold the caller (or a libuv thread) waiting for a
    // writer (it has no effect on a regular file); the size check then refuses it.
    const small = await this.#found(id, async (path) => this.#readInline(id, path, range));
    if (small !== undefined) return oneChunk(small);
    const handle = await this.#found(id, (path) => fsp.open(path, READ_FLAGS));
    // A read stream allocates its whole high-water mark for every read, and reads once more to find
    // the end unless it knows where that is: read whole, a 4 KiB blob cost two 1 MiB buffers. So a
    // read ends at the size the file has once open (readBounds).
    const bounds = readBounds(await this.#regularFileSize(id, handle), range);
    if (bounds === undefined) {
      await handle.close().catch(() => undefined);
      return oneChunk(Buffer.alloc(0));
    }
    return createReadStream('', { fd: handle, highWaterMark: READ_HIGH_WATER_MARK, ...bounds });
  }

  async readSmall(id: string, maxBytes: number): Promise<Buffer> {
    checkId(id);
    const inline = await this.#found(id, async (path) => this.#readInline(id, path, undefined, maxBytes));
    return inline ?? collectSmall(id, await this.get(id, { start: 0, end: maxBytes }), maxBytes);
  }

  /**
   * A small read with synchronous calls (fs-local-reads.ts), where the blob's folder allows them;
   * undefined when it must go through the thread pool.
   */
  #readInline(id: string, path: string, range: ByteRange | undefined, maxBytes?: number): Buffer | undefined {
    const local = this.#localFolders(id, path);
    return local && readSmallBlob(id, path, range, local, maxBytes);
  }

  /**
   * The blob's fan-out folders (blobs/ab, and blobs/ab/cd in a two-level store) and the device they
   * must be on for its reads to be synchronous; undefined when they cannot be.
   */
  #localFolders(id: string, path: string): LocalFolders | undefined {
    const device = this.#synchronousReads ? this.#layout.localDevice() : undefined;
    if (device === undefined) return undefined;
    const outer = join(this.#blobsDir, id.slice(0, 2));
    const folders = dirname(path) === outer ? [outer] : [outer, dirname(path)];
    if (folders.some((folder) => this.#layout.readsThroughPool(folder))) return undefined;
    return { folders, device, elsewhere: (folder) => this.#layout.readThroughPool(folder) };
  }

  /** The open blob's size; closes it and refuses when it is not a regular file (a directory, FIFO or device put in its place). */
  async #regularFileSize(id: string, handle: FileHandle): Promise<number> {
    const stat = await handle.stat().catch(async (error: unknown) => {
      await handle.close().catch(() => undefined);
      throw unavailable('read a blob')(error);
    });
    if (stat.isFile()) return stat.size;
    await handle.close().catch(() => undefined);
    throw notARegularFile(id);
  }

  async size(id: string): Promise<number> {
    checkId(id);
    return this.#found(id, async (path) => {
      const local = this.#localFolders(id, path);
      return (local && smallBlobSize(path, local)) ?? (await fsp.stat(path)).size;
    });
  }

  /** Idempotent. Not fsynced: a delete undone by a crash is redone by the next garbage collection. */
  async delete(id: string): Promise<void> {
    checkId(id);
    // A delete cannot tell "gone" from "looked in the wrong place": check the folder is the one whose layout is known.
    await this.#layout.stale();
    await fsp.rm(this.#pathOf(id, await this.#layout.forReading()), { force: true }).catch(unavailable('delete a blob'));
  }

  async *list(): AsyncIterable<string> {
    await this.#layout.stale();
    const layout = await this.#layout.forReading();
    for (const outer of await sortedEntries(this.#blobsDir, FANOUT_PATTERN)) {
      const inners = layout === 1 ? [''] : await sortedEntries(join(this.#blobsDir, outer), FANOUT_PATTERN);
      for (const inner of inners) {
        const dir = await fsp.opendir(join(this.#blobsDir, outer, inner)).catch(missingAsEmpty);
        if (dir === undefined) continue;
        for await (const entry of dir) {
          if (entry.isFile() && ID_PATTERN.test(entry.name) && entry.name.startsWith(outer + inner)) yield entry.name;
          // A second level inside a one-level store: a node of a version from before the layout record
          // is writing blobs no other node can find. Said loudly rather than listed around.
          if (layout === 1 && entry.isDirectory() && FANOUT_PATTERN.test(entry.name)) {
            throw unavailable('list blobs')(new Error(`${join(this.#blobsDir, outer, entry.name)} is a second fan-out level in a one-level blob folder: a node of a version from before the layout record is writing to it`));
          }
        }
      }
    }
  }

  /**
   * Runs `use` on the blob's path. When the blob is not there and the folder turns out to be another
   * one than its layout was learnt from (a share mounted since), the layout is learnt again and the
   * blob looked for once more.
   */
  async #found<T>(id: string, use: (path: string) => Promise<T>): Promise<T> {
    try {
      return await use(this.#pathOf(id, await this.#layout.forReading()));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && (await this.#layout.stale())) {
        return use(this.#pathOf(id, await this.#layout.forReading())).catch(translate(id));
      }
      throw translate(id)(error);
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
    let removed = await this.#layout.cleanStaged(olderThanMs > 0 ? cutoff : null);
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

  /** The marker is a file beside the fan-out folders (blobs/strongroom-vault.json): no fan-out name, so never listed. */
  async readMarker(): Promise<string | undefined> {
    return readSmallTextFile(join(this.#blobsDir, STORE_MARKER_NAME), STORE_MARKER_MAX_BYTES).catch(unavailable('read the store marker'));
  }

  /**
   * Written and synced in staging, then hard-linked into place, which fails when a marker is there: of
   * two vaults claiming an empty folder at once, the first one's stands. Without hard links (some
   * network shares, or staging on another file system), an exclusive create, synced: a crash there
   * can leave the marker empty, which `overEmpty` removes first. A crash otherwise leaves at most a
   * staged `.part` file, which cleanStaging removes.
   */
  async writeMarker(text: string, overEmpty = false): Promise<boolean> {
    const marker = join(this.#blobsDir, STORE_MARKER_NAME);
    const staged = join(this.#stagingDir, `marker-${randomBytes(8).toString('hex')}${PART_SUFFIX}`);
    try {
      await makeFolderDurably(this.#blobsDir);
      if (overEmpty) {
        const stat = await fsp.lstat(marker).catch(() => undefined);
        if (stat?.isFile() && stat.size === 0) await fsp.rm(marker, { force: true });
      }
      await this.#ensureStaging();
      await writeNewFileDurably(staged, [Buffer.from(text)], 0o644);
      const linked = await fsp.link(staged, marker).then(() => true, async (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        if (error.code !== 'EPERM' && error.code !== 'ENOTSUP' && error.code !== 'ENOSYS' && error.code !== 'EXDEV') throw error;
        return writeNewFileDurably(marker, [Buffer.from(text)], 0o644).then(() => true, (again: NodeJS.ErrnoException) => {
          if (again.code === 'EEXIST') return false;
          throw again;
        });
      });
      if (linked) await syncDirectory(this.#blobsDir);
      return linked;
    } catch (error) {
      throw unavailable('write the store marker')(error);
    } finally {
      await fsp.rm(staged, { force: true }).catch(() => undefined);
    }
  }

  #pathOf(id: string, layout: Layout): string {
    return join(this.#layout.folderOf(checkId(id), layout), id);
  }

  #ensureStaging(): Promise<void> {
    this.#stagingReady ??= fsp.mkdir(this.#stagingDir, { recursive: true, mode: 0o700 }).then(() => undefined).catch((error: unknown) => {
      this.#stagingReady = undefined; // let a later call retry (e.g. after a disk is remounted)
      throw unavailable('create the staging folder')(error);
    });
    return this.#stagingReady;
  }

  /**
   * Makes the blob's fan-out folder if needed. A folder that is new must itself survive a crash, so
   * its parent is fsynced too; after that it is remembered and costs nothing. In the one-level layout
   * all 256 were made with the store, so each is found there (one mkdir per folder per process).
   */
  async #ensureFanout(id: string, layout: Layout): Promise<string> {
    const outer = join(this.#blobsDir, id.slice(0, 2));
    const folder = this.#layout.folderOf(id, layout);
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

function checkId(id: string): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new DomainError('INVALID', 'Malformed blob id.');
  return id;
}

/** Keeps "not there" apart from "cannot reach the disk", which callers handle differently. */
function translate(id: string) {
  return (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new DomainError('NOT_FOUND', `No blob ${id}.`, { cause: error });
    // The folder answered, but what is at the blob's name cannot be opened as a file: a symlink looping on
    // itself (ELOOP) or a socket (ENXIO). Only someone else puts those there, and for this blob alone: damage,
    // which the replica's copy serves and the scrub heals, not an outage of the whole store (attack review,
    // 7 December 2026: every download of it answered 503 and every scrub skipped it, with no finding).
    if (code === 'ELOOP' || code === 'ENXIO') throw notARegularFile(id);
    throw unavailable('read a blob')(error);
  };
}
