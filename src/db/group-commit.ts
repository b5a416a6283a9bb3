// Group commit for SQLite: commits do not fsync (WAL with `synchronous = NORMAL`); durable() is the
// barrier that does, off the event loop, one fdatasync of the write-ahead log shared by every caller
// that arrived while the previous one ran. Nothing may leave the process before it (docs/architecture.md "Durability").
import { open } from 'node:fs/promises';

/** Makes the file's written data durable; resolves quietly when there is no file. */
export type SyncFile = (file: string) => Promise<void>;

/**
 * fdatasync through the libuv pool. The `-wal` file is opened afresh for each sync because SQLite
 * may delete and recreate it (a checkpoint on close, `journal_mode` changes): on Linux fsync flushes
 * the inode's dirty pages whichever descriptor wrote them, so our own read-only descriptor is enough.
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
