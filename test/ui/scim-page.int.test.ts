// The org admin's SCIM provisioning page: linked from Users, the Tenant URL, a token created and shown once
// (then listed without its secret), revoked by the button; nobody else finds the page or the link.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('the SCIM provisioning page on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lets an org admin create a token (shown once) and revoke it; the directory is refused at once', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const client = new FormClient(base);
    await client.signIn(admin.email, PASSWORD, await enrolTotp(t.vault, admin.id));
    expect((await client.get('/admin/users')).text).toContain('href="/admin/scim"');
    let page = await client.get('/admin/scim');
    expect(page.status, page.text.slice(0, 300)).toBe(200);
    expect(page.text).toContain(`<code id="tenant-url">${base}/scim/v2</code>`);
    expect(page.text).toContain('No tokens yet.');

    const empty = await client.post('/admin/scim/tokens', { _csrf: FormClient.csrf(page.text), name: '  ' });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Give the token a name that says which directory uses it, like &quot;Entra ID provisioning&quot;.');

    const created = await client.post('/admin/scim/tokens', { _csrf: FormClient.csrf(page.text), name: 'Entra ID' });
    expect(created.status).toBe(200);
    const secret = /<code id="token-secret">(srscim_[A-Za-z0-9_-]+)<\/code>/.exec(created.text)![1]!;
    const scim = () => fetch(`${base}/scim/v2/Users`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await scim()).status).toBe(200);

    page = await client.get('/admin/scim');
    expect(page.text).not.toContain(secret);
    expect(page.text).toContain('<td class="govuk-table__cell">Entra ID</td>');
    const [tokenRow] = await t.vault.scim.tokens.list(systemActor(), org.id);
    const revoked = await client.post(`/admin/scim/tokens/${tokenRow!.id}/revoke`, { _csrf: FormClient.csrf(page.text) });
    expect([revoked.status, revoked.location]).toEqual([303, '/admin/scim?done=revoked']);
    expect((await scim()).status).toBe(401);
    expect((await client.get('/admin/scim?done=revoked')).text).toContain('Revoked');
  });

  it('is not there for anyone else, and refuses a form without the CSRF token', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const client = new FormClient(base);
    await client.signIn(member.email);
    expect((await client.get('/admin/scim')).status).toBe(404);
    const page = await client.get('/account');
    expect((await client.post('/admin/scim/tokens', { _csrf: FormClient.csrf(page.text), name: 'mine' })).status).toBe(404);
    expect((await t.vault.store.repos.scim.tokens(org.id)).map((tk) => tk.name)).not.toContain('mine');
    const security = await addPerson(t.vault, org.slug, { roles: ['security_admin'] });
    const other = new FormClient(base);
    await other.signIn(security.email, PASSWORD, await enrolTotp(t.vault, security.id));
    expect((await other.get('/admin/scim')).status).toBe(404);

    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const adminClient = new FormClient(base);
    await adminClient.signIn(admin.email, PASSWORD, await enrolTotp(t.vault, admin.id));
    expect((await adminClient.post('/admin/scim/tokens', { name: 'no csrf' })).status).toBe(403);
  });
});
