// The namespace methods: COPY and MOVE of a document or a collection, within /dav on this server.
// A copied document is uploaded again at the destination (scanned and decided as a create there);
// dead properties go with it.
import type { Collection, Document } from '../../domain/types.js';
import { checkIf } from '../conditions.js';
import { asForbidden, CHANGE, depthOf, type DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { lockPath, parseDestination, resolve, type Resolved } from '../resources.js';
import { createCollection, removeResource } from './write.js';

export async function copyMove(cx: DavContext, source: Resolved, move: boolean) {
  const { request, reply, actor, services } = cx;
  if (source.kind === 'missing') throw new DavError(404, 'Nothing here.');
  if (source.kind === 'root' || source.kind === 'organisation') throw new DavError(403, 'Organisation folders cannot be copied or moved.');
  const destSegments = parseDestination(request.headers.destination as string | undefined, request.host);
  const overwriteHeader = (request.headers.overwrite as string | undefined)?.trim().toUpperCase() ?? 'T';
  if (overwriteHeader !== 'T' && overwriteHeader !== 'F') throw new DavError(400, 'Overwrite must be T or F.');
  const overwrite = overwriteHeader === 'T';
  const depth = source.kind === 'collection' ? depthOf(request, move ? ['infinity'] : ['0', 'infinity'], 'infinity') : 'infinity';
  const destPath = lockPath(destSegments);
  if (destPath === source.path) throw new DavError(403, 'The source and destination are the same.');
  if (source.kind === 'collection' && destPath.startsWith(`${source.path}/`)) throw new DavError(403, 'A collection cannot be copied or moved into itself.');
  const dest = await resolve(services.dav, actor, destSegments);
  if (!dest.parentExists) throw new DavError(409, 'The destination folder does not exist.');
  if (dest.kind === 'root' || dest.kind === 'organisation' || !dest.org) throw new DavError(403, 'The destination must be inside an organisation folder.');
  const exists = dest.kind !== 'missing';
  if (exists && !overwrite) throw new DavError(412, 'The destination exists and Overwrite is F.');
  if (source.kind === 'document' && !dest.parent) throw new DavError(409, 'Files go inside a collection, not directly in the organisation folder.');

  await checkIf(cx, source);

  const name = destSegments[destSegments.length - 1]!;
  if (source.kind === 'document') {
    // A collection in the way is removed first (Overwrite: T); a document in the way is replaced by
    // the service in the same transaction as the copy or move, after every permission is decided.
    if (dest.kind === 'collection') await asForbidden(removeResource(cx, dest), CHANGE);
    const input = { collectionId: dest.parent!.id, name, ...(dest.kind === 'document' ? { replace: dest.document!.id } : {}) };
    const result = move
      ? await asForbidden(services.filing.move(actor, source.document!.id, input), CHANGE)
      : await asForbidden(services.filing.copy(actor, source.document!.id, input));
    if (result.id !== source.document!.id) await services.dav.copyProperties(actor, source.document!.id, result.id);
    return reply.status(exists ? 204 : 201).send();
  }
  if (move) {
    if (dest.org.id !== source.org!.id) throw new DavError(403, 'Collections cannot be moved between organisations; copy them instead.');
    if (exists) {
      await asForbidden(services.dav.requireMovable(actor, source.collection!), CHANGE);
      await asForbidden(removeResource(cx, dest), CHANGE);
    }
    await asForbidden(services.dav.moveCollection(actor, source.collection!, { parent: dest.parent, name }), CHANGE);
    return reply.status(exists ? 204 : 201).send();
  }
  // A folder tree is copied document by document; across organisations that could stop part-way
  // and leave some of another council's records behind, so it is refused before anything is written.
  if (dest.org.id !== source.org!.id) {
    throw new DavError(403, 'Folders cannot be copied between organisations in one step; copy the documents (each copy is checked, recorded and all-or-nothing).');
  }
  if (exists) await removeResource(cx, dest);
  await copyCollection(cx, source.collection!, dest.org.id, dest.parent, name, depth === 'infinity');
  return reply.status(exists ? 204 : 201).send();
}

async function copyDocumentInto(cx: DavContext, source: Document, collection: Collection, name: string): Promise<Document> {
  const copy = await asForbidden(cx.services.filing.copy(cx.actor, source.id, { collectionId: collection.id, name }));
  await cx.services.dav.copyProperties(cx.actor, source.id, copy.id);
  return copy;
}

async function copyCollection(cx: DavContext, source: Collection, organisationId: string, parent: Collection | null, name: string, recursive: boolean): Promise<void> {
  const created = await createCollection(cx, organisationId, parent, name, source);
  await cx.services.dav.copyProperties(cx.actor, source.id, created.id);
  if (!recursive) return;
  const { collections, documents } = await cx.services.dav.members(cx.actor, source.organisationId, source);
  for (const d of documents) await copyDocumentInto(cx, d, created, d.name);
  for (const c of collections) await copyCollection(cx, c, organisationId, created, c.name, true);
}
