// Names that disguise themselves or that Windows cannot hold: C1 controls (U+0085), bidirectional
// overrides (U+202E), zero-width characters and reserved device names are refused (400) on every
// way a name comes in, and nothing is stored.
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { systemActor } from '../../src/services/identity.service.js';

const clamd = useClamd();

const HOSTILE = ['next\u0085line.txt', 'invoice\u202Etxt.exe', 'zero\u200Bwidth.txt', 'joined\u200Dname.txt', 'bom\uFEFF.txt', 'CON', 'nul.txt', 'LPT1', 'com9.tar.gz', 'Aux', 'PRN.csv'];

describe.each(DIALECTS)('hostile names on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let org: TestOrganisation;
  let user: TestUser;
  let basic: string;
  let documentId: string;
  beforeAll(async () => {
    org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    // A records manager may create top-level collections too, so every refusal below is the name's.
    user = await org.user({ teams: ['finance'], roles: ['member', 'records_manager'] });
    const { secret } = await t.vault.credentials.createCredential(systemActor(), user.id, 'app_password', 'names');
    basic = `Basic ${Buffer.from(`${user.email}:${secret}`).toString('base64')}`;
    documentId = (await upload(t.app, user, org.collections.finance!, 'plain.txt', 'plain\n')).json().id;
  });

  const names = async () => (await t.vault.collections.get(systemActor(), org.collections.finance!)).documents.map((d) => d.name);
  const collectionNames = async () => [
    ...(await t.vault.store.repos.collections.children(org.id, null)),
    ...(await t.vault.store.repos.collections.children(org.id, org.collections.finance!)),
  ].map((c) => c.name);
  const dav = (method: string, path: string, headers: Record<string, string> = {}, payload?: string) =>
    t.app.inject({ method: method as 'GET', url: path, headers: { authorization: basic, ...headers }, ...(payload === undefined ? {} : { payload }) });

  it.each(HOSTILE)('refuses %j over REST: upload, rename and collection create', async (name) => {
    expectProblem(await upload(t.app, user, org.collections.finance!, name, 'x\n'), 400);
    expectProblem(await api(t.app, user).patch(`documents/${documentId}`, { name }), 400);
    expectProblem(await api(t.app, user).post('collections', { name, serviceArea: 'finance', classification: 'OFFICIAL' }), 400);
    expect(await names()).toEqual(['plain.txt']);
    expect(await collectionNames()).toEqual(['finance']);
  });

  it.each(HOSTILE)('refuses %j over WebDAV: PUT, MKCOL and MOVE', async (name) => {
    const segment = encodeURIComponent(name);
    expect((await dav('PUT', `/dav/${org.slug}/finance/${segment}`, { 'content-type': 'text/plain' }, 'x\n')).statusCode).toBe(400);
    expect((await dav('MKCOL', `/dav/${org.slug}/finance/${segment}`)).statusCode).toBe(400);
    expect((await dav('MKCOL', `/dav/${org.slug}/${segment}`)).statusCode).toBe(400);
    expect(await collectionNames()).toEqual(['finance']);
    const move = await dav('MOVE', `/dav/${org.slug}/finance/plain.txt`, { destination: `/dav/${org.slug}/finance/${segment}` });
    expect(move.statusCode).toBe(400);
    expect(await names()).toEqual(['plain.txt']);
  });
});
