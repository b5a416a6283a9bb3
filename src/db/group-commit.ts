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
  /**
   * Every write committed up to this generation was in the log when the round's fsync began; until it
   * begins (it first waits for the writers gathering behind the round before it), every write so far.
   */
  covers: number;
  /** Whether its fsync has begun: from then on a commit is not covered by it. */
  begun: boolean;
  done: Promise<void>;
}

/**
 * How long a sync waits for the writers that gathered behind the one before it to commit. They commit
 * as soon as that sync ends, unless the database's one connection is held by a transaction; past this
 * the sync begins without them (their callers then wait for the sync after), so no caller of durable()
 * ever waits on the connection: not even one that, holding it, awaits durable().
 */
export const GATHERED_COMMIT_WAIT_MS = 20;

export class GroupCommit {
  /** Writes committed so far (bumped by the database wrapper once a write is committed). */
  private committed = 0;
  private synced = 0;
  private current: SyncRound | undefined;
  private queued: Promise<void> | undefined;
  private failure: DurabilityLostError | undefined;
  /** Writers gathering their commits behind the sync in flight (commitAfterSync); the next round waits for them. */
  private readonly gathering = new Set<Promise<void>>();

  /** `gatheredCommitWaitMs`: GATHERED_COMMIT_WAIT_MS unless a test needs it longer or shorter. */
  constructor(
    private readonly file: string,
    private readonly syncFile: SyncFile = fdatasyncFile,
    private readonly options: { gatheredCommitWaitMs?: number } = {},
  ) {}

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

  /**
   * For a writer whose callers must wait for a sync anyway (each awaits durable() once its write is
   * committed): while a sync is running, a commit made now is not covered by it, so the writer may as
   * well gather its callers until that sync ends and commit once for them all, rather than once for
   * each as they arrive. Undefined when no sync is running (write at once). Otherwise resolves when it
   * ends (or fails), with `committed`, which the writer must call once its write is committed or has
   * failed: the next sync begins after every such writer's call (or GATHERED_COMMIT_WAIT_MS), so it
   * covers what they wrote, and a caller whose gathered write is its last before durable() waits for
   * no more syncs than without the gathering.
   */
  commitAfterSync(): Promise<() => void> | undefined {
    const running = this.current;
    if (running === undefined || !running.begun) return undefined;
    let committed!: () => void;
    const written = new Promise<void>((resolve) => {
      committed = resolve;
    });
    this.gathering.add(written);
    void written.then(() => this.gathering.delete(written));
    return running.done.then(noop, noop).then(() => committed);
  }

  private begin(): SyncRound {
    // Started a microtask later (at least) so a sync function that throws at once still counts as a
    // failed sync; first, the writers that gathered behind the previous sync commit.
    const round: SyncRound = { covers: Number.POSITIVE_INFINITY, begun: false, done: Promise.resolve() };
    round.done = this.gatheredCommitted()
      .then(() => {
        round.covers = this.committed;
        round.begun = true;
        return this.syncFile(this.file);
      })
      .then(
        () => {
          this.synced = Math.max(this.synced, round.covers);
          this.current = undefined;
        },
        (error: unknown) => {
          this.failure ??= new DurabilityLostError(error);
          this.current = undefined;
          throw this.failure;
        },
      );
    this.current = round;
    return round;
  }

  /** Resolves once every writer gathered so far has committed, or GATHERED_COMMIT_WAIT_MS have passed. */
  private gatheredCommitted(): Promise<void> {
    if (this.gathering.size === 0) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.gatheredCommitWaitMs ?? GATHERED_COMMIT_WAIT_MS);
    });
    return Promise.race([Promise.all(this.gathering).then(noop), late]).finally(() => clearTimeout(timer));
  }
}

const noop = (): void => undefined;
