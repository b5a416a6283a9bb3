// The reading methods: OPTIONS, GET and HEAD (a document's content, or a folder's small HTML listing)
// and PROPFIND (live and dead properties, Depth 0 or 1).
import type { FastifyReply } from 'fastify';
import type { Collection, Document } from '../../domain/types.js';
import { attachmentDisposition, parseRange, STORED_CONTENT_CSP } from '../../protocol/content-headers.js';
import { streamedBody } from '../../protocol/streamed-body.js';
import type { ResourceLock } from '../../services/locks.service.js';
import { readBody, readXml } from '../body.js';
import { notModified, requireIfMatch } from '../conditions.js';
import { davTarget, METHODS, type DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, PROTECTED, davEtag, parsePropfind, renderResponse, type PropRequest, type PropResource } from '../properties.js';
import { encodeSegment, href, type Resolved } from '../resources.js';
import { DAV_NS, escapeXml } from '../xml.js';

const NONE: never[] = [];
/** Documents read, decided and rendered at a time in a PROPFIND: what one holds at once, whatever the folder's size. */
const PROPFIND_PAGE = 500;
/** The creation and modification date shown for the /dav/ root, which has neither. */
const ROOT_DATE = '2026-01-01T00:00:00.000Z';

/** Needs no sign-in: clients probe it before they have credentials. */
export function options(reply: FastifyReply) {
  return reply.status(200)
    .header('DAV', '1, 2')
    .header('MS-Author-Via', 'DAV')
    .header('Allow', METHODS.join(', '))
    .header('Accept-Ranges', 'bytes')
    .header('Content-Length', '0')
    .send();
}

