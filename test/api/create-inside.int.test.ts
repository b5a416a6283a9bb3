// Creating inside a collection (sub-collections and uploads) needs the right to see the collection
// as it is and to write to it; refusals look like absence (404) and are audited, whatever the input.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { eventsOf } from '../support/audit-log.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api, expectProblem } from '../support/http.js';
import { eicar } from '../support/samples.js';
import { DIALECTS, createOrganisation, upload, createPartnership } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('creating inside collections on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** Every refusal written for this person, from the whole log. */
  const denials = (userId: string) => eventsOf(t.vault, userId, { deny: true });

  async function childNames(collectionId: string) {
    return (await t.vault.collections.get(systemActor(), collectionId)).children.map((c) => c.name);
  }

  it('refuses someone below a folder’s classification a sub-folder or upload in it, with the same 404 as for a folder that does not exist', async () => {
    const org = await createOrganisation(t.vault);
    const low = await org.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const as = api(t.app, low);
    const payroll = org.collections.payroll!; // OFFICIAL-SENSITIVE
    expectProblem(await as.get(`collections/${payroll}`), 404);
    const before = (await denials(low.id)).length;

    const sub = await as.post('collections', { name: 'inside', parentId: payroll, serviceArea: 'payroll', classification: 'OFFICIAL' });
    const missing = await as.post('collections', { name: 'inside', parentId: '00000000-0000-4000-8000-000000000000', serviceArea: 'payroll', classification: 'OFFICIAL' });
    expectProblem(sub, 404);
    expect(sub.json().detail).toBe(expectProblem(missing, 404).detail);
    expectProblem(await t.app.inject({ method: 'POST', url: `/api/v1/collections/${payroll}/documents?name=planted.txt&classification=OFFICIAL`, headers: { authorization: `Bearer ${low.token}`, 'content-type': 'application/octet-stream' }, payload: 'planted' }), 404);

    expect(await childNames(payroll)).toEqual([]);
    expect(await t.vault.store.repos.documents.byName(payroll, 'planted.txt')).toBeUndefined();
    const refused = (await denials(low.id)).slice(before);
    expect(refused.map((e) => [e.action, e.reason, e.targetIds.collectionId])).toEqual([
      ['collection.create', 'clearance', payroll],
      ['document.create', 'clearance', payroll],
    ]);
  });

  it('refuses host staff whose arrangement ceiling is below a partner’s folder a sub-folder in it', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL' });
    const staff = await host.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const as = api(t.app, staff);
    const sensitive = partner.collections.payroll!;
    expectProblem(await as.get(`collections/${sensitive}`), 404);
    expectProblem(await as.post('collections', { name: 'planted', parentId: sensitive, serviceArea: 'payroll', classification: 'OFFICIAL' }), 404);
    expect(await childNames(sensitive)).toEqual([]);

    // An OFFICIAL partner folder is theirs to add to, but only at or below the ceiling.
    const official = (await t.vault.collectionCreation.create(systemActor(), { organisationId: partner.id, parentId: null, name: 'payroll-official', serviceArea: 'payroll', classification: 'OFFICIAL' })).id;
    expect((await as.post('collections', { name: 'shared', parentId: official, serviceArea: 'payroll', classification: 'OFFICIAL' })).statusCode).toBe(201);
    const above = expectProblem(await as.post('collections', { name: 'above', parentId: official, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' }), 403);
    expect(above.detail).toMatch(/classified OFFICIAL-SENSITIVE/);
    expect(await childNames(official)).toEqual(['shared']);
  });

  it('refuses an org admin outside the team a sub-folder in a folder they cannot open', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    const as = api(t.app, admin);
    expectProblem(await as.get(`collections/${org.collections.payroll}`), 404);
    expectProblem(await as.post('collections', { name: 'inside', parentId: org.collections.payroll, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' }), 404);
    expect(await childNames(org.collections.payroll!)).toEqual([]);
    // Top-level folders remain theirs to make.
    expect((await as.post('collections', { name: 'new-area', serviceArea: 'payroll', classification: 'OFFICIAL' })).statusCode).toBe(201);
  });

  it('answers 404 (audited) for another organisation’s collection id in parentId, whatever the service area, name or classification', async () => {
    const victim = await createOrganisation(t.vault);
    const attacker = await (await createOrganisation(t.vault)).user({ teams: ['payroll', 'hr', 'finance'], roles: ['member', 'records_manager', 'org_admin'] });
    const as = api(t.app, attacker);
    const parentId = victim.collections.payroll!;
    const before = (await denials(attacker.id)).length;
    const bodies = [
      { name: 'x', parentId, serviceArea: 'hr', classification: 'OFFICIAL' },
      { name: 'x', parentId, serviceArea: 'payroll', classification: 'OFFICIAL' },
      { name: 'x', parentId, serviceArea: 'no-such-area', classification: 'OFFICIAL' },
      { name: '../x', parentId, serviceArea: 'payroll', classification: 'OFFICIAL' },
    ];
    const nowhere = expectProblem(await as.post('collections', { ...bodies[0], parentId: '00000000-0000-4000-8000-000000000000' }), 404);
    for (const body of bodies) {
      const res = await as.post('collections', body);
      expect(expectProblem(res, 404).detail, JSON.stringify(body)).toBe(nowhere.detail);
    }
    expect(await childNames(parentId)).toEqual([]);
    const refused = (await denials(attacker.id)).slice(before);
    expect(refused).toHaveLength(bodies.length);
    for (const e of refused) expect(e).toMatchObject({ action: 'collection.create', targetOrganisationId: victim.id, targetIds: { collectionId: parentId } });
  });

  it('refuses another organisation’s security admin a quarantined version with the 404 of one that never existed, audited', async () => {
    const victim = await createOrganisation(t.vault);
    const owner = await victim.user({ teams: ['payroll'] });
    const infected = await upload(t.app, owner, victim.collections.payroll!, 'bad.txt', eicar());
    expect(infected.statusCode).toBe(422);
    const versionId = (await t.vault.store.repos.documents.versions(infected.json().id))[0]!.id;
    const admin = await (await createOrganisation(t.vault)).user({ roles: ['member', 'security_admin'] });
    const as = api(t.app, admin);
    const before = (await denials(admin.id)).length;
    const nowhere = expectProblem(await as.post('quarantine/00000000-0000-4000-8000-000000000000/release', { reason: 'x' }), 404);
    for (const step of ['release', 'destroy']) {
      const res = await as.post(`quarantine/${versionId}/${step}`, { reason: 'x' });
      expect(expectProblem(res, 404).detail).toBe(nowhere.detail);
    }
    const refused = (await denials(admin.id)).slice(before);
    expect(refused.map((e) => [e.action, e.reason, e.targetOrganisationId, e.targetIds.versionId])).toEqual([
      ['quarantine.release', 'other_organisation', victim.id, versionId],
      ['quarantine.destroy', 'other_organisation', victim.id, versionId],
    ]);
    expect((await t.vault.store.repos.documents.versionById(versionId))!.scanStatus).toBe('infected');
  });

  it('still checks the shape of what someone who may create there asks for', async () => {
    const org = await createOrganisation(t.vault);
    const staff = await org.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const as = api(t.app, staff);
    const finance = org.collections.finance!; // OFFICIAL, not staff's team
    const officialPayroll = (await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, name: 'pay-official', serviceArea: 'payroll', classification: 'OFFICIAL' })).id;
    const wrongArea = expectProblem(await as.post('collections', { name: 'x', parentId: officialPayroll, serviceArea: 'hr', classification: 'OFFICIAL' }), 400);
    expect(wrongArea.detail).toMatch(/same service area as its parent \("payroll"\)/);
    expectProblem(await as.post('collections', { name: 'x', parentId: finance, serviceArea: 'finance', classification: 'OFFICIAL' }), 404);
    expect((await as.post('collections', { name: 'ok', parentId: officialPayroll, serviceArea: 'payroll', classification: 'OFFICIAL' })).statusCode).toBe(201);
    expectProblem(await as.post('collections', { name: 'ok', parentId: officialPayroll, serviceArea: 'payroll', classification: 'OFFICIAL' }), 409);
    const above = expectProblem(await upload(t.app, staff, officialPayroll, 'a.txt', 'x').then(async () =>
      t.app.inject({ method: 'POST', url: `/api/v1/collections/${officialPayroll}/documents?name=b.txt&classification=OFFICIAL-SENSITIVE`, headers: { authorization: `Bearer ${staff.token}`, 'content-type': 'application/octet-stream' }, payload: 'b' })), 403);
    expect(above.detail).toMatch(/above your clearance/);
    expect(await t.vault.store.repos.documents.byName(officialPayroll, 'b.txt')).toBeUndefined();
  });
});
