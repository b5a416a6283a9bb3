// The writing methods on one resource: PUT (through the upload pipeline: scan, file-type policy,
// new document or new version), MKCOL, DELETE (soft, through the services) and PROPPATCH (dead properties).
import type { FastifyReply } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { Collection } from '../../domain/types.js';
import { CollectionNameTaken, type NewCollection } from '../../services/collection-creation.service.js';
import { NameTaken } from '../../services/name-claims.js';
import type { PropertyChange } from '../../services/dav.service.js';
import type { UploadResult } from '../../services/documents.service.js';
import { uploadOutcome } from '../../services/upload-outcome.js';
import { partialContentRefusal } from '../../protocol/content-headers.js';
import { hasBody, readBody, readXml } from '../body.js';
import { checkIf, heldToContent, refuseIfNoneMatch, requireIfMatch } from '../conditions.js';
import { asForbidden, CHANGE, davTarget, infected, METHODS, type DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, PROTECTED, davEtag } from '../properties.js';
import { href, type Resolved } from '../resources.js';
import { DAV_NS, MAX_PROPERTIES, child, elements, escapeXml, propTag, serializeNodes } from '../xml.js';

export async function put(cx: DavContext, target: Resolved) {
  const { request, reply, actor } = cx;
  const declaredSize = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
  if (target.kind === 'root' || target.kind === 'organisation' || target.kind === 'collection') throw putToFolder();
  const partial = partialContentRefusal(request.headers);
  if (partial) throw new DavError(400, partial);
  if (target.kind === 'missing' && (!target.parentExists || !target.org)) throw new DavError(409, 'The parent folder does not exist.');
  if (target.kind === 'missing' && !target.parent) throw new DavError(403, 'Files go inside a collection, not directly in the organisation folder.');
  const size = declaredSize !== undefined ? { declaredSize } : {};
  if (target.kind === 'document') {
    const etag = davEtag(target.document!.sha256);
    refuseIfNoneMatch(request, etag);
    requireIfMatch(request, etag);
    await checkIf(cx, target);
    // Conditions judged on this content hold the new version to it at its commit too, so a version saved by
    // someone else while this body arrived is not silently replaced (412, as if it had been there before).
    const result = await asForbidden(cx.services.documents.uploadVersion(actor, target.document!.id, { body: request.raw, ...size, ...heldToContent(cx, target) }), CHANGE);
    return answerUpload(reply.status(204), result);
  }
  requireIfMatch(request, null);
  await checkIf(cx, target);
  const name = target.segments[target.segments.length - 1]!;
  const result = await asForbidden(cx.services.documents.upload(actor, target.parent!.id, { name, body: request.raw, ...size })).catch((error: unknown) => {
    // A folder the actor may see took the name since the path was resolved (an MKCOL at the same moment): told
    // as a later PUT there is. One they may not see is the service's own 409, as it is for a later one.
    // A folder called otherwise in capital letters only is not at this path: its 409 says why (docs/webdav.md).
    throw error instanceof CollectionNameTaken && error.visible && !error.inAnotherCase ? putToFolder() : error;
  });
  return answerUpload(reply.status(201).header('Location', href(target.segments, false)), result);
}

/**
 * A PUT's answer from its upload's outcome. Malware is refused (403 with the signature, the
 * version kept in quarantine). A file held for review, or still being checked, was stored: WebDAV
 * has no "accepted, not yet readable", so it is created (201/204) and a GET answers 423 until a
 * security admin releases it or the check is clean.
 */
function answerUpload(reply: FastifyReply, result: UploadResult) {
  const outcome = uploadOutcome(result);
  switch (outcome.kind) {
    case 'infected': throw infected(outcome.signature);
    case 'held_for_review':
    case 'pending_scan':
    case 'available':
      return reply.header('ETag', davEtag(result.version.sha256)).send();
  }
}

export async function del(cx: DavContext, target: Resolved) {
  if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
  if (target.kind === 'root' || target.kind === 'organisation') throw new DavError(403, 'Organisation folders cannot be deleted.');
  await checkIf(cx, target);
  await asForbidden(removeResource(cx, target), CHANGE);
  return cx.reply.status(204).send();
}

/**
 * Soft-deletes a document, or a collection with everything in it (the services decide on all of it). A document's
 * deletion judged on its content is held to that content at its commit too (heldToContent).
 */
async function removeResource(cx: DavContext, target: Resolved): Promise<void> {
  if (target.kind === 'document') await cx.services.documents.remove(cx.actor, target.document!.id, heldToContent(cx, target));
  else if (target.kind === 'collection') await cx.services.dav.removeCollection(cx.actor, target.collection!);
}

