// Hostile SAML responses at the reply URL, on both dialects: each is refused with the page's exact
// message and an audited refusal naming the provider and the reason, and nobody is signed in.
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import { SAML_FORM_REFUSED, SAML_RELAY_STATE_CHARS, SAML_REPOST_REFUSED, SAML_REFUSALS, type SamlRefusal } from '../../src/domain/identity/saml.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, type TestOrganisation } from '../support/vault.js';
import { ENTRA_EMAIL, ENTRA_GROUPS, assertionXml, b64, makeIdp, newId, responseXml, signAssertion, signResponse, signedResponse, type AssertionSpec, type TestIdp } from './saml-idp.js';
import { SAML_ENV, answerSpec, samlMember, escapeHtml, expectRefused, postResponse, samlProvider, spOf, startSignIn, type Started } from './saml-flow.js';

const clamd = useClamd();
let idp: TestIdp;
let stranger: TestIdp;
beforeAll(() => {
  idp = makeIdp('council');
  stranger = makeIdp('stranger');
});

describe.each(DIALECTS)('hostile SAML responses on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { env: SAML_ENV });
  let org: TestOrganisation;
  let provider: IdentityProvider;
  let email: string;
  beforeAll(async () => {
    ({ org, provider, email } = await samlMember(t.vault, idp));
  });
  const spec = (started: Started, patch: Partial<AssertionSpec> = {}): AssertionSpec => answerSpec(provider, email, started, patch);
  /** Starts a sign-in, posts what `build` makes of it, expects the refusal; returns the audited reason. */
  async function refused(build: (started: Started) => string, reason: SamlRefusal): Promise<void> {
    const started = await startSignIn(t.app, provider.id);
    const res = await postResponse(t.app, provider.id, build(started), started.cookies);
    expect(await expectRefused(t.vault, res, SAML_REFUSALS[reason], org.id)).toBe(`saml:${provider.id};${reason}`);
  }

  it('signs in with the untouched response (so each refusal below is the change it makes)', async () => {
    const started = await startSignIn(t.app, provider.id);
    const res = await postResponse(t.app, provider.id, signedResponse(idp, spec(started)), started.cookies);
    expect(res.statusCode, res.body).toBe(303);
  });

  it('refuses an unsigned assertion, and a signed one altered after signing', async () => {
    await refused((s) => b64(responseXml(idp, spec(s), assertionXml(idp, spec(s)))), 'unsigned');
    await refused((s) => b64(responseXml(idp, spec(s), signAssertion(idp, assertionXml(idp, spec(s, { nameId: 'someone@else.test' }))).replace('someone@else.test', email))), 'unsigned');
  });

  it('requires the assertion\'s own signature: a signed Response around an unsigned assertion is refused, around a signed one accepted', async () => {
    await refused((s) => b64(signResponse(idp, responseXml(idp, spec(s), assertionXml(idp, spec(s))))), 'unsigned');
    const started = await startSignIn(t.app, provider.id);
    const both = b64(signResponse(idp, responseXml(idp, spec(started), signAssertion(idp, assertionXml(idp, spec(started))))));
    expect((await postResponse(t.app, provider.id, both, started.cookies)).statusCode).toBe(303);
  });

  it('refuses an assertion signed by a key the provider was not configured with', async () => {
    await refused((s) => signedResponse(stranger, spec(s, { issuer: idp.entityId })), 'unsigned');
  });

  it('refuses signature wrapping: an injected unsigned assertion beside the signed one, before it, or with the signed one moved away', async () => {
    const evil = (s: Started, id?: string) => assertionXml(idp, spec(s, { nameId: 'attacker@evil.test', ...(id ? { assertionId: id } : {}) }));
    // XSW: the attacker's assertion first, the genuine signed one after it.
    await refused((s) => b64(responseXml(idp, spec(s), evil(s) + signAssertion(idp, assertionXml(idp, spec(s))))), 'unsigned');
    // XSW: the genuine signed assertion moved into Extensions, the attacker's in its place with the same ID.
    await refused((s) => {
      const id = newId();
      const genuine = signAssertion(idp, assertionXml(idp, spec(s, { assertionId: id })));
      return b64(responseXml(idp, spec(s), evil(s, id), genuine));
    }, 'unsigned');
    // XSW: the genuine Signature moved into the attacker's assertion, the signed assertion hidden in Extensions.
    await refused((s) => {
      const genuine = signAssertion(idp, assertionXml(idp, spec(s)));
      const signature = /<(?:ds:)?Signature[\s\S]*<\/(?:ds:)?Signature>/.exec(genuine)![0];
      const attacker = evil(s).replace('</saml:Issuer>', `</saml:Issuer>${signature}`);
      return b64(responseXml(idp, spec(s), attacker, genuine.replace(signature, '')));
    }, 'unsigned');
    // XSW: the attacker's assertion wrapping the genuine signed one inside itself.
    await refused((s) => {
      const genuine = signAssertion(idp, assertionXml(idp, spec(s)));
      return b64(responseXml(idp, spec(s), evil(s).replace('</saml:Subject>', `</saml:Subject><saml:Advice>${genuine}</saml:Advice>`)));
    }, 'unsigned');
  });

  it('refuses an assertion for another audience, an expired one and one not yet valid', async () => {
    await refused((s) => signedResponse(idp, spec(s, { audience: 'https://another-service.example/' })), 'audience');
    await refused((s) => signedResponse(idp, spec(s, { notBefore: -900, notOnOrAfter: -600 })), 'expired');
    await refused((s) => signedResponse(idp, spec(s, { notBefore: 600, notOnOrAfter: 900 })), 'expired');
  });

  it('refuses an assertion from another issuer, even signed with the provider\'s key, and one addressed to another reply URL', async () => {
    await refused((s) => signedResponse(idp, spec(s, { issuer: 'https://sts.other-tenant.test/' })), 'issuer');
    await refused((s) => signedResponse(idp, spec(s, { recipient: 'https://evil.example/acs' })), 'recipient');
  });

  it('refuses a replayed response: the same answer posted twice, and again from a new request in the same browser', async () => {
    const started = await startSignIn(t.app, provider.id);
    const response = signedResponse(idp, spec(started));
    expect((await postResponse(t.app, provider.id, response, started.cookies)).statusCode).toBe(303);
    const again = await postResponse(t.app, provider.id, response, started.cookies);
    expect(await expectRefused(t.vault, again, SAML_REFUSALS.replayed, org.id)).toBe(`saml:${provider.id};replayed`);
    const fresh = await startSignIn(t.app, provider.id);
    const stale = await postResponse(t.app, provider.id, response, fresh.cookies);
    expect(await expectRefused(t.vault, stale, SAML_REFUSALS.not_this_browser, org.id)).toBe(`saml:${provider.id};not_this_browser`);
  });

  it('refuses an assertion id used before, even in an answer to a new request', async () => {
    const assertionId = newId();
    const first = await startSignIn(t.app, provider.id);
    expect((await postResponse(t.app, provider.id, signedResponse(idp, spec(first, { assertionId })), first.cookies)).statusCode).toBe(303);
    await refused((s) => signedResponse(idp, spec(s, { assertionId })), 'replayed');
  });

  it('refuses an answer to a request this browser did not start: no request cookie, or another request\'s', async () => {
    const victim = await startSignIn(t.app, provider.id);
    const attackers = signedResponse(idp, spec(victim, { nameId: email }));
    // Posted into a browser that started nothing (after the same-site re-post, still no request cookie).
    const none = await postResponse(t.app, provider.id, attackers, {});
    expect(await expectRefused(t.vault, none, SAML_REFUSALS.not_this_browser, org.id)).toBe(`saml:${provider.id};not_this_browser`);
    // Posted into a browser that started a sign-in of its own.
    const other = await startSignIn(t.app, provider.id);
    const mismatch = await postResponse(t.app, provider.id, attackers, other.cookies);
    expect(await expectRefused(t.vault, mismatch, SAML_REFUSALS.not_this_browser, org.id)).toBe(`saml:${provider.id};not_this_browser`);
    // A request begun for another provider does not answer for this one.
    const elsewhere = await samlProvider(t.vault, org.id, idp);
    const forElsewhere = await startSignIn(t.app, elsewhere.id);
    const crossed = await postResponse(t.app, provider.id, signedResponse(idp, spec(forElsewhere)), forElsewhere.cookies);
    expect(await expectRefused(t.vault, crossed, SAML_REFUSALS.not_this_browser, org.id)).toBe(`saml:${provider.id};not_this_browser`);
  });

  it('refuses a reply-URL form of more fields than an answer has, before reading them (anyone may post one, with no request cookie)', async () => {
    // 1 MiB of 100,000 fields took half a second of the event loop to parse into an object.
    const fields = Array.from({ length: 100_000 }, (_, i) => `f${i}=`).join('&');
    const res = await t.app.inject({
      method: 'POST', url: `/sign-in/saml/${provider.id}/acs`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `SAMLResponse=${encodeURIComponent(b64('<r/>'))}&${fields}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain(escapeHtml(SAML_FORM_REFUSED));
  });

  it('echoes on the re-post page only an answer in base64 and a short RelayState (anyone may post, with no request cookie)', async () => {
    const post = (payload: string) => t.app.inject({ method: 'POST', url: `/sign-in/saml/${provider.id}/acs`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });
    // 1 MiB of quotes came back escaped at about six times its size.
    const quotes = await post(`SAMLResponse=${encodeURIComponent('"'.repeat(100_000))}`);
    expect(quotes.statusCode).toBe(400);
    expect(quotes.body).toContain(escapeHtml(SAML_REPOST_REFUSED));
    expect(quotes.body).not.toContain('&quot;&quot;');
    const relay = await post(`SAMLResponse=${encodeURIComponent(b64('<r/>'))}&RelayState=${'a'.repeat(SAML_RELAY_STATE_CHARS + 1)}`);
    expect(relay.statusCode).toBe(400);
    expect(relay.body).toContain(escapeHtml(SAML_REPOST_REFUSED));
    const fine = await post(`SAMLResponse=${encodeURIComponent(`${b64('<r/>')}\r\n`)}&RelayState=${'a'.repeat(SAML_RELAY_STATE_CHARS)}`);
    expect(fine.statusCode).toBe(200);
    expect(fine.body).toContain(b64('<r/>'));
  });

  it('refuses before the library reads it an answer shaped to make its XPath take seconds: thousands of elements side by side, thousands of namespace declarations', async () => {
    // 9,000 empty elements fit the old 64 KiB form and, read by the library, held the event loop for seconds.
    await refused((s) => b64(responseXml(idp, spec(s), signAssertion(idp, assertionXml(idp, spec(s))), '<x/>'.repeat(9000))), 'too_large');
    // Nor from anyone at all, with nothing signed: a request cookie is anyone's for the asking at the start address.
    await refused((s) => b64(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${newId()}" Version="2.0" InResponseTo="${s.requestId}">${'<x/>'.repeat(9000)}</samlp:Response>`), 'too_large');
    // Nor namespace declarations by the thousand (the signature check takes time growing with their square).
    const declared = (n: number) => Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ');
    await refused((s) => b64(responseXml(idp, spec(s), signAssertion(idp, assertionXml(idp, spec(s)))).replace('<samlp:Response ', `<samlp:Response ${declared(1500)} `)), 'too_large');
  });

  it('refuses an answer just past each limit: a 1,001st child of the Response, a 65th namespace in scope, a 3,001st element, more than 512 KiB', async () => {
    const fill = (s: Started, extra: string) => b64(responseXml(idp, spec(s), signAssertion(idp, assertionXml(idp, spec(s))) + extra));
    // The Response already has its Issuer, Status and Assertion: 998 more make 1,001 children.
    await refused((s) => fill(s, '<x/>'.repeat(998)), 'too_large');
    // samlp and saml are declared on the Response: 63 more on one element in it make 65 in scope.
    await refused((s) => fill(s, `<x ${Array.from({ length: 63 }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')}/>`), 'too_large');
    // An Attribute's values may be many, but not more elements in all than 3,000.
    await refused((s) => fill(s, `<saml:Attribute>${'<saml:AttributeValue/>'.repeat(3000)}</saml:Attribute>`), 'too_large');
    // Few elements, many bytes.
    await refused((s) => fill(s, `<x>${'a'.repeat(512 * 1024)}</x>`), 'too_large');
  });

  it('signs in a person in 1,500 groups sent as Okta and PingFederate send them (each value typed xs:string), and maps the last of them', async () => {
    const jit = await samlProvider(t.vault, org.id, idp, { createAccounts: true, groupsClaim: ENTRA_GROUPS });
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: ['okta-groups.test'] });
    await t.vault.store.repos.federation.replaceGroupMappings(org.id, [
      { organisationId: org.id, group: 'Council Staff Group 1499', roles: [], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const person = `groups-${Date.now()}@okta-groups.test`;
    const groups = Array.from({ length: 1500 }, (_, i) => `Council Staff Group ${i}`);
    const started = await startSignIn(t.app, jit.id);
    const answer = signedResponse(idp, { ...spec(started), acsUrl: spOf(jit.id).acsUrl, audience: spOf(jit.id).entityId, nameId: person, typedValues: true, attributes: { [ENTRA_EMAIL]: [person], [ENTRA_GROUPS]: groups } });
    expect(answer.length).toBeGreaterThan(300 * 1024);
    // The provider's own cross-site POST (no cookies) is taken and posted back, the answer whole in the page…
    const bounce = await postResponse(t.app, jit.id, answer, {}, false);
    expect(bounce.statusCode, bounce.body).toBe(200);
    expect(bounce.body).toContain(answer);
    // …and the same-site re-post signs the person in, with the team the 1,500th group maps to.
    const res = await postResponse(t.app, jit.id, answer, started.cookies);
    expect(res.statusCode, res.body).toBe(303);
    expect(await t.vault.store.repos.users.byEmail(person)).toMatchObject({ organisationId: org.id, teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
  });

  it('refuses what is not a SAML response at all, and the provider\'s own error status', async () => {
    await refused(() => 'not base64 at all!', 'malformed');
    await refused(() => b64('<notxml'), 'malformed');
    // An external entity is never fetched or expanded into what is read.
    await refused((s) => b64(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY who SYSTEM "file:///etc/passwd">]>${responseXml(idp, spec(s), signAssertion(idp, assertionXml(idp, spec(s))).replace(email, `${email}&who;`))}`), 'malformed');
    await refused((s) => b64(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${newId()}" Version="2.0" InResponseTo="${s.requestId}"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/><samlp:StatusMessage>AADSTS50105</samlp:StatusMessage></samlp:Status></samlp:Response>`), 'provider_error');
  });
});
