// Ports for signing in through an organisation's identity provider: sealing the secrets a provider needs
// (its client secret at rest, the browser's sign-in-in-progress cookie) and the OpenID Connect protocol
// itself. Adapters: storage/secret-sealer.ts and integrations/oidc.client.ts.
import { DomainError } from '../errors.js';
import type { OidcSettings } from './federation.js';

/**
 * Authenticated encryption under a key only the server holds (derived from the master key). `context`
 * binds a sealed value to what it belongs to (a provider's id): sealed for one, it does not open as another.
 */
export interface SecretSealer {
  seal(context: string, plain: string): Buffer;
  /** Null when the value was altered, sealed for another context, or under another key. */
  open(context: string, sealed: Buffer): string | null;
}

/** Everything the callback must check the provider's answer against; kept bound to the browser until then. */
export interface OidcChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The claims of a verified ID token (signature, issuer, audience, expiry, nonce checked), as sent. */
export type OidcClaims = Record<string, unknown> & { sub: string };

export interface OidcClient {
  /** Discovery: the provider answers at `<issuer>/.well-known/openid-configuration` with the issuer it was given. */
  discover(settings: OidcSettings, clientSecret: string | null): Promise<{ authorizationEndpoint: string; endSessionEndpoint: string | null; codeChallengeS256: boolean }>;
  /** The address that sends the browser to the provider: code flow, PKCE (S256), state and nonce. */
  authorisationUrl(settings: OidcSettings, clientSecret: string | null, redirectUri: string, checks: OidcChecks): Promise<string>;
  /** Redeems the code the callback brought and verifies the ID token; throws OidcRefused when anything is off. */
  redeem(settings: OidcSettings, clientSecret: string | null, redirectUri: string, callbackUrl: URL, checks: OidcChecks): Promise<{ claims: OidcClaims }>;
  /** RP-initiated logout at the provider, when its discovery document names an end_session_endpoint. */
  endSessionUrl(settings: OidcSettings, clientSecret: string | null, postLogoutRedirectUri: string): Promise<string | null>;
}

/** The provider's answer failed a check: `reason` is for the audit log, the message for the person. */
export class OidcRefused extends DomainError {
  constructor(readonly reason: string, message: string) {
    super('UNAUTHENTICATED', message);
  }
}
