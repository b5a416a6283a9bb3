// SAML sign-in over HTTP as a browser does it: start at /sign-in/saml/:id (the request cookie), then the
// identity provider's answer posted to the reply URL. Providers are created with repos.federation.
import { randomUUID } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import type { Vault } from '../../src/main.js';
import { createOrganisation, type TestOrganisation } from '../support/vault.js';
import { ENTRA_EMAIL, type AssertionSpec, type TestIdp } from './saml-idp.js';

export const PUBLIC_URL = 'https://vault.example.test';
export const SAML_ENV = { STRONGROOM_PUBLIC_URL: PUBLIC_URL };
export const REQUEST_COOKIE = 'strongroom-saml';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export const spOf = (providerId: string) => ({
  entityId: `${PUBLIC_URL}/sign-in/saml/${providerId}/metadata`,
  acsUrl: `${PUBLIC_URL}/sign-in/saml/${providerId}/acs`,
});

export async function samlProvider(vault: Vault, organisationId: string, idp: TestIdp, patch: Partial<IdentityProvider> = {}): Promise<IdentityProvider> {
  const now = new Date().toISOString();
  const provider: IdentityProvider = {
    id: randomUUID(), organisationId, kind: 'saml', name: 'North Shire (Entra ID)', enabled: true, oidc: null,
    saml: { entryPoint: idp.entryPoint, idpEntityId: idp.entityId, idpCertificates: [idp.cert], emailAttribute: ENTRA_EMAIL },
    createAccounts: false, groupsClaim: null, mfaAmrValues: [], mfaAcrValues: [], createdAt: now, updatedAt: now, ...patch,
  };
  await vault.store.repos.federation.insertProvider(provider, null);
  return provider;
}

/** A fresh organisation with a SAML provider of `idp`, and the e-mail address of a member to sign in through it. */
export async function samlMember(vault: Vault, idp: TestIdp): Promise<{ org: TestOrganisation; provider: IdentityProvider; email: string }> {
  const org = await createOrganisation(vault);
  const provider = await samlProvider(vault, org.id, idp);
  return { org, provider, email: (await org.user({ roles: ['member'] })).email };
}

/** The assertion `provider`'s identity provider sends for `email` in answer to the sign-in `started`, changed by `patch`. */
export const answerSpec = (provider: IdentityProvider, email: string, started: Started, patch: Partial<AssertionSpec> = {}): AssertionSpec => ({
  inResponseTo: started.requestId, acsUrl: spOf(provider.id).acsUrl, audience: spOf(provider.id).entityId, nameId: email, ...patch,
});

/** What a browser says of a navigation from a page of this site (Fetch Metadata). */
export const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' } as const;

export interface Started {
  requestId: string;
  cookies: Record<string, string>;
  /** The AuthnRequest the browser was sent to the provider with, inflated. */
  authnRequest: string;
  location: string;
}

/** GET /sign-in/saml/:id (or the admin's test address): the redirect to the provider and the request cookie. */
export async function startSignIn(app: FastifyInstance, providerId: string, options: { url?: string; cookies?: Record<string, string> } = {}): Promise<Started> {
  // As the browser says of a click on this site's own sign-in page (another site's link is asked about first).
  const res = await app.inject({ method: 'GET', url: options.url ?? `/sign-in/saml/${providerId}?next=${encodeURIComponent('/upload')}`, cookies: options.cookies ?? {}, headers: SAME_ORIGIN });
  expect(res.statusCode, res.body).toBe(303);
  const location = res.headers.location as string;
  const cookie = res.cookies.find((c) => c.name === REQUEST_COOKIE);
  expect(cookie).toBeDefined();
  const samlRequest = new URL(location).searchParams.get('SAMLRequest')!;
  const authnRequest = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
  return { requestId: cookie!.value.split('.')[0]!, cookies: { ...options.cookies, [REQUEST_COOKIE]: cookie!.value }, authnRequest, location };
}

/** The provider's answer posted to the reply URL with these cookies (as the same-site re-post carries them). */
export function postResponse(app: FastifyInstance, providerId: string, samlResponse: string, cookies: Record<string, string>, bounced = true): Promise<LightMyRequestResponse> {
  const form: Record<string, string> = { SAMLResponse: samlResponse, RelayState: '' };
  if (bounced) form._bounced = '1';
  return app.inject({ method: 'POST', url: `/sign-in/saml/${providerId}/acs`, headers: FORM, cookies, payload: new URLSearchParams(form).toString() });
}

/** Expects the refusal page with this message, and returns the refusal audit event's reason. */
export async function expectRefused(vault: Vault, res: LightMyRequestResponse, message: string, organisationId: string, action = 'auth.sign-in'): Promise<string> {
  expect(res.statusCode, res.body).toBe(401);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.body).toContain('You could not be signed in');
  expect(res.body).toContain(`<p class="govuk-body" id="refusal">${escapeHtml(message)}</p>`);
  expect(res.cookies.find((c) => c.name === 'strongroom-session')).toBeUndefined();
  const [event] = await vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', action)
    .where('target_organisation_id', '=', organisationId).orderBy('id', 'desc').limit(1).execute();
  expect(event?.decision).toBe('deny');
  return event!.reason as string;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
