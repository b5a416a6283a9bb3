// Safe XML for WebDAV bodies: no DTD, no entities beyond the five predefined ones and character
// references, size/property/depth limits, namespaces resolved, and a writer for multistatus bodies.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DavError } from './errors.js';

export const DAV_NS = 'DAV:';
export const MAX_XML_BYTES = 1024 * 1024;
export const MAX_PROPERTIES = 500;
const MAX_DEPTH = 64;

export interface XmlElement {
  ns: string;
  local: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | { text: string };

export const isElement = (n: XmlNode): n is XmlElement => 'local' in n;
export const elements = (e: XmlElement): XmlElement[] => e.children.filter(isElement);
export const child = (e: XmlElement, ns: string, local: string): XmlElement | undefined => elements(e).find((c) => c.ns === ns && c.local === local);

// XML 1.0's Char production (§2.2): all a document may hold, raw or as a character reference. A control
// character stored in a dead property or a lock owner would make every later multistatus that carries it
// unreadable to strict parsers (Windows, macOS, libxml2), so one member could break a shared folder's
// listing for all its readers.
const NOT_XML_CHAR = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
const NOT_XML_CHARS = new RegExp(NOT_XML_CHAR.source, 'gu');
const notXmlChar = () => new DavError(400, 'The XML body contains a character XML does not allow (a control character other than tab and line breaks, a lone surrogate, U+FFFE or U+FFFF).');

const parser = new XMLParser({
  preserveOrder: true, ignoreAttributes: false, processEntities: false, htmlEntities: false, trimValues: false,
  parseTagValue: false, parseAttributeValue: false, ignoreDeclaration: true, ignorePiTags: true, removeNSPrefix: false,
});

/** Parses a request body. Empty → null. DTDs, unknown entities and malformed XML → 400. */
export function parseXml(body: Buffer): XmlElement | null {
  if (body.length > MAX_XML_BYTES) throw new DavError(413, 'The XML body is too large.');
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return null;
  if (NOT_XML_CHAR.test(text)) throw notXmlChar();
  // No DTD at all: this rules out external entities (XXE) and entity expansion (billion laughs).
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new DavError(400, 'Document type declarations are not accepted.');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new DavError(400, `The XML body is not well-formed: ${valid.err.msg}`);
  // Only the predefined entities and character references may appear.
  const badEntity = /&(?!(?:amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});)/.exec(text);
  if (badEntity) throw new DavError(400, 'The XML body uses an entity that is not defined.');
  let raw: unknown[];
  try {
    raw = parser.parse(text) as unknown[];
  } catch (error) {
    throw new DavError(400, `The XML body is not well-formed: ${(error as Error).message}`);
  }
  const top: Scope = { declared: new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), parent: null };
  const roots = raw.map((n) => convert(n as RawNode, top, 0)).filter((n): n is XmlElement => n !== null && isElement(n));
  if (roots.length !== 1) throw new DavError(400, 'The XML body must have exactly one root element.');
  return roots[0]!;
}

type RawNode = Record<string, unknown>;

/**
 * The namespace prefixes in force at an element: its own declarations, then its parents'. A chain rather than
 * a copy per element: copying thousands of prefixes declared on the root into each of thousands of elements
 * below it took seconds of the event loop for a 200 KB body. A lookup walks at most MAX_DEPTH frames.
 */
interface Scope { declared: Map<string, string>; parent: Scope | null }

function lookup(scope: Scope | null, prefix: string): string | undefined {
  for (let s = scope; s !== null; s = s.parent) {
    const ns = s.declared.get(prefix);
    if (ns !== undefined) return ns;
  }
  return undefined;
}

function convert(node: RawNode, scope: Scope, depth: number): XmlNode | null {
  if (depth > MAX_DEPTH) throw new DavError(400, 'The XML body is nested too deeply.');
  if ('#text' in node) return { text: decodeEntities(String(node['#text'])) };
  const tag = Object.keys(node).find((k) => k !== ':@');
  if (!tag || tag.startsWith('?') || tag === '#comment') return null;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const declared = new Map<string, string>();
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawAttrs)) {
    const name = key.replace(/^@_/, '');
    if (name === 'xmlns') declared.set('', decodeEntities(value));
    else if (name.startsWith('xmlns:')) {
      // Namespaces in XML 1.0 §3: a prefix cannot be bound to the empty name.
      if (value === '') throw new DavError(400, `The XML namespace prefix "${name.slice(6)}" is bound to an empty name.`);
      declared.set(name.slice(6), decodeEntities(value));
    }
    else attrs[name] = decodeEntities(value);
  }
  const colon = tag.indexOf(':');
  const prefix = colon === -1 ? '' : tag.slice(0, colon);
  const name = colon === -1 ? tag : tag.slice(colon + 1);
  const inScope: Scope = declared.size > 0 ? { declared, parent: scope } : scope;
  const ns = lookup(inScope, prefix);
  if (ns === undefined && prefix !== '') throw new DavError(400, `The XML namespace prefix "${prefix}" is not declared.`);
  const children: XmlNode[] = [];
  for (const c of (node[tag] ?? []) as RawNode[]) {
    const converted = convert(c, inScope, depth + 1);
    if (converted) children.push(converted);
  }
  return { ns: ns ?? '', local: name, attrs, children };
}

function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_m, e: string) => {
    switch (e) {
      case 'amp': return '&';
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      default: {
        const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        if (!(code <= 0x10ffff)) throw new DavError(400, 'Invalid character reference in the XML body.');
        const decoded = String.fromCodePoint(code);
        if (NOT_XML_CHAR.test(decoded)) throw notXmlChar();
        return decoded;
      }
    }
  });
}

export function escapeXml(s: string): string {
  return xmlCharsOnly(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * Text or stored markup with every character XML cannot carry replaced by U+FFFD: for what was stored before
 * bodies were checked for them (dead properties, lock owners), so it cannot make a response unreadable.
 * Replacing a character never makes markup, so it is safe on serialised XML too.
 */
export function xmlCharsOnly(s: string): string {
  return NOT_XML_CHAR.test(s) ? s.replace(NOT_XML_CHARS, '\ufffd') : s;
}

/** Serialises nodes with every element declaring its own default namespace: correct whatever surrounds it. */
export function serializeNodes(nodes: XmlNode[]): string {
  return nodes.map((n) => (isElement(n) ? serializeElement(n) : escapeXml(n.text))).join('');
}

function serializeElement(e: XmlElement): string {
  const attrs = Object.entries(e.attrs).filter(([k]) => !k.includes(':')).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  const lang = e.attrs['xml:lang'] ? ` xml:lang="${escapeXml(e.attrs['xml:lang'])}"` : '';
  return `<${e.local} xmlns="${escapeXml(e.ns)}"${attrs}${lang}>${serializeNodes(e.children)}</${e.local}>`;
}

/** An element name in a response: DAV: uses the D: prefix declared on the root, others declare their own. */
export function propTag(ns: string, local: string, stored: string | null): string {
  const inner = stored === null ? null : xmlCharsOnly(stored);
  if (ns === DAV_NS) return inner === null || inner === '' ? `<D:${local}/>` : `<D:${local}>${inner}</D:${local}>`;
  const decl = ns === '' ? ' xmlns=""' : ` xmlns:x="${escapeXml(ns)}"`;
  const name = ns === '' ? local : `x:${local}`;
  return inner === null || inner === '' ? `<${name}${decl}/>` : `<${name}${decl}>${inner}</${name}>`;
}

export const XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>\n';
