// The group commit's sync (the real fdatasync of SQLite's write-ahead log) behind a gate a test
// controls, to show that nothing leaves the process before its writes are on disk.
import { fdatasyncFile, type SyncFile } from '../../src/db/group-commit.js';

export interface SyncGate {
  /** Pass as `syncDatabaseLog` to openTestVault / openVault. */
  sync: SyncFile;
  /** Hold every sync that begins from now on until release(). */
  hold(): void;
  /** Hold each sync that begins while `condition` (asked as it begins) says so, until release(). */
  holdWhen(condition: () => Promise<boolean>): void;
  /** Stop holding, and let every held sync go on. */
  release(): void;
  /** Every sync from now on fails as a failing disk does (EIO). */
  fail(): void;
  /** Syncs waiting for release() now. */
  readonly held: number;
  /** Syncs asked for so far. */
  readonly asked: number;
}

export function syncGate(): SyncGate {
  let holdWhen: (() => Promise<boolean>) | null = null;
  let waiting: (() => void)[] = [];
  let asked = 0;
  let failing = false;
  return {
    sync: async (file) => {
      asked += 1;
      if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      if (holdWhen && (await holdWhen())) await new Promise<void>((resolve) => waiting.push(resolve));
      await fdatasyncFile(file);
    },
    hold() {
      holdWhen = () => Promise.resolve(true);
    },
    holdWhen(condition) {
      holdWhen = condition;
    },
    release() {
      holdWhen = null;
      const released = waiting;
      waiting = [];
      released.forEach((resolve) => resolve());
    },
    fail() {
      failing = true;
    },
    get held() {
      return waiting.length;
    },
    get asked() {
      return asked;
    },
  };
}
