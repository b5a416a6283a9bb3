// Which driver errors are "try again" and which stay what they are (the int tests meet the real ones:
// store-concurrent-change.int.test.ts).
import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, translateDriverError } from './driver-errors.js';

const driverError = (code: string): Error => Object.assign(new Error(`driver says ${code}`), { code });

describe('translateDriverError', () => {
  it.each(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', '40P01', '40001', '55P03'])('%s is contention: try again in a second', (code) => {
    const error = driverError(code);
    const translated = translateDriverError(error);
    expect(translated).toBeInstanceOf(DatabaseUnavailableError);
    expect((translated as DatabaseUnavailableError).details).toEqual({ retryAfterSeconds: 1 });
    expect((translated as DatabaseUnavailableError).cause).toBe(error);
  });

  // One connection, one statement at a time: a table locked by another statement of it is a bug that
  // every retry would meet again, so it must reach the log (and dead-letter a job), not loop as a 503.
  it.each(['SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE', 'SQLITE_LOCKED_VTAB', 'SQLITE_CONSTRAINT_UNIQUE', '23505'])('%s stays the driver\'s own error', (code) => {
    const error = driverError(code);
    expect(translateDriverError(error)).toBe(error);
  });
});
