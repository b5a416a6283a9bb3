// OpenID Connect sign-in against a real provider (oidc-provider on 127.0.0.1, its own login page), on both
// dialects: the code flow end to end, and each hostile answer refused with a clear page and audited —
// a tampered, wrong-audience, wrong-issuer or expired ID token, a replayed state or nonce, a callback in
// another browser, an unverified e-mail, and another organisation's person through this provider.
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { FEDERATED_REFUSALS } from '../../src/services/federated-sign-in.service.js';
import { actorFor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { CookieBrowser, decodeJwt, startOpenIdProvider, type TestOpenIdProvider } from './oidc-provider.js';

const clamd = useClamd();
const CLI = { channel: 'cli' as const, clientAddress: null, requestId: null };
const START_AGAIN = 'This sign-in was started in another browser, has already been used, or took longer than 10 minutes. Go back to the sign-in page and start again.';
const refusal = (html: string) => /<p class="govuk-body" id="refusal">([^<]*)<\/p>/.exec(html)?.[1]?.replace(/&#39;/g, "'");

describe.each(DIALECTS)('OpenID Connect sign-in on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  let idp: TestOpenIdProvider;
  let north: TestOrganisation;
  let south: TestOrganisation;
  let providerId: string;

  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    idp = await startOpenIdProvider(base);
    north = await createOrganisation(t.vault);
    south = await createOrganisation(t.vault);
    const admin = await t.vault.identity.userByEmail((await north.user({ roles: ['org_admin'] })).email);
    const provider = await t.vault.identityProviders.add(actorFor(admin, CLI), north.id, {
      kind: 'oidc', name: 'North Shire', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, scopes: ['openid', 'email', 'profile'],
      mfaAmrValues: ['mfa'],
    });
    providerId = provider.id;
  });
  afterAll(async () => {
    await idp?.close();
  });

  /** A north person the provider knows as `login`, with a verified e-mail unless told otherwise. */
  async function account(org: TestOrganisation, patch: { email_verified?: boolean } = {}) {
    const person = await org.user({ roles: ['member'] });
    const login = `login-${person.id.slice(0, 8)}`;
    idp.accounts.set(login, { email: person.email, email_verified: patch.email_verified ?? true, name: 'Sam Jones' });
    return { person, login };
  }
  const start = () => `${base}/sign-in/oidc/${providerId}?next=%2Fupload`;
  const lastSignIn = async () => (await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.sign-in')
    .where('target_organisation_id', '=', north.id).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow());

  it('signs a person in through the provider\'s own login page, and back where they were going', async () => {
    const { person, login } = await account(north);
    const browser = new CookieBrowser();
    const callback = await browser.signInAtProvider(start(), login);
    const landed = await browser.request('GET', callback);
    expect([landed.status, landed.location]).toEqual([303, `${base}/upload`]);
    const home = await browser.request('GET', `${base}/`);
    expect(home.status).toBe(200);
    expect(home.text).toContain('<h1 class="govuk-heading-l">Welcome, Test User</h1>');
    expect(await t.vault.store.repos.federation.identitiesOf(person.id)).toMatchObject([{ providerId, subject: login }]);
    const audited = await lastSignIn();
    expect([audited.decision, audited.reason, audited.actor_user_id]).toEqual(['allow', `oidc:${providerId}`, person.id]);
  });

  // Attack (login CSRF): a page of another site sends the victim's browser to the start address of a provider
  // that signs everyone in as the attacker. Strongroom asks first; a click on its own sign-in page starts at once.
  it('asks before starting a sign-in another site sent the browser to', async () => {
    const url = `/sign-in/oidc/${providerId}?next=%2Fupload`;
    const forced = await t.app.inject({ method: 'GET', url, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(forced.statusCode, forced.body).toBe(200);
    expect(forced.cookies.find((c) => c.name === 'strongroom-oidc')).toBeUndefined();
    expect(forced.body).toContain('<h1 class="govuk-heading-l">Sign in with North Shire?</h1>');
    expect(forced.body).toContain(`href="${url.replace(/&/g, '&amp;')}" role="button"`);
    // A browser that does not say where it came from (no Fetch Metadata: older Safari and Firefox) is asked
    // too: the forced sign-in used to work in exactly those browsers (attack review of the web interface).
    const unsaid = await t.app.inject({ method: 'GET', url });
    expect(unsaid.statusCode, unsaid.body).toBe(200);
    expect(unsaid.cookies.find((c) => c.name === 'strongroom-oidc')).toBeUndefined();
    expect(unsaid.body).toContain('<h1 class="govuk-heading-l">Sign in with North Shire?</h1>');
    const clicked = await t.app.inject({ method: 'GET', url, headers: { 'sec-fetch-site': 'same-origin' } });
    expect(clicked.statusCode).toBe(303);
    expect(String(clicked.headers.location).startsWith(idp.issuer)).toBe(true);
    expect(clicked.cookies.find((c) => c.name === 'strongroom-oidc')).toBeDefined();
  });

  it('refuses a replayed state, and a callback in another browser', async () => {
    const { login } = await account(north);
    const browser = new CookieBrowser();
    const callback = await browser.signInAtProvider(start(), login);
    const jar = browser.jars.get(new URL(base).host)!;
    const flow = jar.get('strongroom-oidc')!;
    expect((await browser.request('GET', callback)).status).toBe(303);
    // The same callback, with the same flow cookie put back (as an attacker who copied both would).
    jar.set('strongroom-oidc', flow);
    const replayed = await browser.request('GET', callback);
    expect([replayed.status, refusal(replayed.text)]).toEqual([401, START_AGAIN]);
    expect((await lastSignIn()).reason).toBe(`oidc:${providerId};state_replayed`);

    const again = new CookieBrowser();
    const fresh = await again.signInAtProvider(start(), login);
    const elsewhere = await new CookieBrowser().request('GET', fresh);
    expect([elsewhere.status, refusal(elsewhere.text)]).toEqual([401, START_AGAIN]);
    expect(elsewhere.text).not.toContain('strongroom-session');
  });

  const hostile: [string, TestOpenIdProvider['rewrite'] | 'replayed-token', string, string][] = [
    ['a token signed with another key', async (token, sign) => sign(decodeJwt(token), { stranger: true }), 'bad_signature', 'signature is not valid'],
    ['a token for another application', async (token, sign) => sign({ ...decodeJwt(token), aud: 'another-application' }), 'wrong_audience', 'wrong audience'],
    ['a token from another issuer', async (token, sign) => sign({ ...decodeJwt(token), iss: 'https://impostor.example' }), 'wrong_issuer', 'another issuer'],
    ['an expired token', async (token, sign) => {
      const now = Math.floor(Date.now() / 1000);
      return sign({ ...decodeJwt(token), iat: now - 900, exp: now - 300 });
    }, 'expired', 'has expired'],
    ['a token (and nonce) from an earlier sign-in', 'replayed-token', 'nonce_mismatch', 'belongs to another sign-in'],
  ];

  it.each(hostile)('refuses %s with a clear page, signing nobody in', async (_what, rewrite, reason, words) => {
    const { person, login } = await account(north);
    const browser = new CookieBrowser();
    const callback = await browser.signInAtProvider(start(), login);
    if (rewrite === 'replayed-token') {
      const earlier = idp.issued[0]!;
      idp.rewrite = async () => earlier;
    } else {
      idp.rewrite = rewrite;
    }
    const answer = await browser.request('GET', callback);
    expect(answer.status).toBe(401);
    expect(refusal(answer.text)).toContain('Strongroom could not verify the answer from your identity provider, so you are not signed in.');
    expect(refusal(answer.text)).toContain(words);
    expect(browser.jars.get(new URL(base).host)!.has('strongroom-session')).toBe(false);
    expect(await t.vault.store.repos.federation.identitiesOf(person.id)).toEqual([]);
    expect((await lastSignIn()).reason).toBe(`oidc:${providerId};${reason}`);
  });

  it('refuses an unverified e-mail, and another organisation\'s person through this provider', async () => {
    const unverified = await account(north, { email_verified: false });
    const browser = new CookieBrowser();
    const answer = await browser.request('GET', await browser.signInAtProvider(start(), unverified.login));
    expect([answer.status, refusal(answer.text)]).toEqual([401, FEDERATED_REFUSALS.email_unverified]);

    const theirs = await account(south);
    const other = new CookieBrowser();
    const refused = await other.request('GET', await other.signInAtProvider(start(), theirs.login));
    // Answered as for an address nobody holds: the organisation's admins control what its provider asserts,
    // so naming another organisation's account would be an oracle of other councils' addresses.
    expect([refused.status, refusal(refused.text)]).toEqual([401, FEDERATED_REFUSALS.no_account]);
    expect(await t.vault.store.repos.federation.identitiesOf(theirs.person.id)).toEqual([]);
    expect((await lastSignIn()).reason).toBe(`oidc:${providerId};no_account`);
  });

  it('asks for the second factor like the password step does, and signs out at the provider too', async () => {
    const admin = await north.user({ roles: ['org_admin'] }); // MFA set up by the fixture
    const login = `admin-${admin.id.slice(0, 8)}`;
    idp.accounts.set(login, { email: admin.email, email_verified: true });
    const browser = new CookieBrowser();
    const landed = await browser.request('GET', await browser.signInAtProvider(start(), login));
    expect([landed.status, landed.location]).toEqual([303, `${base}/sign-in/code?next=%2Fupload`]);

    const { login: member } = await account(north);
    const signedIn = new CookieBrowser();
    await signedIn.request('GET', await signedIn.signInAtProvider(start(), member));
    const home = await signedIn.request('GET', `${base}/`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(home.text)![1]!;
    const out = await signedIn.request('POST', `${base}/sign-out`, { _csrf: csrf });
    expect(out.status).toBe(200);
    const endSession = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(out.text)![1]!.replace(/&amp;/g, '&');
    const url = new URL(endSession);
    expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/session/end`);
    expect([url.searchParams.get('client_id'), url.searchParams.get('post_logout_redirect_uri')]).toEqual([idp.clientId, `${base}/sign-in?signed-out`]);
    expect((await signedIn.request('GET', `${base}/`)).status).toBe(303);
  });

  // Entra ID's ID token (docs/identity.md steps 4, 5 and 8): no email_verified but xms_edov, MFA said in amr,
  // groups as object ids. Each is read as configured: the address counts as verified, the provider's MFA is
  // trusted (no Strongroom code), the groups set access; without mfa in amr, the code is asked for again.
  it('signs in an ID token shaped as Entra ID sends it: xms_edov, amr, groups by object id', async () => {
    const objectId = '6f3a0d52-1c5e-4a8b-9a43-0c2f8e1d7b19';
    const owner = await t.vault.identity.userByEmail((await north.user({ roles: ['org_admin'] })).email);
    const entra = await t.vault.identityProviders.add(actorFor(owner, CLI), north.id, {
      kind: 'oidc', name: 'North Shire (Entra ID)', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret,
      scopes: ['openid', 'email', 'profile'], groupsClaim: 'groups', mfaAmrValues: ['mfa'],
    });
    await t.vault.store.repos.federation.replaceGroupMappings(north.id, [
      { organisationId: north.id, group: objectId, roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const person = await north.user({ roles: ['member'] });
    const login = `entra-${person.id.slice(0, 8)}`;
    // The provider itself says nothing of verification: only the Entra claims below can make the address count.
    idp.accounts.set(login, { email: person.email, name: 'Sam Jones' });
    const asEntra = (amr: string[], xmsEdov: boolean): TestOpenIdProvider['rewrite'] => async (token, sign) => {
      const { email_verified: _none, ...claims } = decodeJwt(token);
      return sign({ ...claims, xms_edov: xmsEdov, amr, groups: [objectId, 'a-group-nobody-mapped'] });
    };
    const startEntra = `${base}/sign-in/oidc/${entra.id}?next=%2Fupload`;
    const lastReason = async () => (await lastSignIn()).reason;

    const unverified = new CookieBrowser();
    const callback = await unverified.signInAtProvider(startEntra, login);
    idp.rewrite = asEntra(['pwd', 'mfa'], false);
    const refused = await unverified.request('GET', callback);
    expect([refused.status, refusal(refused.text)]).toEqual([401, FEDERATED_REFUSALS.email_unverified]);
    expect(await lastReason()).toBe(`oidc:${entra.id};email_unverified`);

    const browser = new CookieBrowser();
    const first = await browser.signInAtProvider(startEntra, login);
    idp.rewrite = asEntra(['pwd', 'mfa'], true);
    const landed = await browser.request('GET', first);
    // A records manager needs MFA; Entra did it, so no Strongroom code is asked for.
    expect([landed.status, landed.location]).toEqual([303, `${base}/upload`]);
    expect(await lastReason()).toBe(`oidc:${entra.id}+provider_mfa`);
    expect(await t.vault.store.repos.users.byId(person.id)).toMatchObject({ roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' });
    expect(await t.vault.store.repos.federation.identitiesOf(person.id)).toMatchObject([{ providerId: entra.id, subject: login }]);

    const again = new CookieBrowser();
    const second = await again.signInAtProvider(startEntra, login);
    idp.rewrite = asEntra(['pwd'], true);
    const asked = await again.request('GET', second);
    expect([asked.status, asked.location]).toEqual([303, `${base}/sign-in/set-up-mfa?next=%2Fupload`]);
    const owed = await t.vault.store.db.selectFrom('audit_events').select('reason').where('action', '=', 'auth.federated')
      .where('actor_user_id', '=', person.id).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(owed.reason).toBe(`oidc:${entra.id};mfa_setup`);
  });

  it('keeps the client secret sealed at rest', async () => {
    const row = await t.vault.store.db.selectFrom('identity_providers').selectAll().where('id', '=', providerId).executeTakeFirstOrThrow();
    const stored = Buffer.from(row.sealed_secret!);
    expect(stored.includes(Buffer.from(idp.clientSecret))).toBe(false);
    expect(JSON.stringify(row)).not.toContain(idp.clientSecret);
    const events = await t.vault.store.db.selectFrom('audit_events').selectAll().where('target_organisation_id', '=', north.id).execute();
    expect(JSON.stringify(events)).not.toContain(idp.clientSecret);
  });
});

// Behind its public address (STRONGROOM_PUBLIC_URL), every address Strongroom gives its provider is built from
// it: the callback, and (until the attack review of the web interface, from the request's Host header) the
// address the provider sends the browser back to after signing out there.
describe('OpenID Connect sign-out behind the public address', () => {
  const PUBLIC = 'https://vault.example.gov.uk';
  const t = useTestVault('sqlite', clamd, { listen: true, env: { STRONGROOM_PUBLIC_URL: PUBLIC } });
  let idp: TestOpenIdProvider;
  afterAll(async () => {
    await idp?.close();
  });

  it('sends the provider the public address to come back to after sign-out, whatever Host the request named', async () => {
    const address = t.app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    idp = await startOpenIdProvider(PUBLIC);
    const org = await createOrganisation(t.vault);
    const admin = await t.vault.identity.userByEmail((await org.user({ roles: ['org_admin'] })).email);
    const provider = await t.vault.identityProviders.add(actorFor(admin, CLI), org.id, {
      kind: 'oidc', name: 'North Shire', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, scopes: ['openid', 'email', 'profile'],
    });
    const person = await org.user({ roles: ['member'] });
    idp.accounts.set('sam', { email: person.email, email_verified: true });
    const browser = new CookieBrowser();
    // The provider sends the browser to the public address; this test's Strongroom listens on `base`.
    const callback = (await browser.signInAtProvider(`${base}/sign-in/oidc/${provider.id}`, 'sam')).replace(PUBLIC, base);
    expect((await browser.request('GET', callback)).status).toBe(303);
    const home = await browser.request('GET', `${base}/`);
    expect(home.status).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(home.text)![1]!;
    const out = await t.app.inject({
      method: 'POST', url: '/sign-out', headers: { host: 'attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
      cookies: Object.fromEntries(browser.jars.get(new URL(base).host)!), payload: new URLSearchParams({ _csrf: csrf }).toString(),
    });
    expect(out.statusCode, out.body).toBe(200);
    const endSession = new URL(/<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(out.body)![1]!.replace(/&amp;/g, '&'));
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${PUBLIC}/sign-in?signed-out`);
  });
});
