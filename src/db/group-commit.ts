// Group commit for SQLite: commits do not fsync (WAL with `synchronous = NORMAL`); durable() is the
// barrier that does, off the event loop, one fdatasync of the write-ahead log shared by every caller
// that arrived while the previous one ran. Nothing may leave the process before it (docs/architecture.md "Durability").
import { fstatSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Makes the file's written data durable; resolves quietly when there is no file yet. */
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
 * fdatasync of the database's log through a descriptor kept open between syncs. An open and a close
 * are each a round trip through the libuv pool (docs/performance.md, "The log's descriptor kept"). On
 * Linux fsync flushes the inode's dirty pages whichever descriptor wrote them, so a read-only
 * descriptor of our own is enough.
 *
 * SQLite never removes its log while a connection has the database open (another process's
 * `journal_mode` change is refused as busy; its last close finds ours still open), so the file at the
 * path is the one every commit went into for as long as this descriptor is kept. Before each sync the
 * path is looked up again (a synchronous stat: the log is on a local disk, as SQLite requires): a log
 * removed or replaced under the running database means SQLite is writing into a file no restart will
 * read, and the sync fails rather than vouch for those commits (the group commit then refuses every
 * later barrier). The kept descriptor holds its inode, so its number cannot be reused meanwhile: the
 * same device and inode at the path is the same file. Before the log first exists there is nothing to
 * sync; after close(), each sync opens the file afresh (fdatasyncFile). Calls run one at a time.
 */
export class KeptFileSync {
  #kept: { handle: FileHandle; dev: bigint; ino: bigint } | undefined;
  #closed = false;
  #previous: Promise<unknown> = Promise.resolve();

  readonly sync: SyncFile = (file) => {
    const run = this.#previous.then(() => this.#sync(file));
    this.#previous = run.catch(() => undefined);
    return run;
  };

  async #sync(file: string): Promise<void> {
    if (this.#closed) return fdatasyncFile(file);
    const named = statSync(file, { throwIfNoEntry: false, bigint: true });
    if (this.#kept === undefined) {
      if (named === undefined) return;
      const opened = await this.#open(file);
      if (opened === undefined) return;
      if (this.#closed) {
        // Closed while the file was being opened: sync through it once, keep nothing.
        await opened.handle.datasync().finally(() => opened.handle.close());
        return;
      }
      this.#kept = opened;
    } else if (named === undefined || named.dev !== this.#kept.dev || named.ino !== this.#kept.ino) {
      throw new Error(`${file} was removed or replaced while the database was open: what was committed into it since cannot be made durable.`);
    }
    await this.#kept.handle.datasync();
  }

  async #open(file: string): Promise<{ handle: FileHandle; dev: bigint; ino: bigint } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const { dev, ino } = fstatSync(handle.fd, { bigint: true });
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
