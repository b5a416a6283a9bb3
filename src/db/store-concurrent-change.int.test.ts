// Two transactions that wait on each other's row locks: PostgreSQL ends one of them (40P01). The Store's
// transaction that was ended reports it as unavailable for a moment ("try again", with a Retry-After),
// nothing written, instead of an internal error; the other goes on.
// SQLite's counterpart: another process (the CLI beside the server) holding the file's write lock past the
// busy timeout (SQLITE_BUSY) is the same passing contention, and is answered the same way.
// Not only inside Store.transaction: the translation is the driver's (driver-errors.ts), so a single
// statement run outside a transaction (an audit insert, an autocommit update, a read) is answered the same
// way, and so is a PostgreSQL that refuses connections (restarting, stopped).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, randomSignInSeals, type TestStore } from '../../test/support/store.js';
import { DomainError } from '../domain/errors.js';
import { DatabaseUnavailableError } from './driver-errors.js';
import { openPostgres, openSqlite, ping, type DatabaseHandle } from './kysely.js';
import { migrate } from './migrate.js';
import type { Schema } from './schema.js';
import { Store } from './store.js';

describe('a PostgreSQL transaction ended to break a lock cycle', () => {
  let opened: TestStore;
  beforeAll(async () => { opened = await openTestStore('postgres'); });
  afterAll(async () => { await opened?.remove(); });

  it('is UNAVAILABLE, says to try again in a second, and writes nothing', async () => {
    const { store } = opened;
    await store.repos.settings.set('cycle-a', 'before');
    await store.repos.settings.set('cycle-b', 'before');
    let otherHasB!: () => void;
    const otherHoldsB = new Promise<void>((r) => (otherHasB = r));
    let storeHasA!: () => void;
    const storeHoldsA = new Promise<void>((r) => (storeHasA = r));
    // The other transaction waits far longer before looking for a cycle, so PostgreSQL ends the Store's.
    const other = store.db.transaction().execute(async (trx) => {
      await sql`set local deadlock_timeout = '60s'`.execute(trx);
      await trx.updateTable('key_values').set({ value: 'other' }).where('key', '=', 'cycle-b').execute();
      otherHasB();
      await storeHoldsA;
      await trx.updateTable('key_values').set({ value: 'other' }).where('key', '=', 'cycle-a').execute();
    });
    await otherHoldsB;
    const ended = await store.transaction(async (repos) => {
      await repos.settings.set('cycle-a', 'store');
      storeHasA();
      await repos.settings.set('cycle-b', 'store');
    }).then(() => null, (error: unknown) => error);
    await other;
    expect(ended).toBeInstanceOf(DomainError);
    expect((ended as DomainError).code).toBe('UNAVAILABLE');
    expect((ended as DomainError).details).toEqual({ retryAfterSeconds: 1 });
    expect((ended as DomainError).message).toBe('Someone changed the same records at the same moment, so nothing was changed. Try again.');
    expect(((ended as DomainError).cause as { code?: string }).code).toBe('40P01');
    expect([await store.repos.settings.get('cycle-a'), await store.repos.settings.get('cycle-b')]).toEqual(['other', 'other']);
  });

  it('a single statement outside any transaction that cannot have its row lock (55P03) is UNAVAILABLE too, once', async () => {
    const { store } = opened;
    await store.repos.settings.set('nowait', 'before');
    const release = await holdingChange(store.db, 'nowait');
    const ended = await sql`select value from key_values where key = ${'nowait'} for update nowait`.execute(store.db).then(() => null, (error: unknown) => error);
    await release();
    expect(ended).toBeInstanceOf(DatabaseUnavailableError);
    expect((ended as DomainError).code).toBe('UNAVAILABLE');
    expect((ended as DomainError).details).toEqual({ retryAfterSeconds: 1 });
    expect(((ended as DomainError).cause as { code?: string }).code).toBe('55P03');
    expect(await store.repos.settings.get('nowait')).toBe('other');
  });
});

