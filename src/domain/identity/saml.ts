// SAML 2.0 sign-in as the services see it: where this deployment's service provider lives for one
// identity provider, what a verified assertion says, why one is refused, and the port a protocol
// adapter (integrations/saml/) fills. Plain rules and data: no XML, no HTTP.
import { DomainError } from '../errors.js';
import type { SamlSettings } from './federation.js';

/**
 * Strongroom as a SAML service provider for ONE identity provider. Each provider has its own entity id
 * and reply (ACS) URL, so an assertion the council's IdP issued for its own enterprise application
 * (audience = that entity id) cannot be spent at another organisation's provider.
 */
export interface SamlServiceProvider {
  /** The SP entity id (Entra: "Identifier (Entity ID)"); also where the SP metadata is served. */
  entityId: string;
  /** The Assertion Consumer Service URL (Entra: "Reply URL"): every response's Recipient and Destination. */
  acsUrl: string;
  /** Where a sign-in through this provider starts (Entra: "Sign on URL", so its My Apps tile starts one here). */
  signOnUrl: string;
}

export function samlServiceProvider(publicUrl: string, providerId: string): SamlServiceProvider {
  const base = `${publicUrl.replace(/\/+$/, '')}/sign-in/saml/${encodeURIComponent(providerId)}`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, signOnUrl: base };
}

/** How far the provider's clock may be from ours when NotBefore / NotOnOrAfter are checked. */
export const SAML_CLOCK_SKEW_MS = 60_000;
/** How long a browser has between being sent to the provider and coming back with its response. */
export const SAML_REQUEST_LIFETIME_MS = 10 * 60_000;

/** The request this browser started: held in a cookie of its own, compared with the response's InResponseTo. */
export interface SamlPendingRequest {
  requestId: string;
  providerId: string;
  issuedAt: number;
  /** 'test': an administrator's test sign-in (shows what was asserted, signs nobody in). */
  mode: 'sign-in' | 'test';
  next: string;
}

/** What a response proved once its assertion's signature, audience, validity window and InResponseTo held. */
export interface SamlAssertion {
  /** The signed assertion's Issuer. */
  issuer: string;
  /** The (possibly unsigned) Response's Issuer, when it has one. */
  responseIssuer: string | null;
  assertionId: string;
  nameId: string;
  nameIdFormat: string | null;
  /** SubjectConfirmationData's Recipient in the signed assertion. */
  recipient: string | null;
  /** The Response's Destination, when it has one. */
  destination: string | null;
  /** When the assertion stops being usable: the later of Conditions and SubjectConfirmationData NotOnOrAfter. */
  notOnOrAfter: string | null;
  authnContextClassRef: string | null;
  /** Every attribute by its Name, values as strings. */
  attributes: Record<string, string[]>;
}

/** The protocol itself (signatures, XML): integrations/saml/node-saml.protocol.ts. */
export interface SamlProtocol {
  /** The provider's sign-in URL carrying an AuthnRequest with this id (HTTP-Redirect binding). */
  requestUrl(settings: SamlSettings, sp: SamlServiceProvider, requestId: string): Promise<string>;
  /**
   * Checks a base64 SAMLResponse: a signed assertion (by one of settings.idpCertificates), audience = the SP
   * entity id, NotBefore/NotOnOrAfter within the clock skew, InResponseTo = `expected.requestId`. Throws
   * SamlRefused with the reason; the caller still checks Issuer, Recipient, Destination and replay.
   */
  verify(settings: SamlSettings, sp: SamlServiceProvider, samlResponse: string, expected: { requestId: string; issuedAt: number }): Promise<SamlAssertion>;
  /** The SP metadata XML for the provider's administrators to load. */
  metadata(sp: SamlServiceProvider): Promise<string>;
  /** Ends what it runs beside the event loop (the SAML thread), with the vault. */
  close(): Promise<void>;
}

/**
 * The largest answer the reply URL reads (docs/identity.md "Size"; why and how counted, in
 * integrations/saml/node-saml.protocol.ts): its bytes of XML, its elements and attributes (namespace declarations
 * included) in all, the namespace declarations in scope of any one element, and the children of any one element
 * but an Attribute, whose values (a person's groups) may be as many as the elements allow. About 2,500 groups as
 * Okta sends them.
 */
