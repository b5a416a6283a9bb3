// Accepting an arrangement in the web interface: the form carries the revision the page showed, and
// terms amended after the page was loaded are refused (409) with the new terms shown for review.
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

const revisionOn = (html: string): string => /name="revision" value="(\d+)"/.exec(html)?.[1] ?? 'none';

describe.each(DIALECTS)('accepting an arrangement in the web interface on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  it('refuses to accept terms amended after the page was shown, and shows the new terms', async () => {
    const [hostOrg, partnerOrg] = [await createOrganisation(t.vault), await createOrganisation(t.vault)];
    const hostAdmin = await hostOrg.user({ roles: ['org_admin'] });
    const partnerAdmin = await addPerson(t.vault, partnerOrg.slug, { roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, partnerAdmin.id);
    const proposed = await api(t.app, hostAdmin).post('arrangements', {
      partners: [partnerOrg.slug], serviceArea: 'finance', purpose: 'Shared finance team', lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const url = `/arrangements/${proposed.json().id}`;

    const partner = new FormClient(base);
    await partner.signIn(partnerAdmin.email, PASSWORD, secret);
    const reviewed = await partner.get(url);
    expect(revisionOn(reviewed.text)).toBe('1');
    // While the partner reads, the host widens the terms.
    expect((await api(t.app, hostAdmin).patch(`arrangements/${proposed.json().id}`, { accessLevel: 'manage' })).statusCode).toBe(200);

    const stale = await partner.post(`${url}/accept`, { _csrf: FormClient.csrf(reviewed.text), revision: revisionOn(reviewed.text) });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('govuk-error-summary');
    expect(stale.text).toContain('The terms of this arrangement changed since you reviewed them (you reviewed revision 1; it is now revision 2). Review the new terms and accept again.');
    expect(stale.text).toMatch(/Access\s*<\/dt>\s*<dd[^>]*>\s*manage\s*</);
    expect(revisionOn(stale.text)).toBe('2');
    expect((await api(t.app, hostAdmin).get(`arrangements/${proposed.json().id}`)).json().arrangement).toMatchObject({ status: 'draft', acceptedBy: [] });

    // A form without the revision (not the one we served) accepts nothing.
    const bare = await partner.post(`${url}/accept`, { _csrf: FormClient.csrf(stale.text) });
    expect(bare.status).toBe(400);
    expect(bare.text).toContain('We could not tell which version of the terms you reviewed.');

    const accepted = await partner.post(`${url}/accept`, { _csrf: FormClient.csrf(bare.text), revision: revisionOn(bare.text) });
    expect(accepted.status).toBe(303);
    expect((await api(t.app, hostAdmin).get(`arrangements/${proposed.json().id}`)).json().arrangement).toMatchObject({ status: 'active', accessLevel: 'manage' });
  });
});