describe('a PostgreSQL that refuses connections (stopped, restarting)', () => {
  it('is UNAVAILABLE, says to try again in a few seconds, and keeps the driver\'s error as its cause', async () => {
    // Nothing listens on port 1: the connection is refused, as while PostgreSQL restarts.
    const handle = openPostgres('postgres://postgres@127.0.0.1:1/strongroom', 1);
    try {
      const ended = await ping(handle.db).then(() => null, (error: unknown) => error);
      expect(ended).toBeInstanceOf(DatabaseUnavailableError);
      expect((ended as DomainError).code).toBe('UNAVAILABLE');
      expect((ended as DomainError).message).toBe('The database is not available at the moment. Try again in a few seconds.');
      expect((ended as DomainError).details).toEqual({ retryAfterSeconds: 5 });
      expect(((ended as DomainError).cause as { code?: string }).code).toBe('ECONNREFUSED');
    } finally {
      await handle.close();
    }
  });
});

/**
 * Sets `key` to 'other' in a transaction of `db` and keeps the transaction open (its row lock on
 * PostgreSQL, the file's write lock on SQLite) until the returned function is called, which commits it.
 */
async function holdingChange(db: Kysely<Schema>, key: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let changed!: () => void;
  const holding = new Promise<void>((r) => (changed = r));
  const committed = db.transaction().execute(async (trx) => {
    await trx.updateTable('key_values').set({ value: 'other' }).where('key', '=', key).execute();
    changed();
    await released;
  });
  await holding;
  return async () => {
    release();
    await committed;
  };
}

/**
 * A Store on a fresh SQLite file holding `busy` = 'before', and another connection to the same file (as
 * the CLI's would be). The Store waits a tenth of a second for the lock, not the service's five, to keep
 * the tests quick.
 */
async function withSecondConnection(work: (store: Store, other: DatabaseHandle) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sr-busy-'));
  const file = path.join(dir, 'test.db');
  const key = randomBytes(32);
  const handle = openSqlite({ file, key });
  const other = openSqlite({ file, key });
  try {
    await migrate(handle.db, handle.caps);
    const store = new Store(handle, randomBytes(32), undefined, randomSignInSeals());
    await store.repos.settings.set('busy', 'before');
    await sql`pragma busy_timeout = 100`.execute(handle.db);
    await work(store, other);
  } finally {
    await other.close();
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('a SQLite transaction that finds the file locked by another connection past its busy timeout', () => {
  it('is UNAVAILABLE, says to try again in a second, and writes nothing', () => withSecondConnection(async (store, other) => {
    // The other connection takes the write lock and keeps it.
    const release = await holdingChange(other.db, 'busy');
    const ended = await store.transaction(async (repos) => {
      await repos.settings.set('busy', 'store');
    }).then(() => null, (error: unknown) => error);
    await release();
    expect(ended).toBeInstanceOf(DomainError);
    expect((ended as DomainError).code).toBe('UNAVAILABLE');
    expect((ended as DomainError).details).toEqual({ retryAfterSeconds: 1 });
    expect(((ended as DomainError).cause as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
    expect(await store.repos.settings.get('busy')).toBe('other');
  }));
});

describe('a single SQLite statement outside any transaction that finds the file locked by another connection', () => {
  it('is UNAVAILABLE, translated once (its cause is SQLite\'s error), and writes nothing', () => withSecondConnection(async (store, other) => {
    // As `strongroom backup` or a sweep beside the server would: the write lock, taken at once and kept.
    await sql`begin immediate`.execute(other.db);
    const ended = await store.repos.settings.set('busy', 'store').then(() => null, (error: unknown) => error);
    await sql`rollback`.execute(other.db);
    expect(ended).toBeInstanceOf(DatabaseUnavailableError);
    expect((ended as DomainError).code).toBe('UNAVAILABLE');
    expect((ended as DomainError).message).toBe('Someone changed the same records at the same moment, so nothing was changed. Try again.');
    expect((ended as DomainError).details).toEqual({ retryAfterSeconds: 1 });
    expect(((ended as DomainError).cause as { code?: string }).code).toBe('SQLITE_BUSY');
    expect(await store.repos.settings.get('busy')).toBe('before');
  }));
});
