// Adding a SAML 2.0 provider on the org admin's "Sign-in and provisioning" pages, on both dialects: each bad
// field refused with its message, and the provider's page showing the Identifier (Entity ID), Reply URL and
// Sign on URL to enter at the IdP (Entra's Basic SAML Configuration) — the very addresses a sign-in is then
// checked against, so an assertion made for what the page shows signs a person in. Without the service's
// public address the page says SAML is unavailable instead of showing addresses built from a request's Host.
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from '../ui/support.js';
import { ENTRA_EMAIL, ENTRA_GROUPS, ENTRA_MFA, PERSISTENT_FORMAT, makeIdp, signedResponse, type TestIdp } from './saml-idp.js';
import { PUBLIC_URL, SAML_ENV, postResponse, startSignIn } from './saml-flow.js';

const clamd = useClamd();
const unescape = (html: string) => html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
const errorSummary = (html: string) => [...unescape(html).matchAll(/<a href="#[^"]*">([^<]+)<\/a>/g)].map((m) => m[1]).filter((t) => !/Skip to main content/.test(t!));
const shown = (html: string, id: string) => new RegExp(`<code id="${id}">([^<]*)</code>`).exec(html)?.[1];

let idp: TestIdp;
beforeAll(() => {
  idp = makeIdp('council-admin');
});

function baseOf(t: TestVault): string {
  const address = t.app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function orgAdmin(t: TestVault, org: TestOrganisation): Promise<FormClient> {
  const person = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
  const client = new FormClient(baseOf(t));
  await client.signIn(person.email, undefined, await enrolTotp(t.vault, person.id));
  return client;
}

describe.each(DIALECTS)('adding a SAML provider through the admin pages on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { env: SAML_ENV, listen: true });
  let org: TestOrganisation;
  let admin: FormClient;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
    admin = await orgAdmin(t, org);
  });

  const samlForm = (page: string, fields: Record<string, string>) => ({
    _csrf: FormClient.csrf(page), kind: 'saml', name: 'North Shire (Entra ID)', entryPoint: idp.entryPoint, idpEntityId: idp.entityId,
    idpCertificates: idp.cert, emailAttribute: ENTRA_EMAIL, groupsClaim: ENTRA_GROUPS, mfaAmrValues: '', mfaAcrValues: ENTRA_MFA, options: 'enabled', ...fields,
  });

  it('refuses each bad field with its message, adds the provider, and shows the addresses to enter at the IdP', async () => {
    const form = await admin.get('/admin/identity/providers/new?kind=saml');
    expect(form.status).toBe(200);
    expect(unescape(form.text)).toContain('<p class="govuk-body" id="sp-after-adding">Once you add the provider, this page shows its Identifier (Entity ID), Reply URL and Sign on URL to enter at your identity provider.</p>');
    const refusals: [Record<string, string>, string][] = [
      [{ entryPoint: 'http://login.example.com/saml2' }, 'The single sign-on URL must start with https:// (plain http is only allowed for a provider on this machine\'s loopback address)'],
      [{ idpEntityId: ' ' }, 'Enter the identity provider\'s entity id (Entra ID: "Microsoft Entra Identifier")'],
      [{ idpCertificates: '' }, 'Add the identity provider\'s signing certificate (Base64 or PEM)'],
      [{ idpCertificates: 'not a certificate' }, 'The signing certificate must be a Base64 or PEM certificate, as the identity provider gives it for download'],
    ];
    for (const [fields, message] of refusals) {
      const refused = await admin.post('/admin/identity/providers', samlForm(form.text, fields));
      expect([refused.status, errorSummary(refused.text)], JSON.stringify(fields)).toEqual([400, [message]]);
    }
    expect(await t.vault.store.repos.federation.providers(org.id)).toEqual([]);

    const added = await admin.post('/admin/identity/providers', samlForm(form.text, {}));
    expect(added.status, added.text).toBe(303);
    const id = /\/admin\/identity\/providers\/([0-9a-f-]{36})\?done=added/.exec(added.location!)![1]!;
    const page = await admin.get(added.location!);
    expect(page.text).toContain('The identity provider was added.');
    expect([shown(page.text, 'sp-entity-id'), shown(page.text, 'sp-acs-url'), shown(page.text, 'sp-sign-on-url')]).toEqual([
      `${PUBLIC_URL}/sign-in/saml/${id}/metadata`, `${PUBLIC_URL}/sign-in/saml/${id}/acs`, `${PUBLIC_URL}/sign-in/saml/${id}`,
    ]);
    expect(page.text).not.toContain('id="sp-after-adding"');
    expect(await t.vault.store.repos.federation.provider(id)).toMatchObject({
      kind: 'saml', organisationId: org.id, enabled: true, groupsClaim: ENTRA_GROUPS, mfaAcrValues: [ENTRA_MFA],
      saml: { entryPoint: idp.entryPoint, idpEntityId: idp.entityId, idpCertificates: [idp.cert.trim()], emailAttribute: ENTRA_EMAIL },
    });
    // The list's Test sign-in button leads to the SAML test sign-in.
    const list = await admin.get('/admin/identity');
    expect(list.text).toContain(`href="/admin/identity/providers/${id}/test"`);
    const test = await admin.get(`/admin/identity/providers/${id}/test`);
    expect([test.status, test.location]).toEqual([303, `/admin/identity/providers/${id}/test-saml`]);
  });

  it('signs a person in with an assertion made for the addresses the page shows', async () => {
    const form = await admin.get('/admin/identity/providers/new?kind=saml');
    const added = await admin.post('/admin/identity/providers', samlForm(form.text, { groupsClaim: '' }));
    const id = /\/admin\/identity\/providers\/([0-9a-f-]{36})\?done=added/.exec(added.location!)![1]!;
    const page = (await admin.get(`/admin/identity/providers/${id}`)).text;
    const person = await org.user({ roles: ['member'] });
    const started = await startSignIn(t.app, id);
    const response = signedResponse(idp, {
      inResponseTo: started.requestId, audience: shown(page, 'sp-entity-id')!, acsUrl: shown(page, 'sp-acs-url')!,
      nameId: `persistent-${person.id}`, nameIdFormat: PERSISTENT_FORMAT, attributes: { [ENTRA_EMAIL]: [person.email] },
    });
    const done = await postResponse(t.app, id, response, started.cookies);
    expect([done.statusCode, done.headers.location], done.body).toEqual([303, '/upload']);
    expect(await t.vault.store.repos.federation.identitiesOf(person.id)).toMatchObject([{ providerId: id, subject: `persistent-${person.id}` }]);
  });
});

