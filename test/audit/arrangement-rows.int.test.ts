// A database administrator (any row, but neither the master key nor the signing key) opens one
// council's documents to another by writing arrangement rows: a partner added and accepted, a
// ceiling raised, a whole arrangement inserted. The policy reads those rows, so the access works;
// what must not happen is that it leaves no trace: `audit verify` fails and names the arrangement.
import { afterEach, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('arrangement rows written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** A host sharing payroll (OFFICIAL only, read) with one partner, an OFFICIAL-SENSITIVE payslip, and a third council. */
  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const host = await createOrganisation(t.vault);
    const partner = await createOrganisation(t.vault);
    const third = await createOrganisation(t.vault);
    const arrangement = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Shared payroll',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    }, { approve: true });
    const workspace = await t.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint payroll');
    const hostStaff = await host.user({ teams: ['payroll'] });
    const payslip = (await upload(t.app, hostStaff, workspace.id, 'payslips.csv', 'name,pay\nA,1\n')).json();
    expect((await api(t.app, hostStaff).post(`documents/${payslip.id}/classification`, { classification: 'OFFICIAL-SENSITIVE', reason: 'Pay details' })).statusCode).toBe(200);
    const doc = (await api(t.app, hostStaff).get(`documents/${payslip.id}`)).json();
    await t.vault.audit.sequencer.flush();
    expect((await t.vault.audit.verification.verify(systemActor())).ok).toBe(true);
    return { t, host, partner, third, arrangement, doc, partnerStaff: await partner.user({ teams: ['payroll'] }), thirdStaff: await third.user({ teams: ['payroll'] }) };
  }

  async function expectVerifyNames(v: TestVault, arrangementId: string) {
    const check = await v.vault.audit.verification.verify(systemActor());
    expect(check.ok).toBe(false);
    const problem = check.ok ? '' : check.problem;
    expect(problem).toContain(`Arrangement ${arrangementId}`);
    expect(problem).toContain('in the database directly, not by Strongroom');
  }

  it('an honest life of an arrangement (amended, accepted, suspended) verifies', async () => {
    const s = await setting();
    await s.t.vault.arrangements.suspend(systemActor(), s.arrangement.id);
    await s.t.vault.arrangements.resume(systemActor(), s.arrangement.id);
    const amended = await s.t.vault.arrangements.amend(systemActor(), s.arrangement.id, { partnerOrganisationIds: [s.partner.id, s.third.id] });
    await s.t.vault.arrangements.accept(systemActor(), s.arrangement.id, { revision: amended.revision, partnerOrganisationId: s.partner.id });
    await s.t.vault.arrangements.accept(systemActor(), s.arrangement.id, { revision: amended.revision, partnerOrganisationId: s.third.id });
    expect((await api(s.t.app, s.thirdStaff).get(`documents/${s.doc.id}`)).statusCode).toBe(404);
    await s.t.vault.audit.sequencer.flush();
    expect(await s.t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('a third council added as an accepted partner is named by verify', async () => {
    const s = await setting();
    await s.t.vault.store.db.insertInto('arrangement_parties').values({ arrangement_id: s.arrangement.id, organisation_id: s.third.id, accepted_at: new Date().toISOString(), accepted_by: null }).execute();
    await s.t.vault.store.db.updateTable('arrangements').set({ ceiling: 'OFFICIAL-SENSITIVE' }).where('id', '=', s.arrangement.id).execute();
    // The policy reads the rows: the access works, which is why it must not go unnoticed.
    expect((await api(s.t.app, s.thirdStaff).get(`documents/${s.doc.id}`)).statusCode).toBe(200);
    await expectVerifyNames(s.t, s.arrangement.id);
  });

  it("a raised ceiling is named by verify", async () => {
    const s = await setting();
    expect((await api(s.t.app, s.partnerStaff).get(`documents/${s.doc.id}`)).statusCode).toBe(404);
    await s.t.vault.store.db.updateTable('arrangements').set({ ceiling: 'OFFICIAL-SENSITIVE' }).where('id', '=', s.arrangement.id).execute();
    expect((await api(s.t.app, s.partnerStaff).get(`documents/${s.doc.id}`)).statusCode).toBe(200);
    await expectVerifyNames(s.t, s.arrangement.id);
  });

  it('a whole arrangement inserted is named by verify', async () => {
    const s = await setting();
    const db = s.t.vault.store.db;
    const row = await db.selectFrom('arrangements').selectAll().where('id', '=', s.arrangement.id).executeTakeFirstOrThrow();
    const id = '00000000-0000-4000-8000-00000000dba1';
    await db.insertInto('arrangements').values({ ...row, id, ceiling: 'OFFICIAL-SENSITIVE', revision: 1, terms_revision: 1 }).execute();
    await db.insertInto('arrangement_parties').values({ arrangement_id: id, organisation_id: s.third.id, accepted_at: new Date().toISOString(), accepted_by: null }).execute();
    await expectVerifyNames(s.t, id);
  });
});
