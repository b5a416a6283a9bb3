// The arrangement lifecycle as the service applies it: each change's audit event is its step's
// (typed, not read from the revision's wording) and carries the decision that allowed it; an
// administrator at the command line is bound by the lifecycle too (a step from the wrong status is
// refused, and nothing is stored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { systemActor } from '../../src/services/identity.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

describe.each(DIALECTS)('the arrangement lifecycle on %s', (dialect) => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function eventsOf(arrangementId: string) {
    const rows = await t.vault.store.db.selectFrom('audit_events').selectAll().orderBy('id').execute();
    return rows
      .filter((e) => JSON.parse(e.target_ids).arrangementId === arrangementId)
      .map((e) => ({ action: e.action, decision: e.decision, reason: e.reason, revision: JSON.parse(e.target_ids).revision ?? null }));
  }

  it('names each change by its step and records the decision that allowed it', async () => {
    const [host, partner] = [await createOrganisation(t.vault), await createOrganisation(t.vault)];
    const hostAdmin = await host.user({ roles: ['org_admin'] });
    const partnerAdmin = await partner.user({ roles: ['org_admin'] });
    const proposed = await api(t.app, hostAdmin).post('arrangements', { partners: [partner.slug], serviceArea: 'payroll', purpose: 'Payroll', lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL' });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const id: string = proposed.json().id;
    expect((await api(t.app, hostAdmin).patch(`arrangements/${id}`, { accessLevel: 'contribute' })).statusCode).toBe(200);
    expect((await api(t.app, partnerAdmin).post(`arrangements/${id}/accept`, { revision: 2 })).statusCode).toBe(200);
    expect((await api(t.app, partnerAdmin).post(`arrangements/${id}/suspend`)).statusCode).toBe(200);
    expect((await api(t.app, hostAdmin).post(`arrangements/${id}/resume`)).statusCode).toBe(200);
    // Refused: the partner cannot reinstate or amend; audited as refusals of the action asked.
    expect((await api(t.app, partnerAdmin).patch(`arrangements/${id}`, { accessLevel: 'manage' })).statusCode).toBe(400);
    expect((await api(t.app, hostAdmin).post(`arrangements/${id}/end`)).statusCode).toBe(200);
    expect(await eventsOf(id)).toEqual([
      { action: 'arrangement.proposed', decision: 'allow', reason: 'host_admin', revision: '1' },
      { action: 'arrangement.amended', decision: 'allow', reason: 'host_admin', revision: '2' },
      { action: 'arrangement.accepted', decision: 'allow', reason: 'partner_admin', revision: '3' },
      { action: 'arrangement.suspended', decision: 'allow', reason: 'party_admin', revision: '4' },
      { action: 'arrangement.reinstated', decision: 'allow', reason: 'host_admin', revision: '5' },
      { action: 'arrangement.amend', decision: 'deny', reason: 'host_only', revision: null },
      { action: 'arrangement.ended', decision: 'allow', reason: 'party_admin', revision: '6' },
    ]);
    expect(((await api(t.app, hostAdmin).get(`arrangements/${id}`)).json().revisions as { change: string }[]).map((r) => r.change)).toEqual([
      'proposed', 'amended (partners must accept again)', 'accepted; now active', 'suspended', 'reinstated as draft (partners must accept again)', 'ended',
    ]);
  });

  it('binds an administrator at the command line to the lifecycle: no step from a status that does not allow it', async () => {
    const [host, partner] = [await createOrganisation(t.vault), await createOrganisation(t.vault)];
    const draft = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Payroll', lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    const refusal = async (work: Promise<unknown>) => work.then(() => null, (error: unknown) => (error instanceof DomainError ? [error.code, error.message] : error));
    expect(await refusal(t.vault.arrangements.suspend(systemActor(), draft.id))).toEqual(['INVALID', 'Only an active arrangement can be suspended.']);
    expect(await refusal(t.vault.arrangements.resume(systemActor(), draft.id))).toEqual(['INVALID', 'Only the host organisation can reinstate an arrangement, and only a suspended one.']);
    const ended = await t.vault.arrangements.end(systemActor(), draft.id);
    expect(ended).toMatchObject({ status: 'ended', revision: 2 });
    expect(await refusal(t.vault.arrangements.end(systemActor(), draft.id))).toEqual(['INVALID', 'This arrangement has already ended.']);
    expect(await refusal(t.vault.arrangements.createWorkspace(systemActor(), draft.id, 'Late'))).toEqual(['INVALID', 'Only the host organisation can set up a joint workspace, and not once the arrangement has ended.']);
    expect((await t.vault.arrangements.get(systemActor(), draft.id)).arrangement).toMatchObject({ status: 'ended', revision: 2 });
    expect((await eventsOf(draft.id)).map((e) => [e.action, e.reason])).toEqual([['arrangement.proposed', 'system'], ['arrangement.ended', 'system']]);
  });
});
