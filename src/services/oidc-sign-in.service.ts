// Signing in with OpenID Connect: the start (a redirect to the organisation's provider, with state, nonce
// and a PKCE verifier sealed into a short-lived cookie so the callback must come back to the same browser),
// the callback (each state used once, the ID token verified by the OidcClient adapter, then
// FederatedSignInService decides who it is), the admin's test sign-in (the same flow, then a preview
// with nothing changed) and RP-initiated logout.
import { randomBytes } from 'node:crypto';
import { DomainError, notFound } from '../domain/errors.js';
import type { IdentityProvider } from '../domain/identity/federation.js';
import { OidcRefused, type OidcChecks, type OidcClaims, type OidcClient, type SecretSealer } from '../domain/identity/ports.js';
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { Actor, User } from '../domain/types.js';
import { auditEvent } from './audit-events.js';
import type { FederatedSignInService, VerifiedExternalIdentity } from './federated-sign-in.service.js';
import type { RequestInfo } from './identity.service.js';
import type { IdentityProvidersService, SignInPreview } from './identity-providers.service.js';
import type { SessionStage } from './web-sessions.service.js';

/** How long a person has at their provider's page before the started sign-in lapses. */
export const FLOW_SECONDS = 10 * 60;
const FLOW_CONTEXT = 'oidc-flow';
const LOGOUT_CONTEXT = 'oidc-logout';

const START_AGAIN = 'This sign-in was started in another browser, has already been used, or took longer than 10 minutes. Go back to the sign-in page and start again.';

/** What the sealed cookie carries between the redirect and the callback. */
interface Flow extends OidcChecks {
  providerId: string;
  redirectUri: string;
  next: string;
  /** Set for an admin's test sign-in: the admin who started it (only they may see the outcome). */
  testerId: string | null;
  expiresAt: number;
}

export type OidcOutcome =
  | { kind: 'signed-in'; sessionId: string; stage: SessionStage; user: User; next: string; logoutCookie: string }
  | { kind: 'test'; providerId: string; preview: SignInPreview; claims: OidcClaims };

export class OidcSignInService {
  constructor(private readonly o: {
    store: Store; clock: Clock; client: OidcClient; federatedSignIn: FederatedSignInService; providers: IdentityProvidersService;
    /** Seals the client secrets at rest (the same sealer IdentityProvidersService seals them with). */
    secrets: SecretSealer;
    /** Seals the browser's flow and logout cookies. */
    cookies: SecretSealer;
  }) {}

  /** The redirect to the provider for a sign-in, and the sealed cookie to set (HttpOnly, for FLOW_SECONDS). */
  async begin(providerId: string, redirectUri: string, next: string): Promise<{ url: string; flowCookie: string }> {
    const provider = await this.enabledOidc(providerId);
    return this.start(provider, redirectUri, next, null);
  }

  /** An admin's test sign-in: the same flow, whose callback shows what it found and changes nothing. */
  async beginTest(actor: Actor, providerId: string, redirectUri: string): Promise<{ url: string; flowCookie: string }> {
    const view = await this.o.providers.get(actor, providerId); // organisation.identity, audited
    if (view.kind !== 'oidc') throw new DomainError('INVALID', 'This is a SAML provider: test it from its own test sign-in.');
    return this.start(view, redirectUri, '/', actor.userId);
  }

  private async start(provider: IdentityProvider, redirectUri: string, next: string, testerId: string | null) {
    const checks: OidcChecks = { state: token(), nonce: token(), codeVerifier: token(48) };
    const url = await this.o.client.authorisationUrl(provider.oidc!, await this.secretOf(provider), redirectUri, checks);
    const flow: Flow = { ...checks, providerId: provider.id, redirectUri, next, testerId, expiresAt: this.o.clock.now().getTime() + FLOW_SECONDS * 1000 };
    return { url, flowCookie: this.o.cookies.seal(FLOW_CONTEXT, JSON.stringify(flow)).toString('base64url') };
  }

  /**
   * The callback. Refused (OidcRefused, audited against the provider's organisation) when there is no
   * flow cookie from this browser, its state does not match, it was used before or lapsed, or the
   * provider's answer fails any check. `tester`: the signed-in person, for a test sign-in's outcome.
   */
  async finish(flowCookie: string | undefined, callbackUrl: URL, request: RequestInfo, previousSessionId: string | undefined, tester: Actor | null): Promise<OidcOutcome> {
    const flow = this.openFlow(flowCookie);
    if (!flow) throw new OidcRefused('no_flow', START_AGAIN);
    const provider = await this.o.store.repos.federation.provider(flow.providerId);
    if (!provider || provider.kind !== 'oidc' || !provider.oidc) throw new OidcRefused('provider_gone', 'That identity provider is no longer set up in Strongroom. Go back to the sign-in page and choose again.');
    const fail = async (refused: OidcRefused): Promise<never> => {
      await this.auditRefusal(provider, request, refused.reason);
      throw refused;
    };
    const now = this.o.clock.now();
    if (flow.expiresAt < now.getTime()) return fail(new OidcRefused('flow_expired', START_AGAIN));
    // The callback's state must be the one this browser's flow sent: another browser's or another
    // organisation's callback carries another state. Checked here too (the library checks it again).
    if (callbackUrl.searchParams.get('state') !== flow.state) return fail(new OidcRefused('state_mismatch', START_AGAIN));
    const expires = new Date(flow.expiresAt).toISOString();
    if (!(await this.o.store.repos.federation.useOnce(`oidc-state:${flow.state}`, expires, now.toISOString()))) return fail(new OidcRefused('state_replayed', START_AGAIN));

    let claims: OidcClaims;
    try {
      ({ claims } = await this.o.client.redeem(provider.oidc, await this.secretOf(provider), flow.redirectUri, callbackUrl, flow));
    } catch (error) {
      return fail(error instanceof OidcRefused ? error : new OidcRefused('invalid', 'Strongroom could not verify the answer from your identity provider, so you are not signed in.'));
    }
    // A token's nonce is good for one sign-in: an ID token captured from an earlier one is refused here
    // even if it somehow matched (the library already compared it with this flow's).
    const nonceExpiry = new Date(Math.max(flow.expiresAt, typeof claims.exp === 'number' ? claims.exp * 1000 : 0)).toISOString();
    if (!(await this.o.store.repos.federation.useOnce(`oidc-nonce:${provider.id}:${String(claims.nonce)}`, nonceExpiry, now.toISOString()))) {
      return fail(new OidcRefused('nonce_replayed', 'Strongroom could not verify the answer from your identity provider, so you are not signed in. The sign-in token was already used (it may have been replayed). Start again.'));
    }
    const identity = verifiedIdentity(provider, claims);

    if (flow.testerId !== null) {
      if (!tester || tester.userId !== flow.testerId) throw new DomainError('FORBIDDEN', 'Only the administrator who started this test sign-in can see its outcome. Sign in as them and run the test again.');
      return { kind: 'test', providerId: provider.id, preview: await this.o.providers.preview(tester, identity), claims };
    }
    const signedIn = await this.o.federatedSignIn.complete(identity, request, previousSessionId);
    return { kind: 'signed-in', ...signedIn, next: flow.next, logoutCookie: this.o.cookies.seal(LOGOUT_CONTEXT, provider.id).toString('base64url') };
  }

