// OidcClient (domain/identity/ports.ts) on openid-client 6: discovery, the authorisation code flow with
// PKCE (S256), state and nonce, and the ID token's signature, issuer, audience, expiry and nonce checked
// by the library. Discovered configurations are kept for a few minutes per provider (keys rotate: the
// library fetches the JWKS again when a token names a key it does not know).
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { OidcSettings } from '../domain/identity/federation.js';
import { isProviderAddress } from '../domain/identity/provider-input.js';
import { OidcRefused, type OidcChecks, type OidcClaims, type OidcClient } from '../domain/identity/ports.js';

const CACHE_MS = 5 * 60_000;
const TIMEOUT_SECONDS = 10;
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

const UNVERIFIED = 'Strongroom could not verify the answer from your identity provider, so you are not signed in.';

/** Each library failure as an audit reason and the sentence the person (and their IT team) reads. */
function refusal(error: unknown): OidcRefused {
  if (error instanceof OidcRefused) return error;
  const code = (error as { code?: string }).code ?? '';
  // openid-client wraps oauth4webapi's error, which names the claim: read the whole chain.
  const chain: unknown[] = [];
  for (let e: unknown = error; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  const message = chain.map((e) => (e instanceof Error ? e.message : '')).join(' ');
  const cause = { claim: chain.map((e) => (e as { claim?: string }).claim).find(Boolean) };
  if (error instanceof client.AuthorizationResponseError) {
    const said = (error as { error?: string }).error ?? 'error';
    if (said === 'access_denied') return new OidcRefused('access_denied', 'Your identity provider did not sign you in (you cancelled, or it refused). Try again, or ask your IT team.');
    return new OidcRefused(`provider_error:${said}`, `Your identity provider answered with an error (${said}). Try again; if it keeps happening, tell your IT team.`);
  }
  if (/"aud"/.test(message) || cause.claim === 'aud') return new OidcRefused('wrong_audience', `${UNVERIFIED} The sign-in token was issued for another application (wrong audience).`);
  if (/"iss"/.test(message) || cause.claim === 'iss') return new OidcRefused('wrong_issuer', `${UNVERIFIED} The sign-in token came from another issuer than the one configured.`);
  if (/"exp"/.test(message) || code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' || cause?.claim === 'exp') return new OidcRefused('expired', `${UNVERIFIED} The sign-in token has expired. Check this server's clock, then try again.`);
  if (/"nonce"/.test(message) || cause.claim === 'nonce') return new OidcRefused('nonce_mismatch', `${UNVERIFIED} The sign-in token belongs to another sign-in (it may have been replayed). Start again.`);
  if (/"state"/.test(message)) return new OidcRefused('state_mismatch', `${UNVERIFIED} The answer belongs to another sign-in. Start again.`);
  if (/signature|no applicable key|KEY_SELECTION/i.test(`${message} ${code}`)) return new OidcRefused('bad_signature', `${UNVERIFIED} The sign-in token's signature is not valid.`);
  if (/invalid_grant/.test(message) || (error as { error?: string }).error === 'invalid_grant') return new OidcRefused('invalid_grant', `${UNVERIFIED} The sign-in code was already used or has expired. Start again.`);
  if (/fetch failed|ECONNREFUSED|timeout|aborted/i.test(message)) return new OidcRefused('unreachable', 'Strongroom could not reach your identity provider. Try again in a few minutes; if it keeps happening, tell your IT team.');
  return new OidcRefused(`invalid:${code || 'response'}`, `${UNVERIFIED} (${message})`);
}

export class OpenIdClient implements OidcClient {
  readonly #configs = new Map<string, { at: number; config: Promise<client.Configuration> }>();

  constructor(private readonly now: () => number = Date.now) {}

  async #configuration(settings: OidcSettings, secret: string | null): Promise<client.Configuration> {
    const key = createHash('sha256').update(JSON.stringify([settings.issuer, settings.clientId, secret])).digest('hex');
    const cached = this.#configs.get(key);
    if (cached && this.now() - cached.at < CACHE_MS) return cached.config;
    const issuer = new URL(settings.issuer);
    const insecure = issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
    const config = client.discovery(issuer, settings.clientId, secret ?? undefined, secret ? client.ClientSecretPost(secret) : client.None(), {
      timeout: TIMEOUT_SECONDS,
      // The ID token's signature is checked against the provider's JWKS even though it came straight from
      // the token endpoint (openid-client leaves that to TLS unless asked), then plain http only for a
      // provider on this machine's loopback (provider-input.ts refuses any other).
      execute: insecure ? [client.enableNonRepudiationChecks, client.allowInsecureRequests] : [client.enableNonRepudiationChecks],
    });
    this.#configs.set(key, { at: this.now(), config });
    config.catch(() => this.#configs.delete(key));
    return config;
  }

  async discover(settings: OidcSettings, secret: string | null) {
    try {
      const metadata = (await this.#configuration(settings, secret)).serverMetadata();
      return {
        authorizationEndpoint: metadata.authorization_endpoint ?? '',
        endSessionEndpoint: metadata.end_session_endpoint ?? null,
        codeChallengeS256: (metadata.code_challenge_methods_supported ?? []).includes('S256'),
      };
    } catch (error) {
      throw new OidcRefused('discovery_failed', `Discovery at ${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async authorisationUrl(settings: OidcSettings, secret: string | null, redirectUri: string, checks: OidcChecks): Promise<string> {
    const config = await this.#configuration(settings, secret).catch((error: unknown) => { throw refusal(error); });
    return client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: settings.scopes.join(' '),
      response_type: 'code',
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    }).href;
  }

  async redeem(settings: OidcSettings, secret: string | null, redirectUri: string, callbackUrl: URL, checks: OidcChecks): Promise<{ claims: OidcClaims }> {
    try {
      const config = await this.#configuration(settings, secret);
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.state, expectedNonce: checks.nonce, pkceCodeVerifier: checks.codeVerifier, idTokenExpected: true,
      }, { redirect_uri: redirectUri });
      const claims = tokens.claims();
      if (!claims) throw new OidcRefused('no_id_token', `${UNVERIFIED} It sent no ID token.`);
      return { claims: claims as OidcClaims };
    } catch (error) {
      throw refusal(error);
    }
  }

  async endSessionUrl(settings: OidcSettings, secret: string | null, postLogoutRedirectUri: string): Promise<string | null> {
    const config = await this.#configuration(settings, secret).catch(() => null);
    const endpoint = config?.serverMetadata().end_session_endpoint;
    // The provider's own metadata names it, but a browser is sent there: https (or loopback) only, never javascript: or data:.
    if (!config || !endpoint || !isProviderAddress(endpoint)) return null;
    return client.buildEndSessionUrl(config, { client_id: settings.clientId, post_logout_redirect_uri: postLogoutRedirectUri }).href;
  }
}