export async function get(cx: DavContext, target: Resolved, head: boolean) {
  const { request, reply } = cx;
  if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
  if (target.kind !== 'document') return folderPage(cx, target, head);
  // Authorised once: conditional, HEAD and unsatisfiable range requests read (and audit) no content.
  const prepared = await cx.services.documents.prepareDownload(cx.actor, target.document!.id);
  const { document, size } = prepared;
  const etag = davEtag(prepared.version.sha256);
  requireIfMatch(request, etag);
  reply.header('ETag', etag).header('Last-Modified', new Date(document.updatedAt).toUTCString()).header('Accept-Ranges', 'bytes');
  if (notModified(request, etag)) return reply.status(304).send();
  reply
    .header('Content-Disposition', attachmentDisposition(document.name))
    .header('Content-Security-Policy', STORED_CONTENT_CSP)
    .header('Cache-Control', 'private, no-store')
    .type(prepared.version.mediaType || 'application/octet-stream');
  if (head) return reply.header('Content-Length', String(size)).status(200).send();
  const range = parseRange(request.headers.range, size);
  if (range === 'unsatisfiable') {
    return reply.status(416).header('Content-Range', `bytes */${size}`).type('text/plain').send(`The file is ${size} bytes long.\n`);
  }
  const body = await prepared.content(range);
  if (range) {
    reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${size}`).header('Content-Length', String(range.end - range.start + 1));
  } else {
    reply.status(200).header('Content-Length', String(size));
  }
  return reply.send(body);
}

async function folderPage(cx: DavContext, target: Resolved, head: boolean) {
  const names = await membersOf(cx, target);
  const items = names.map((m) => `<li><a href="${escapeXml(href(m.segments, m.collection))}">${escapeXml(m.displayName)}${m.collection ? '/' : ''}</a></li>`).join('');
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Strongroom WebDAV</title></head><body><ul>${items}</ul></body></html>`;
  cx.reply.type('text/html; charset=utf-8').header('Cache-Control', 'private, no-store');
  return head ? cx.reply.header('Content-Length', String(Buffer.byteLength(body))).send() : cx.reply.send(body);
}

export async function propfind(cx: DavContext, target: Resolved) {
  const { request, reply } = cx;
  const depth = typeof request.headers.depth === 'string' ? request.headers.depth.trim().toLowerCase() : 'infinity';
  if (depth === 'infinity') {
    await readBody(request, reply).catch(() => undefined);
    throw new DavError(403, 'PROPFIND with Depth: infinity is not supported; use Depth 0 or 1.', 'propfind-finite-depth');
  }
  if (depth !== '0' && depth !== '1') throw new DavError(400, 'Depth must be 0, 1 or infinity.');
  const req = parsePropfind(await readXml(request, reply));
  if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
  const self = describe(target);
  const parts = multistatus(cx, target, req, self, depth === '1' && self.collection ? memberPages(cx, target) : null);
  return reply.status(207).type('application/xml; charset=utf-8').send(await streamedBody(parts, cx.services.durable));
}

/**
 * The multistatus answer, a page of resources at a time: the resource itself first, then its members
 * as `pages` gives them, each page with its dead properties and locks asked of the services for that
 * page alone, so memory stays that of one page whatever the folder holds.
 */
async function* multistatus(cx: DavContext, target: Resolved, req: PropRequest, self: PropResource, pages: AsyncGenerator<PropResource[]> | null): AsyncGenerator<string> {
  let before: PropResource[] = [self];
  let out = MULTISTATUS_OPEN;
  for await (const members of pages ?? []) {
    out += await renderPage(cx, target, req, [...before, ...members], members);
    yield out;
    before = [];
    out = '';
  }
  if (before.length > 0) out += await renderPage(cx, target, req, before, []);
  yield out + MULTISTATUS_CLOSE;
}

async function renderPage(cx: DavContext, target: Resolved, req: PropRequest, resources: PropResource[], members: PropResource[]): Promise<string> {
  if (resources.length === 0) return '';
  const dav = cx.services.dav;
  const needDead = req.kind !== 'prop' || req.names.some((n) => n.ns !== DAV_NS || !PROTECTED.has(n.local));
  const dead = needDead ? await dav.properties(cx.actor, resources.map((r) => r.id).filter((id): id is string => id !== null)) : new Map();
  const wantLocks = req.kind !== 'prop' || req.names.some((n) => n.ns === DAV_NS && n.local === 'lockdiscovery');
  const locks = wantLocks && target.org
    ? await dav.lockDiscovery(cx.actor, target.org.id, target.kind === 'document' || target.kind === 'collection' ? davTarget(target) : null,
      members.filter((r) => r.id !== null).map((r) => ({ id: r.id!, collection: r.collection })))
    : new Map<string, ResourceLock[]>();
  let out = '';
  for (const r of resources) out += renderResponse(r, req, (r.id !== null && dead.get(r.id)) || NONE, (r.id !== null && locks.get(r.id)) || NONE);
  return out;
}

function describe(target: Resolved): PropResource {
  switch (target.kind) {
    case 'root': return { segments: [], collection: true, id: null, displayName: 'Strongroom', created: ROOT_DATE, modified: ROOT_DATE, document: null };
    case 'organisation': return { segments: target.segments, collection: true, id: null, displayName: target.org!.name, created: target.org!.createdAt, modified: target.org!.createdAt, document: null };
    case 'collection': return collectionProps(target.segments, target.collection!);
    case 'document': return documentProps(target.segments, target.document!);
    default: throw new DavError(404, 'Nothing here.');
  }
}

/** What a folder lists, as the actor may see it (the services leave out the rest). */
async function membersOf(cx: DavContext, target: Resolved): Promise<PropResource[]> {
  const names: PropResource[] = [];
  for await (const page of memberPages(cx, target)) names.push(...page);
  return names;
}

/** The same, a page at a time: sub-folders with the first page of documents, then a page of documents each time. */
async function* memberPages(cx: DavContext, target: Resolved): AsyncGenerator<PropResource[]> {
  if (target.kind === 'root') {
    const orgs = await cx.services.dav.organisations(cx.actor);
    yield orgs.map((o) => ({ segments: [o.slug], collection: true, id: null, displayName: o.name, created: o.createdAt, modified: o.createdAt, document: null }));
    return;
  }
  if (target.kind !== 'organisation' && target.kind !== 'collection') return;
  const { collections, documentPages } = await cx.services.dav.memberPages(cx.actor, target.org!.id, target.kind === 'collection' ? target.collection! : null, PROPFIND_PAGE);
  const base = href(target.segments, true);
  let page = collections.map((c) => collectionProps([...target.segments, c.name], c, `${base}${encodeSegment(c.name)}/`));
  for await (const documents of documentPages ?? []) {
    for (const d of documents) page.push(documentProps([...target.segments, d.name], d, `${base}${encodeSegment(d.name)}`));
    yield page;
    page = [];
  }
  if (!documentPages) yield page;
}

function collectionProps(segments: string[], c: Collection, precomputedHref?: string): PropResource {
  return { segments, collection: true, id: c.id, displayName: c.name, created: c.createdAt, modified: c.createdAt, document: null, ...(precomputedHref ? { href: precomputedHref } : {}) };
}

function documentProps(segments: string[], d: Document, precomputedHref?: string): PropResource {
  return { segments, collection: false, id: d.id, displayName: d.name, created: d.createdAt, modified: d.updatedAt, document: d, ...(precomputedHref ? { href: precomputedHref } : {}) };
}
