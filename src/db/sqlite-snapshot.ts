// A consistent copy of the SQLite database in a new file (VACUUM INTO, encrypted as the original), made
// on a thread of its own with a connection of its own (sqlite-snapshot-thread.ts), so the server goes on
// answering while a scheduled backup copies a large vault (docs/performance.md, "The scheduled backup's
// copy, off the event loop").
import { startThread } from '../integrations/thread-script.js';

export interface SnapshotSettings {
  /** The database file, and its key (kysely.ts SqliteOptions.key). */
  file: string;
  key: Uint8Array;
  /** The copy's path, which must not exist. */
  into: string;
  busyTimeoutMs: number;
  /** The copying connection's page cache: VACUUM INTO reads every page once, so a small one does. */
  cacheMib: number;
  /** Test seam (thread-test-gate.ts), on a SharedArrayBuffer: holds the thread before it copies. */
  gate?: Int32Array;
}

export type SnapshotReply = { kind: 'done' } | { kind: 'failed'; error: { message: string; code?: string } };

/** Makes the copy on a new thread; resolves once it is written and the thread has ended. */
export function snapshotOnThread(settings: SnapshotSettings): Promise<void> {
  // Built, the thread's module stays unbundled in dist/db beside this one's file (integrations/thread-script.ts).
  const thread = startThread(import.meta.url, 'sqlite-snapshot-thread', { workerData: settings });
  return new Promise((resolve, reject) => {
    let outcome: SnapshotReply | undefined;
    let failure: Error | undefined;
    thread.once('message', (reply: SnapshotReply) => {
      outcome = reply;
    });
    thread.once('error', (error) => {
      failure = error;
    });
    thread.once('exit', (code) => {
      if (outcome?.kind === 'done') resolve();
      else if (outcome?.kind === 'failed') reject(Object.assign(new Error(`The database could not be copied: ${outcome.error.message}`), outcome.error.code === undefined ? {} : { code: outcome.error.code }));
      else reject(new Error(`The database copy's thread ended (exit code ${code}) before it had copied the database`, { cause: failure }));
    });
  });
}
