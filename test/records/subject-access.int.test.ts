// Subject access requests across partners, through the REST API as DPOs use them: the requester's DPO opens
// a request (due a calendar month on, on a working day), asks the council it shares payroll with, and both
// answer with their own records, each held while the request is open. The response package carries both
// parts' files. Hostile cases: staff who are not DPOs, a third council with no arrangement, a partner's DPO
// after suspension, a DPO including another council's record, and an item row written into the database.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { openSubjectAccess, subjectAccessWorld, type SubjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { unzip } from '../support/zip.js';

const clamd = useClamd();
const NOT_FOUND = 'No subject access request with that id exists, or you do not have access to it.';

describe.each(DIALECTS)('subject access requests on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  const world = () => subjectAccessWorld(t);
  const open = (w: SubjectAccessWorld, partners?: string[]) => openSubjectAccess(t, w, partners);

  async function events(requestId: string) {
    await t.vault.audit.sequencer.flush();
    const rows = await t.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'reason', 'target_ids', 'actor_user_id']).orderBy('id').execute();
    return rows.filter((r) => String(r.target_ids).includes(requestId));
  }

  it('opens a request due a calendar month on, asks the partner, and both parts answer with their own held records', async () => {
    const w = await world();
    const request = await open(w);
    // 31 October plus a month is 30 November (no 31st), a Monday in England.
    expect(request).toMatchObject({ subjectName: 'Sam Smith', receivedOn: '2026-10-31', dueOn: '2026-11-30', currentDueOn: '2026-11-30', status: 'open', role: 'requester' });
    expect(request.parts.map((p: { organisation: { id: string } }) => p.organisation.id)).toEqual([w.partner.id, w.host.id]);

    // The asked council's DPO sees the request (who it is about included), with only their own part.
    const asked = (await api(t.app, w.hostDpo).get('subject-access')).json().requests;
    expect(asked).toEqual([expect.objectContaining({ id: request.id, role: 'partner', subjectName: 'Sam Smith', searched: false, requester: expect.objectContaining({ id: w.partner.id }) })]);
    const notes = await t.vault.store.db.selectFrom('notifications').select(['user_id', 'message']).where('kind', '=', 'subject-access.asked').execute();
    expect(notes.map((n) => n.user_id)).toEqual([w.hostDpo.id]);
    expect(notes[0]!.message).not.toContain('Sam Smith');

    const hostAdd = await api(t.app, w.hostDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.held] });
    expect(hostAdd.statusCode, hostAdd.body).toBe(200);
    expect(hostAdd.json()).toMatchObject({ role: 'partner', added: 1, items: [{ documentId: w.held, documentName: 'overtime-claims.txt', exportable: true }] });
    expect(hostAdd.json().parts).toHaveLength(1);
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/items`, { documentIds: [w.own] })).statusCode).toBe(200);
    expect((await api(t.app, w.hostDpo).post(`subject-access/${request.id}/searched`, {})).json().parts[0].searchedAt).not.toBeNull();

    // Each part's records are under its own organisation's hold, named after the request: the host's staff cannot delete theirs.
    const view = (await api(t.app, w.dpo).get(`subject-access/${request.id}`)).json();
    expect(view.items.map((i: { documentName: string }) => i.documentName).sort()).toEqual(['overtime-claims.txt', 'payslip-march.txt']);
    const hostHold = view.parts.find((p: { organisation: { id: string } }) => p.organisation.id === w.host.id).holdId as string;
    expect(await t.vault.store.repos.holds.byId(hostHold)).toMatchObject({ organisationId: w.host.id, name: `Subject access request ${request.reference}`, releasedAt: null });
    expect(expectProblem(await api(t.app, w.hostStaff).delete(`documents/${w.held}`), 409).detail).toContain(`(hold ${hostHold})`);

    // The response package: both parts' files, byte for byte, and an index of them.
    const pack = await api(t.app, w.dpo).get(`subject-access/${request.id}/package`);
    expect(pack.statusCode, pack.body).toBe(200);
    expect(pack.headers['content-type']).toBe('application/zip');
    const files = await unzip(pack.rawPayload);
    const index = JSON.parse(files.get('index.json')!.toString('utf8'));
    expect(index).toMatchObject({ reference: request.reference, subject: 'Sam Smith', dueOn: '2026-11-30' });
    expect(index.records.map((r: { organisation: string; withheld: string | null }) => [r.organisation, r.withheld])).toEqual([
      [`Test ${w.host.slug}`, null], [`Test ${w.partner.slug}`, null],
    ]);
    const paths = index.records.map((r: { file: string }) => r.file);
    expect(files.get(paths[0])!.toString('utf8')).toBe('Overtime claims, Sam Smith\n');
    expect(files.get(paths[1])!.toString('utf8')).toBe('Payslip for Sam Smith, March\n');
    expect(files.get('index.csv')!.toString('utf8').split('\r\n')[0]).toBe('organisation,file,document,document_id,version,size,sha256,included_at,withheld');

    // Extended once, to three months after receipt (31 January 2027 is a Sunday), and no more.
    const extended = await api(t.app, w.dpo).post(`subject-access/${request.id}/extend`, { reason: 'Records held by two councils in several systems' });
    expect(extended.json()).toMatchObject({ dueOn: '2026-11-30', extendedDueOn: '2027-02-01' });
    expect(expectProblem(await api(t.app, w.dpo).post(`subject-access/${request.id}/extend`, { reason: 'Once more, for luck please' }), 409).detail).toContain('already extended');

    // Closed: every part's hold released, and nothing more can be included.
    expectProblem(await api(t.app, w.dpo).post(`subject-access/${request.id}/close`, { outcome: 'withdrawn' }), 400);
    const closed = await api(t.app, w.dpo).post(`subject-access/${request.id}/close`, { outcome: 'disclosed' });
    expect(closed.json()).toMatchObject({ status: 'closed', outcome: 'disclosed' });
    for (const part of view.parts) expect((await t.vault.store.repos.holds.byId(part.holdId))!.releasedAt).not.toBeNull();
    expect((await api(t.app, w.hostStaff).delete(`documents/${w.held}`)).statusCode).toBe(204);
    expectProblem(await api(t.app, w.hostDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.held] }), 409);

    const actions = (await events(request.id)).filter((e) => e.decision === 'allow').map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['subject-access.open', 'subject-access.ask', 'subject-access.add', 'subject-access.searched', 'subject-access.export', 'subject-access.extend', 'subject-access.close', 'records.hold.create', 'records.hold.release']));
    await t.vault.audit.sequencer.flush();
    expect((await t.vault.audit.verification.verify(systemActor())).ok).toBe(true);
  });

  it('writes a record name a spreadsheet would run as a formula (= + - @) as text in the package\'s index.csv', async () => {
    const w = await world();
    const request = await open(w);
    const names = ['=1+1.txt', '+44 20 7946 0000.txt', '-2+3.txt', '@SUM(1+1).txt'];
    const ids: string[] = [];
    for (const name of names) {
      const res = await upload(t.app, w.partnerStaff, w.partner.collections.payroll!, name, `${name}\n`);
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id as string);
    }
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/items`, { documentIds: ids })).statusCode).toBe(200);
    const pack = await api(t.app, w.dpo).get(`subject-access/${request.id}/package`);
    expect(pack.statusCode, pack.body).toBe(200);
    const rows = (await unzip(pack.rawPayload)).get('index.csv')!.toString('utf8').split('\r\n').slice(1, -1);
    // The document column, unquoted (none holds a comma or quote): each leads with an apostrophe, so it is shown as text.
    expect(rows.map((row) => row.split(',')[2]).sort()).toEqual(names.map((name) => `'${name}`).sort());
  });

  it('keeps the request from staff who are not DPOs, and from a council with no arrangement (404, audited)', async () => {
    const w = await world();
    const request = await open(w);
    const stranger = await createOrganisation(t.vault);
    const strangerDpo = await stranger.user({ roles: ['dpo'] });
    const recordsManager = await w.partner.user({ roles: ['records_manager', 'org_admin'], teams: ['payroll'] });
    for (const user of [w.partnerStaff, recordsManager, w.hostStaff, strangerDpo]) {
      expect(expectProblem(await api(t.app, user).get(`subject-access/${request.id}`), 404).detail).toBe(NOT_FOUND);
      expectProblem(await api(t.app, user).get(`subject-access/${request.id}/package`), 404);
      expectProblem(await api(t.app, user).post(`subject-access/${request.id}/items`, { documentIds: [w.own] }), 404);
    }
    expectProblem(await api(t.app, w.partnerStaff).post('subject-access', { subjectName: 'Sam Smith', receivedOn: '2026-10-31' }), 404);
    expect((await api(t.app, strangerDpo).get('subject-access')).json().requests).toEqual([]);
    // The asked council's DPO answers its part but does not manage the request or take the package.
    expectProblem(await api(t.app, w.hostDpo).get(`subject-access/${request.id}/package`), 404);
    expectProblem(await api(t.app, w.hostDpo).post(`subject-access/${request.id}/close`, { outcome: 'disclosed' }), 404);
    expectProblem(await api(t.app, w.hostDpo).post(`subject-access/${request.id}/extend`, { reason: 'Not mine to extend at all' }), 404);
    // A council it shares nothing with cannot be asked.
    const refused = expectProblem(await api(t.app, w.dpo).post(`subject-access/${request.id}/partners`, { partners: [stranger.slug] }), 400);
    expect(refused.detail).toBe(`Test ${stranger.slug} shares no arrangement in force with your organisation, so it cannot be asked to search its records for you.`);
    const denied = (await events(request.id)).filter((e) => e.decision === 'deny');
    expect(denied.filter((e) => e.actor_user_id === strangerDpo.id).map((e) => e.reason)).toEqual(['not_asked', 'other_organisation', 'not_asked']);
    expect(denied.filter((e) => e.actor_user_id === w.dpo.id).map((e) => [e.action, e.reason])).toEqual([['subject-access.receive', 'no_arrangement']]);
  });

  it('takes only a part’s own organisation’s records, and only ones its DPO may download', async () => {
    const w = await world();
    const request = await open(w);
    // The host's DPO is on the payroll team, so the arrangement lets them read the partner's payslip: still not theirs to include.
    expect((await api(t.app, w.hostDpo).get(`documents/${w.own}`)).statusCode).toBe(200);
    expectProblem(await api(t.app, w.hostDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.own] }), 404);
    // Nor may the requester's DPO include the host's.
    expectProblem(await api(t.app, w.dpo).post(`subject-access/${request.id}/items`, { documentIds: [w.held] }), 404);
    // A record above the DPO's clearance is not there for them.
    // (Payroll records are OFFICIAL-SENSITIVE.)
    const lowDpo = await w.partner.user({ roles: ['dpo'], teams: ['payroll'], clearance: 'OFFICIAL' });
    expectProblem(await api(t.app, lowDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.own] }), 404);
    const denied = (await events(request.id)).filter((e) => e.decision === 'deny').map((e) => [e.action, e.reason]);
    expect(denied).toEqual([['subject-access.add', 'other_organisation'], ['subject-access.add', 'other_organisation'], ['document.download', 'clearance']]);
    expect((await api(t.app, w.dpo).get(`subject-access/${request.id}`)).json().items).toEqual([]);
  });

  it('stops a partner’s part once the arrangement is suspended: no request for its DPO, its records withheld from the package', async () => {
    const w = await world();
    const request = await open(w);
    expect((await api(t.app, w.hostDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.held] })).statusCode).toBe(200);
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/items`, { documentIds: [w.own] })).statusCode).toBe(200);
    await t.vault.arrangements.suspend(systemActor(), w.arrangement.id);

    expect(expectProblem(await api(t.app, w.hostDpo).get(`subject-access/${request.id}`), 404).detail).toBe(NOT_FOUND);
    expect((await api(t.app, w.hostDpo).get('subject-access')).json().requests).toEqual([]);
    const view = (await api(t.app, w.dpo).get(`subject-access/${request.id}`)).json();
    expect(view.items.map((i: { documentName: string }) => i.documentName)).toEqual(['payslip-march.txt']);

    const files = await unzip((await api(t.app, w.dpo).get(`subject-access/${request.id}/package`)).rawPayload);
    const index = JSON.parse(files.get('index.json')!.toString('utf8'));
    expect(index.records).toEqual([
      expect.objectContaining({ organisation: `Test ${w.host.slug}`, file: null, document: null, withheld: expect.stringContaining('no longer in force') }),
      expect.objectContaining({ organisation: `Test ${w.partner.slug}`, document: 'payslip-march.txt', withheld: null }),
    ]);
    expect([...files.keys()].filter((name) => name.startsWith(`${w.host.slug}/`))).toEqual([]);
    expect(files.get('index.csv')!.toString('utf8')).not.toContain('overtime-claims');
  });

  it('withholds a record put in the response by a row written into the database, which no audit event records', async () => {
    const w = await world();
    const request = await open(w);
    const version = (await t.vault.store.repos.documents.byId(w.held))!.currentVersionId!;
    await t.vault.store.db.insertInto('subject_access_items').values({
      id: randomUUID(), request_id: request.id, organisation_id: w.host.id, document_id: w.held, version_id: version,
      added_by: w.hostDpo.id, added_at: new Date().toISOString(), removed_by: null, removed_at: null,
    }).execute();
    const files = await unzip((await api(t.app, w.dpo).get(`subject-access/${request.id}/package`)).rawPayload);
    const index = JSON.parse(files.get('index.json')!.toString('utf8'));
    expect(index.records).toEqual([expect.objectContaining({ file: null, document: null, withheld: expect.stringContaining('not recorded in the audit log') })]);
    expect([...files.keys()]).toEqual(['index.json', 'index.csv']);
  });

  it('refuses a received date in the future or not a date, and a reason too short to tell the person', async () => {
    const w = await world();
    expect(expectProblem(await api(t.app, w.dpo).post('subject-access', { subjectName: 'Sam Smith', receivedOn: '2099-01-01' }), 400).detail).toBe('The date the request was received cannot be in the future.');
    expectProblem(await api(t.app, w.dpo).post('subject-access', { subjectName: 'Sam Smith', receivedOn: '31/10/2026' }), 400);
    expectProblem(await api(t.app, w.dpo).post('subject-access', { subjectName: '  ', receivedOn: '2026-10-31' }), 400);
    const request = await open(w, []);
    expect(request.parts).toHaveLength(1);
    expect(request.reference).toMatch(/^SAR-/);
    expectProblem(await api(t.app, w.dpo).post(`subject-access/${request.id}/extend`, { reason: 'busy' }), 400);
  });
});
