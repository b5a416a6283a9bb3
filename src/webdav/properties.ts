// Live and dead properties for PROPFIND/PROPPATCH, rendered as multistatus responses.
// Built as plain strings: a Depth 1 listing of 10,000 documents must answer well under a second.
import type { Document } from '../domain/types.js';
import type { DeadProperty } from '../services/dav.service.js';
import type { ResourceLock as DavLock } from '../services/locks.service.js';
import { DavError } from './errors.js';
import { DAV_NS, MAX_PROPERTIES, XML_HEADER, child, elements, escapeXml, propTag, xmlCharsOnly, type XmlElement } from './xml.js';
import { href } from './resources.js';

/**
 * WebDAV ETags: the first 128 bits of the content's SHA-256. Shorter than the REST API's full hash
 * because litmus (neon) cuts If headers at 200 characters, and two etags plus a lock token must fit.
 */
export function davEtag(sha256: string): string {
  return `"${sha256.slice(0, 32)}"`;
}

export interface PropName {
  ns: string;
  local: string;
}

export type PropRequest = { kind: 'allprop'; include: PropName[] } | { kind: 'propname' } | { kind: 'prop'; names: PropName[] };

export interface PropResource {
  segments: string[];
  collection: boolean;
  /** Resource id for dead properties (documents and collections); null for the root and organisation folders. */
  id: string | null;
  displayName: string;
  created: string;
  modified: string;
  document: Document | null;
  /** Precomputed href (listings encode the parent path once). */
  href?: string;
}

const DOC_LIVE = ['creationdate', 'displayname', 'getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'lockdiscovery', 'resourcetype', 'supportedlock'];
const COLL_LIVE = ['creationdate', 'displayname', 'getlastmodified', 'lockdiscovery', 'resourcetype', 'supportedlock'];
/** Live properties a client may never set (RFC 4918 §15); other DAV: names are stored as dead properties. */
export const PROTECTED = new Set(['creationdate', 'getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'lockdiscovery', 'resourcetype', 'supportedlock']);

export function parsePropfind(root: XmlElement | null): PropRequest {
  if (!root) return { kind: 'allprop', include: [] };
  if (root.ns !== DAV_NS || root.local !== 'propfind') throw new DavError(400, 'The body must be a DAV:propfind element.');
  const kids = elements(root);
  if (child(root, DAV_NS, 'propname')) return { kind: 'propname' };
  const prop = child(root, DAV_NS, 'prop');
  if (prop) {
    const names = elements(prop).map((e) => ({ ns: e.ns, local: e.local }));
    if (names.length > MAX_PROPERTIES) throw new DavError(413, `At most ${MAX_PROPERTIES} properties may be asked for at once.`);
    return { kind: 'prop', names };
  }
  if (child(root, DAV_NS, 'allprop')) {
    const include = child(root, DAV_NS, 'include');
    return { kind: 'allprop', include: include ? elements(include).map((e) => ({ ns: e.ns, local: e.local })) : [] };
  }
  if (kids.length === 0) return { kind: 'allprop', include: [] };
  throw new DavError(400, 'The propfind element must hold allprop, propname or prop.');
}

export function lockXml(lock: DavLock): string {
  return `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope><D:depth>${lock.depth === 'infinity' ? 'infinity' : '0'}</D:depth>`
    + (lock.owner ? `<D:owner>${xmlCharsOnly(lock.owner)}</D:owner>` : '')
    + `<D:timeout>Second-${Math.max(0, Math.round((Date.parse(lock.expiresAt) - Date.now()) / 1000))}</D:timeout>`
    + `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken><D:lockroot><D:href>${escapeXml(href(lock.rootPath.split('/').slice(2), false))}</D:href></D:lockroot></D:activelock>`;
}

const SUPPORTED_LOCK = '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>'
  + '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

function live(r: PropResource, local: string, locks: DavLock[]): string | null {
  const d = r.document;
  switch (local) {
    case 'creationdate': return escapeXml(new Date(r.created).toISOString());
    case 'displayname': return escapeXml(r.displayName);
    case 'getlastmodified': return new Date(r.modified).toUTCString();
    case 'resourcetype': return r.collection ? '<D:collection/>' : '';
    case 'supportedlock': return SUPPORTED_LOCK;
    case 'lockdiscovery': return locks.map(lockXml).join('');
    case 'getcontentlength': return d ? String(d.size) : null;
    case 'getcontenttype': return d ? escapeXml(d.mediaType || 'application/octet-stream') : null;
    case 'getetag': return d ? escapeXml(davEtag(d.sha256)) : null;
    default: return null;
  }
}

/** One DAV:response element for a resource. */
export function renderResponse(r: PropResource, req: PropRequest, dead: DeadProperty[], locks: DavLock[]): string {
  const liveNames = r.collection ? COLL_LIVE : DOC_LIVE;
  if (req.kind === 'prop' && dead.length === 0 && req.names.every((n) => n.ns === DAV_NS && liveNames.includes(n.local))) {
    // The common listing (Explorer, Finder, rclone): only live properties, all present.
    let ok = '';
    for (const n of req.names) ok += propTag(DAV_NS, n.local, live(r, n.local, locks));
    return `<D:response><D:href>${escapeXml(r.href ?? href(r.segments, r.collection))}</D:href><D:propstat><D:prop>${ok}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`;
  }
  const ok: string[] = [];
  const missing: string[] = [];
  if (req.kind === 'propname') {
    for (const n of liveNames) ok.push(`<D:${n}/>`);
    for (const p of dead) ok.push(propTag(p.namespace, p.name, null));
  } else if (req.kind === 'allprop') {
    for (const n of liveNames) ok.push(propTag(DAV_NS, n, live(r, n, locks)));
    for (const p of dead) ok.push(propTag(p.namespace, p.name, p.value));
    for (const n of req.include) {
      if (n.ns === DAV_NS && liveNames.includes(n.local)) continue;
      if (!dead.some((p) => p.namespace === n.ns && p.name === n.local)) missing.push(propTag(n.ns, n.local, null));
    }
  } else {
    for (const n of req.names) {
      if (n.ns === DAV_NS && liveNames.includes(n.local)) {
        ok.push(propTag(DAV_NS, n.local, live(r, n.local, locks)));
        continue;
      }
      const p = dead.find((x) => x.namespace === n.ns && x.name === n.local);
      if (p) ok.push(propTag(p.namespace, p.name, p.value));
      else missing.push(propTag(n.ns, n.local, null));
    }
  }
  let out = `<D:response><D:href>${escapeXml(r.href ?? href(r.segments, r.collection))}</D:href>`;
  if (ok.length > 0 || missing.length === 0) out += `<D:propstat><D:prop>${ok.join('')}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>`;
  if (missing.length > 0) out += `<D:propstat><D:prop>${missing.join('')}</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>`;
  return `${out}</D:response>`;
}

export const MULTISTATUS_OPEN = `${XML_HEADER}<D:multistatus xmlns:D="DAV:">`;
export const MULTISTATUS_CLOSE = '</D:multistatus>';
