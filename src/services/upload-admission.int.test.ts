// Upload admission over the database, on both dialects: each level of the limit is enforced on its
// own, a refusal takes nothing, releasing gives the slot back (on its own, or in the write's own
// transaction, and then only if that commits), a running upload's slot is kept alive by its heartbeat,
// and a slot whose lease ended (its process crashed) counts for nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { systemClock } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { openTestStore, type TestStore } from '../../test/support/store.js';
import { DIALECTS } from '../../test/support/vault.js';
import { UploadAdmission, type UploadLease } from './upload-admission.js';

const person = (userId: string | null, clientAddress: string | null = '192.0.2.1'): Actor => ({
  kind: 'user', userId, organisationId: 'org-a', roles: ['member'], teams: [], clearance: 'OFFICIAL', channel: 'api', clientAddress, requestId: null,
});

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (error instanceof DomainError) return error;
  throw error ?? new Error('expected a refusal');
}

describe.each(DIALECTS)('UploadAdmission on %s', (dialect) => {
  const limits = { perAccount: 2, perClient: 3, perOrganisation: 4, total: 5, retryAfterSeconds: 7 };
  let t: TestStore;
  const held: UploadLease[] = [];
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map((lease) => lease.release()));
  });
  afterAll(async () => {
    await t?.remove();
  });

  const admission = (leaseMs?: number) => new UploadAdmission(limits, { store: t.store, clock: systemClock, ...(leaseMs ? { leaseMs } : {}) });
  /** Every test starts from an empty table (the total counts everyone) and uses unique names. */
  const u = () => `u-${randomUUID()}`;
  const admit = async (a: UploadAdmission, actor: Actor, organisationId: string) => {
    const lease = await a.admit(actor, organisationId);
    held.push(lease);
    return lease;
  };
  const liveSlots = async () => (await t.store.repos.uploadSlots.live(new Date().toISOString())).length;

  it('refuses the account over its share with RATE_LIMITED and a Retry-After, taking nothing', async () => {
    const a = admission();
    const [me, colleague, third] = [u(), u(), u()];
    const first = await admit(a, person(me, 'a'), 'org-a');
    await admit(a, person(me, 'a'), 'org-a');
    const error = await refusal(a.admit(person(me, 'a'), 'org-a'));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 7, limit: 'account' } });
    expect(error.message).toBe('You already have 2 uploads in progress. Wait for one of them to finish, then try again.');
    expect(await liveSlots()).toBe(2);
    // The refused attempt took no client or organisation slot: a colleague on the same address still gets in.
    await admit(a, person(colleague, 'a'), 'org-a');
    expect(await refusal(a.admit(person(third, 'a'), 'org-a'))).toMatchObject({ details: { limit: 'client' } });
    await first.release();
    await first.release(); // twice is harmless
    expect(await liveSlots()).toBe(2);
    await admit(a, person(me, 'a'), 'org-a');
    expect(await liveSlots()).toBe(3);
  });

  it('bounds an organisation and the whole service, whoever the people are', async () => {
    const a = admission();
    for (let i = 0; i < 4; i++) await admit(a, person(u(), `c${i}`), 'org-a');
    expect(await refusal(a.admit(person(u(), 'c9'), 'org-a'))).toMatchObject({ details: { limit: 'organisation' } });
    await admit(a, person(u(), 'd1'), 'org-b');
    const error = await refusal(a.admit(person(u(), 'd2'), 'org-c'));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'total' } });
    expect(await liveSlots()).toBe(5);
  });

  it('counts people without an address (the CLI) by account only, and a system actor by organisation and total', async () => {
    const a = admission();
    for (let i = 0; i < 4; i++) await admit(a, person(u(), null), 'org-a');
    expect(await refusal(a.admit(person(null, null), 'org-a'))).toMatchObject({ details: { limit: 'organisation' } });
    await admit(a, person(null, null), 'org-b');
    expect(await liveSlots()).toBe(5);
  });

  it('gives the slot back inside the write’s transaction, so the two commit together', async () => {
    const a = admission();
    const me = u();
    const lease = await admit(a, person(me, 'w'), 'org-w');
    const seen = await lease.releaseWith(async (repos) => {
      // Still held while the write runs: the release is the transaction's last statement.
      const inside = (await repos.uploadSlots.live(new Date().toISOString())).length;
      await repos.settings.set(`release-with-${me}`, 'written');
      return inside;
    });
    expect(seen).toBe(1);
    expect(await liveSlots()).toBe(0);
    expect(await t.store.repos.settings.get(`release-with-${me}`)).toBe('written');
    await lease.release(); // afterwards harmless, and takes no one else's slot
    await admit(a, person(me, 'w'), 'org-w');
    expect(await liveSlots()).toBe(1);
  });

  it('gives the slot back on its own when the write’s transaction fails, and rethrows its error', async () => {
    const a = admission();
    const me = u();
    const lease = await admit(a, person(me, 'f'), 'org-f');
    const failure = await lease.releaseWith(async (repos) => {
      await repos.settings.set(`release-with-${me}`, 'rolled back');
      throw new DomainError('CONFLICT', 'Another version was saved at the same moment; try again.');
    }).then(() => undefined, (e: unknown) => e);
    expect(failure).toMatchObject({ code: 'CONFLICT', message: 'Another version was saved at the same moment; try again.' });
    expect(await t.store.repos.settings.get(`release-with-${me}`)).toBeUndefined();
    expect(await liveSlots()).toBe(0);
  });

  it('keeps a running upload’s slot alive past its lease by the heartbeat, and frees it on release', { timeout: 20_000 }, async () => {
    const a = admission(300);
    const me = u();
    const lease = await admit(a, person(me, 'h'), 'org-h');
    // Read while this lease's slot is the only one: with two, the order of live() is not the order of admission.
    const [before] = await t.store.repos.uploadSlots.live(new Date().toISOString());
    await admit(a, person(me, 'h'), 'org-h');
    expect(before).toMatchObject({ holder: a.holder, accountId: me, clientAddress: 'h', organisationId: 'org-h' });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // Four leases long: without renewal both slots would have lapsed and a third upload would get in.
    expect(await refusal(a.admit(person(me, 'h'), 'org-h'))).toMatchObject({ details: { limit: 'account' } });
    const after = (await t.store.repos.uploadSlots.live(new Date().toISOString())).find((s) => s.id === before!.id);
    expect(after!.expiresAt > before!.expiresAt).toBe(true);
    await lease.release();
    expect((await t.store.repos.uploadSlots.live(new Date().toISOString())).map((s) => s.id)).not.toContain(before!.id);
    await admit(a, person(me, 'h'), 'org-h');
  });

  it('does not count a slot whose lease ended (its process crashed), and sweeps it', async () => {
    const me = u();
    const now = Date.now();
    for (const id of [randomUUID(), randomUUID()]) {
      await t.store.repos.uploadSlots.insert({
        id, holder: 'crashed-process', accountId: me, clientAddress: 'x', organisationId: 'org-x',
        acquiredAt: new Date(now - 120_000).toISOString(), expiresAt: new Date(now - 60_000).toISOString(),
      });
    }
    const a = admission();
    await admit(a, person(me, 'x'), 'org-x');
    await admit(a, person(me, 'x'), 'org-x');
    const rows = await t.store.db.selectFrom('upload_slots').select('holder').execute();
    expect(rows.map((r) => r.holder)).toEqual([a.holder, a.holder]);
  });

  it('still locks when the admission row was deleted by hand: the lock puts it back and counts on it', async () => {
    await t.store.db.deleteFrom('upload_admission').execute();
    const a = admission();
    const me = u();
    await admit(a, person(me, 'y'), 'org-y');
    // An update-only lock would have matched no row (and on PostgreSQL locked nothing): the row is back.
    expect(await t.store.db.selectFrom('upload_admission').select(['id', 'admissions']).execute()).toEqual([{ id: 1, admissions: 1 }]);
    await admit(a, person(me, 'y'), 'org-y');
    expect(Number((await t.store.db.selectFrom('upload_admission').select('admissions').executeTakeFirstOrThrow()).admissions)).toBe(2);
    expect(await refusal(a.admit(person(me, 'y'), 'org-y'))).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'account' } });
  });
});
