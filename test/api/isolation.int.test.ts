// Isolation between organisations: a user of another organisation, however privileged at home,
// gets 404 for every action on a document or collection by id, and nothing changes.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('organisation isolation on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('answers 404 to another organisation for read, download, list, overwrite, rename, delete and restore, and changes nothing', async () => {
    const victim = await createOrganisation(t.vault);
    const owner = await victim.user({ teams: ['payroll'] });
    const attackerOrg = await createOrganisation(t.vault);
    // Same service area, every role and full clearance at home: none of it reaches another organisation.
    const attacker = await attackerOrg.user({ teams: ['payroll', 'hr', 'finance'], roles: ['member', 'records_manager', 'org_admin', 'security_admin', 'auditor', 'dpo'], clearance: 'OFFICIAL-SENSITIVE' });

    const body = Buffer.from('employee,net\nA1,100\n');
    const live = (await upload(t.app, owner, victim.collections.payroll!, 'live.csv', body)).json();
    const gone = (await upload(t.app, owner, victim.collections.payroll!, 'gone.csv', body)).json();
    expect((await api(t.app, owner).delete(`documents/${gone.id}`)).statusCode).toBe(204);

    const ownerApi = api(t.app, owner);
    const snapshot = async () => ({
      live: (await ownerApi.get(`documents/${live.id}`)).json(),
      gone: (await ownerApi.get(`documents/${gone.id}`)).json(),
      versions: (await ownerApi.get(`documents/${live.id}/versions`)).json(),
      listing: (await ownerApi.get(`collections/${victim.collections.payroll}?includeDeleted=true`)).json(),
    });
    const before = await snapshot();

    const as = api(t.app, attacker);
    const attempts: [string, () => ReturnType<typeof as.get>][] = [
      ['read metadata', () => as.get(`documents/${live.id}`)],
      ['read versions', () => as.get(`documents/${live.id}/versions`)],
      ['download', () => as.get(`documents/${live.id}/content`)],
      ['download a version', () => as.get(`documents/${live.id}/versions/1/content`)],
      ['list the collection', () => as.get(`collections/${victim.collections.payroll}`)],
      ['upload into the collection', () => upload(t.app, attacker, victim.collections.payroll!, 'planted.csv', 'x')],
      ['overwrite', () => as.put(`documents/${live.id}/content`, Buffer.from('overwritten'))],
      ['rename', () => as.patch(`documents/${live.id}`, { name: 'renamed.csv' })],
      ['move into own collection', () => as.patch(`documents/${live.id}`, { collectionId: attackerOrg.collections.payroll })],
      ['delete', () => as.delete(`documents/${live.id}`)],
      ['restore', () => as.post(`documents/${gone.id}/restore`)],
      ['access history', () => as.get(`documents/${live.id}/access-history`)],
    ];
    for (const [what, attempt] of attempts) {
      const res = await attempt();
      expect(res.statusCode, `${what}: ${res.body}`).toBe(404);
      expectProblem(res, 404);
      expect(res.body).not.toContain('live.csv');
    }

    const after = await snapshot();
    expect(after).toEqual(before);
    const download = await ownerApi.get(`documents/${live.id}/content`);
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(body)).toBe(true);
    expect(after.gone.deletedAt).not.toBeNull();
  });

  it('gives the same 404 for an id that exists elsewhere as for one that never existed', async () => {
    const victim = await createOrganisation(t.vault);
    const owner = await victim.user({ teams: ['payroll'] });
    const stranger = await (await createOrganisation(t.vault)).user({ teams: ['payroll'] });
    const doc = (await upload(t.app, owner, victim.collections.payroll!, 'a.csv', 'a,b\n')).json();
    const real = await api(t.app, stranger).get(`documents/${doc.id}`);
    const fake = await api(t.app, stranger).get('documents/00000000-0000-4000-8000-000000000000');
    const strip = (b: { detail: string; title: string; status: number }) => ({ detail: b.detail, title: b.title, status: b.status });
    expect(strip(expectProblem(real, 404) as never)).toEqual(strip(expectProblem(fake, 404) as never));
  });
});