export interface SamlLimits { bytes: number; elements: number; attributes: number; namespaces: number; children: number }
export const SAML_LIMITS: SamlLimits = { bytes: 512 * 1024, elements: 3000, attributes: 10_000, namespaces: 64, children: 1000 };
/** The reply URL's form: the largest answer in base64, urlencoded, with room for the other fields. */
export const SAML_FORM_BYTES = 1024 * 1024;
/** The reply URL's form fields read at most (SAMLResponse, RelayState, _bounced, and room); one more refuses the form. */
export const SAML_FORM_FIELDS = 8;
export const SAML_FORM_REFUSED = 'This is not an answer from an identity provider: the form has more fields than one has. Start signing in again.';
/**
 * What the re-post page (the provider's own cross-site POST, posted back from this site) echoes: an answer in base64
 * and a RelayState of at most this many characters (the standard allows 80). Anything else is no answer, and echoing
 * it, escaped, would let anyone make the page several times the size of what they sent.
 */
export const SAML_RELAY_STATE_CHARS = 1000;
export const SAML_REPOST_REFUSED = 'This is not an answer from an identity provider: it is not in the form one sends. Start signing in again.';
/** Base64 as providers send it, lines and all. */
export const isSamlAnswerShape = (samlResponse: string, relayState: string): boolean =>
  /^[A-Za-z0-9+/=\r\n]*$/.test(samlResponse) && relayState.length <= SAML_RELAY_STATE_CHARS;

export const SAML_REFUSALS = {
  not_this_browser: 'This sign-in was not started in this browser, or it took too long. Go back to the sign-in page and start again.',
  unsigned: 'Your identity provider\'s answer was not signed with the certificate Strongroom was given, so it cannot be trusted. Ask your Strongroom administrator to check the provider\'s certificate.',
  audience: 'Your identity provider\'s answer was meant for another service. Ask your Strongroom administrator to check the provider\'s Identifier (Entity ID).',
  expired: 'Your identity provider\'s answer has expired or is not valid yet. Start signing in again; if it keeps happening, the provider\'s clock may be wrong.',
  issuer: 'The answer came from an identity provider Strongroom does not know for your organisation. Ask your Strongroom administrator to check the provider\'s entity id.',
  recipient: 'Your identity provider\'s answer was addressed to another page. Ask your Strongroom administrator to check the provider\'s Reply URL.',
  replayed: 'That answer from your identity provider has already been used. Start signing in again.',
  provider_error: 'Your identity provider did not sign you in. Try again, or ask your IT team.',
  malformed: 'Your identity provider\'s answer could not be read. Start signing in again.',
  too_large: 'Your identity provider\'s answer is larger than Strongroom reads (at most 512 KiB, 3,000 XML elements and 10,000 attributes: about 2,500 groups). Ask your Strongroom administrator to have the provider send fewer attributes or groups.',
  timeout: 'Your identity provider\'s answer took too long to check. Start signing in again; if it keeps happening, ask your Strongroom administrator to have the provider send fewer attributes or groups.',
} as const;
export type SamlRefusal = keyof typeof SAML_REFUSALS;

export class SamlRefused extends DomainError {
  constructor(readonly reason: SamlRefusal, readonly why: string) {
    super('UNAUTHENTICATED', SAML_REFUSALS[reason]);
  }
}

export const SAML_CHECKS_BUSY = 'Strongroom is checking many sign-ins from identity providers at the moment. Wait a few seconds and try again.';

/** An answer not checked because the SAML checks waiting for their turn were already as many as allowed: nothing was judged. */
export class SamlChecksBusyError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super('UNAVAILABLE', SAML_CHECKS_BUSY, { details: { retryAfterSeconds } });
    this.name = 'SamlChecksBusyError';
  }
}

export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/** The e-mail address the assertion vouches for: the NameID when its format says so, else the configured attribute. */
export function assertedEmail(settings: SamlSettings, assertion: SamlAssertion): string | null {
  if (assertion.nameIdFormat === NAMEID_EMAIL && assertion.nameId.includes('@')) return assertion.nameId;
  const value = settings.emailAttribute ? assertion.attributes[settings.emailAttribute]?.[0] : undefined;
  return value && value.includes('@') ? value : null;
}

const DISPLAY_NAME = 'http://schemas.microsoft.com/identity/claims/displayname';
const GIVEN_NAME = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname';
const SURNAME = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname';

/** A name for a just-in-time account: Entra's display name, else given name and surname (also by their short names). */
export function assertedName(assertion: SamlAssertion): string | null {
  const first = (...names: string[]) => names.map((n) => assertion.attributes[n]?.[0]?.trim()).find((v) => v);
  const display = first(DISPLAY_NAME, 'displayName', 'displayname');
  if (display) return display;
  const parts = [first(GIVEN_NAME, 'givenName'), first(SURNAME, 'sn', 'surname')].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : null;
}
