// SAML 2.0 through @node-saml/node-saml: the AuthnRequest (HTTP-Redirect), the response check and the SP
// metadata. The library verifies the XML signature and reads ONLY what the signature covers (so a
// signature-wrapping response cannot slip unsigned content past it), the audience, the validity window
// and InResponseTo; what it leaves to its caller (Issuer, Recipient, Destination, replay) is read out
// here and checked by services/saml-sign-in.service.ts.
import type { CacheProvider, Profile, SAML, SamlConfig } from '@node-saml/node-saml';
import type { SamlSettings } from '../../domain/identity/federation.js';
import {
  SAML_CLOCK_SKEW_MS, SAML_LIMITS, SAML_REQUEST_LIFETIME_MS, SamlRefused, type SamlLimits, type SamlAssertion, type SamlProtocol, type SamlRefusal, type SamlServiceProvider,
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

/*
 * Why the library is given only answers within SAML_LIMITS (docs/threat-model.md, measured by bench/saml-size.ts).
 * Its XPath (the xpath package over xmldom) sorts node sets by document order comparing nodes by their place
 * among their parent's children, so what grows with the square is the number of children of the elements it
 * selects from (the Response, the Assertion): 9,000 empty elements side by side, which fit a 64 KiB form, held
 * the event loop for 2.5-5 s before any signature was checked (a request cookie is anyone's from the start
 * address). Once a signature is checked, the namespace declarations in scope grow with their square too (4,000
 * on the Response: 0.4 s; 9,000: over a second). Depth, plain attributes, and declarations in an unsigned answer
 * cost in proportion, and so, nearly, do group values under their Attribute: a signed answer of 2,000
 * Okta-style groups (490 KiB in base64) takes about half a second, most of it the signature's digest. So the
 * children of one element are limited (but for an Attribute's values: a person's groups), and the declarations
 * in scope of any element; the bytes, elements and attributes in all bound the rest.
 */
const NAME_END = new Set([' ', '\t', '\r', '\n', '/', '>']);
/** The index `by` characters past a found one, or -1 if it was not found. */
const past = (found: number, by: number): number => (found === -1 ? -1 : found + by);

/**
 * Which limit, if any, the base64 answer goes beyond, counted on its text before any parsing. Comments, CDATA,
 * processing instructions and a DOCTYPE are stepped over; quoted attribute values are read through, so a `>` in
 * one does not end its tag; an end tag that does not close the open element is refused, because then the count
 * of children would not be what the parser sees.
 */
export function overLimit(samlResponse: string, limits: SamlLimits = SAML_LIMITS): string | null {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  if (Buffer.byteLength(xml) > limits.bytes) return `more than ${limits.bytes} bytes of XML`;
  const open: { name: string; children: number; namespaces: number }[] = [];
  let elements = 0;
  let attributes = 0;
  let at = xml.indexOf('<');
  while (at !== -1) {
    let end: number;
    if (xml.startsWith('<!--', at)) end = past(xml.indexOf('-->', at + 4), 2);
    else if (xml.startsWith('<![CDATA[', at)) end = past(xml.indexOf(']]>', at + 9), 2);
    else if (xml.startsWith('<?', at)) end = past(xml.indexOf('?>', at + 2), 1);
    else if (xml.startsWith('<!', at)) {
      // A DOCTYPE, its internal subset in brackets (the parser refuses what it declares; it is only stepped over).
      const subset = xml.indexOf('[', at);
      const close = xml.indexOf('>', at);
      end = subset !== -1 && subset < close ? past(xml.indexOf(']', subset), 0) : close;
      if (end !== close && end !== -1) end = xml.indexOf('>', end);
    } else if (xml.charCodeAt(at + 1) === 0x2f) {
      end = xml.indexOf('>', at);
      const name = xml.slice(at + 2, end === -1 ? undefined : end).trim();
      if (open.pop()?.name !== name) return 'an end tag that closes no open element';
    } else {
      let i = at + 1;
      while (i < xml.length && !NAME_END.has(xml[i]!)) i++;
      const name = xml.slice(at + 1, i);
      let declared = 0;
      for (let from = i; i < xml.length && xml[i] !== '>'; i++) {
        if (xml[i] === '"' || xml[i] === "'") {
          attributes++;
          const attribute = xml.slice(from, i).replace(/=\s*$/, '').trim();
          if (attribute === 'xmlns' || attribute.startsWith('xmlns:')) declared++;
          const close = xml.indexOf(xml[i]!, i + 1);
          if (close === -1) return 'an attribute value that never ends';
          from = (i = close) + 1;
        }
      }
      end = i < xml.length ? i : -1;
      if (++elements > limits.elements) return `more than ${limits.elements} XML elements`;
      if (attributes > limits.attributes) return `more than ${limits.attributes} attributes`;
      const parent = open[open.length - 1];
      if (parent && ++parent.children > limits.children && parent.name.replace(/^.*:/, '') !== 'Attribute') {
        return `more than ${limits.children} children of one element (${parent.name})`;
      }
      const namespaces = (parent?.namespaces ?? 0) + declared;
      if (namespaces > limits.namespaces) return `more than ${limits.namespaces} namespace declarations in scope (${name})`;
      if (xml[end - 1] !== '/') open.push({ name, children: 0, namespaces });
    }
    if (end < 0) break;
    at = xml.indexOf('<', end + 1);
  }
  return null;
}

export class NodeSamlProtocol implements SamlProtocol {
  constructor(private readonly limits: SamlLimits = SAML_LIMITS) {}

  async requestUrl(settings: SamlSettings, sp: SamlServiceProvider, requestId: string): Promise<string> {
    return saml(await library(), settings, sp, { generateUniqueId: () => requestId, cacheProvider: oneRequest({ requestId, issuedAt: Date.now() }) }).getAuthorizeUrlAsync('', undefined, {});
  }

  async verify(settings: SamlSettings, sp: SamlServiceProvider, samlResponse: string, expected: { requestId: string; issuedAt: number }): Promise<SamlAssertion> {
    const over = overLimit(samlResponse, this.limits);
    if (over) throw new SamlRefused('too_large', over);
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
