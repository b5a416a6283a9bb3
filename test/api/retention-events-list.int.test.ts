// GET /api/v1/collections/{id}/retention-events and /documents/{id}/retention-events: the live trigger
// events that reach a collection or a document, its own and those inherited from the collections above
// it, nearest first, with the one the due date counts from marked. Only the owning organisation's records
// people read them, of what they may see: another council's records manager, and a host's records manager
// whose team serves the owner under an arrangement (in force or suspended), get exactly what an unknown id
// gets (404, audited); a member without a records role gets the refusal recording gives them; so does a
// records manager or auditor cleared below the record or collection, and an auditor outside its team.
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { fileCollectionUnder } from '../support/records.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { expectProblem } from '../support/http.js';
import { DIALECTS, auth, createOrganisation, createPartnership, upload, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('retention event listing on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  const get = (user: TestUser, url: string) => t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth(user) });
  const post = (user: TestUser, url: string, body: unknown) => t.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: { ...auth(user), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  /** A refusal's problem without its request id: what must be the same, word for word, as an unknown id's. */
  const problemOf = (res: LightMyRequestResponse) => {
    const { requestId: _requestId, ...rest } = expectProblem(res, 404);
    return rest;
  };

  it('lists a document\'s own events and those of its collections, a collection\'s own and those above it, marking the one in force', async () => {
    const org = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const manager = await org.user({ roles: ['records_manager'] });
    const auditor = await org.user({ roles: ['auditor'], teams: ['hr'] });
    const staff = await org.user({ teams: ['hr'] });
    const top = org.collections.hr!;
    const folder = (await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: top, name: 'Leavers', serviceArea: 'hr', classification: 'OFFICIAL' })).id;
    await fileCollectionUnder(t.vault, org.id, top, { code: 'LIST-HR', trigger: 'employment_end', retainYears: 7 });
    const doc = (await upload(t.app, staff, folder, 'leaver.txt', 'leaver\n')).json().id as string;
    const record = async (body: Record<string, unknown>) => {
      const res = await post(manager, '/retention-events', { kind: 'employment_end', ...body });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().events[0].id as string;
    };
    const topEvent = await record({ date: '2025-09-30', collectionId: top });
    const folderEvent = await record({ date: '2025-10-31', collectionId: folder });
    const docEvent = await record({ date: '2025-11-30', documentIds: [doc] });
    const listed = (res: LightMyRequestResponse) => {
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { series: unknown; events: { id: string; date: string; documentId: string | null; collectionId: string | null; inherited: boolean; inForce: boolean; recordedBy: string; recordedByEmail: string; recordedAt: string; clearedAt: null }[] };
      for (const e of body.events) expect([e.recordedBy, e.recordedByEmail, e.clearedAt, typeof e.recordedAt]).toEqual([manager.id, manager.email, null, 'string']);
      return { series: body.series, events: body.events.map((e) => [e.id, e.date, e.documentId, e.collectionId, e.inherited, e.inForce]) };
    };
    const series = { code: 'LIST-HR', trigger: 'employment_end' };

    expect(listed(await get(manager, `/documents/${doc}/retention-events`))).toEqual({ series, events: [
      [docEvent, '2025-11-30', doc, null, false, true],
      [folderEvent, '2025-10-31', null, folder, true, false],
      [topEvent, '2025-09-30', null, top, true, false],
    ] });
    expect(listed(await get(manager, `/collections/${folder}/retention-events`))).toEqual({ series, events: [
      [folderEvent, '2025-10-31', null, folder, false, true],
      [topEvent, '2025-09-30', null, top, true, false],
    ] });
    expect(listed(await get(manager, `/collections/${top}/retention-events`))).toEqual({ series, events: [[topEvent, '2025-09-30', null, top, false, true]] });
    // The organisation's auditors read its records management too (records.read), of the records they may read.
    expect(listed(await get(auditor, `/documents/${doc}/retention-events`)).events.map((e) => e[0])).toEqual([docEvent, folderEvent, topEvent]);

    // Cleared, the document's own event is gone from the list, and the folder's is the one in force (as the due date says).
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/retention-events/${docEvent}?confirmShorter=true`, headers: auth(manager) })).statusCode).toBe(200);
    expect(listed(await get(manager, `/documents/${doc}/retention-events`)).events).toEqual([
      [folderEvent, '2025-10-31', null, folder, true, true],
      [topEvent, '2025-09-30', null, top, true, false],
    ]);
    expect((await t.vault.retention.retentionFacts([doc])).get(doc)).toMatchObject({ triggerDate: '2025-10-31' });
  });

  it('answers a records manager or auditor cleared below a record or a folder, and an auditor outside its team, exactly as an unknown id, audited', async () => {
    const org = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const manager = await org.user({ roles: ['records_manager'] });
    const auditor = await org.user({ roles: ['auditor'], teams: ['hr'] });
    const lowManager = await org.user({ roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL' });
    const lowAuditor = await org.user({ roles: ['auditor'], teams: ['hr'], clearance: 'OFFICIAL' });
    const payrollAuditor = await org.user({ roles: ['auditor'], teams: ['payroll'] });
    const staff = await org.user({ teams: ['hr'] });
    const top = org.collections.hr!;
    const grievances = (await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: top, name: 'Grievances', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' })).id;
    await fileCollectionUnder(t.vault, org.id, top, { code: 'SENS-HR', trigger: 'employment_end', retainYears: 7 });
    // A record whose name says whom it is about, raised above OFFICIAL; another in a folder above OFFICIAL; one at OFFICIAL.
    const raised = (await upload(t.app, staff, top, 'Jane Smith - safeguarding referral.txt', 'referral\n')).json().id as string;
    expect((await post(staff, `/documents/${raised}/classification`, { classification: 'OFFICIAL-SENSITIVE', reason: 'safeguarding' })).statusCode).toBe(200);
    const filed = (await upload(t.app, staff, grievances, 'grievance.txt', 'grievance\n')).json().id as string;
    const plain = (await upload(t.app, staff, top, 'rota.txt', 'rota\n')).json().id as string;
    for (const body of [{ documentIds: [raised, plain] }, { collectionId: grievances }]) {
      expect((await post(manager, '/retention-events', { kind: 'employment_end', date: '2025-09-30', ...body })).statusCode).toBe(201);
    }
    const sensitive = [`/documents/${raised}/retention-events`, `/documents/${filed}/retention-events`, `/collections/${grievances}/retention-events`];
    for (const who of [manager, auditor]) {
      for (const url of [...sensitive, `/documents/${plain}/retention-events`]) {
        const res = await get(who, url);
        expect(res.statusCode, url).toBe(200);
        expect(res.json().events, url).toHaveLength(1);
      }
    }

    const unknown = { collection: problemOf(await get(manager, `/collections/${randomUUID()}/retention-events`)), document: problemOf(await get(manager, `/documents/${randomUUID()}/retention-events`)) };
    for (const who of [lowManager, lowAuditor]) {
      for (const url of sensitive) expect(problemOf(await get(who, url)), url).toEqual(url.startsWith('/collections/') ? unknown.collection : unknown.document);
      // What they are cleared for they still list: the OFFICIAL record's own event, and the top folder's (none recorded there).
      expect((await get(who, `/documents/${plain}/retention-events`)).json().events).toHaveLength(1);
      const topListing = await get(who, `/collections/${top}/retention-events`);
      expect(topListing.statusCode).toBe(200);
      expect(topListing.json().events).toEqual([]);
    }
    // An auditor reads the records of their own teams' service areas, as they read the records themselves.
    expect(problemOf(await get(payrollAuditor, `/documents/${plain}/retention-events`))).toEqual(unknown.document);
    expect(problemOf(await get(payrollAuditor, `/collections/${top}/retention-events`))).toEqual(unknown.collection);

    await t.vault.audit.sequencer.integrate();
    const refusals = (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.decision === 'deny')
      .map((e) => [e.actorUserId, e.action, e.reason, e.targetIds]);
    const cleared = (who: string) => [
      [who, 'document.read', 'clearance', { documentId: raised }], [who, 'document.read', 'clearance', { documentId: filed }], [who, 'collection.list', 'clearance', { collectionId: grievances }],
    ];
    expect(refusals).toEqual([
      ...cleared(lowManager.id), ...cleared(lowAuditor.id),
      [payrollAuditor.id, 'document.read', 'not_in_team', { documentId: plain }], [payrollAuditor.id, 'collection.list', 'not_in_team', { collectionId: top }],
    ]);
  });

  it('answers another council\'s records manager, a serving host\'s (arrangement in force or suspended) and a member exactly as an unknown id, audited', async () => {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const other = await createOrganisation(t.vault);
    const ownerManager = await partner.user({ roles: ['records_manager'] });
    const ownerStaff = await partner.user({ teams: ['payroll'] });
    const servingManager = await host.user({ roles: ['member', 'records_manager'], teams: ['payroll'] });
    const otherManager = await other.user({ roles: ['records_manager'] });
    const folder = partner.collections.payroll!;
    await fileCollectionUnder(t.vault, partner.id, folder, { code: 'LIST-PAY', trigger: 'employment_end', retainYears: 6, serviceArea: 'payroll' });
    const doc = (await upload(t.app, ownerStaff, folder, 'payslips.txt', 'partner\n')).json().id as string;
    expect((await post(ownerManager, '/retention-events', { kind: 'employment_end', date: '2025-09-30', collectionId: folder })).statusCode).toBe(201);
    expect((await get(ownerManager, `/documents/${doc}/retention-events`)).json().events).toHaveLength(1);
    // The serving records manager reaches the partner's document itself through the arrangement.
    expect((await get(servingManager, `/documents/${doc}`)).statusCode).toBe(200);

    const unknown = { collection: problemOf(await get(ownerManager, `/collections/${randomUUID()}/retention-events`)), document: problemOf(await get(ownerManager, `/documents/${randomUUID()}/retention-events`)) };
    expect(unknown.collection).toMatchObject({ type: 'https://strongroom.local/problems/not_found', detail: 'No collection with that id exists, or you do not have access to it.' });
    expect(unknown.document).toMatchObject({ type: 'https://strongroom.local/problems/not_found', detail: 'No document with that id exists, or you do not have access to it.' });
    expect(problemOf(await get(ownerManager, '/collections/not-an-id/retention-events'))).toEqual(unknown.collection);
    expect(problemOf(await get(ownerManager, '/documents/not-an-id/retention-events'))).toEqual(unknown.document);
    const refusedAsUnknown = async (user: TestUser) => {
      expect(problemOf(await get(user, `/collections/${folder}/retention-events`))).toEqual(unknown.collection);
      expect(problemOf(await get(user, `/documents/${doc}/retention-events`))).toEqual(unknown.document);
    };
    await refusedAsUnknown(servingManager);
    await refusedAsUnknown(otherManager);
    await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    await refusedAsUnknown(servingManager);
    // A member of the owner's team without a records role: what recording an event tells them, which is what an unknown id gets.
    const recording = problemOf(await post(ownerStaff, '/retention-events', { kind: 'employment_end', date: '2025-10-31', collectionId: folder }));
    expect(recording).toEqual(unknown.collection);
    await refusedAsUnknown(ownerStaff);

    await t.vault.audit.sequencer.integrate();
    const refusals = (await t.vault.store.repos.audit.forOrganisation(partner.id)).filter((e) => e.decision === 'deny')
      .map((e) => [e.actorUserId, e.action, e.reason, e.targetIds]);
    const asked = (who: string, reason: string) => [[who, 'records.read', reason, { collectionId: folder }], [who, 'records.read', reason, { documentId: doc }]];
    expect(refusals).toEqual([
      ...asked(servingManager.id, 'other_organisation'), ...asked(otherManager.id, 'other_organisation'), ...asked(servingManager.id, 'other_organisation'),
      [ownerStaff.id, 'records.file-plan', 'role', { collectionId: folder }], ...asked(ownerStaff.id, 'role'),
    ]);
  });
});
