// @node-saml/node-saml configured for one identity provider, and the check of one answer with it: what
// the SAML thread runs (saml-verify-thread.ts) and what the protocol builds its requests and metadata with
// (node-saml.protocol.ts). The library verifies the XML signature and reads ONLY what the signature covers
// (so a signature-wrapping response cannot slip unsigned content past it), the audience, the validity
// window and InResponseTo; what it leaves to its caller (Issuer, Recipient, Destination, replay) is read
// out here and checked by services/saml-sign-in.service.ts.
import type { CacheProvider, Profile, SAML, SamlConfig } from '@node-saml/node-saml';
import type { SamlSettings } from '../../domain/identity/federation.js';
import {
  SAML_CLOCK_SKEW_MS, SAML_REQUEST_LIFETIME_MS, SamlRefused, type SamlAssertion, type SamlRefusal, type SamlServiceProvider,
} from '../../domain/identity/saml.js';

type Xml = Record<string, unknown> & { $?: Record<string, string>; _?: string };

interface Library {
  saml: typeof import('@node-saml/node-saml');
  parseXml: typeof import('@node-saml/node-saml/lib/xml.js').parseXml2JsFromString;
}

let loading: Promise<Library> | undefined;
/**
 * The library, loaded on first use: most deployments never configure SAML, and it brings its own XML,
 * signature and crypto stack (about 10 MB of the server's memory) that would otherwise sit idle.
 */
export const library = (): Promise<Library> =>
  (loading ??= Promise.all([import('@node-saml/node-saml'), import('@node-saml/node-saml/lib/xml.js')]).then(([saml, xml]) => ({ saml, parseXml: xml.parseXml2JsFromString })));

/**
 * The library's store of request ids, answered from the one request THIS browser started (its cookie):
 * any other InResponseTo is unknown. Nothing is saved here; single use is the service's useOnce.
 */
export function oneRequest(expected: { requestId: string; issuedAt: number }): CacheProvider {
  return {
    saveAsync: async () => null,
    getAsync: async (key) => (key === expected.requestId ? new Date(expected.issuedAt).toISOString() : null),
    removeAsync: async () => null,
  };
}

export function saml(lib: Library, settings: SamlSettings, sp: SamlServiceProvider, extra: Partial<SamlConfig> = {}): SAML {
  return new lib.saml.SAML({
    entryPoint: settings.entryPoint,
    idpCert: settings.idpCertificates,
    issuer: sp.entityId,
    audience: sp.entityId,
    callbackUrl: sp.acsUrl,
    // The assertion must carry its own signature. Entra ID signs the assertion by default ("Sign SAML
    // assertion"), not always the response around it; the unsigned envelope is never trusted for who
    // the person is, and what is read from it (Destination, Issuer) must equal what we expect anyway.
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: SAML_CLOCK_SKEW_MS,
    requestIdExpirationPeriodMs: SAML_REQUEST_LIFETIME_MS,
    validateInResponseTo: lib.saml.ValidateInResponseTo.always,
    // Let the provider choose its NameID format and authentication method (Entra rejects a request
    // asking for one it is not set up to send); what comes back is checked, not what was asked for.
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    ...extra,
  });
}

/** The reason a person is told, from the library's error (its messages are its only classification). */
function refusalFor(lib: Library, error: unknown): SamlRefusal {
  if (error instanceof lib.saml.SamlStatusError) return 'provider_error';
  const message = error instanceof Error ? error.message : String(error);
  if (/InResponseTo/i.test(message)) return 'not_this_browser';
  if (/signature|signed/i.test(message)) return 'unsigned';
  if (/audience/i.test(message)) return 'audience';
  if (/expired|not yet valid|subject confirmation/i.test(message)) return 'expired';
  return 'malformed';
}

const text = (node: unknown): string | null => {
  const first = Array.isArray(node) ? (node[0] as Xml | string | undefined) : undefined;
  if (typeof first === 'string') return first;
  return typeof first?._ === 'string' ? first._.trim() : null;
};
const children = (node: Xml | undefined, name: string): Xml[] => (Array.isArray(node?.[name]) ? (node![name] as Xml[]) : []);

/** The later of two xs:dateTime values (either may be missing). */
function later(a: string | undefined, b: string | undefined): string | null {
  if (!a || !b) return a ?? b ?? null;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function attributesOf(profile: Profile): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(attributes)) {
    // Values with child elements (rare, never a group or address) come back as objects: left out.
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    out[name] = values.map((v) => v.trim());
  }
  return out;
}

/**
 * Checks a base64 SAMLResponse with the library (signature, audience, validity window, InResponseTo =
 * `expected.requestId`) and reads what the signed assertion says; throws SamlRefused with the reason.
 * Costly for a large answer (its XPath and digest): run on the SAML thread, never the event loop.
 */
export async function verifyResponse(settings: SamlSettings, sp: SamlServiceProvider, samlResponse: string, expected: { requestId: string; issuedAt: number }): Promise<SamlAssertion> {
  const lib = await library();
  let profile: Profile | null;
  try {
    ({ profile } = await saml(lib, settings, sp, { cacheProvider: oneRequest(expected) }).validatePostResponseAsync({ SAMLResponse: samlResponse }));
  } catch (error) {
    throw new SamlRefused(refusalFor(lib, error), error instanceof Error ? error.message : String(error));
  }
  if (!profile) throw new SamlRefused('malformed', 'no assertion in the response');
  // From here on only the signed assertion is read (getAssertion: what the signature covered)…
  const assertion = (profile.getAssertion?.() as { Assertion?: Xml } | undefined)?.Assertion;
  if (!assertion || !profile.nameID || !assertion.$?.ID) throw new SamlRefused('malformed', 'the assertion has no ID or NameID');
  const confirmations = children(children(assertion, 'Subject')[0], 'SubjectConfirmation').flatMap((c) => children(c, 'SubjectConfirmationData'));
  const conditions = children(assertion, 'Conditions')[0];
  const context = children(children(assertion, 'AuthnStatement')[0], 'AuthnContext')[0];
  // …and from the envelope only its Destination and Issuer, which must name us and the provider anyway.
  const response = (await lib.parseXml(Buffer.from(samlResponse, 'base64').toString('utf8')).catch(() => ({}))) as { Response?: Xml };
  return {
    issuer: typeof profile.issuer === 'string' ? profile.issuer : '',
    responseIssuer: text(response.Response?.Issuer),
    assertionId: assertion.$.ID,
    nameId: profile.nameID,
    nameIdFormat: profile.nameIDFormat ?? null,
    recipient: confirmations.map((c) => c.$?.Recipient).find((r) => r !== undefined) ?? null,
    destination: response.Response?.$?.Destination ?? null,
    notOnOrAfter: later(conditions?.$?.NotOnOrAfter, confirmations.map((c) => c.$?.NotOnOrAfter).find((v) => v !== undefined)),
    authnContextClassRef: text(context?.AuthnContextClassRef),
    attributes: attributesOf(profile),
  };
}
