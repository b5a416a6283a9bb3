// Sign-in attempt counters, one row per key in a fixed window. Shared by every process and kept
// across restarts, so a guesser gains nothing by waiting for a deploy or spreading over servers.
import { sql, type Kysely } from 'kysely';
import type { SignInThrottlesRepository, ThrottlePlace } from '../../domain/repositories.js';
import type { Schema } from '../schema.js';

export class SignInThrottlesRepo implements SignInThrottlesRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** Failures counted in each key's current window; keys without one (or whose window ended) count 0. */
  async failures(keys: string[], now: string): Promise<Map<string, number>> {
    const rows = keys.length === 0 ? [] : await this.db
      .selectFrom('sign_in_throttles').select(['key', 'failures'])
      .where('key', 'in', keys).where('window_ends_at', '>', now)
      .execute();
    return new Map(keys.map((key) => [key, rows.find((r) => r.key === key)?.failures ?? 0]));
  }

  /** Counts one attempt against a key and returns its place, in one statement (no two racing attempts share a place); an ended window starts afresh. */
  async takePlace(key: string, now: string, windowEndsAt: string): Promise<ThrottlePlace> {
    const row = await this.db
      .insertInto('sign_in_throttles')
      .values({ key, failures: 1, window_ends_at: windowEndsAt })
      .onConflict((oc) => oc.column('key').doUpdateSet({
        failures: sql<number>`case when sign_in_throttles.window_ends_at <= ${now} then 1 else sign_in_throttles.failures + 1 end`,
        window_ends_at: sql<string>`case when sign_in_throttles.window_ends_at <= ${now} then ${windowEndsAt} else sign_in_throttles.window_ends_at end`,
      }))
      .returning(['failures', 'window_ends_at'])
      .executeTakeFirstOrThrow();
    return { key, place: Number(row.failures), windowEndsAt: row.window_ends_at };
  }

  /** Uncounts one attempt; a window that has since ended and started afresh is left alone (its count is not this attempt's). */
  async givePlaceBack(place: ThrottlePlace): Promise<void> {
    await this.db
      .updateTable('sign_in_throttles')
      .set({ failures: sql<number>`failures - 1` })
      .where('key', '=', place.key).where('window_ends_at', '=', place.windowEndsAt).where('failures', '>', 0)
      .execute();
  }

  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('sign_in_throttles').where('key', '=', key).execute();
  }

  /** Deletes counters whose window has ended. */
  async sweep(now: string): Promise<number> {
    const result = await this.db.deleteFrom('sign_in_throttles').where('window_ends_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