  /** Where to send the browser after the local session ended: the provider's end_session_endpoint, if any. */
  async endSessionUrl(logoutCookie: string | undefined, postLogoutRedirectUri: string): Promise<string | null> {
    if (!logoutCookie) return null;
    const providerId = this.o.cookies.open(LOGOUT_CONTEXT, Buffer.from(logoutCookie, 'base64url'));
    const provider = providerId ? await this.o.store.repos.federation.provider(providerId) : undefined;
    if (!provider?.oidc) return null;
    return this.o.client.endSessionUrl(provider.oidc, await this.secretOf(provider), postLogoutRedirectUri);
  }

  /**
   * The CLI's and admin page's check: discovery answers for the configured issuer, and the address a
   * sign-in would start at. Nothing is stored; the state in the printed address is never accepted.
   */
  async check(actor: Actor, providerId: string, redirectUri: string): Promise<{ discovery: Awaited<ReturnType<OidcClient['discover']>>; redirectUrl: string }> {
    const view = await this.o.providers.get(actor, providerId);
    if (view.kind !== 'oidc' || !view.oidc) throw new DomainError('INVALID', 'This is a SAML provider.');
    const secret = await this.secretOf(view);
    const discovery = await this.o.client.discover(view.oidc, secret);
    const redirectUrl = await this.o.client.authorisationUrl(view.oidc, secret, redirectUri, { state: token(), nonce: token(), codeVerifier: token(48) });
    return { discovery, redirectUrl };
  }

  private openFlow(cookie: string | undefined): Flow | null {
    if (!cookie || cookie.length > 4096) return null;
    const text = this.o.cookies.open(FLOW_CONTEXT, Buffer.from(cookie, 'base64url'));
    if (!text) return null;
    try {
      return JSON.parse(text) as Flow;
    } catch {
      return null;
    }
  }

  private async enabledOidc(providerId: string): Promise<IdentityProvider> {
    const provider = await this.o.store.repos.federation.provider(providerId);
    if (!provider || provider.kind !== 'oidc' || !provider.oidc) throw notFound('identity provider');
    if (!provider.enabled) throw new DomainError('FORBIDDEN', 'Signing in through this identity provider is switched off. Ask your organisation\'s Strongroom administrator.');
    return provider;
  }

  private async secretOf(provider: IdentityProvider): Promise<string | null> {
    const sealed = await this.o.store.repos.federation.sealedSecret(provider.id);
    if (!sealed) return null;
    const secret = this.o.secrets.open(provider.id, sealed);
    if (secret === null) throw new DomainError('INTEGRITY', 'The identity provider\'s stored client secret cannot be opened with this server\'s master key. An org admin must enter it again.');
    return secret;
  }

  private async auditRefusal(provider: IdentityProvider, request: RequestInfo, reason: string): Promise<void> {
    const actor: Actor = { kind: 'user', userId: null, organisationId: provider.organisationId, roles: [], teams: [], clearance: 'OFFICIAL', channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId };
    await this.o.store.repos.audit.insert([auditEvent(actor, 'auth.sign-in', { organisationId: provider.organisationId, ids: {} }, { allow: false, reason: `oidc:${provider.id};${reason}`, via: null }, this.o.clock.now())]);
  }
}

const token = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** The claims FederatedSignInService needs. Entra ID sends no email_verified: its xms_edov (the e-mail's domain is verified) counts. */
export function verifiedIdentity(provider: IdentityProvider, claims: OidcClaims): VerifiedExternalIdentity {
  const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
  const yes = (v: unknown): boolean => v === true || v === 'true' || v === 1 || v === '1';
  return {
    providerId: provider.id,
    subject: claims.sub,
    email: text(claims.email),
    emailVerified: yes(claims.email_verified) || yes(claims.xms_edov),
    name: text(claims.name),
    groups: provider.groupsClaim ? list(claims[provider.groupsClaim]) : [],
    amr: list(claims.amr),
    acr: text(claims.acr),
  };
}
