// SAML 2.0 sign-in end to end over HTTP, on both dialects: the SP metadata and the AuthnRequest, the
// provider's cross-site POST answered by a same-site re-post, a signed assertion signing the person in
// (then the MFA stage), organisation boundaries, and an administrator's test sign-in that signs nobody in.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DatabaseUnavailableError } from '../../src/db/driver-errors.js';
import { openPostgres, ping } from '../../src/db/kysely.js';
import { SAML_REFUSALS } from '../../src/domain/identity/saml.js';
import { FEDERATED_REFUSALS } from '../../src/services/federated-sign-in.service.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { ENTRA_EMAIL, ENTRA_GROUPS, ENTRA_MFA, PERSISTENT_FORMAT, makeIdp, signedResponse, type TestIdp } from './saml-idp.js';
import { REQUEST_COOKIE, SAME_ORIGIN, SAML_ENV, escapeHtml, expectRefused, postResponse, samlProvider, spOf, startSignIn } from './saml-flow.js';

const clamd = useClamd();
let northIdp: TestIdp;
let southIdp: TestIdp;
beforeAll(() => {
  northIdp = makeIdp('north');
  southIdp = makeIdp('south');
});

describe.each(DIALECTS)('SAML sign-in on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { env: SAML_ENV });
  let north: TestOrganisation;
  let south: TestOrganisation;
  beforeAll(async () => {
    north = await createOrganisation(t.vault);
    south = await createOrganisation(t.vault);
  });

  it('serves SP metadata and sends the browser to the provider with an AuthnRequest naming this provider\'s entity id and reply URL', async () => {
    const p = await samlProvider(t.vault, north.id, northIdp);
    const sp = spOf(p.id);
    const metadata = await t.app.inject({ method: 'GET', url: `/sign-in/saml/${p.id}/metadata` });
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['content-type']).toBe('application/samlmetadata+xml; charset=utf-8');
    expect(metadata.body).toContain(`entityID="${sp.entityId}"`);
    expect(metadata.body).toContain(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${sp.acsUrl}"`);
    expect(metadata.body).toContain('WantAssertionsSigned="true"');

    const started = await startSignIn(t.app, p.id);
    expect(started.location.startsWith(`${northIdp.entryPoint}?SAMLRequest=`)).toBe(true);
    expect(started.authnRequest).toContain(`ID="${started.requestId}"`);
    expect(started.authnRequest).toContain(`AssertionConsumerServiceURL="${sp.acsUrl}"`);
    expect(started.authnRequest).toContain(`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${sp.entityId}</saml:Issuer>`);
    expect(started.authnRequest).toContain(`Destination="${northIdp.entryPoint}"`);

    // Not a SAML provider, or none at all: a clear 404 page.
    const missing = await t.app.inject({ method: 'GET', url: '/sign-in/saml/00000000-0000-4000-8000-000000000000' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('There is no SAML identity provider at this address.');
    const off = await samlProvider(t.vault, north.id, northIdp, { enabled: false });
    const refused = await t.app.inject({ method: 'GET', url: `/sign-in/saml/${off.id}` });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain(escapeHtml('Signing in through this identity provider is switched off. Ask your organisation\'s Strongroom administrator.'));
  });

  // Attack (login CSRF): another council's admin runs a provider that answers every request with a signed
  // assertion for their own account. Their page sends the victim's browser straight to that provider's start
  // address; without a question the victim would come back signed in as the attacker, in the attacker's council.
  it('asks before starting a sign-in another site sent the browser to, and starts at once from this site or a typed address', async () => {
    const p = await samlProvider(t.vault, south.id, southIdp, { name: 'South Borough (Entra ID)' });
    const southName = (await t.vault.store.repos.organisations.bySlug(south.slug))!.name;
    const url = `/sign-in/saml/${p.id}?next=%2Fupload`;
    // No Sec-Fetch-Site at all (older Safari and Firefox) is asked too: it used to start at once.
    for (const site of ['cross-site', 'same-site', undefined]) {
      const forced = await t.app.inject({ method: 'GET', url, headers: site ? { 'sec-fetch-site': site } : {} });
      expect(forced.statusCode, forced.body).toBe(200);
      expect(forced.cookies.find((c) => c.name === REQUEST_COOKIE)).toBeUndefined();
      expect(forced.headers.location).toBeUndefined();
      expect(forced.body).toContain('<h1 class="govuk-heading-l">Sign in with South Borough (Entra ID)?</h1>');
      expect(forced.body).toContain(`<p class="govuk-body" id="federated-start-organisation">This signs you in to Strongroom as a member of ${escapeHtml(southName)}.`);
      expect(forced.body).toMatch(new RegExp(`<a href="${escapeHtml(url).replace(/[?.]/g, '\\$&')}" role="button" draggable="false" class="govuk-button" data-module="govuk-button"\\s+id="continue">`));
    }
    for (const site of ['same-origin', 'none']) {
      const chosen = await t.app.inject({ method: 'GET', url, headers: { 'sec-fetch-site': site } });
      expect(chosen.statusCode, chosen.body).toBe(303);
      expect(String(chosen.headers.location).startsWith(`${southIdp.entryPoint}?SAMLRequest=`)).toBe(true);
      expect(chosen.cookies.find((c) => c.name === REQUEST_COOKIE)).toBeDefined();
    }
    // A switched-off or missing provider is refused as before, wherever the browser came from.
    const off = await samlProvider(t.vault, south.id, southIdp, { enabled: false });
    expect((await t.app.inject({ method: 'GET', url: `/sign-in/saml/${off.id}`, headers: { 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/sign-in/saml/00000000-0000-4000-8000-000000000000', headers: { 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(404);
  });

  it('signs a person in from a signed assertion, after re-posting the provider\'s cross-site answer from this site', async () => {
    const p = await samlProvider(t.vault, north.id, northIdp);
    const person = await north.user({ roles: ['member'] });
    const started = await startSignIn(t.app, p.id);
    const response = signedResponse(northIdp, { inResponseTo: started.requestId, ...acs(p.id), nameId: person.email.toUpperCase() });

    // The provider's POST is cross-site: no cookies come with it. It is posted back, unchanged, from here.
    const bounce = await postResponse(t.app, p.id, response, {}, false);
    expect(bounce.statusCode).toBe(200);
    expect(bounce.body).toContain(`<form method="post" action="/sign-in/saml/${p.id}/acs" id="saml-continue" data-auto-submit>`);
    expect(bounce.body).toContain(`<input type="hidden" name="SAMLResponse" value="${response}">`);
    expect(bounce.body).toContain('<input type="hidden" name="_bounced" value="1">');
    expect(bounce.body).toContain('<script src="/assets/app/saml-continue.js"></script>');
    expect(bounce.cookies.find((c) => c.name === 'strongroom-session')).toBeUndefined();

    const done = await postResponse(t.app, p.id, response, started.cookies);
    expect(done.statusCode, done.body).toBe(303);
    expect(done.headers.location).toBe('/upload');
    const session = done.cookies.find((c) => c.name === 'strongroom-session')!;
    expect((await t.vault.sessions.resolve(session.value))?.user.id).toBe(person.id);
    // The request cookie is spent, and the person is linked by the NameID.
    expect(done.cookies.find((c) => c.name === REQUEST_COOKIE)?.value).toBe('');
    expect(await t.vault.store.repos.federation.identity(p.id, person.email.toUpperCase())).toMatchObject({ userId: person.id });
    const home = await t.app.inject({ method: 'GET', url: '/', cookies: { 'strongroom-session': session.value } });
    expect(home.statusCode).toBe(200);
  });

  it('reads the e-mail attribute for a persistent NameID, maps the groups attribute, and creates an account just in time', async () => {
    const p = await samlProvider(t.vault, north.id, northIdp, { createAccounts: true, groupsClaim: ENTRA_GROUPS });
    await t.vault.organisations.changeEmailDomains(systemActor(), north.slug, { add: ['north.test'] });
    await t.vault.store.repos.federation.replaceGroupMappings(north.id, [
      { organisationId: north.id, group: 'b1f0c3d2-payroll', roles: [], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const email = `new-${Date.now()}@north.test`;
    const started = await startSignIn(t.app, p.id);
    const done = await postResponse(t.app, p.id, signedResponse(northIdp, {
      inResponseTo: started.requestId, ...acs(p.id), nameId: 'AAAAAAAAAAAAAAAAAAAAAHwJ1OQHqPzG8V0tF9Gx5S0', nameIdFormat: PERSISTENT_FORMAT,
      attributes: { [ENTRA_EMAIL]: [email], [ENTRA_GROUPS]: ['b1f0c3d2-payroll', 'unmapped-group'], 'http://schemas.microsoft.com/identity/claims/displayname': ['Robin Hale'] },
    }), started.cookies);
    expect(done.statusCode, done.body).toBe(303);
    const user = (await t.vault.store.repos.users.byEmail(email))!;
    expect(user).toMatchObject({ organisationId: north.id, name: 'Robin Hale', roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
  });

  it('creates no account, and matches none, for an asserted address that is not one e-mail address (a list, spaces, a quoted local part)', async () => {
    const p = await samlProvider(t.vault, north.id, northIdp, { createAccounts: true });
    await t.vault.organisations.changeEmailDomains(systemActor(), north.slug, { add: ['north-jit.test'] });
    const victim = await south.user({ roles: ['org_admin'] });
    // Each ends in the organisation's own domain, so only the address's shape stands between it and an account
    // that every page and listing shows as another council's person, or a second address smuggled into mail.
    for (const asserted of [`${victim.email},x@north-jit.test`, `${victim.email} <x@north-jit.test>`, `"${victim.email}"@north-jit.test`, 'a b@north-jit.test', '@north-jit.test']) {
      const started = await startSignIn(t.app, p.id);
      const res = await postResponse(t.app, p.id, signedResponse(northIdp, {
        inResponseTo: started.requestId, ...acs(p.id), nameId: `AAAA${Date.now()}${Math.random()}`, nameIdFormat: PERSISTENT_FORMAT, attributes: { [ENTRA_EMAIL]: [asserted] },
      }), started.cookies);
      expect(await expectRefused(t.vault, res, FEDERATED_REFUSALS.email_invalid, north.id), asserted).toBe(`saml:${p.id};email_invalid`);
      expect(await t.vault.store.repos.users.byEmail(asserted.toLowerCase()), asserted).toBeUndefined();
    }
  });

  it('asks for the second factor unless the provider\'s AuthnContextClassRef is one the organisation trusts', async () => {
    const p = await samlProvider(t.vault, north.id, northIdp, { mfaAcrValues: [ENTRA_MFA] });
    const admin = await north.user({ roles: ['org_admin'] });
    const first = await startSignIn(t.app, p.id);
    const withPassword = await postResponse(t.app, p.id, signedResponse(northIdp, { inResponseTo: first.requestId, ...acs(p.id), nameId: admin.email }), first.cookies);
    expect(withPassword.statusCode).toBe(303);
    expect(withPassword.headers.location).toBe(`/sign-in/code?next=${encodeURIComponent('/upload')}`);
    const second = await startSignIn(t.app, p.id);
    const withMfa = await postResponse(t.app, p.id, signedResponse(northIdp, { inResponseTo: second.requestId, ...acs(p.id), nameId: admin.email, authnContext: ENTRA_MFA }), second.cookies);
    expect(withMfa.headers.location).toBe('/upload');
    const session = await t.vault.sessions.resolve(withMfa.cookies.find((c) => c.name === 'strongroom-session')!.value);
    expect(session?.stage).toBe('active');
  });

  it('keeps organisations apart: A\'s provider cannot sign in B\'s person, and A\'s answer is refused at B\'s reply URL', async () => {
    const a = await samlProvider(t.vault, north.id, northIdp);
    const b = await samlProvider(t.vault, south.id, southIdp);
    const theirs = await south.user({});
    const started = await startSignIn(t.app, a.id);
    const res = await postResponse(t.app, a.id, signedResponse(northIdp, { inResponseTo: started.requestId, ...acs(a.id), nameId: theirs.email }), started.cookies);
    // Answered as for an address nobody holds: A's admins control what A's IdP asserts (no oracle of B's accounts).
    expect(await expectRefused(t.vault, res, FEDERATED_REFUSALS.no_account, north.id)).toBe(`saml:${a.id};no_account`);
    expect(await t.vault.store.repos.federation.identitiesOf(theirs.id)).toEqual([]);

    // An answer A's IdP signed for A's entity id, posted at B's reply URL with a request B's start gave this browser.
    const atB = await startSignIn(t.app, b.id);
    const forA = signedResponse(northIdp, { inResponseTo: atB.requestId, ...acs(a.id), nameId: theirs.email });
    expect(await expectRefused(t.vault, await postResponse(t.app, b.id, forA, atB.cookies), SAML_REFUSALS.unsigned, south.id)).toBe(`saml:${b.id};unsigned`);
  });

  it('lets an org admin test a provider: what was asserted and the access it maps to, with nobody signed in; a member may not', async () => {
    const p = await samlProvider(t.vault, north.id, northIdp, { groupsClaim: ENTRA_GROUPS });
    await t.vault.store.repos.federation.replaceGroupMappings(north.id, [
      { organisationId: north.id, group: 'grp-records', roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const admin = await north.user({ roles: ['org_admin'] });
    const adminUser = (await t.vault.store.repos.users.byId(admin.id))!;
    const adminSession = await t.vault.sessions.startVerifiedSession(adminUser, 'active', { channel: 'web', clientAddress: '127.0.0.1', requestId: null }, 'test');
    const started = await startSignIn(t.app, p.id, { url: `/admin/identity/providers/${p.id}/test-saml`, cookies: { 'strongroom-session': adminSession } });
    const email = `tested-${Date.now()}@north.test`;
    const res = await postResponse(t.app, p.id, signedResponse(northIdp, {
      inResponseTo: started.requestId, ...acs(p.id), nameId: email, attributes: { [ENTRA_GROUPS]: ['grp-records'] },
    }), started.cookies);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain(`<p class="govuk-body" id="verdict">${escapeHtml('Refused: there is no account for this person, and this provider does not create accounts.')}</p>`);
    expect(res.body).toContain('records_manager');
    expect(res.body).toContain('OFFICIAL-SENSITIVE');
    expect(res.body).toContain(email);
    // Nobody was signed in or created, and the admin's own session is unchanged.
    expect(res.cookies.find((c) => c.name === 'strongroom-session')).toBeUndefined();
    expect(await t.vault.store.repos.users.byEmail(email)).toBeUndefined();
    expect(await t.vault.store.repos.federation.identity(p.id, email)).toBeUndefined();

    const member = await north.user({ roles: ['member'] });
    const memberSession = await t.vault.sessions.startVerifiedSession((await t.vault.store.repos.users.byId(member.id))!, 'active', { channel: 'web', clientAddress: '127.0.0.1', requestId: null }, 'test');
    const refused = await t.app.inject({ method: 'GET', url: `/admin/identity-providers/${p.id}/test`, cookies: { 'strongroom-session': memberSession } });
    expect(refused.statusCode).toBe(404);
    const [denial] = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'organisation.identity')
      .where('actor_user_id', '=', member.id).execute();
    expect(denial?.decision).toBe('deny');
  });
});

const acs = (providerId: string) => ({ acsUrl: spOf(providerId).acsUrl, audience: spOf(providerId).entityId });

describe('SAML sign-in without the public address', () => {
  const t = useTestVault('sqlite', clamd);

  it('answers 503 with a clear page: the entity id and reply URL are never guessed from a request\'s Host', async () => {
    const org = await createOrganisation(t.vault);
    const p = await samlProvider(t.vault, org.id, northIdp);
    const message = escapeHtml('SAML sign-in is not available: the service\'s public address (STRONGROOM_PUBLIC_URL) is not set. Ask the people who run Strongroom.');
    const start = await t.app.inject({ method: 'GET', url: `/sign-in/saml/${p.id}`, headers: { host: 'attacker.example', ...SAME_ORIGIN } });
    expect(start.statusCode).toBe(503);
    expect(start.body).toContain(message);
    const metadata = await t.app.inject({ method: 'GET', url: `/sign-in/saml/${p.id}/metadata` });
    expect(metadata.statusCode).toBe(503);
    expect(metadata.body).toContain(message);
  });
});

describe('SAML sign-in while the database is unavailable for a moment', () => {
  const t = useTestVault('sqlite', clamd, { env: SAML_ENV });

  it('the start page answers 503 with Retry-After and the words "try again", as every other page does', async () => {
    const org = await createOrganisation(t.vault);
    const p = await samlProvider(t.vault, org.id, northIdp);
    // The driver's own translation of a PostgreSQL that refuses connections (nothing listens on port 1).
    const refusing = openPostgres('postgres://postgres@127.0.0.1:1/strongroom', 1);
    const unavailable = await ping(refusing.db).then(() => null, (error: unknown) => error);
    await refusing.close();
    expect(unavailable).toBeInstanceOf(DatabaseUnavailableError);
    const start = vi.spyOn(t.vault.samlSignIn, 'start').mockRejectedValueOnce(unavailable);
    try {
      const res = await t.app.inject({ method: 'GET', url: `/sign-in/saml/${p.id}`, headers: SAME_ORIGIN });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toContain(escapeHtml('The database is not available at the moment. Try again in a few seconds.'));
    } finally {
      start.mockRestore();
    }
  });
});

describe('SAML sign-in behind a TLS proxy', () => {
  const t = useTestVault('sqlite', clamd, { env: { ...SAML_ENV, STRONGROOM_TRUST_PROXY: '1' } });

  it('keeps the request in a __Host- cookie (Secure, HttpOnly, SameSite=Lax) and signs in with it', async () => {
    const org = await createOrganisation(t.vault);
    const p = await samlProvider(t.vault, org.id, northIdp);
    const person = await org.user({ roles: ['member'] });
    const headers = { 'x-forwarded-proto': 'https', ...SAME_ORIGIN };
    const start = await t.app.inject({ method: 'GET', url: `/sign-in/saml/${p.id}`, headers });
    const cookie = start.cookies.find((c) => c.name === '__Host-strongroom-saml')!;
    expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/', maxAge: 600 });
    const response = signedResponse(northIdp, { inResponseTo: cookie.value.split('.')[0]!, ...acs(p.id), nameId: person.email });
    const done = await t.app.inject({
      method: 'POST', url: `/sign-in/saml/${p.id}/acs`, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      cookies: { '__Host-strongroom-saml': cookie.value }, payload: new URLSearchParams({ SAMLResponse: response, _bounced: '1' }).toString(),
    });
    expect(done.statusCode, done.body).toBe(303);
    expect(done.cookies.find((c) => c.name === '__Host-strongroom-session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax' });
    // A request cookie under the plain name (as a sibling subdomain could plant it) is not read over TLS.
    const again = (await t.app.inject({ method: 'GET', url: `/sign-in/saml/${p.id}`, headers })).cookies.find((c) => c.name === '__Host-strongroom-saml')!;
    const planted = await t.app.inject({
      method: 'POST', url: `/sign-in/saml/${p.id}/acs`, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, cookies: { 'strongroom-saml': again.value },
      payload: new URLSearchParams({ SAMLResponse: signedResponse(northIdp, { inResponseTo: again.value.split('.')[0]!, ...acs(p.id), nameId: person.email }), _bounced: '1' }).toString(),
    });
    expect(await expectRefused(t.vault, planted, SAML_REFUSALS.not_this_browser, org.id)).toBe(`saml:${p.id};not_this_browser`);
  });
});