export async function mkcol(cx: DavContext, target: Resolved) {
  if (hasBody(cx.request)) {
    await readBody(cx.request, cx.reply).catch(() => undefined);
    throw new DavError(415, 'MKCOL with a body is not supported.');
  }
  if (target.kind !== 'missing') throw alreadyThere();
  if (!target.parentExists) throw new DavError(409, 'The parent folder does not exist.');
  if (!target.org) throw new DavError(403, 'Organisation folders cannot be created over WebDAV.');
  await checkIf(cx, target);
  await createCollection(cx, target.org.id, target.parent, target.segments[target.segments.length - 1]!, null).catch((error: unknown) => {
    // A folder or a document the actor may see took the name since the path was resolved (another MKCOL or a PUT at
    // the same moment): told as a later MKCOL there is. One they may not see is the service's own 409, as it is for a later one.
    // One called otherwise in capital letters only is not at this path: its 409 says why (docs/webdav.md).
    throw error instanceof NameTaken && error.visible && !error.inAnotherCase ? alreadyThere() : error;
  });
  return cx.reply.status(201).header('Location', href(target.segments, true)).send();
}

const putToFolder = () => new DavError(405, 'Cannot PUT to a folder.', undefined, { Allow: METHODS.filter((m) => m !== 'PUT').join(', ') });

const alreadyThere = () => new DavError(405, 'Something already exists here.', undefined, { Allow: METHODS.filter((m) => m !== 'PUT' && m !== 'MKCOL').join(', ') });

/**
 * A sub-collection inherits its parent's service area and classification; a top-level one (org admins
 * and records managers only, decided by the collection creation service) takes the service area named like it,
 * else the source's (COPY) or the actor's first team.
 */
export async function createCollection(cx: DavContext, organisationId: string, parent: Collection | null, name: string, like: Collection | null): Promise<Collection> {
  return asForbidden(cx.services.collectionCreation.create(cx.actor, newCollection(cx, organisationId, parent, name, like)));
}

/** What MKCOL, or the COPY of a folder, creates at `name` under `parent` (null: the top level), as createCollection says. */
export function newCollection(cx: DavContext, organisationId: string, parent: Collection | null, name: string, like: Collection | null): NewCollection {
  if (parent) return { organisationId, name, parentId: parent.id, serviceArea: parent.serviceArea, classification: parent.classification };
  const area = cx.services.serviceAreas.includes(name.toLowerCase()) ? name.toLowerCase() : like?.serviceArea ?? cx.actor.teams[0];
  if (!area) throw new DavError(403, 'Top-level collections are created by org admins or records managers, named after a service area.');
  return { organisationId, name, parentId: null, serviceArea: area, classification: like?.classification ?? 'OFFICIAL' };
}

export async function proppatch(cx: DavContext, target: Resolved) {
  const root = await readXml(cx.request, cx.reply);
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
  await checkIf(cx, target);
  const refused = changes.filter((c) => c.namespace === DAV_NS && PROTECTED.has(c.name));
  const body = (status: string, list: PropertyChange[]) => `<D:propstat><D:prop>${list.map((c) => propTag(c.namespace, c.name, null)).join('')}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;
  let propstats: string;
  if (refused.length > 0) {
    // RFC 4918 §9.2: the update is all or nothing, so the rest fail because of the refused ones.
    const rest = changes.filter((c) => !refused.includes(c));
    propstats = `${body('403 Forbidden', refused)}${rest.length ? body('424 Failed Dependency', rest) : ''}<D:responsedescription>Live properties cannot be changed.</D:responsedescription>`;
  } else {
    try {
      // Judged on a document's content: held to it at the commit too, so a version saved meanwhile keeps its properties.
      await asForbidden(cx.services.dav.patchProperties(cx.actor, davTarget(target), changes, heldToContent(cx, target)), CHANGE);
      propstats = body('200 OK', changes);
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'TOO_LARGE' && error.details?.deadProperties)) throw error;
      // RFC 4918 §9.2.1: 507 for properties there is no room to record; the rest failed with them.
      const sets = changes.filter((c) => c.op === 'set');
      const removes = changes.filter((c) => c.op === 'remove');
      propstats = `${sets.length ? body('507 Insufficient Storage', sets) : ''}${removes.length ? body('424 Failed Dependency', removes) : ''}<D:responsedescription>${escapeXml(error.message)}</D:responsedescription>`;
    }
  }
  return cx.reply.status(207).type('application/xml; charset=utf-8')
    .send(`${MULTISTATUS_OPEN}<D:response><D:href>${escapeXml(href(target.segments, target.kind === 'collection'))}</D:href>${propstats}</D:response>${MULTISTATUS_CLOSE}`);
}
