// SAML 2.0 through @node-saml/node-saml: the AuthnRequest (HTTP-Redirect), the response check and the SP
// metadata. The library verifies the XML signature and reads ONLY what the signature covers (so a
// signature-wrapping response cannot slip unsigned content past it), the audience, the validity window
// and InResponseTo; what it leaves to its caller (Issuer, Recipient, Destination, replay) is read out
// here and checked by services/saml-sign-in.service.ts.
import type { CacheProvider, Profile, SAML, SamlConfig } from '@node-saml/node-saml';
import type { SamlSettings } from '../../domain/identity/federation.js';
import {
  SAML_CLOCK_SKEW_MS, SAML_REQUEST_LIFETIME_MS, SamlRefused, type SamlAssertion, type SamlProtocol, type SamlRefusal, type SamlServiceProvider,
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
const library = (): Promise<Library> =>
  (loading ??= Promise.all([import('@node-saml/node-saml'), import('@node-saml/node-saml/lib/xml.js')]).then(([saml, xml]) => ({ saml, parseXml: xml.parseXml2JsFromString })));

/**
 * The library's store of request ids, answered from the one request THIS browser started (its cookie):
 * any other InResponseTo is unknown. Nothing is saved here; single use is the service's useOnce.
 */
function oneRequest(expected: { requestId: string; issuedAt: number }): CacheProvider {
  return {
    saveAsync: async () => null,
    getAsync: async (key) => (key === expected.requestId ? new Date(expected.issuedAt).toISOString() : null),
    removeAsync: async () => null,
  };
}

function saml(lib: Library, settings: SamlSettings, sp: SamlServiceProvider, extra: Partial<SamlConfig> = {}): SAML {
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
 * The most elements, and the most attributes, a response may have for the library to read it. Its XPath (the
 * xpath package) sorts node sets by document order in time that grows with the square of the nodes: 9,000
 * empty elements, which fit the reply URL's 64 KiB form, held the event loop for four seconds, before any
 * signature was checked (the request cookie is anyone's from the start address); 1,000 elements with 8,000
 * attributes or namespace declarations among them still took a fifth of a second. A real answer has a few
 * dozen of each, plus one element per group value; 1,000 of each take tens of milliseconds.
 */
export const MAX_SAML_ELEMENTS = 1000;
export const MAX_SAML_ATTRIBUTES = 1000;

/**
 * Whether the base64 answer holds more start tags or attributes than the limits. Counted on the text, before
 * any parsing: markup inside CDATA or comments, or `="` in text, is counted too, so the count is only ever more.
 */
function tooLarge(samlResponse: string): boolean {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  let elements = 0;
  for (let at = xml.indexOf('<'); at !== -1; at = xml.indexOf('<', at + 1)) {
    const next = xml.charCodeAt(at + 1);
    // Not an end tag (/), a declaration, comment or CDATA (!), or a processing instruction (?).
    if (next !== 0x2f && next !== 0x21 && next !== 0x3f && ++elements > MAX_SAML_ELEMENTS) return true;
  }
  let attributes = 0;
  for (const _ of xml.matchAll(/=\s*["']/g)) if (++attributes > MAX_SAML_ATTRIBUTES) return true;
  return false;
}

export class NodeSamlProtocol implements SamlProtocol {
  async requestUrl(settings: SamlSettings, sp: SamlServiceProvider, requestId: string): Promise<string> {
    return saml(await library(), settings, sp, { generateUniqueId: () => requestId, cacheProvider: oneRequest({ requestId, issuedAt: Date.now() }) }).getAuthorizeUrlAsync('', undefined, {});
  }

  async verify(settings: SamlSettings, sp: SamlServiceProvider, samlResponse: string, expected: { requestId: string; issuedAt: number }): Promise<SamlAssertion> {
    if (tooLarge(samlResponse)) throw new SamlRefused('too_large', `more than ${MAX_SAML_ELEMENTS} XML elements or ${MAX_SAML_ATTRIBUTES} attributes`);
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

  async metadata(sp: SamlServiceProvider): Promise<string> {
    // No certificate of ours: requests are not signed and assertions not encrypted to us (TLS carries them).
    return saml(await library(), { entryPoint: 'https://unused.invalid/', idpEntityId: '', idpCertificates: ['unused'], emailAttribute: null }, sp).generateServiceProviderMetadata(null, null);
  }
}
