// How a blob folder is laid out, and the record that says so. `blobs/layout` holds `fanout=1`
// (blobs/ab/<id>: 256 folders, all made when the store is begun) or `fanout=2` (blobs/ab/cd/<id>:
// 65,536 folders made as blobs arrive). Two levels meant that until a vault held hundreds of thousands
// of blobs nearly every upload made a folder and synced its parent; one level of 256 holds 40,000
// blobs a folder at ten million, which ext4 and XFS index. Stores begun before the record existed
// were two-level and stay so; nothing is ever moved.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { DomainError } from '../domain/errors.js';
import { FANOUT_PATTERN, ID_PATTERN, makeDirectory, sortedEntries, syncDirectory, unavailable } from './fs-folders.js';
import { onLocalFileSystem } from './fs-local-reads.js';

export type Layout = 1 | 2;

export const LAYOUT_FILE = 'layout';
/** Where a record is written before it is linked into place (beside it: a hard link stays on one file system). */
export const LAYOUT_STAGING_PREFIX = `.${LAYOUT_FILE}-`;
const RECORD = /^fanout=([12])\n$/;
/** A record is `fanout=N\n`: anything larger is not one, and is not read into memory. */
const RECORD_MAX_BYTES = 16;

interface Known {
  layout: Layout;
  /** The blobs folder the layout was learnt from: a folder mounted over it later is another store. */
  dev: number;
  ino: number;
  /** Read from the record (or written to it), not only seen in the folder by a read. */
  recorded: boolean;
  /** The folder is on a local disk or in memory (fs-local-reads.ts), so small reads may be synchronous. */
  local: boolean;
  /** Fan-out folders found to be symlinks or on another device: their blobs are read through the thread pool. */
  poolOnly: Set<string>;
}

/**
 * The layout of one blob folder, and whether it is on a local file system, learnt once per process and
 * kept while the folder is the same one (same device and inode). Reading changes nothing on disk; the
 * first write records the layout and, for a new store, makes its folders.
 */
export class BlobFolderLayout {
  #known: Known | undefined;
  #learning: Promise<Known> | undefined;

  constructor(private readonly blobsDir: string, private readonly sync: boolean) {}

  /** The folder a blob lives in. */
  folderOf(id: string, layout: Layout): string {
    return layout === 1 ? join(this.blobsDir, id.slice(0, 2)) : join(this.blobsDir, id.slice(0, 2), id.slice(2, 4));
  }

