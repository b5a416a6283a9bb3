// Two writers of one key at once, made deterministic: the first's row written in a transaction held open
// (not committed) while the second looks for the row, finds none, and writes; then the first commits.
import { sql } from 'kysely';
import type { Repos, Store } from '../../src/db/store.js';

/**
 * Runs `first` in a transaction held open while `second` starts; on PostgreSQL waits until `second` is
 * blocked on the first's uncommitted row (SQLite's one connection queues it behind the transaction
 * instead), then commits the first. Resolves with `second`'s outcome.
 */
export async function raceAgainstUncommitted<T>(store: Store, first: (repos: Repos) => Promise<void>, second: () => Promise<T>): Promise<T> {
  let commit!: () => void;
  const held = new Promise<void>((resolve) => { commit = resolve; });
  let written!: () => void;
  const wrote = new Promise<void>((resolve) => { written = resolve; });
  const committed = store.transaction(async (repos) => {
    await first(repos);
    written();
    await held;
  });
  await wrote;
  const racing = second();
  // Its failure is the caller's to see, once the first has committed.
  racing.catch(() => undefined);
  if (store.caps.dialect === 'postgres') {
    const blocked = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_locks where not granted`.execute(store.db)).rows[0]!.n) > 0;
    for (let tries = 0; !(await blocked()) && tries < 250; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  commit();
  await committed;
  return racing;
}
