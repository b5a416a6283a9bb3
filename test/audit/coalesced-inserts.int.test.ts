// Audit events written outside a transaction in the same turn of the event loop share one transaction
// (src/db/coalesced-inserts.ts): each is stored once, in the order asked, each caller answered only
// after the commit; one caller's bad event fails that caller alone; closing the store writes what is
// still gathered; inside a transaction an event is part of it at once. On SQLite, events asked for
// while the write-ahead log's sync is in flight are gathered until it ends.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { inPowersOfTwo } from '../../src/db/repos/audit.repo.js';
import type { PendingAuditEvent } from '../../src/domain/repositories.js';
import { openTestStore, type TestStore } from '../support/store.js';
import { syncGate } from '../support/sync-gate.js';
import { DIALECTS } from '../support/vault.js';

function event(reason: string): PendingAuditEvent {
  return {
    time: new Date().toISOString(), actorUserId: randomUUID(), actorOrganisationId: randomUUID(), action: 'document.download',
    targetOrganisationId: randomUUID(), targetIds: { documentId: randomUUID() }, decision: 'allow', reason, arrangementId: null,
    channel: 'api', clientAddress: '192.0.2.1', requestId: randomUUID(),
  };
}

describe.each(DIALECTS)('coalesced audit inserts on %s', (dialect) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.remove();
    t = undefined;
  });

  it('cuts a batch into statements of powers of two, in order', () => {
    expect(inPowersOfTwo([1, 2, 3, 4, 5, 6, 7], 256)).toEqual([[1, 2, 3, 4], [5, 6], [7]]);
    expect(inPowersOfTwo([1, 2, 3, 4], 256)).toEqual([[1, 2, 3, 4]]);
    expect(inPowersOfTwo([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(inPowersOfTwo([], 256)).toEqual([]);
  });

  it('stores events asked for together once each, in order, committed before any caller is answered', async () => {
    t = await openTestStore(dialect);
    const { store } = t;
    // Seven: statements of four, two and one, in one transaction.
    const reasons = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh'];
    const seen: number[] = [];
    await Promise.all(reasons.map(async (reason) => {
      await store.repos.audit.insert([event(reason)]);
      // Answered only once committed: a reader on the same database sees the caller's event.
      const row = await store.db.selectFrom('audit_events').select('id').where('reason', '=', reason).executeTakeFirst();
      seen.push(row === undefined ? 0 : 1);
    }));
    expect(seen).toEqual(reasons.map(() => 1));
    const rows = await store.db.selectFrom('audit_events').select(['id', 'reason']).orderBy('id').execute();
    expect(rows.map((r) => r.reason)).toEqual(reasons);
    if (dialect === 'postgres') {
      // One transaction: the rows share the id of the transaction that wrote them.
      const writers = await sql<{ xmin: string }>`select distinct xmin::text as xmin from audit_events`.execute(store.db);
      expect(writers.rows).toHaveLength(1);
    }
  });

  it('refuses only the caller whose event is bad input, and stores the others', async () => {
    t = await openTestStore(dialect);
    const { store } = t;
    const answers = await Promise.all(['kept', 'bad\u0000reason', 'also kept'].map((reason) =>
      store.repos.audit.insert([event(reason)]).then(() => 'stored', (error: { code?: string }) => error.code)));
    expect(answers).toEqual(['stored', 'INVALID', 'stored']);
    const rows = await store.db.selectFrom('audit_events').select('reason').orderBy('id').execute();
    expect(rows.map((r) => r.reason)).toEqual(['kept', 'also kept']);
  });

  it('refuses only the caller whose event the database refuses, and stores the others', async () => {
    t = await openTestStore(dialect);
    const { store } = t;
    // A NOT NULL column left empty: refused by the database itself, not before the statement runs.
    const refused = { ...event('refused'), action: null as unknown as string };
    const answers = await Promise.all([event('kept'), refused, event('also kept')].map((e) =>
      store.repos.audit.insert([e]).then(() => 'stored', () => 'refused')));
    expect(answers).toEqual(['stored', 'refused', 'stored']);
    const rows = await store.db.selectFrom('audit_events').select('reason').orderBy('id').execute();
    expect(rows.map((r) => r.reason)).toEqual(['kept', 'also kept']);
  });

  it('writes what is still gathered when the store is closed, before the connection goes', async () => {
    t = await openTestStore(dialect);
    const written = t.store.repos.audit.insert([event('last words')]);
    await t.store.close();
    await expect(written).resolves.toBeUndefined();
  });

  it('inside a transaction writes at once, as part of it, and a rollback takes the event with it', async () => {
    t = await openTestStore(dialect);
    const { store } = t;
    const inside = await store.transaction(async (repos) => {
      await repos.audit.insert([event('in the transaction')]);
      return (await repos.audit.unsequenced(10)).map((e) => e.event.reason);
    });
    expect(inside).toEqual(['in the transaction']);
    await expect(store.transaction(async (repos) => {
      await repos.audit.insert([event('rolled back')]);
      throw new Error('changed its mind');
    })).rejects.toThrow('changed its mind');
    const rows = await store.db.selectFrom('audit_events').select('reason').execute();
    expect(rows.map((r) => r.reason)).toEqual(['in the transaction']);
  });
});

// PostgreSQL flushes its WAL in each commit: there is no sync in flight to gather behind.
describe('coalesced audit inserts on sqlite, behind the log\'s sync', () => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.remove();
    t = undefined;
  });

  /** A store with one event written, and the sync that makes it durable begun and held. */
  async function syncHeldAfterAnEvent() {
    const gate = syncGate();
    t = await openTestStore('sqlite', { syncDatabaseLog: gate.sync });
    const { store } = t;
    await store.repos.audit.insert([event('before')]);
    gate.hold();
    const syncing = store.durable();
    await expect.poll(() => gate.held).toBe(1);
    return { gate, store, syncing };
  }

  it('gathers the events asked for while the log\'s sync is in flight, over several turns, and commits them when it ends', async () => {
    const { gate, store, syncing } = await syncHeldAfterAnEvent();
    let answered = 0;
    const inserts: Promise<void>[] = [];
    for (const reason of ['a', 'b', 'c']) {
      inserts.push(store.repos.audit.insert([event(reason)]).then(() => void answered++));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    const whileSyncing = await store.db.selectFrom('audit_events').select('reason').orderBy('id').execute();
    expect(whileSyncing.map((r) => r.reason), 'committed while the sync was in flight').toEqual(['before']);
    expect(answered).toBe(0);
    gate.release();
    await syncing;
    await Promise.all(inserts);
    const rows = await store.db.selectFrom('audit_events').select('reason').orderBy('id').execute();
    expect(rows.map((r) => r.reason)).toEqual(['before', 'a', 'b', 'c']);
    await store.durable();
    expect(gate.asked, 'one more sync covers the gathered events').toBe(2);
  });

  it('does not hang a transaction that awaits durability while events are gathered behind the sync', async () => {
    // The gathered events commit only when the connection is free; a transaction holding it that
    // waits for durable() must not wait for them (GATHERED_COMMIT_WAIT_MS).
    const { gate, store, syncing } = await syncHeldAfterAnEvent();
    const gathered = store.repos.audit.insert([event('gathered')]);
    await new Promise((resolve) => setImmediate(resolve));
    await store.db.updateTable('audit_events').set({ request_id: 'touched' }).where('reason', '=', 'before').execute();
    const inTransaction = store.db.transaction().execute(async (trx) => {
      await trx.selectFrom('audit_events').select('id').execute();
      gate.release();
      await store.durable();
      return 'done';
    });
    await expect(inTransaction).resolves.toBe('done');
    await syncing;
    await gathered;
    const rows = await store.db.selectFrom('audit_events').select('reason').orderBy('id').execute();
    expect(rows.map((r) => r.reason)).toEqual(['before', 'gathered']);
  });
});
