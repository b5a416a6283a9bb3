// An arrangement's step decided before its transaction is decided again inside it on the org admin as that
// transaction reads them (services/decided-within.ts), as records and administrators' changes are: an org admin
// switched off, or whose role was taken away, between the first decision and the commit proposes, amends,
// accepts, suspends, ends or reinstates nothing. Each case: the change to the admin lands in that moment
// (test/support/meanwhile.ts); the refusal is exact, it is the admin's only deny event, and the arrangement is as it was.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Actor, Arrangement } from '../../src/domain/types.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { beforeNextTransaction, changePerson, type ChangeMeanwhile } from '../support/meanwhile.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';

const clamd = useClamd();
const WEB = { channel: 'web' as const, clientAddress: null, requestId: null };
const SWITCHED_OFF = { code: 'UNAUTHENTICATED', message: 'Your account was switched off while this was being sent, so nothing was saved.' };
const NOT_AN_ADMIN = { code: 'INVALID', message: 'Only an org admin of a party can do that.' };

describe.each(DIALECTS)('an arrangement’s step decided again on its org admin as the transaction reads them, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  /** A host and a partner, each with the org admin acting and another who changes them meanwhile. */
  async function parties() {
    const host = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const partner = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const admins = async (org: TestOrganisation) => {
      const acting = await org.user({ roles: ['org_admin'] });
      const other = await org.user({ roles: ['org_admin'] });
      return { acting, other, actor: actorFor((await t.vault.identity.userById(acting.id))!, WEB) };
    };
    return { host, partner, hostAdmins: await admins(host), partnerAdmins: await admins(partner) };
  }

  const terms = (hostId: string, partnerId: string) => ({
    hostOrganisationId: hostId, partnerOrganisationIds: [partnerId], serviceArea: 'finance', purpose: 'Shared finance',
    lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
  });

  const denials = async (userId: string) =>
    (await eventsOf(t.vault, userId, { deny: true })).map((e) => ({ action: e.action, reason: e.reason }));

  async function refusedMeanwhile(admins: { acting: { id: string }; other: { id: string } }, change: ChangeMeanwhile, step: () => Promise<unknown>) {
    const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, admins.other.id, admins.acting.id, change));
    const refused = await step().then(() => null, (error: unknown) => error as { code: string; message: string });
    expect(meanwhile.ran()).toBe(true);
    return refused && { code: refused.code, message: refused.message };
  }

  const unchanged = async (before: Arrangement) => {
    const now = await t.vault.store.repos.arrangements.byId(before.id);
    expect({ status: now?.status, revision: now?.revision, acceptedBy: now?.acceptedBy, purpose: now?.purpose })
      .toEqual({ status: before.status, revision: before.revision, acceptedBy: before.acceptedBy, purpose: before.purpose });
  };

  it('proposes nothing for a host org admin whose role was taken away meanwhile (400)', async () => {
    const { host, partner, hostAdmins } = await parties();
    expect(await refusedMeanwhile(hostAdmins, 'role removed', () => t.vault.arrangements.propose(hostAdmins.actor, terms(host.id, partner.id))))
      .toEqual({ code: 'INVALID', message: 'Only an org admin of the host organisation can propose an arrangement.' });
    expect(await t.vault.store.repos.arrangements.involving([host.id])).toEqual([]);
    expect(await denials(hostAdmins.acting.id)).toEqual([{ action: 'arrangement.propose', reason: 'role' }]);
  });

  it.each([
    { change: 'switched off' as const, expected: SWITCHED_OFF, reason: 'account_disabled' },
    { change: 'role removed' as const, expected: NOT_AN_ADMIN, reason: 'role' },
  ])('records no acceptance for a partner org admin $change meanwhile', async ({ change, expected, reason }) => {
    const { host, partner, hostAdmins, partnerAdmins } = await parties();
    const draft = await t.vault.arrangements.propose(hostAdmins.actor, terms(host.id, partner.id));
    expect(await refusedMeanwhile(partnerAdmins, change, () => t.vault.arrangements.accept(partnerAdmins.actor, draft.id, { revision: draft.termsRevision }))).toEqual(expected);
    await unchanged(draft);
    expect(await denials(partnerAdmins.acting.id)).toEqual([{ action: 'arrangement.accept', reason }]);
  });

  it('amends nothing for a host org admin whose role was taken away meanwhile (400)', async () => {
    const { host, partner, hostAdmins } = await parties();
    const draft = await t.vault.arrangements.propose(hostAdmins.actor, terms(host.id, partner.id));
    expect(await refusedMeanwhile(hostAdmins, 'role removed', () => t.vault.arrangements.amend(hostAdmins.actor, draft.id, { purpose: 'Shared finance and payroll' }))).toEqual(NOT_AN_ADMIN);
    await unchanged(draft);
    expect(await denials(hostAdmins.acting.id)).toEqual([{ action: 'arrangement.amend', reason: 'role' }]);
  });

  /** An arrangement in force (approved by the operator), for the steps taken on one. */
  const inForce = async (hostId: string, partnerId: string) => t.vault.arrangements.propose(systemActor(), terms(hostId, partnerId), { approve: true });

  const steps: { step: string; change: ChangeMeanwhile; suspended: boolean; expected: { code: string; message: string }; reason: string; run: (actor: Actor, id: string) => Promise<unknown> }[] = [
    { step: 'suspend', change: 'switched off', suspended: false, expected: SWITCHED_OFF, reason: 'account_disabled', run: (actor, id) => t.vault.arrangements.suspend(actor, id) },
    { step: 'suspend', change: 'role removed', suspended: false, expected: NOT_AN_ADMIN, reason: 'role', run: (actor, id) => t.vault.arrangements.suspend(actor, id) },
    { step: 'end', change: 'role removed', suspended: false, expected: NOT_AN_ADMIN, reason: 'role', run: (actor, id) => t.vault.arrangements.end(actor, id) },
    { step: 'resume', change: 'switched off', suspended: true, expected: SWITCHED_OFF, reason: 'account_disabled', run: (actor, id) => t.vault.arrangements.resume(actor, id) },
  ];

  it.each(steps)('does not $step an arrangement for a host org admin $change meanwhile', async ({ step, change, suspended, expected, reason, run }) => {
    const { host, partner, hostAdmins } = await parties();
    let arrangement = await inForce(host.id, partner.id);
    if (suspended) arrangement = await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    expect(await refusedMeanwhile(hostAdmins, change, () => run(hostAdmins.actor, arrangement.id))).toEqual(expected);
    await unchanged(arrangement);
    expect(await denials(hostAdmins.acting.id)).toEqual([{ action: `arrangement.${step}`, reason }]);
  });
});
