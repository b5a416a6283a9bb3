// WebDAV (RFC 4918 classes 1 and 2) at /dav/: one folder per reachable organisation, then collections
// and documents. Every method goes through the services (and so decide(), scanning and audit, channel 'webdav').
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import type { AppServices } from '../services/app-services.js';
import { attachmentDisposition, etagMatches, parseRange } from '../protocol/content-headers.js';
import { DavService, type DavTarget, type PropertyChange } from '../services/dav.service.js';
import type { ResourceLock } from '../services/locks.service.js';
import { actorFor, unauthenticated } from '../services/identity.service.js';
import { DavError, sendDavError } from './errors.js';
import { parseIfHeader, submittedTokens, type IfList } from './if-header.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, PROTECTED, davEtag as etagOf, lockXml, parsePropfind, renderResponse, type PropResource } from './properties.js';
import { encodeSegment, href, lockPath, parseDavPath, parseDestination, resolve, type Resolved } from './resources.js';
import { DAV_NS, MAX_PROPERTIES, MAX_XML_BYTES, child, elements, escapeXml, parseXml, propTag, serializeNodes } from './xml.js';

const CHANGE = 'You may not change this (your access here does not allow it).';
const EXTRA_METHODS = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'];
const METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', ...EXTRA_METHODS];
const DEFAULT_LOCK_SECONDS = 3600;
const MAX_LOCK_SECONDS = 7 * 24 * 3600;
/** Past this much body we stop reading and close the connection. */
const HARD_BODY_CAP = 64 * 1024 * 1024;

export async function webdavExtension(app: FastifyInstance, vault: AppServices): Promise<void> {
  for (const m of EXTRA_METHODS) if (!app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true });
  const dav = vault.dav;
  await app.register(async (scope) => {
    // Bodies are never parsed by Fastify: PUT streams straight into the upload pipeline, XML is read here with a limit.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.setErrorHandler((error, request, reply) => sendDavError(error, request, reply));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => new DavExchange(vault, dav, request, reply).handle();
    scope.route({ method: METHODS, url: '/dav', handler, exposeHeadRoute: false });
    scope.route({ method: METHODS, url: '/dav/*', handler, exposeHeadRoute: false });
  });
}

/** One WebDAV request: authenticates, resolves the path and runs the method. */
class DavExchange {
  private actor!: Actor;

  constructor(private readonly vault: AppServices, private readonly dav: DavService, private readonly request: FastifyRequest, private readonly reply: FastifyReply) {}

  async handle(): Promise<unknown> {
    const method = this.request.method;
    const rawUrl = this.request.raw.url ?? '/dav/';
    // A fragment is never part of a request target (RFC 9112 §3.2); acting on the path without it would be unsafe.
    if (rawUrl.includes('#')) throw new DavError(400, 'The request URL must not contain a fragment (#).');
    const segments = parseDavPath(rawUrl);
    if (method === 'OPTIONS') return this.options();
    // The lock tokens in the If header travel with the actor, so the services can tell whether the
    // holder of each lock a write runs into presented it (a malformed header is refused by checkWrite).
    this.actor = { ...(await this.authenticate()), lockTokens: [...submittedTokens(this.ifLists(true))] };
    const target = await resolve(this.dav, this.actor, segments);
    switch (method) {
      case 'GET':
      case 'HEAD': return this.get(target, method === 'HEAD');
      case 'PUT': return this.put(target);
      case 'DELETE': return this.delete(target);
      case 'MKCOL': return this.mkcol(target);
      case 'PROPFIND': return this.propfind(target);
      case 'PROPPATCH': return this.proppatch(target);
      case 'COPY':
      case 'MOVE': return this.copyMove(target, method === 'MOVE');
      case 'LOCK': return this.lock(target);
      case 'UNLOCK': return this.unlock(target);
      default: throw new DavError(405, `${method} is not supported here.`);
    }
  }

  private options() {
    return this.reply.status(200)
      .header('DAV', '1, 2')
      .header('MS-Author-Via', 'DAV')
      .header('Allow', METHODS.join(', '))
      .header('Accept-Ranges', 'bytes')
      .header('Content-Length', '0')
      .send();
  }