describe('a SAML provider\'s page without the public address', () => {
  const t = useTestVault('sqlite', clamd, { listen: true });

  it('says SAML sign-in is unavailable and shows no addresses built from the request\'s Host', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await orgAdmin(t, org);
    const form = await admin.get('/admin/identity/providers/new?kind=saml');
    const added = await admin.post('/admin/identity/providers', {
      _csrf: FormClient.csrf(form.text), kind: 'saml', name: 'North Shire (Entra ID)', entryPoint: idp.entryPoint, idpEntityId: idp.entityId, idpCertificates: idp.cert, options: 'enabled',
    });
    expect(added.status, added.text).toBe(303);
    const page = await t.app.inject({ method: 'GET', url: added.location!, headers: { host: 'attacker.example' }, cookies: Object.fromEntries(admin.cookies) });
    expect(page.statusCode).toBe(200);
    expect(unescape(page.body)).toContain('<p class="govuk-body" id="sp-unavailable">SAML sign-in is not available: this provider\'s Identifier (Entity ID) and Reply URL are built from the service\'s public address (STRONGROOM_PUBLIC_URL), which is not set. Ask the people who run Strongroom to set it.</p>');
    expect(page.body).not.toContain('id="sp-addresses"');
    expect(page.body).not.toContain('attacker.example');
  });
});
