// Derived facts follow place and name: moving a collection out of a joint workspace unshares it and
// everything in it; a document takes the classification floor of where it goes; moving into another
// organisation's folder looks like absence; renaming cannot get around the file-type policy; a copy
// made from a partner's document records where it came from, for the partner's auditor too.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, upload, createPartnership } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('place and name of documents and collections on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** Host and partner in a payroll arrangement at `level`, with a joint workspace. */
  async function sharedService(level: 'read' | 'contribute' | 'manage') {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: level, ceiling: 'OFFICIAL-SENSITIVE' });
    const workspace = await t.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint payroll');
    const hostStaff = await host.user({ teams: ['payroll', 'finance'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    return { host, partner, arrangement, workspace, hostStaff, partnerStaff };
  }

  it('unshares a workspace sub-collection moved into an internal folder, with everything in it and added after', async () => {
    const s = await sharedService('manage');
    const hostApi = api(t.app, s.hostStaff);
    const partnerApi = api(t.app, s.partnerStaff);
    const bids = (await hostApi.post('collections', { name: 'Bids', parentId: s.workspace.id, serviceArea: 'payroll', classification: 'OFFICIAL' })).json();
    const deeper = (await hostApi.post('collections', { name: 'Round 1', parentId: bids.id, serviceArea: 'payroll', classification: 'OFFICIAL' })).json();
    const before = (await upload(t.app, s.partnerStaff, deeper.id, 'partner-bid.txt', 'our bid\n')).json();
    expect((await partnerApi.get(`documents/${before.id}`)).statusCode).toBe(200);

    const moved = await hostApi.patch(`collections/${bids.id}`, { parentId: s.host.collections.payroll });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ id: bids.id, parentId: s.host.collections.payroll, arrangementId: null, classification: 'OFFICIAL-SENSITIVE' });
    const after = (await upload(t.app, s.hostStaff, deeper.id, 'internal-bid.txt', 'internal only\n')).json();

    for (const id of [bids.id, deeper.id]) expectProblem(await partnerApi.get(`collections/${id}`), 404);
    for (const id of [before.id, after.id]) {
      expectProblem(await partnerApi.get(`documents/${id}`), 404);
      expectProblem(await partnerApi.get(`documents/${id}/content`), 404);
      expectProblem(await partnerApi.put(`documents/${id}/content`, 'overwritten'), 404);
      expectProblem(await partnerApi.patch(`documents/${id}`, { name: 'renamed.txt' }), 404);
      expectProblem(await partnerApi.delete(`documents/${id}`), 404);
    }
    expectProblem(await upload(t.app, s.partnerStaff, deeper.id, 'planted.txt', 'x'), 404);
    // The facts moved with it: nothing below keeps the old binding.
    for (const id of [before.id, after.id]) {
      expect((await hostApi.get(`documents/${id}`)).json()).toMatchObject({ version: 1, deletedAt: null, classification: 'OFFICIAL-SENSITIVE' });
    }
    expect((await hostApi.get(`collections/${deeper.id}`)).json()).toMatchObject({ arrangementId: null, classification: 'OFFICIAL-SENSITIVE' });
  });

  it('binds a collection moved into the workspace to the arrangement, and only the host may move it', async () => {
    const s = await sharedService('manage');
    const hostApi = api(t.app, s.hostStaff);
    const notes = (await hostApi.post('collections', { name: 'Notes', parentId: s.host.collections.payroll, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' })).json();
    // The partner cannot see it, so cannot move it either, and learns nothing.
    expectProblem(await api(t.app, s.partnerStaff).patch(`collections/${notes.id}`, { parentId: s.workspace.id }), 404);
    const moved = await hostApi.patch(`collections/${notes.id}`, { parentId: s.workspace.id, name: 'Shared notes' });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ name: 'Shared notes', arrangementId: s.arrangement.id });
    expect((await api(t.app, s.partnerStaff).get(`collections/${notes.id}`)).statusCode).toBe(200);
  });

  it('raises a document moved into an OFFICIAL-SENSITIVE folder to that classification, and does not lower it on the way back', async () => {
    const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const staff = await org.user({ teams: ['finance'] });
    const as = api(t.app, staff);
    const sensitive = (await as.post('collections', { name: 'Sensitive', parentId: org.collections.finance, serviceArea: 'finance', classification: 'OFFICIAL-SENSITIVE' })).json();
    const doc = (await upload(t.app, staff, org.collections.finance!, 'budget.csv', 'a,b\n1,2\n')).json();
    expect((await as.get(`documents/${doc.id}`)).json().classification).toBe('OFFICIAL');

    const moved = await as.patch(`documents/${doc.id}`, { collectionId: sensitive.id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ collectionId: sensitive.id, classification: 'OFFICIAL-SENSITIVE' });
    // An OFFICIAL-cleared colleague in the same team can no longer see it.
    const official = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    expectProblem(await api(t.app, official).get(`documents/${doc.id}`), 404);

    const back = await as.patch(`documents/${doc.id}`, { collectionId: org.collections.finance });
    expect(back.json()).toMatchObject({ collectionId: org.collections.finance, classification: 'OFFICIAL-SENSITIVE' });
  });

  it('answers 404 and audits a denial when moving one’s own document into another organisation’s folder', async () => {
    const home = await createOrganisation(t.vault);
    const staff = await home.user({ teams: ['payroll'], roles: ['member', 'records_manager', 'org_admin'] });
    const other = await createOrganisation(t.vault);
    const doc = (await upload(t.app, staff, home.collections.payroll!, 'slip.csv', 'a,b\n')).json();

    const res = await api(t.app, staff).patch(`documents/${doc.id}`, { collectionId: other.collections.payroll });
    const problem = expectProblem(res, 404);
    expect(problem.detail).not.toMatch(/organisation/i);
    const never = await api(t.app, staff).patch(`documents/${doc.id}`, { collectionId: '00000000-0000-4000-8000-000000000000' });
    expect(expectProblem(never, 404).detail).toBe(problem.detail);

    expect((await api(t.app, staff).get(`documents/${doc.id}`)).json()).toMatchObject({ collectionId: home.collections.payroll, name: 'slip.csv' });
    const denials = await t.vault.store.db.selectFrom('audit_events').selectAll()
      .where('actor_user_id', '=', staff.id).where('decision', '=', 'deny').execute();
    const denial = denials.find((e) => JSON.parse(e.target_ids).collectionId === other.collections.payroll);
    expect(denial).toBeDefined();
    expect(JSON.parse(denial!.target_ids)).toMatchObject({ documentId: doc.id, collectionId: other.collections.payroll });
    expect(await t.vault.store.db.selectFrom('documents').select('id').where('collection_id', '=', other.collections.payroll!).execute()).toEqual([]);
  });

  it.each(['payroll.bat', 'payroll.vbs', 'PAYROLL.BAT'])('refuses to rename x.txt to %s (422) and changes nothing', async (name) => {
    const org = await createOrganisation(t.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const as = api(t.app, staff);
    const doc = (await upload(t.app, staff, org.collections.payroll!, 'payroll.txt', 'echo hello\r\n')).json();
    const before = (await as.get(`documents/${doc.id}`)).json();

    const problem = expectProblem(await as.patch(`documents/${doc.id}`, { name }), 422);
    expect(problem.code).toBe('script');
    expect((await as.get(`documents/${doc.id}`)).json()).toEqual(before);
    const blocked = await t.vault.store.db.selectFrom('audit_events').selectAll()
      .where('actor_user_id', '=', staff.id).where('decision', '=', 'deny').where('action', '=', 'document.rename-blocked').execute();
    expect(blocked.map((e) => JSON.parse(e.target_ids).documentId)).toEqual([doc.id]);
  });

  it('refuses to copy a document to a blocked name and stores nothing', async () => {
    const org = await createOrganisation(t.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, staff, org.collections.payroll!, 'run.txt', 'echo hi\r\n')).json();
    const res = await api(t.app, staff).post(`documents/${doc.id}/copy`, { collectionId: org.collections.payroll, name: 'run.cmd' });
    expectProblem(res, 422);
    const listing = (await api(t.app, staff).get(`collections/${org.collections.payroll}`)).json();
    expect(listing.documents.map((d: { name: string }) => d.name)).toEqual(['run.txt']);
  });

  it('records the provenance of a copy made from a partner’s document, visible to the partner’s auditor', async () => {
    const s = await sharedService('read');
    const partnerAuditor = await s.partner.user({ roles: ['auditor'] });
    const source = (await upload(t.app, s.partnerStaff, s.partner.collections.payroll!, 'ledger.csv', 'month,total\n1,100\n')).json();

    const res = await api(t.app, s.hostStaff).post(`documents/${source.id}/copy`, { collectionId: s.host.collections.payroll });
    expect(res.statusCode, res.body).toBe(201);
    const copy = res.json();
    expect(copy).toMatchObject({ organisationId: s.host.id, name: 'ledger.csv', copiedFromDocumentId: source.id, copiedViaArrangementId: s.arrangement.id });
    expect((await api(t.app, s.hostStaff).get(`documents/${copy.id}`)).json()).toMatchObject({ copiedFromDocumentId: source.id, copiedViaArrangementId: s.arrangement.id });
    expect((await api(t.app, s.hostStaff).get(`documents/${copy.id}/content`)).body).toBe('month,total\n1,100\n');

    await t.vault.audit.sequencer.integrate();
    const seen = (await api(t.app, partnerAuditor).get(`audit/events?document=${source.id}&action=document.copy`)).json().events;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ targetOrganisationId: s.partner.id, arrangementId: s.arrangement.id, actorUserId: s.hostStaff.id, decision: 'allow' });
    expect(seen[0].targetIds).toMatchObject({ documentId: source.id, copyDocumentId: copy.id, copyOrganisationId: s.host.id });
    // The source is untouched.
    expect((await api(t.app, s.partnerStaff).get(`documents/${source.id}`)).json()).toMatchObject({ deletedAt: null, version: 1 });
  });

  it('refuses a copy the actor may not read, or into a folder they may not add to, with 404 and nothing stored', async () => {
    const s = await sharedService('read');
    const source = (await upload(t.app, s.partnerStaff, s.partner.collections.payroll!, 'ledger.csv', 'x\n')).json();
    // The partner cannot add to the host's internal payroll, and reads the host's hr nothing.
    expectProblem(await api(t.app, s.partnerStaff).post(`documents/${source.id}/copy`, { collectionId: s.host.collections.payroll }), 404);
    const hostHr = (await upload(t.app, await s.host.user({ teams: ['hr'] }), s.host.collections.hr!, 'staff.csv', 'x\n')).json();
    expectProblem(await api(t.app, s.partnerStaff).post(`documents/${hostHr.id}/copy`, { collectionId: s.partner.collections.payroll }), 404);
    // A read-only partner arrangement does not let the host move the partner's record away.
    expectProblem(await api(t.app, s.hostStaff).patch(`documents/${source.id}`, { collectionId: s.host.collections.payroll }), 404);
    expect((await api(t.app, s.partnerStaff).get(`collections/${s.partner.collections.payroll}`)).json().documents).toHaveLength(1);
    expect((await api(t.app, s.hostStaff).get(`collections/${s.host.collections.payroll}`)).json().documents).toHaveLength(0);
  });
});
