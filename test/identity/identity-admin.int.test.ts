// "Sign-in and provisioning" for org admins, on both dialects: providers and the group mapping through the
// pages, each bad field refused with its message, another organisation's admin and a member refused (and
// audited), the sign-in page's buttons, and the test sign-in that shows what a real provider sent while
// signing nobody in and creating nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEDERATED_REFUSALS } from '../../src/services/federated-sign-in.service.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from '../ui/support.js';
import { CookieBrowser, startOpenIdProvider, type TestOpenIdProvider } from './oidc-provider.js';

const clamd = useClamd();
const unescape = (html: string) => html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
const errorSummary = (html: string) => [...unescape(html).matchAll(/<a href="#[^"]*">([^<]+)<\/a>/g)].map((m) => m[1]).filter((t) => !/Skip to main content/.test(t!));

describe.each(DIALECTS)('identity provider administration on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  let idp: TestOpenIdProvider;
  let north: TestOrganisation;
  let south: TestOrganisation;
  let northAdmin: FormClient;
  let southAdmin: FormClient;
  let member: FormClient;
  let providerId: string;

  const signedInAs = async (slug: string, roles: string[]) => {
    const person = await addPerson(t.vault, slug, { roles });
    const secret = roles.includes('org_admin') ? await enrolTotp(t.vault, person.id) : undefined;
    const client = new FormClient(base);
    await client.signIn(person.email, undefined, secret);
    return { client, person };
  };
  // Reading the settings is asked as organisation.read-identity, changing them as organisation.identity (the same people).
  const denials = async (organisationId: string) => t.vault.store.db.selectFrom('audit_events').selectAll()
    .where('action', 'in', ['organisation.identity', 'organisation.read-identity']).where('decision', '=', 'deny').where('target_organisation_id', '=', organisationId).execute();

  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    idp = await startOpenIdProvider(base);
    north = await createOrganisation(t.vault);
    south = await createOrganisation(t.vault);
    northAdmin = (await signedInAs(north.slug, ['org_admin'])).client;
    southAdmin = (await signedInAs(south.slug, ['org_admin'])).client;
    member = (await signedInAs(north.slug, ['member'])).client;
  });
  afterAll(async () => {
    await idp?.close();
  });

  const providerForm = (page: string, fields: Record<string, string>) => ({
    _csrf: FormClient.csrf(page), kind: 'oidc', name: 'North Shire', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret,
    scopes: 'openid email profile', groupsClaim: 'groups', mfaAmrValues: 'mfa', mfaAcrValues: '', options: 'enabled', ...fields,
  });

  it('adds an OpenID provider through the page, refusing each bad field with its message', async () => {
    const list = await northAdmin.get('/admin/identity');
    expect(list.status).toBe(200);
    expect(list.text).toContain('No identity provider is set up');
    expect(list.text).toContain('<a class="govuk-link" href="/admin/scim" id="scim-link">SCIM tokens and the tenant URL</a>');
    expect(list.text).toMatch(/<a class="govuk-service-navigation__link" href="\/admin\/identity" aria-current="true">\s*<strong class="govuk-service-navigation__active-fallback">Sign-in<\/strong>/);
    const form = (await northAdmin.get('/admin/identity/providers/new?kind=oidc')).text;
    expect(form).toContain(`<code id="redirect-uri">${base}/sign-in/oidc/callback</code>`);
    const refusals: [Record<string, string>, string][] = [
      [{ name: ' ' }, 'Enter the name people see on the sign-in button, like "North Shire Council staff"'],
      [{ issuer: 'http://login.example.com/tenant' }, 'The issuer URL must start with https:// (plain http is only allowed for a provider on this machine\'s loopback address)'],
      [{ issuer: 'not a url' }, 'The issuer URL must be a full web address, like https://login.microsoftonline.com/…'],
      [{ clientId: '' }, 'Enter the client id (Entra ID: "Application (client) ID")'],
      [{ clientSecret: '' }, 'Enter the client secret (Entra ID: Certificates & secrets → the secret\'s Value)'],
      [{ groupsClaim: 'groups; drop' }, 'The groups claim must be a claim or attribute name (letters, digits and _ . : / # -), like "groups"'],
      // Shown on the sign-in page, in invitation mails and in the operator's `idp list`: no escapes, no line breaks.
      [{ name: 'North\u001b]52;c;cm0gLXJmIH4=\u0007' }, 'The name cannot contain control or text-direction characters'],
      [{ name: 'North\u202eerihS' }, 'The name cannot contain control or text-direction characters'],
      [{ issuer: 'https://login.example.com/\u001b[2J' }, 'The issuer URL must not contain spaces, control or text-direction characters'],
    ];
    for (const [fields, message] of refusals) {
      const refused = await northAdmin.post('/admin/identity/providers', providerForm(form, fields));
      expect([refused.status, errorSummary(refused.text)], JSON.stringify(fields)).toEqual([400, [message]]);
    }
    const added = await northAdmin.post('/admin/identity/providers', providerForm(form, {}));
    expect(added.status).toBe(303);
    providerId = /\/admin\/identity\/providers\/([0-9a-f-]{36})\?done=added/.exec(added.location!)![1]!;
    const page = await northAdmin.get(added.location!);
    expect(page.text).toContain('The identity provider was added.');
    expect(page.text).toContain('A secret is stored (sealed). Leave empty to keep it.');
    expect(page.text).not.toContain(idp.clientSecret);
    const event = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'identity-provider.add').where('target_organisation_id', '=', north.id).executeTakeFirstOrThrow();
    expect(event.decision).toBe('allow');
    expect(JSON.stringify(event)).not.toContain(idp.clientSecret);
    // An empty secret on a change keeps the stored one.
    const changed = await northAdmin.post(`/admin/identity/providers/${providerId}`, providerForm(page.text, { clientSecret: '', groupsClaim: '' }));
    expect(changed.status).toBe(303);
    expect((await t.vault.store.repos.federation.sealedSecret(providerId))).not.toBeNull();
  });

  it('keeps another organisation\'s admin and a member out, and audits each refusal', async () => {
    const before = (await denials(north.id)).length;
    const theirs = await southAdmin.get(`/admin/identity/providers/${providerId}`);
    expect([theirs.status, theirs.text.includes('No identity provider with that id exists, or you do not have access to it.')]).toEqual([404, true]);
    const page = (await southAdmin.get('/admin/identity')).text;
    expect(page).not.toContain('North Shire');
    const change = await southAdmin.post(`/admin/identity/providers/${providerId}`, providerForm(page, { name: 'Hijacked' }));
    expect(change.status).toBe(404);
    const remove = await southAdmin.post(`/admin/identity/providers/${providerId}/remove`, { _csrf: FormClient.csrf(page) });
    expect(remove.status).toBe(404);
    expect((await t.vault.store.repos.federation.provider(providerId))?.name).toBe('North Shire');

    const refused = await member.get('/admin/identity');
    expect(refused.status).toBe(403);
    expect(unescape(refused.text)).toContain('Only an org admin of this organisation can configure how its people sign in.');
    expect((await member.get('/')).text).not.toContain('href="/admin/identity"');
    expect((await member.get('/admin/identity/groups')).status).toBe(403);
    const after = await denials(north.id);
    expect(after.length - before).toBe(5);
    expect(after.slice(before).map((e) => e.action).sort()).toEqual(['organisation.identity', 'organisation.identity', 'organisation.read-identity', 'organisation.read-identity', 'organisation.read-identity']);
  });

  it('saves the group mapping, refusing an unknown role, and shows the sign-in buttons', async () => {
    const form = (await northAdmin.get('/admin/identity/groups')).text;
    const bad = await northAdmin.post('/admin/identity/groups', { _csrf: FormClient.csrf(form), rows: '1', 'group-0': 'grp-payroll', 'roles-0': 'emperor' });
    expect([bad.status, errorSummary(bad.text)]).toEqual([400, ['Row 1: unknown role emperor: roles are member, records_manager, org_admin, security_admin, auditor, dpo']]);
    const saved = await northAdmin.post('/admin/identity/groups', {
      _csrf: FormClient.csrf(form), rows: '2', 'group-0': 'grp-payroll', 'teams-0': 'payroll', 'clearance-0': 'OFFICIAL-SENSITIVE', 'group-1': '',
    });
    expect([saved.status, saved.location]).toEqual([303, '/admin/identity?done=groups']);
    expect(await t.vault.store.repos.federation.groupMappings(north.id)).toEqual([{ organisationId: north.id, group: 'grp-payroll', roles: [], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' }]);

    const anyone = new FormClient(base);
    const all = (await anyone.get('/sign-in')).text;
    expect(all).toContain(`href="/sign-in/oidc/${providerId}?next=%2F"`);
    expect(all).toContain('Sign in with North Shire');
    expect((await anyone.get(`/sign-in?org=${north.slug}`)).text).toContain('Sign in with North Shire');
    expect((await anyone.get(`/sign-in?org=${south.slug}`)).text).not.toContain('Sign in with North Shire');
  });

  it('answers the REST API for the organisation\'s own admins only, never with the secret', async () => {
    const admin = await north.user({ roles: ['org_admin'] });
    const stranger = await south.user({ roles: ['org_admin'] });
    const get = (token: string, path: string) => t.app.inject({ method: 'GET', url: `/api/v1/organisations/${north.slug}/${path}`, headers: { authorization: `Bearer ${token}` } });
    const listed = await get(admin.token, 'identity-providers');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().providers).toMatchObject([{ id: providerId, kind: 'oidc', name: 'North Shire', hasClientSecret: true, oidc: { issuer: idp.issuer, clientId: idp.clientId } }]);
    expect(listed.body).not.toContain(idp.clientSecret);
    const refused = await get(stranger.token, 'identity-providers');
    expect([refused.statusCode, refused.json().detail]).toEqual([403, 'Only an org admin of this organisation can configure how its people sign in.']);
    const put = (token: string, mappings: unknown) => t.app.inject({ method: 'PUT', url: `/api/v1/organisations/${north.slug}/group-mappings`, headers: { authorization: `Bearer ${token}` }, payload: { mappings } });
    const bad = await put(admin.token, [{ group: 'g1', teams: ['nowhere'] }]);
    expect([bad.statusCode, bad.json().detail]).toEqual([400, `Row 1: unknown service area nowhere: service areas are ${t.vault.serviceAreas.join(', ')}`]);
    const escaped = await put(admin.token, [{ group: 'grp\r\nstaff', roles: ['member'] }]);
    expect([escaped.statusCode, escaped.json().detail]).toEqual([400, 'Row 1: the group cannot contain control or text-direction characters']);
    expect((await put(stranger.token, [])).statusCode).toBe(403);
    const saved = await put(admin.token, [{ group: 'grp-payroll', teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' }]);
    expect([saved.statusCode, saved.json()]).toEqual([200, { mappings: [{ group: 'grp-payroll', roles: [], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' }] }]);
    expect((await get(admin.token, 'group-mappings')).json()).toEqual(saved.json());
    const openapi = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/organisations/{slug}/identity-providers', '/api/v1/organisations/{slug}/group-mappings']));
  });

  it('runs a test sign-in through the provider, showing what came back and changing nothing', async () => {
    const newcomer = `new-${randomUUID().slice(0, 8)}@${north.slug}.test`;
    await t.vault.organisations.changeEmailDomains(systemActor(), north.slug, { add: [`${north.slug}.test`] });
    idp.accounts.set('newcomer', { email: newcomer, email_verified: true, name: 'New Person', groups: ['grp-payroll'] });
    const fields = new URLSearchParams(providerForm((await northAdmin.get(`/admin/identity/providers/${providerId}`)).text, { clientSecret: '', groupsClaim: 'groups' }));
    fields.append('options', 'createAccounts');
    const saved = await northAdmin.request('POST', `/admin/identity/providers/${providerId}`, { body: fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(saved.status).toBe(303);
    expect((await t.vault.store.repos.federation.provider(providerId))?.createAccounts).toBe(true);
    // The admin's browser: Strongroom's cookies from the signed-in FormClient, the provider's of its own.
    const browser = new CookieBrowser();
    browser.jars.set(new URL(base).host, new Map(northAdmin.cookies));
    const callback = await browser.signInAtProvider(`${base}/admin/identity/providers/${providerId}/test`, 'newcomer');
    const outcome = await browser.request('GET', callback);
    expect(outcome.status).toBe(200);
    expect(unescape(outcome.text)).toContain('<p class="govuk-body govuk-!-font-weight-bold" id="test-outcome">This person would be signed in, with a new account created just in time.</p>');
    expect(outcome.text).toContain('grp-payroll');
    expect(outcome.text).toContain('Nobody was signed in and nothing was changed.');
    expect(await t.vault.store.repos.users.byEmail(newcomer)).toBeUndefined();
    expect(await t.vault.store.repos.federation.identity(providerId, 'newcomer')).toBeUndefined();
    expect((await northAdmin.get('/admin/identity')).status).toBe(200); // still the admin

    // Someone in no mapped group: the admin sees the refusal they would meet.
    idp.accounts.set('outsider', { email: `x-${randomUUID().slice(0, 6)}@elsewhere.test`, email_verified: true, groups: [] });
    const again = new CookieBrowser();
    again.jars.set(new URL(base).host, new Map(northAdmin.cookies));
    const second = await again.signInAtProvider(`${base}/admin/identity/providers/${providerId}/test`, 'outsider');
    const shown = await again.request('GET', second);
    expect(unescape(shown.text)).toContain(`This person would be refused: ${FEDERATED_REFUSALS.no_mapped_group}`);
  });
});