  /** Basic with an app password (the user name must be the account's e-mail), or a bearer API token. */
  private async authenticate(): Promise<Actor> {
    const header = this.request.headers.authorization ?? '';
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const bearer = /^Bearer\s+(\S+)$/i.exec(header);
    let user;
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw unauthenticated();
      user = await this.vault.identity.authenticateSecret(decoded.slice(colon + 1), ['app_password']);
      if (user.email.toLowerCase() !== decoded.slice(0, colon).trim().toLowerCase()) throw unauthenticated();
    } else if (bearer) {
      user = await this.vault.identity.authenticateSecret(bearer[1]!, ['api_token']);
    } else {
      throw unauthenticated();
    }
    return actorFor(user, { channel: 'webdav', clientAddress: this.request.ip, requestId: String(this.request.id) });
  }

  // --- Bodies ---

  private hasBody(): boolean {
    const h = this.request.headers;
    return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
  }

  /** Reads an XML request body up to MAX_XML_BYTES; more is drained (up to a hard cap) and refused with 413. */
  private async readBody(): Promise<Buffer> {
    const raw: IncomingMessage = this.request.raw;
    if (!this.hasBody() || raw.readableEnded) return Buffer.alloc(0);
    const declared = Number(this.request.headers['content-length'] ?? 0);
    if (declared > HARD_BODY_CAP) {
      this.reply.header('Connection', 'close');
      throw new DavError(413, `The request body is too large (at most ${MAX_XML_BYTES} bytes of XML).`);
    }
    return new Promise<Buffer>((resolveBody, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      raw.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_XML_BYTES) {
          over = true;
          chunks.length = 0;
          if (size > HARD_BODY_CAP) {
            raw.pause();
            this.reply.header('Connection', 'close');
            reject(new DavError(413, `The request body is too large (at most ${MAX_XML_BYTES} bytes of XML).`));
          }
          return;
        }
        chunks.push(chunk);
      });
      raw.on('end', () => (over ? reject(new DavError(413, `The request body is too large (at most ${MAX_XML_BYTES} bytes of XML).`)) : resolveBody(Buffer.concat(chunks))));
      raw.on('error', reject);
    });
  }

  private async readXml() {
    return parseXml(await this.readBody());
  }

  // --- Locks and conditions ---

  /** The parsed If header ([] when absent); `lenient` answers [] for a malformed one instead of 400. */
  private ifLists(lenient = false): IfList[] {
    const header = this.request.headers.if;
    if (typeof header !== 'string' || header.trim() === '') return [];
    try {
      return parseIfHeader(header);
    } catch (error) {
      if (lenient) return [];
      throw error;
    }
  }

  /**
   * Evaluates the If header for the request resource (412 when false). Whether the write may pass
   * the locks it runs into is decided by the services (LocksService), for every interface alike.
   */
  private async checkWrite(target: Resolved): Promise<void> {
    const lists = this.ifLists();
    if (lists.length > 0) await this.evaluateIf(target, lists);
  }

  private async evaluateIf(target: Resolved, lists: IfList[]): Promise<void> {
    const applicable = lists.filter((l) => l.resource === null || this.tagPath(l.resource) === target.path);
    if (applicable.length === 0) return;
    const locks = await this.locksApplying(target);
    const etag = target.document ? etagOf(target.document.sha256) : null;
    const holds = applicable.some((l) => l.conditions.every((c) => {
      const value = c.token !== undefined ? locks.some((k) => k.token === c.token) : etag !== null && c.etag === etag;
      return c.not ? !value : value;
    }));
    if (!holds) throw new DavError(412, 'The conditions in the If header are not met.');
  }

  /** Live locks applying to what the URL names (for an unmapped URL: those covering it from above). */
  private async locksApplying(target: Resolved): Promise<ResourceLock[]> {
    if (target.kind === 'document' || target.kind === 'collection') return this.dav.locksApplying(this.actor, davTarget(target));
    if (target.kind === 'missing' && target.parent) return this.dav.locksApplying(this.actor, { kind: 'new-member', parent: target.parent });
    return [];
  }

  private tagPath(tag: string): string | null {
    try {
      return lockPath(parseDestination(tag, this.request.host));
    } catch {
      return null;
    }
  }

  // --- GET / HEAD ---

  private async get(target: Resolved, head: boolean) {
    if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
    if (target.kind !== 'document') return this.folderPage(target, head);
    // Authorised once: conditional, HEAD and unsatisfiable range requests read (and audit) no content.
    const prepared = await this.vault.documents.prepareDownload(this.actor, target.document!.id);
    const { document, size } = prepared;
    const etag = etagOf(prepared.version.sha256);
    const ifMatch = this.request.headers['if-match'];
    if (ifMatch && !etagMatches(ifMatch, etag)) throw new DavError(412, 'The document has changed (If-Match).');
    this.reply.header('ETag', etag).header('Last-Modified', new Date(document.updatedAt).toUTCString()).header('Accept-Ranges', 'bytes');
    if (etagMatches(this.request.headers['if-none-match'], etag)) return this.reply.status(304).send();
    this.reply
      .header('Content-Disposition', attachmentDisposition(document.name))
      .header('Cache-Control', 'private, no-store')
      .type(prepared.version.mediaType || 'application/octet-stream');
    if (head) return this.reply.header('Content-Length', String(size)).status(200).send();
    const range = parseRange(this.request.headers.range, size);
    if (range === 'unsatisfiable') {
      return this.reply.status(416).header('Content-Range', `bytes */${size}`).type('text/plain').send(`The file is ${size} bytes long.\n`);
    }
    const stream = await prepared.open(range);
    if (range) {
      this.reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${size}`).header('Content-Length', String(range.end - range.start + 1));
    } else {
      this.reply.status(200).header('Content-Length', String(size));
    }
    return this.reply.send(stream);
  }

  private async folderPage(target: Resolved, head: boolean) {
    const { names } = await this.membersOf(target);
    const items = names.map((m) => `<li><a href="${escapeXml(href(m.segments, m.collection))}">${escapeXml(m.displayName)}${m.collection ? '/' : ''}</a></li>`).join('');
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Strongroom WebDAV</title></head><body><ul>${items}</ul></body></html>`;
    this.reply.type('text/html; charset=utf-8').header('Cache-Control', 'private, no-store');
    return head ? this.reply.header('Content-Length', String(Buffer.byteLength(body))).send() : this.reply.send(body);
  }

  // --- PUT ---

  private async put(target: Resolved) {
    const declaredSize = this.request.headers['content-length'] === undefined ? undefined : Number(this.request.headers['content-length']);
    if (target.kind === 'root' || target.kind === 'organisation' || target.kind === 'collection') throw new DavError(405, 'Cannot PUT to a folder.', undefined, { Allow: METHODS.filter((m) => m !== 'PUT').join(', ') });
    if (target.kind === 'missing' && (!target.parentExists || !target.org)) throw new DavError(409, 'The parent folder does not exist.');
    if (target.kind === 'missing' && !target.parent) throw new DavError(403, 'Files go inside a collection, not directly in the organisation folder.');
    const ifMatch = this.request.headers['if-match'];
    const ifNoneMatch = this.request.headers['if-none-match'];
    if (target.kind === 'document') {
      const etag = etagOf(target.document!.sha256);
      if (ifNoneMatch && etagMatches(ifNoneMatch, etag)) throw new DavError(412, 'The document already exists (If-None-Match).');
      if (ifMatch && !etagMatches(ifMatch, etag)) throw new DavError(412, 'The document has changed (If-Match).');
      await this.checkWrite(target);
      const result = await asForbidden(this.vault.documents.uploadVersion(this.actor, target.document!.id, { body: this.request.raw, ...(declaredSize !== undefined ? { declaredSize } : {}) }), CHANGE);
      if (result.infected) throw infected(result.infected.signature);
      return this.reply.status(204).header('ETag', etagOf(result.version.sha256)).send();
    }
    if (ifMatch) throw new DavError(412, 'Nothing exists here to match (If-Match).');
    await this.checkWrite(target);
    const name = target.segments[target.segments.length - 1]!;
    const result = await asForbidden(this.vault.documents.upload(this.actor, target.parent!.id, { name, body: this.request.raw, ...(declaredSize !== undefined ? { declaredSize } : {}) }));
    if (result.infected) throw infected(result.infected.signature);
    return this.reply.status(201).header('ETag', etagOf(result.version.sha256)).header('Location', href(target.segments, false)).send();
  }

  // --- DELETE ---

  private async delete(target: Resolved) {
    if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
    if (target.kind === 'root' || target.kind === 'organisation') throw new DavError(403, 'Organisation folders cannot be deleted.');
    await this.checkWrite(target);
    await asForbidden(this.remove(target), CHANGE);
    return this.reply.status(204).send();
  }

  private async remove(target: Resolved): Promise<void> {
    if (target.kind === 'document') await this.vault.documents.remove(this.actor, target.document!.id);
    else if (target.kind === 'collection') await this.dav.removeCollection(this.actor, target.collection!);
  }

  // --- MKCOL ---

  private async mkcol(target: Resolved) {
    if (this.hasBody()) {
      await this.readBody().catch(() => undefined);
      throw new DavError(415, 'MKCOL with a body is not supported.');
    }
    if (target.kind !== 'missing') throw new DavError(405, 'Something already exists here.', undefined, { Allow: 'OPTIONS, GET, HEAD, DELETE, PROPFIND, PROPPATCH, COPY, MOVE, LOCK, UNLOCK' });
    if (!target.parentExists) throw new DavError(409, 'The parent folder does not exist.');
    if (!target.org) throw new DavError(403, 'Organisation folders cannot be created over WebDAV.');
    await this.checkWrite(target);
    await this.createCollection(target.org.id, target.parent, target.segments[target.segments.length - 1]!, null);
    return this.reply.status(201).header('Location', href(target.segments, true)).send();
  }

  /**
   * A sub-collection inherits its parent's service area and classification; a top-level one (org admins
   * and records managers only, decided by the collections service) takes the service area named like it,
   * else the source's (COPY) or the actor's first team.
   */
  private async createCollection(organisationId: string, parent: Collection | null, name: string, like: Collection | null): Promise<Collection> {
    if (parent) {
      return asForbidden(this.vault.collections.create(this.actor, { organisationId, name, parentId: parent.id, serviceArea: parent.serviceArea, classification: parent.classification }));
    }
    const area = this.vault.serviceAreas.includes(name.toLowerCase()) ? name.toLowerCase() : like?.serviceArea ?? this.actor.teams[0];
    if (!area) throw new DavError(403, 'Top-level collections are created by org admins or records managers, named after a service area.');
    return asForbidden(this.vault.collections.create(this.actor, { organisationId, name, parentId: null, serviceArea: area, classification: like?.classification ?? 'OFFICIAL' }));
  }

  // --- PROPFIND ---

  private depth(allowed: string[], fallback: string): string {
    const raw = this.request.headers.depth;
    const depth = typeof raw === 'string' ? raw.trim().toLowerCase() : fallback;
    if (!allowed.includes(depth)) throw new DavError(400, `Depth ${depth} is not allowed for ${this.request.method}.`);
    return depth;
  }

  private async propfind(target: Resolved) {
    const depth = typeof this.request.headers.depth === 'string' ? this.request.headers.depth.trim().toLowerCase() : 'infinity';
    if (depth === 'infinity') {
      await this.readBody().catch(() => undefined);
      throw new DavError(403, 'PROPFIND with Depth: infinity is not supported; use Depth 0 or 1.', 'propfind-finite-depth');
    }
    if (depth !== '0' && depth !== '1') throw new DavError(400, 'Depth must be 0, 1 or infinity.');
    const req = parsePropfind(await this.readXml());
    if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
    const self = this.describe(target);
    const resources: PropResource[] = [self];
    if (depth === '1' && self.collection) resources.push(...(await this.membersOf(target)).names);
    const needDead = req.kind !== 'prop' || req.names.some((n) => n.ns !== DAV_NS || !PROTECTED.has(n.local));
    const dead = needDead ? await this.dav.properties(resources.map((r) => r.id).filter((id): id is string => id !== null)) : new Map();
    const wantLocks = req.kind !== 'prop' || req.names.some((n) => n.ns === DAV_NS && n.local === 'lockdiscovery');
    const locks = wantLocks && target.org
      ? await this.dav.lockDiscovery(this.actor, target.org.id, target.kind === 'document' || target.kind === 'collection' ? davTarget(target) : null,
        resources.slice(1).filter((r) => r.id !== null).map((r) => ({ id: r.id!, collection: r.collection })))
      : new Map<string, ResourceLock[]>();
    const parts: string[] = [MULTISTATUS_OPEN];
    for (const r of resources) {
      parts.push(renderResponse(r, req, (r.id !== null && dead.get(r.id)) || NONE, (r.id !== null && locks.get(r.id)) || NONE));
    }
    parts.push(MULTISTATUS_CLOSE);
    return this.reply.status(207).type('application/xml; charset=utf-8').send(parts.join(''));
  }

  private describe(target: Resolved): PropResource {
    const epoch = '2026-01-01T00:00:00.000Z';
    switch (target.kind) {
      case 'root': return { segments: [], collection: true, id: null, displayName: 'Strongroom', created: epoch, modified: epoch, document: null };
      case 'organisation': return { segments: target.segments, collection: true, id: null, displayName: target.org!.name, created: target.org!.createdAt, modified: target.org!.createdAt, document: null };
      case 'collection': return collectionProps(target.segments, target.collection!);
      case 'document': return documentProps(target.segments, target.document!);
      default: throw new DavError(404, 'Nothing here.');
    }
  }

  private async membersOf(target: Resolved): Promise<{ names: PropResource[] }> {
    if (target.kind === 'root') {
      const orgs = await this.dav.organisations(this.actor);
      return { names: orgs.map((o) => ({ segments: [o.slug], collection: true, id: null, displayName: o.name, created: o.createdAt, modified: o.createdAt, document: null })) };
    }
    if (target.kind !== 'organisation' && target.kind !== 'collection') return { names: [] };
    const { collections, documents } = await this.dav.members(this.actor, target.org!.id, target.kind === 'collection' ? target.collection! : null);
    const base = href(target.segments, true);
    const names: PropResource[] = [];
    for (const c of collections) names.push(collectionProps([...target.segments, c.name], c, `${base}${encodeSegment(c.name)}/`));
    for (const d of documents) names.push(documentProps([...target.segments, d.name], d, `${base}${encodeSegment(d.name)}`));
    return { names };
  }

  // --- PROPPATCH ---

  private async proppatch(target: Resolved) {
    const root = await this.readXml();
    if (!root || root.ns !== DAV_NS || root.local !== 'propertyupdate') throw new DavError(400, 'The body must be a DAV:propertyupdate element.');
    if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
    const changes: PropertyChange[] = [];
    for (const instruction of elements(root)) {
      if (instruction.ns !== DAV_NS || (instruction.local !== 'set' && instruction.local !== 'remove')) continue;
      const prop = child(instruction, DAV_NS, 'prop');
      if (!prop) throw new DavError(400, `DAV:${instruction.local} needs a DAV:prop element.`);
      for (const p of elements(prop)) {
        changes.push(instruction.local === 'set'
          ? { op: 'set', namespace: p.ns, name: p.local, value: serializeNodes(p.children) }
          : { op: 'remove', namespace: p.ns, name: p.local });
      }
    }
    if (changes.length > MAX_PROPERTIES) throw new DavError(413, `At most ${MAX_PROPERTIES} properties may be changed at once.`);
    if (target.kind === 'root' || target.kind === 'organisation') throw new DavError(403, 'Properties of organisation folders cannot be changed.');
    await this.checkWrite(target);
    const refused = changes.filter((c) => c.namespace === DAV_NS && PROTECTED.has(c.name));
    const body = (status: string, list: PropertyChange[]) => `<D:propstat><D:prop>${list.map((c) => propTag(c.namespace, c.name, null)).join('')}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;
    let propstats: string;
    if (refused.length > 0) {
      const rest = changes.filter((c) => !refused.includes(c));
      propstats = `${body('403 Forbidden', refused)}${rest.length ? body('424 Failed Dependency', rest) : ''}<D:responsedescription>Live properties cannot be changed.</D:responsedescription>`;
    } else {
      try {
        await asForbidden(this.dav.patchProperties(this.actor, davTarget(target), changes), CHANGE);
        propstats = body('200 OK', changes);
      } catch (error) {
        if (!(error instanceof DomainError && error.code === 'TOO_LARGE' && error.details?.deadProperties)) throw error;
        // RFC 4918 §9.2.1: 507 for properties there is no room to record; the rest failed with them.
        const sets = changes.filter((c) => c.op === 'set');
        const removes = changes.filter((c) => c.op === 'remove');
        propstats = `${sets.length ? body('507 Insufficient Storage', sets) : ''}${removes.length ? body('424 Failed Dependency', removes) : ''}<D:responsedescription>${escapeXml(error.message)}</D:responsedescription>`;
      }
    }
    return this.reply.status(207).type('application/xml; charset=utf-8')
      .send(`${MULTISTATUS_OPEN}<D:response><D:href>${escapeXml(href(target.segments, target.kind === 'collection'))}</D:href>${propstats}</D:response>${MULTISTATUS_CLOSE}`);
  }

  // --- COPY / MOVE ---

  private async copyMove(source: Resolved, move: boolean) {
    if (source.kind === 'missing') throw new DavError(404, 'Nothing here.');
    if (source.kind === 'root' || source.kind === 'organisation') throw new DavError(403, 'Organisation folders cannot be copied or moved.');
    const destSegments = parseDestination(this.request.headers.destination as string | undefined, this.request.host);
    const overwriteHeader = (this.request.headers.overwrite as string | undefined)?.trim().toUpperCase() ?? 'T';
    if (overwriteHeader !== 'T' && overwriteHeader !== 'F') throw new DavError(400, 'Overwrite must be T or F.');
    const overwrite = overwriteHeader === 'T';
    const depth = source.kind === 'collection' ? this.depth(move ? ['infinity'] : ['0', 'infinity'], 'infinity') : 'infinity';
    const destPath = lockPath(destSegments);
    if (destPath === source.path) throw new DavError(403, 'The source and destination are the same.');
    if (source.kind === 'collection' && destPath.startsWith(`${source.path}/`)) throw new DavError(403, 'A collection cannot be copied or moved into itself.');
    const dest = await resolve(this.dav, this.actor, destSegments);
    if (!dest.parentExists) throw new DavError(409, 'The destination folder does not exist.');
    if (dest.kind === 'root' || dest.kind === 'organisation' || !dest.org) throw new DavError(403, 'The destination must be inside an organisation folder.');
    const exists = dest.kind !== 'missing';
    if (exists && !overwrite) throw new DavError(412, 'The destination exists and Overwrite is F.');
    if (source.kind === 'document' && !dest.parent) throw new DavError(409, 'Files go inside a collection, not directly in the organisation folder.');

    await this.checkWrite(source);

    const name = destSegments[destSegments.length - 1]!;
    if (source.kind === 'document') {
      // A collection in the way is removed first (Overwrite: T); a document in the way is replaced by
      // the service in the same transaction as the copy or move, after every permission is decided.
      if (dest.kind === 'collection') await asForbidden(this.remove(dest), CHANGE);
      const input = { collectionId: dest.parent!.id, name, ...(dest.kind === 'document' ? { replace: dest.document!.id } : {}) };
      const result = move
        ? await asForbidden(this.vault.documents.move(this.actor, source.document!.id, input), CHANGE)
        : await asForbidden(this.vault.documents.copy(this.actor, source.document!.id, input));
      if (result.id !== source.document!.id) await this.dav.copyProperties(source.document!.id, result.id);
      return this.reply.status(exists ? 204 : 201).send();
    }
    if (move) {
      if (dest.org.id !== source.org!.id) throw new DavError(403, 'Collections cannot be moved between organisations; copy them instead.');
      if (exists) {
        await asForbidden(this.dav.requireMovable(this.actor, source.collection!), CHANGE);
        await asForbidden(this.remove(dest), CHANGE);
      }
      await asForbidden(this.dav.moveCollection(this.actor, source.collection!, { parent: dest.parent, name }), CHANGE);
      return this.reply.status(exists ? 204 : 201).send();
    }
    // A folder tree is copied document by document; across organisations that could stop part-way
    // and leave some of another council's records behind, so it is refused before anything is written.
    if (dest.org.id !== source.org!.id) {
      throw new DavError(403, 'Folders cannot be copied between organisations in one step; copy the documents (each copy is checked, recorded and all-or-nothing).');
    }
    if (exists) await this.remove(dest);
    await this.copyCollection(source.collection!, dest.org.id, dest.parent, name, depth === 'infinity');
    return this.reply.status(exists ? 204 : 201).send();
  }

  private async copyDocumentInto(source: Document, collection: Collection, name: string): Promise<Document> {
    const copy = await asForbidden(this.vault.documents.copy(this.actor, source.id, { collectionId: collection.id, name }));
    await this.dav.copyProperties(source.id, copy.id);
    return copy;
  }

  private async copyCollection(source: Collection, organisationId: string, parent: Collection | null, name: string, recursive: boolean): Promise<void> {
    const created = await this.createCollection(organisationId, parent, name, source);
    await this.dav.copyProperties(source.id, created.id);
    if (!recursive) return;
    const { collections, documents } = await this.dav.members(this.actor, source.organisationId, source);
    for (const d of documents) await this.copyDocumentInto(d, created, d.name);
    for (const c of collections) await this.copyCollection(c, organisationId, created, c.name, true);
  }

  // --- LOCK / UNLOCK ---

  private timeout(): number {
    const raw = (this.request.headers.timeout as string | undefined) ?? '';
    for (const part of raw.split(',').map((s) => s.trim())) {
      if (/^infinite$/i.test(part)) return MAX_LOCK_SECONDS;
      const m = /^Second-(\d+)$/i.exec(part);
      if (m) return Math.max(1, Math.min(Number(m[1]), MAX_LOCK_SECONDS));
    }
    return DEFAULT_LOCK_SECONDS;
  }

  private async lock(target: Resolved) {
    const root = await this.readXml();
    const timeoutSeconds = this.timeout();
    if (!root) return this.refreshLock(target, timeoutSeconds);
    if (root.ns !== DAV_NS || root.local !== 'lockinfo') throw new DavError(400, 'The body must be a DAV:lockinfo element.');
    const scopeEl = child(root, DAV_NS, 'lockscope');
    const scope = scopeEl && child(scopeEl, DAV_NS, 'shared') ? 'shared' : scopeEl && child(scopeEl, DAV_NS, 'exclusive') ? 'exclusive' : null;
    const typeEl = child(root, DAV_NS, 'locktype');
    if (!scope || !typeEl || !child(typeEl, DAV_NS, 'write')) throw new DavError(400, 'Only exclusive or shared write locks are supported.');
    const ownerEl = child(root, DAV_NS, 'owner');
    const owner = ownerEl ? serializeNodes(ownerEl.children) : null;
    if (owner && owner.length > 4096) throw new DavError(400, 'The lock owner is too long.');
    const depth = this.depth(['0', 'infinity'], 'infinity') as '0' | 'infinity';
    if (target.kind === 'root' || target.kind === 'organisation') throw new DavError(403, 'Organisation folders cannot be locked.');
    let created = false;
    let resource: Resolved = target;
    if (target.kind === 'missing') {
      // RFC 4918 §7.3: locking an unmapped URL creates an empty resource, through the ordinary upload.
      if (!target.parentExists || !target.org) throw new DavError(409, 'The parent folder does not exist.');
      if (!target.parent) throw new DavError(403, 'Files go inside a collection, not directly in the organisation folder.');
      await this.checkWrite(target);
      const conflicts = await this.locksApplying(target);
      if (conflicts.length > 0 && (scope === 'exclusive' || conflicts.some((l) => l.scope === 'exclusive'))) throw new DavError(423, 'Already locked.', 'no-conflicting-lock');
      const result = await asForbidden(this.vault.documents.upload(this.actor, target.parent.id, { name: target.segments[target.segments.length - 1]!, body: Readable.from([]), declaredSize: 0 }));
      resource = { ...target, kind: 'document', document: result.document, collection: target.parent };
      created = true;
    }
    let lock: ResourceLock;
    try {
      lock = await asForbidden(this.dav.lock(this.actor, davTarget(resource), { rootPath: resource.path, scope, depth: resource.kind === 'document' ? '0' : depth, owner, timeoutSeconds }), CHANGE);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'LOCKED') throw new DavError(423, 'The resource is already locked.', 'no-conflicting-lock');
      throw error;
    }
    return this.reply.status(created ? 201 : 200).header('Lock-Token', `<${lock.token}>`).type('application/xml; charset=utf-8')
      .send(`<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${lockXml(lock)}</D:lockdiscovery></D:prop>`);
  }

  private async refreshLock(target: Resolved, timeoutSeconds: number) {
    const header = this.request.headers.if;
    if (typeof header !== 'string' || header.trim() === '') throw new DavError(400, 'A LOCK without a body refreshes a lock: send its token in an If header.');
    if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
    const tokens = submittedTokens(parseIfHeader(header));
    const locks = await this.locksApplying(target);
    const lock = locks.find((l) => tokens.has(l.token));
    if (!lock) throw new DavError(412, 'No lock with that token covers this resource.', 'lock-token-matches-request-uri');
    const refreshed = await this.dav.refresh(this.actor, lock, timeoutSeconds);
    return this.reply.status(200).type('application/xml; charset=utf-8')
      .send(`<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${lockXml(refreshed)}</D:lockdiscovery></D:prop>`);
  }

  private async unlock(target: Resolved) {
    const raw = this.request.headers['lock-token'];
    const token = typeof raw === 'string' ? /^\s*<([^>]+)>\s*$/.exec(raw)?.[1] : undefined;
    if (!token) throw new DavError(400, 'UNLOCK needs a Lock-Token header.');
    if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
    const covers = (await this.locksApplying(target)).some((l) => l.token === token);
    if (!covers) throw new DavError(409, 'That lock token does not match this resource.', 'lock-token-matches-request-uri');
    await asForbidden(this.dav.unlock(this.actor, token), 'That lock belongs to someone else.');
    return this.reply.status(204).send();
  }
}

const NONE: never[] = [];

function collectionProps(segments: string[], c: Collection, precomputedHref?: string): PropResource {
  return { segments, collection: true, id: c.id, displayName: c.name, created: c.createdAt, modified: c.createdAt, document: null, ...(precomputedHref ? { href: precomputedHref } : {}) };
}

function documentProps(segments: string[], d: Document, precomputedHref?: string): PropResource {
  return { segments, collection: false, id: d.id, displayName: d.name, created: d.createdAt, modified: d.updatedAt, document: d, ...(precomputedHref ? { href: precomputedHref } : {}) };
}

function davTarget(r: Resolved): DavTarget {
  if (r.kind === 'document') return { kind: 'document', document: r.document! };
  if (r.kind === 'collection') return { kind: 'collection', collection: r.collection! };
  throw new DavError(403, 'Not a document or collection.');
}

function infected(signature: string): DomainError {
  return new DomainError('INFECTED', `Malware detected (${signature}).`, { details: { signature } });
}

/**
 * The services answer NOT_FOUND when decide() refuses, so nothing leaks. Where the actor can already
 * see the parent collection, a refusal to add to it is reported as 403, which clients show sensibly.
 */
async function asForbidden<T>(work: Promise<T>, message = 'You may not add to this collection.'): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof DomainError && error.code === 'NOT_FOUND') throw new DavError(403, message);
    throw error;
  }
}

