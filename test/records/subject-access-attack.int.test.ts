// Attacks on subject access requests from outside the design: a hold register's release of a request's
// hold, rows changed in the database (an item taken out put back, a request moved to another council, a
// part pointed at another hold), and what one council learns of another's people. Each test is one finding.
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { openSubjectAccess, subjectAccessWorld, type SubjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { unzip } from '../support/zip.js';

const clamd = useClamd();
const NOT_FOUND = 'No subject access request with that id exists, or you do not have access to it.';

describe.each(DIALECTS)('subject access requests attacked on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function world() {
    const w = await subjectAccessWorld(t);
    return { ...w, hostRecordsManager: await w.host.user({ roles: ['records_manager'], teams: ['payroll'] }) };
  }
  const open = (w: SubjectAccessWorld, partners?: string[]) => openSubjectAccess(t, w, partners);

  async function both(w: Awaited<ReturnType<typeof world>>) {
    const request = await open(w);
    expect((await api(t.app, w.hostDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.held] })).statusCode).toBe(200);
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/items`, { documentIds: [w.own] })).statusCode).toBe(200);
    const view = (await api(t.app, w.dpo).get(`subject-access/${request.id}`)).json();
    const holdOf = (orgId: string) => view.parts.find((p: { organisation: { id: string } }) => p.organisation.id === orgId).holdId as string;
    return { request, view, hostHold: holdOf(w.host.id), partnerHold: holdOf(w.partner.id) };
  }

  it('refuses to release an open request’s hold through the hold register, so its records cannot be deleted before it closes', async () => {
    const w = await world();
    const { request, hostHold } = await both(w);
    for (const user of [w.hostRecordsManager, w.hostDpo]) {
      const refused = expectProblem(await api(t.app, user).post(`holds/${hostHold}/release`, { reason: 'Tidying up the hold register' }), 409);
      expect(refused.detail).toBe(`The hold “Subject access request ${request.reference}” keeps records for an open subject access request; it is released when the request is closed.`);
    }
    expect((await t.vault.store.repos.holds.byId(hostHold))!.releasedAt).toBeNull();
    expectProblem(await api(t.app, w.hostStaff).delete(`documents/${w.held}`), 409);
    // Once the request is closed its hold is released with it, and the register has nothing left to release.
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/close`, { outcome: 'disclosed' })).statusCode).toBe(200);
    expect((await t.vault.store.repos.holds.byId(hostHold))!.releasedAt).not.toBeNull();
    expect(expectProblem(await api(t.app, w.hostRecordsManager).post(`holds/${hostHold}/release`, { reason: 'Tidying up the hold register' }), 409).detail).toContain('was already released');
    await t.vault.audit.sequencer.flush();
    const verified = await t.vault.audit.verification.verify(systemActor());
    expect(verified.ok, JSON.stringify(verified).slice(0, 2000)).toBe(true);
  });

  it('sends no record whose removal the audit log records, though its row says it was never removed', async () => {
    const w = await world();
    const { request } = await both(w);
    const item = (await api(t.app, w.hostDpo).get(`subject-access/${request.id}`)).json().items[0].id as string;
    expect((await api(t.app, w.hostDpo).delete(`subject-access/${request.id}/items/${item}`)).statusCode).toBe(204);
    await t.vault.store.db.updateTable('subject_access_items').set({ removed_at: null, removed_by: null }).where('id', '=', item).execute();
    const files = await unzip((await api(t.app, w.dpo).get(`subject-access/${request.id}/package`)).rawPayload);
    const index = JSON.parse(files.get('index.json')!.toString('utf8'));
    expect(index.records.map((r: { document: string | null; withheld: string | null }) => [r.document, r.withheld])).toEqual([
      [null, 'Its inclusion is not recorded in the audit log (the database was changed directly), so it is not sent.'],
      ['payslip-march.txt', null],
    ]);
    expect(files.get('index.csv')!.toString('utf8')).not.toContain('overtime-claims');
  });

  it('keeps a request moved to the partner council in the database from the partner’s DPO (404), its records unsent', async () => {
    const w = await world();
    const { request } = await both(w);
    await t.vault.store.db.updateTable('subject_access_requests').set({ organisation_id: w.host.id }).where('id', '=', request.id).execute();
    expect(expectProblem(await api(t.app, w.hostDpo).get(`subject-access/${request.id}/package`), 404).detail).toBe(NOT_FOUND);
    expect(expectProblem(await api(t.app, w.hostDpo).get(`subject-access/${request.id}`), 404).detail).toBe(NOT_FOUND);
    expectProblem(await api(t.app, w.hostDpo).post(`subject-access/${request.id}/close`, { outcome: 'disclosed' }), 404);
    expect((await api(t.app, w.hostDpo).get('subject-access')).json().requests).toEqual([]);
  });

  it('closing releases only the holds made for the request: not another hold a part’s row was pointed at in the database', async () => {
    const w = await world();
    const request = await open(w);
    const litigation = await api(t.app, w.hostRecordsManager).post('holds', { name: 'Smith v Council', reason: 'Employment tribunal claim 2026/114' });
    expect(litigation.statusCode, litigation.body).toBe(201);
    const litigationHold = litigation.json().id as string;
    expect((await api(t.app, w.hostRecordsManager).post(`holds/${litigationHold}/items`, { documentIds: [w.held] })).statusCode).toBe(200);
    await t.vault.store.db.updateTable('subject_access_parts').set({ hold_id: litigationHold }).where('request_id', '=', request.id).where('organisation_id', '=', w.host.id).execute();
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/close`, { outcome: 'nothing-held' })).statusCode).toBe(200);
    expect((await t.vault.store.repos.holds.byId(litigationHold))!.releasedAt).toBeNull();
    expectProblem(await api(t.app, w.hostStaff).delete(`documents/${w.held}`), 409);
    await t.vault.audit.sequencer.flush();
    const released = await t.vault.store.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'records.hold.release').execute();
    expect(released.filter((e) => String(e.target_ids).includes(litigationHold))).toEqual([]);
  });

  it('singles out no one of the other council: its people’s ids are not in the request, its parts or its records', async () => {
    const w = await world();
    const { request } = await both(w);
    expect((await api(t.app, w.hostDpo).post(`subject-access/${request.id}/searched`, {})).statusCode).toBe(200);
    const mine = (await api(t.app, w.dpo).get(`subject-access/${request.id}`)).json();
    const hostPart = mine.parts.find((p: { organisation: { id: string } }) => p.organisation.id === w.host.id);
    expect(hostPart.searchedAt).not.toBeNull();
    expect(hostPart.searchedBy).toBeNull();
    expect(mine.items.map((i: { organisationId: string; addedBy: string | null }) => [i.organisationId, i.addedBy])).toEqual([[w.host.id, null], [w.partner.id, w.dpo.id]]);
    expect(mine.openedBy).toBe(w.dpo.id);
    expect(JSON.stringify(mine)).not.toContain(w.hostDpo.id);

    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/close`, { outcome: 'disclosed' })).statusCode).toBe(200);
    const theirs = (await api(t.app, w.hostDpo).get(`subject-access/${request.id}`)).json();
    expect(theirs).toMatchObject({ role: 'partner', openedBy: null, closedBy: null, items: [{ addedBy: w.hostDpo.id }] });
    expect(theirs.parts[0].searchedBy).toBe(w.hostDpo.id);
    expect(JSON.stringify(theirs)).not.toContain(w.dpo.id);
    const listed = (await api(t.app, w.hostDpo).get('subject-access')).json().requests;
    expect(listed).toEqual([expect.objectContaining({ id: request.id, openedBy: null, closedBy: null })]);
    expect(JSON.stringify(listed)).not.toContain(w.dpo.id);
  });

  it('refuses a reference that names the person, since it goes in the partner’s e-mail, notifications and hold name', async () => {
    const w = await world();
    for (const reference of ['SAR Sam Smith 2026', 'SAR-SMITH-4411', 'smith, sam']) {
      const refused = expectProblem(await api(t.app, w.dpo).post('subject-access', { reference, subjectName: 'Sam Smith', receivedOn: '2026-10-31', partners: [w.host.slug] }), 400);
      expect(refused.detail).toBe('Leave the person’s name out of the reference: it goes in e-mails and notifications to partners and names the legal holds staff are told of.');
    }
    const notes = await t.vault.store.db.selectFrom('notifications').select('message').where('kind', '=', 'subject-access.asked').where('user_id', '=', w.hostDpo.id).execute();
    expect(notes).toEqual([]);
    expect((await api(t.app, w.dpo).get('subject-access')).json().requests).toEqual([]);
    // A reference that shares no word of the name is fine (a short word such as "Al" is not matched).
    const ok = await api(t.app, w.dpo).post('subject-access', { reference: 'SAR-2026-114 AL', subjectName: 'Al Smithson', receivedOn: '2026-10-31', partners: [w.host.slug] });
    expect(ok.statusCode, ok.body).toBe(201);
    const sent = await t.vault.store.db.selectFrom('notifications').select('message').where('kind', '=', 'subject-access.asked').where('user_id', '=', w.hostDpo.id).execute();
    expect(sent.map((n) => n.message).join('\n')).not.toMatch(/smithson/i);
  });

  it('tells a DPO below a record’s clearance nothing of it in their part, and does not let them take it out', async () => {
    const w = await world();
    const { request } = await both(w);
    // Payroll records are OFFICIAL-SENSITIVE; this DPO of the host is cleared to OFFICIAL only.
    const lowDpo = await w.host.user({ roles: ['dpo'], teams: ['payroll'], clearance: 'OFFICIAL' });
    const seen = (await api(t.app, lowDpo).get(`subject-access/${request.id}`)).json();
    expect(seen.items).toEqual([expect.objectContaining({ documentId: w.held, documentName: null, versionNumber: null, size: null })]);
    expect(JSON.stringify(seen)).not.toContain('overtime-claims');
    const refused = expectProblem(await api(t.app, lowDpo).delete(`subject-access/${request.id}/items/${seen.items[0].id}`), 404);
    expect(refused.detail).toBe('No record in this request with that id exists, or you do not have access to it.');
    expect((await api(t.app, w.hostDpo).get(`subject-access/${request.id}`)).json().items).toEqual([expect.objectContaining({ documentName: 'overtime-claims.txt' })]);
    // The requester's DPO still sees what the host's DPO sent.
    expect((await api(t.app, w.dpo).get(`subject-access/${request.id}`)).json().items.map((i: { documentName: string }) => i.documentName).sort()).toEqual(['overtime-claims.txt', 'payslip-march.txt']);
  });

  it('shows a request to no council whose part was written into the database, though it shares an arrangement with the requester', async () => {
    const w = await world();
    const request = await open(w);
    const third = await createOrganisation(t.vault);
    await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: third.id, partnerOrganisationIds: [w.partner.id], serviceArea: 'hr', purpose: 'Shared hr',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE',
    }, { approve: true });
    const thirdDpo = await third.user({ roles: ['dpo'], teams: ['hr'] });
    const thirdStaff = await third.user({ teams: ['hr'] });
    const theirs = (await upload(t.app, thirdStaff, third.collections.hr!, 'appraisal.txt', 'Appraisal\n')).json().id as string;
    await t.vault.store.db.insertInto('subject_access_parts').values({
      request_id: request.id, organisation_id: third.id, asked_by: w.dpo.id, asked_at: new Date().toISOString(), hold_id: null, searched_at: null, searched_by: null,
    }).execute();
    expect((await api(t.app, thirdDpo).get('subject-access')).json().requests).toEqual([]);
    expect(expectProblem(await api(t.app, thirdDpo).get(`subject-access/${request.id}`), 404).detail).toBe(NOT_FOUND);
    expect(expectProblem(await api(t.app, thirdDpo).post(`subject-access/${request.id}/items`, { documentIds: [theirs] }), 404).detail).toBe(NOT_FOUND);
    expect(expectProblem(await api(t.app, thirdDpo).post(`subject-access/${request.id}/searched`, {}), 404).detail).toBe(NOT_FOUND);
  });
});
