// SAML 2.0 through @node-saml/node-saml (node-saml.library.ts): the AuthnRequest (HTTP-Redirect), the
// response check and the SP metadata. The response check runs on the SAML thread (saml-verify-worker.ts)
// with time and memory limits, after the pre-check below.
import type { SamlSettings } from '../../domain/identity/federation.js';
import {
  SAML_LIMITS, SamlRefused, type SamlLimits, type SamlAssertion, type SamlProtocol, type SamlServiceProvider,
} from '../../domain/identity/saml.js';
import { library, oneRequest, saml } from './node-saml.library.js';
import { SAML_THREAD_LIMITS, SamlVerifyWorker, type SamlThreadLimits } from './saml-verify-worker.js';

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
 * in scope of any element; the bytes, elements and attributes in all bound the rest. The library now runs on the
 * SAML thread (saml-verify-worker.ts), so the event loop no longer depends on these limits; they still bound what
 * is copied to the thread, what its heap must hold, and how long one answer holds it.
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
  // attribute: the element is an Attribute (under any prefix), read once from its name, which may be long.
  const open: { name: string; attribute: boolean; children: number; namespaces: number }[] = [];
  let doctype = false;
  let elements = 0;
  let attributes = 0;
  let at = xml.indexOf('<');
  while (at !== -1) {
    let end: number;
    if (xml.startsWith('<!--', at)) end = past(xml.indexOf('-->', at + 4), 2);
    else if (xml.startsWith('<![CDATA[', at)) end = past(xml.indexOf(']]>', at + 9), 2);
    else if (xml.startsWith('<?', at)) end = past(xml.indexOf('?>', at + 2), 1);
    else if (xml.startsWith('<!', at)) {
      // One DOCTYPE before the root element, its internal subset in brackets (the parser refuses what it
      // declares; it is only stepped over). Any other is refused: each search below reads on to the end of
      // the answer, so only one may be made (170,000 `<!>` in 512 KiB once held the event loop for a second).
      if (doctype || elements > 0) return 'a markup declaration (<!…>) other than one DOCTYPE before the root element';
      doctype = true;
      const close = xml.indexOf('>', at);
      const subset = xml.indexOf('[', at);
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
      if (parent && ++parent.children > limits.children && !parent.attribute) {
        return `more than ${limits.children} children of one element (${parent.name})`;
      }
      const namespaces = (parent?.namespaces ?? 0) + declared;
      if (namespaces > limits.namespaces) return `more than ${limits.namespaces} namespace declarations in scope (${name})`;
      if (xml[end - 1] !== '/') open.push({ name, attribute: name === 'Attribute' || name.endsWith(':Attribute'), children: 0, namespaces });
    }
    if (end < 0) break;
    at = xml.indexOf('<', end + 1);
  }
  return null;
}

export class NodeSamlProtocol implements SamlProtocol {
  readonly thread: SamlVerifyWorker;

  constructor(private readonly limits: SamlLimits = SAML_LIMITS, thread: SamlThreadLimits = SAML_THREAD_LIMITS) {
    this.thread = new SamlVerifyWorker(thread);
  }

  async requestUrl(settings: SamlSettings, sp: SamlServiceProvider, requestId: string): Promise<string> {
    return saml(await library(), settings, sp, { generateUniqueId: () => requestId, cacheProvider: oneRequest({ requestId, issuedAt: Date.now() }) }).getAuthorizeUrlAsync('', undefined, {});
  }

  async verify(settings: SamlSettings, sp: SamlServiceProvider, samlResponse: string, expected: { requestId: string; issuedAt: number }): Promise<SamlAssertion> {
    // Linear in the answer's length, on the main thread: it bounds what is copied to the thread and what
    // the thread's heap must hold; the event loop no longer depends on it (the library runs on the thread).
    const over = overLimit(samlResponse, this.limits);
    if (over) throw new SamlRefused('too_large', over);
    return this.thread.verify({ settings, sp, samlResponse, expected: { requestId: expected.requestId, issuedAt: expected.issuedAt } });
  }

  async metadata(sp: SamlServiceProvider): Promise<string> {
    // No certificate of ours: requests are not signed and assertions not encrypted to us (TLS carries them).
    return saml(await library(), { entryPoint: 'https://unused.invalid/', idpEntityId: '', idpCertificates: ['unused'], emailAttribute: null }, sp).generateServiceProviderMetadata(null, null);
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
