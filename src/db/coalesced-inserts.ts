// Inserts of one table asked for in the same turn of the event loop, written as one statement.
// Outside a transaction every insert is its own commit: on SQLite its pages are encrypted and appended
// to the write-ahead log (an audit event's row and three index pages, about 0.2 ms of CPU), on
// PostgreSQL it waits for a WAL flush. Several requests in flight each write an audit event at about
// the same moment (a download's, before its first byte is read), so gathering them shares that cost.
import { DomainError } from '../domain/errors.js';

/**
 * At most this many rows in one statement (each audit row binds 16 values; SQLite allows 32,766 in a
 * statement, PostgreSQL 65,535): a caller's own rows are never split, so a batch may exceed it by one
 * caller's.
 */
export const MAX_COALESCED_ROWS = 500;

interface Waiting<T> {
  rows: T[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers calls to `add` made before the event loop's next check phase and hands their rows, in the
 * order asked, to `write` at once. Each caller's promise settles when that write does: resolved once
 * its rows are committed, never before. A write refused as bad input (a DomainError, raised before
 * anything reaches the database) is tried again one caller at a time, so one caller's bad row fails
 * only that caller; any other failure (the database) fails every caller of that write, as each would
 * have failed alone.
 */
export class CoalescedInserts<T> {
  #batch: Waiting<T>[] = [];
  #rows = 0;

  constructor(private readonly write: (rows: T[]) => Promise<void>) {}

  add(rows: T[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#rows >= MAX_COALESCED_ROWS) this.#startBatch();
      if (this.#batch.length === 0) {
        const batch = this.#batch;
        setImmediate(() => {
          if (this.#batch === batch) this.#startBatch();
          void this.#flush(batch);
        });
      }
      this.#batch.push({ rows, resolve, reject });
      this.#rows += rows.length;
    });
  }

  /** Closes the batch being gathered (it is written when its turn comes); the next add starts another. */
  #startBatch(): void {
    this.#batch = [];
    this.#rows = 0;
  }

  async #flush(batch: Waiting<T>[]): Promise<void> {
    if (batch.length === 1) return this.#writeFor(batch[0]!);
    try {
      await this.write(batch.flatMap((waiting) => waiting.rows));
    } catch (error) {
      if (!(error instanceof DomainError)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      for (const waiting of batch) await this.#writeFor(waiting);
      return;
    }
    for (const waiting of batch) waiting.resolve();
  }

  async #writeFor(waiting: Waiting<T>): Promise<void> {
    await this.write(waiting.rows).then(waiting.resolve, waiting.reject);
  }
}
