// Group commit for SQLite: commits do not fsync (WAL with `synchronous = NORMAL`); durable() is the
// barrier that does, off the event loop, one fdatasync of the write-ahead log shared by every caller
// that arrived while the previous one ran. Nothing may leave the process before it (docs/architecture.md "Durability").
import { fstatSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Makes the file's written data durable; resolves quietly when there is no file. */
export type SyncFile = (file: string) => Promise<void>;

/**
 * fdatasync through the libuv pool, opening the file afresh. Kept for callers that sync a file now and
 * then; the database's log is synced through a KeptFileSync, which skips the open and the close.
 * ENOENT: the log was checkpointed into the database and removed; that checkpoint synced it already.
 */
export const fdatasyncFile: SyncFile = async (file) => {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
};

/**
 * fdatasync of one file through a descriptor kept open between syncs. An open and a close are each a
 * round trip through the libuv pool, which on this machine cost as much CPU as the sync itself
 * (docs/performance.md, "The log's descriptor kept"). On Linux fsync flushes the inode's dirty pages
 * whichever descriptor wrote them, so a read-only descriptor of our own is enough.
 *
 * SQLite may delete the log and make a new one (a checkpoint when the last connection closes, a change
 * of `journal_mode`), so before each sync the path is looked up again (a synchronous stat: the log is
 * on a local disk, as SQLite requires, and its folder is in the kernel's cache). Another file there is
 * opened in place of the kept one; no file there means the log was checkpointed and removed, which
 * synced it. The kept descriptor holds its inode, so its number cannot be reused by a new file while
 * it is open: the same device and inode at the path is the same file.
 */
export class KeptFileSync {
  #kept: { handle: FileHandle; dev: number; ino: number } | undefined;
  #closed = false;

  readonly sync: SyncFile = async (file) => {
    if (this.#closed) return fdatasyncFile(file);
    const named = statSync(file, { throwIfNoEntry: false });
    const kept = this.#kept;
    if (kept !== undefined && (named === undefined || named.dev !== kept.dev || named.ino !== kept.ino)) {
      this.#kept = undefined;
      await kept.handle.close();
    }
    if (named === undefined) return;
    if (this.#kept === undefined) {
      const opened = await this.#open(file);
      if (opened === undefined) return;
      if (this.#closed) {
        // Closed while the file was being opened: sync through it once, keep nothing.
        await opened.handle.datasync().finally(() => opened.handle.close());
        return;
      }
      this.#kept = opened;
    }
    await this.#kept.handle.datasync();
  };

  async #open(file: string): Promise<{ handle: FileHandle; dev: number; ino: number } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const { dev, ino } = fstatSync(handle.fd);
    return { handle, dev, ino };
  }

  /** Closes the kept descriptor; a sync still running on it finishes first (a FileHandle waits for its calls). */
  async close(): Promise<void> {
    this.#closed = true;
    const kept = this.#kept;
    this.#kept = undefined;
    await kept?.handle.close();
  }
}

export class DurabilityLostError extends Error {
  constructor(cause: unknown) {
    super('The database write-ahead log could not be synced to disk, so no further write can be acknowledged: restart the server (and check the disk).', { cause });
    this.name = 'DurabilityLostError';
  }
}

interface SyncRound {
  /** Every write committed up to this generation was in the log when the round's fsync began. */
  covers: number;
  done: Promise<void>;
}

export class GroupCommit {
  /** Writes committed so far (bumped by the database wrapper once a write is committed). */
  private committed = 0;
  private synced = 0;
  private current: SyncRound | undefined;
  private queued: Promise<void> | undefined;
  private failure: DurabilityLostError | undefined;

  constructor(private readonly file: string, private readonly syncFile: SyncFile = fdatasyncFile) {}

  /** Called after a write is committed (autocommit statement, or COMMIT of a transaction that wrote). */
  noteCommit(): void {
    this.committed += 1;
  }

  /** Whether a commit has been made that no completed sync covers yet. */
  get pending(): boolean {
    return this.committed > this.synced;
  }

  /**
   * Resolves once every write committed before this call is on disk. A sync already running may have
   * begun before the caller's write, so the caller waits for the next one; everyone who arrives while
   * one runs shares that next one. After a failed fsync every call rejects: Linux may drop the dirty
   * pages and report success on a retry, so nothing written since can be vouched for (as PostgreSQL
   * treats it, a restart is the only honest answer).
   */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const target = this.committed;
    if (target <= this.synced) return Promise.resolve();
    if (this.current === undefined) return this.begin().done;
    if (this.current.covers >= target) return this.current.done;
    this.queued ??= this.current.done.then(noop, noop).then(() => {
      this.queued = undefined;
      return this.durable();
    });
    return this.queued;
  }

  private begin(): SyncRound {
    const covers = this.committed;
    const round: SyncRound = {
      covers,
      // Started a microtask later so a sync function that throws at once still counts as a failed sync.
      done: Promise.resolve().then(() => this.syncFile(this.file)).then(
        () => {
          this.synced = Math.max(this.synced, covers);
          this.current = undefined;
        },
        (error: unknown) => {
          this.failure ??= new DurabilityLostError(error);
          this.current = undefined;
          throw this.failure;
        },
      ),
    };
    this.current = round;
    return round;
  }
}

const noop = (): void => undefined;
