// Audit events written outside a transaction in the same turn of the event loop share one statement
// (src/db/coalesced-inserts.ts): each is stored once, in the order asked, each caller answered only
// after the commit; one caller's bad event fails that caller alone; inside a transaction an event is
// part of it at once.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { PendingAuditEvent } from '../../src/domain/repositories.js';
import { openTestStore, type TestStore } from '../support/store.js';
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

  it('stores events asked for together once each, in order, committed before any caller is answered', async () => {
    t = await openTestStore(dialect);
    const { store } = t;
    const reasons = ['first', 'second', 'third'];
    const seen: number[] = [];
    await Promise.all(reasons.map(async (reason) => {
      await store.repos.audit.insert([event(reason)]);
      // Answered only once committed: a reader on the same database sees the caller's event.
      const row = await store.db.selectFrom('audit_events').select('id').where('reason', '=', reason).executeTakeFirst();
      seen.push(row === undefined ? 0 : 1);
    }));
    expect(seen).toEqual([1, 1, 1]);
    const rows = await store.db.selectFrom('audit_events').select(['id', 'reason']).orderBy('id').execute();
    expect(rows.map((r) => r.reason)).toEqual(reasons);
    if (dialect === 'postgres') {
      // One statement, one transaction: the rows share the id of the transaction that wrote them.
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