  /**
   * For reads: the layout, without writing anything. A folder that is missing or holds nothing has no
   * blobs to find whichever layout it will have, so that answer is not kept.
   */
  async forReading(): Promise<Layout> {
    if (this.#known) return this.#known.layout;
    const identity = await this.#identity();
    if (identity === undefined) return 1;
    const recorded = await this.#readRecord();
    const seen = await this.#layoutOfContents();
    if (recorded !== undefined) return (await this.#keep(this.#checked(recorded, seen), identity, true)).layout;
    if (seen !== undefined) return (await this.#keep(seen, identity, false)).layout;
    return 1;
  }

  /**
   * The blob folder's device when it is on a local file system, so that small reads in it may be made
   * with synchronous calls (fs-local-reads.ts, which checks each blob's folders are on this device);
   * undefined while nothing is known (a missing or empty folder, or one forgotten) or it is not local.
   */
  localDevice(): number | undefined {
    return this.#known?.local ? this.#known.dev : undefined;
  }

  /** Whether blobs in fan-out folder `folder` must be read through the thread pool (readThroughPool). */
  readsThroughPool(folder: string): boolean {
    return this.#known?.poolOnly.has(folder) ?? false;
  }

  /**
   * From now on, blobs in fan-out folder `folder` are read through the thread pool: it is a symlink or
   * on another device. Whether the blob folder itself is still the one learnt is then checked, off
   * the event loop, and what was learnt is forgotten if not (a share mounted over it).
   */
  readThroughPool(folder: string): void {
    this.#known?.poolOnly.add(folder);
    void this.stale().catch(() => undefined);
  }

  /**
   * For writes: the layout, the folder checked to be the one it was learnt from (one `stat`), and for
   * a folder without a record the record written (and a new store's 256 folders made) first.
   */
  async forWriting(): Promise<Layout> {
    const identity = this.#known?.local ? this.#identityNow() : await this.#identity();
    const known = this.#known;
    if (known?.recorded && sameFolder(known, identity)) return known.layout;
    this.#known = undefined;
    this.#learning ??= this.#learnForWriting().finally(() => {
      this.#learning = undefined;
    });
    return (await this.#learning).layout;
  }

  /** Forgets the layout when the folder is no longer the one it was learnt from; true when it was forgotten. */
  async stale(): Promise<boolean> {
    const known = this.#known;
    if (!known) return false;
    if (sameFolder(known, await this.#identity())) return false;
    this.#known = undefined;
    return true;
  }

  /**
   * Removes records staged by a process that stopped before linking them, once older than the cutoff.
   * Returns how many were removed.
   */
  async cleanStaged(cutoffMs: number | null): Promise<number> {
    let removed = 0;
    const names = await fsp.readdir(this.blobsDir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(LAYOUT_STAGING_PREFIX)) continue;
      const path = join(this.blobsDir, name);
      const stat = await fsp.lstat(path).catch(() => undefined);
      if (stat === undefined || !stat.isFile()) continue;
      if (cutoffMs !== null && stat.mtimeMs > cutoffMs) continue;
      await fsp.rm(path, { force: true }).catch(unavailable('remove a staged layout record'));
      removed++;
    }
    return removed;
  }

  async #learnForWriting(): Promise<Known> {
    try {
      await fsp.mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw unavailable('create the blob folder')(error);
    }
    const identity = await this.#identity();
    if (identity === undefined) throw unavailable('create the blob folder')(new Error(`${this.blobsDir} vanished after it was made`));
    const seen = await this.#layoutOfContents();
    let recorded = await this.#readRecord();
    if (recorded === undefined) {
      await this.#publish(seen ?? 1);
      recorded = await this.#readRecord();
      if (recorded === undefined) throw unavailable('record the blob layout')(new Error(`${LAYOUT_FILE} is missing after it was written`));
    }
    const layout = this.#checked(recorded, seen);
    try {
      if (layout === 1) {
        for (let i = 0; i < 256; i++) await makeDirectory(join(this.blobsDir, i.toString(16).padStart(2, '0')));
      }
    } catch (error) {
      throw unavailable('create the blob folders')(error);
    }
    // Whoever made the record and the folders may have stopped before syncing them: sync once here,
    // before this process acknowledges any blob inside them.
    if (this.sync) await syncDirectory(this.blobsDir);
    return this.#keep(layout, identity, true);
  }

  async #keep(layout: Layout, identity: { dev: number; ino: number }, recorded: boolean): Promise<Known> {
    const local = await onLocalFileSystem(this.blobsDir);
    this.#known = { layout, ...identity, recorded, local, poolOnly: new Set() };
    return this.#known;
  }

  async #identity(): Promise<{ dev: number; ino: number } | undefined> {
    const stat = await fsp.stat(this.blobsDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw unavailable('reach the blob folder')(error);
    });
    return identityOf(stat, this.blobsDir);
  }

  /**
   * The same, with a synchronous call: for each write while the folder is known to be on a local disk,
   * as its blobs' reads are. A round trip through the thread pool costs a write more CPU than the
   * lookup itself does there.
   */
  #identityNow(): { dev: number; ino: number } | undefined {
    let stat: Stats | undefined;
    try {
      stat = statSync(this.blobsDir, { throwIfNoEntry: false });
    } catch (error) {
      throw unavailable('reach the blob folder')(error);
    }
    return identityOf(stat, this.blobsDir);
  }

  /** The record must agree with what the folder holds: a node writing the other layout, or a record changed by hand, is refused. */
  #checked(recorded: Layout, seen: Layout | undefined): Layout {
    if (seen === undefined || seen === recorded) return recorded;
    throw unavailable('use the blob folder')(
      new Error(`${join(this.blobsDir, LAYOUT_FILE)} says fanout=${recorded} but the folder holds blobs laid out with fanout=${seen}: a node of a version from before the layout record, or a record changed by hand`),
    );
  }

  /**
   * Two levels when a fan-out folder holds a fan-out folder (two-level stores make both with their
   * first blob and never remove them); one level when one holds a blob; undefined when neither is
   * seen (a new store, or one with nothing in it yet).
   */
  async #layoutOfContents(): Promise<Layout | undefined> {
    for (const outer of await sortedEntries(this.blobsDir, FANOUT_PATTERN)) {
      const dir = await fsp.opendir(join(this.blobsDir, outer)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
        throw unavailable('list blobs')(error);
      });
      if (dir === undefined) continue;
      // Leaving the loop early closes the folder.
      for await (const entry of dir) {
        if (entry.isDirectory() && FANOUT_PATTERN.test(entry.name)) return 2;
        if (entry.isFile() && ID_PATTERN.test(entry.name)) return 1;
      }
    }
    return undefined;
  }

  /**
   * The record, or undefined when there is none. Opened without following a link and without waiting
   * on a pipe, and read only if it is a small regular file: the folder is not trusted to hold one.
   * An empty record is one being written by a file system without hard links: read again shortly.
   */
  async #readRecord(): Promise<Layout | undefined> {
    const path = join(this.blobsDir, LAYOUT_FILE);
    for (let attempt = 0; ; attempt++) {
      const handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw unavailable('read the blob layout record')(error);
      });
      if (handle === undefined) return undefined;
      let text: string;
      try {
        const stat = await handle.stat();
        if (!stat.isFile() || stat.size > RECORD_MAX_BYTES) throw unavailable('read the blob layout record')(new Error(`${path} is not a layout record`));
        const buffer = Buffer.alloc(RECORD_MAX_BYTES + 1);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        text = buffer.subarray(0, bytesRead).toString('latin1');
      } finally {
        await handle.close().catch(() => undefined);
      }
      if (text === '' && attempt < 20) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const m = RECORD.exec(text);
      if (!m) throw unavailable('read the blob layout record')(new Error(`${path} holds ${JSON.stringify(text)}, not fanout=1 or fanout=2`));
      return Number(m[1]) as Layout;
    }
  }

  /**
   * Publishes the record unless one is there: written and synced beside it, then hard-linked into
   * place, which fails when a record exists, so of several nodes starting at once the first one's
   * stands. Without hard links (some network shares), an exclusive create, synced.
   */
  async #publish(layout: Layout): Promise<void> {
    const text = `fanout=${layout}\n`;
    const record = join(this.blobsDir, LAYOUT_FILE);
    const staged = join(this.blobsDir, `${LAYOUT_STAGING_PREFIX}${randomBytes(8).toString('hex')}.part`);
    try {
      await writeSynced(staged, text, this.sync);
      await fsp.link(staged, record).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return;
        if (error.code !== 'EPERM' && error.code !== 'ENOTSUP' && error.code !== 'ENOSYS') throw error;
        await writeSynced(record, text, this.sync).catch((again: NodeJS.ErrnoException) => {
          if (again.code !== 'EEXIST') throw again;
        });
      });
    } catch (error) {
      throw error instanceof DomainError ? error : unavailable('record the blob layout')(error);
    } finally {
      await fsp.rm(staged, { force: true }).catch(() => undefined);
    }
  }
}

/** A folder's device and inode from its status; undefined when it is missing; refused when it is not a folder. */
function identityOf(stat: Stats | undefined, path: string): { dev: number; ino: number } | undefined {
  if (stat === undefined) return undefined;
  if (!stat.isDirectory()) throw unavailable('reach the blob folder')(new Error(`${path} is not a folder`));
  return { dev: stat.dev, ino: stat.ino };
}

function sameFolder(known: Known, identity: { dev: number; ino: number } | undefined): boolean {
  return identity !== undefined && known.dev === identity.dev && known.ino === identity.ino;
}

/** Creates the file (never over an existing one), readable by the service's other tools, and syncs it. */
async function writeSynced(path: string, text: string, sync: boolean): Promise<void> {
  const handle = await fsp.open(path, 'wx', 0o644);
  try {
    await handle.writeFile(text);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
}
