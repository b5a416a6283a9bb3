// Inserts asked for in the same turn of the event loop, written together: one commit for them all.
// Outside a transaction every insert is its own commit: on SQLite its pages are encrypted and appended
// to the write-ahead log (an audit event's row and three index pages, about 0.2 ms of CPU), on
// PostgreSQL it waits for a WAL flush. Several requests in flight each write an audit event at about
// the same moment (a download's, before its first byte is read), so gathering them shares that cost.
// On SQLite a batch also gathers for as long as the write-ahead log's sync in flight runs: its callers
// must wait for the sync after it anyway, so one commit when it ends serves all who arrived meanwhile.

/**
 * A batch closes once it holds this many rows, unless it holds only one caller's: a caller's own rows
 * are never split, nor written with another's past this size.
 */
export const MAX_COALESCED_ROWS = 500;

interface Waiting<T> {
  rows: T[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Told when a batch is ready: undefined to write it at once, or a promise that resolves when the
 * batch should be written (the batch keeps gathering until then) with a function to call once the
 * write is done, whether it committed or failed (GroupCommit.commitAfterSync).
 */
export type GatherBehind = () => Promise<() => void> | undefined;

/**
 * Gathers calls to `add` made before the event loop's next check phase (and, when `gatherBehind`
 * says so, until it resolves) and hands them, in the order asked, to `write`, which must write them
 * all or nothing (one statement, or one transaction). Each caller's promise settles when that write
 * does: resolved once its rows are committed, never before. When a write of several callers fails,
 * each is written again alone, so a caller fails only if its own write does, as before they were
 * gathered.
 */
export class CoalescedInserts<T> {
  #batch: Waiting<T>[] = [];
  #rows = 0;
  readonly #writing = new Set<Promise<void>>();

  constructor(
    private readonly write: (callers: T[][]) => Promise<void>,
    private readonly gatherBehind: GatherBehind = () => undefined,
  ) {}

  add(rows: T[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#rows > 0 && this.#rows + rows.length > MAX_COALESCED_ROWS) this.#startBatch();
      if (this.#batch.length === 0) this.#schedule(this.#batch);
      this.#batch.push({ rows, resolve, reject });
      this.#rows += rows.length;
    });
  }

  /** Resolves once every insert asked for so far has been written (or has failed). */
  async drained(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all(this.#writing);
  }

  #schedule(batch: Waiting<T>[]): void {
    const written = new Promise<void>((resolve) => {
      setImmediate(() => {
        const behind = this.gatherBehind();
        if (behind === undefined) {
          if (this.#batch === batch) this.#startBatch();
          void this.#flush(batch).finally(resolve);
          return;
        }
        void behind
          .then(async (done) => {
            if (this.#batch === batch) this.#startBatch();
            try {
              await this.#flush(batch);
            } finally {
              done();
            }
          })
          .finally(resolve);
      });
    });
    this.#writing.add(written);
    void written.finally(() => this.#writing.delete(written));
  }

  /** Closes the batch being gathered (it is written when its turn comes); the next add starts another. */
  #startBatch(): void {
    this.#batch = [];
    this.#rows = 0;
  }

  async #flush(batch: Waiting<T>[]): Promise<void> {
    if (batch.length > 1) {
      try {
        await this.write(batch.map((waiting) => waiting.rows));
        for (const waiting of batch) waiting.resolve();
        return;
      } catch {
        // Nothing of a failed write was committed. Whichever caller's rows caused it (bad input, a row
        // the database refuses), the others must not fail with it.
      }
    }
    for (const waiting of batch) await this.write([waiting.rows]).then(waiting.resolve, waiting.reject);
  }
}
