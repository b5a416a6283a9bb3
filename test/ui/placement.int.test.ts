// The document page's rename/move form goes through the same service operation as REST and WebDAV:
// the file-type policy holds for the new name, and the classification floor follows the new place.
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { FormClient, addPerson } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('rename and move in the web interface on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  it('refuses renaming notes.txt to notes.bat with 422, shows why, and changes nothing', async () => {
    const org = await createOrganisation(t.vault);
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const staff = await org.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, staff, org.collections.payroll!, 'notes.txt', 'echo hello\r\n')).json();
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get(`/documents/${doc.id}`);
    const res = await client.post(`/documents/${doc.id}/rename`, { _csrf: FormClient.csrf(page.text), name: 'notes.bat', collectionId: org.collections.payroll! });
    expect(res.status).toBe(422);
    expect(res.text).toContain('govuk-error-summary');
    expect((await api(t.app, staff).get(`documents/${doc.id}`)).json()).toMatchObject({ name: 'notes.txt', collectionId: org.collections.payroll });
  });

  it('raises the classification of a document moved into an OFFICIAL-SENSITIVE collection', async () => {
    const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const member = await addPerson(t.vault, org.slug, { teams: ['finance'] });
    const staff = await org.user({ teams: ['finance'] });
    const sensitive = (await api(t.app, staff).post('collections', { name: 'Sensitive', parentId: org.collections.finance, serviceArea: 'finance', classification: 'OFFICIAL-SENSITIVE' })).json();
    const doc = (await upload(t.app, staff, org.collections.finance!, 'plan.txt', 'plan\n')).json();
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get(`/documents/${doc.id}`);
    const res = await client.post(`/documents/${doc.id}/rename`, { _csrf: FormClient.csrf(page.text), name: 'plan.txt', collectionId: sensitive.id });
    expect(res.status).toBe(303);
    expect((await api(t.app, staff).get(`documents/${doc.id}`)).json()).toMatchObject({ collectionId: sensitive.id, classification: 'OFFICIAL-SENSITIVE' });
  });
});
