// The namespace methods: COPY and MOVE of a document or a collection, within /dav on this server.
// A copied document is uploaded again at the destination (scanned and decided as a create there);
// dead properties go with it.
import type { Collection, Document } from '../../domain/types.js';
import { checkIf } from '../conditions.js';
import { asForbidden, CHANGE, depthOf, type DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { lockPath, parseDestination, resolve, type Resolved } from '../resources.js';
import type { InTheWay } from '../../services/collections.service.js';
import { createCollection } from './write.js';

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
  // What is in the way (Overwrite: T) is never removed here, ahead of the operation: the services bin it
  // in the copy's or move's own transaction, once everything that could refuse either was decided, so a
  // refused COPY or MOVE (a due date brought earlier, a hold, a lock, a scan under way) bins nothing.
  const replace: InTheWay | undefined = dest.kind === 'document' ? { kind: 'document', id: dest.document!.id }
    : dest.kind === 'collection' ? { kind: 'collection', id: dest.collection!.id } : undefined;
  if (source.kind === 'document') {
    const input = { collectionId: dest.parent!.id, name, ...(replace ? { replace } : {}) };
    const result = move
      ? await asForbidden(services.filing.move(actor, source.document!.id, input), CHANGE)
      : await asForbidden(services.filing.copy(actor, source.document!.id, input));
    if (result.id !== source.document!.id) await services.dav.copyProperties(actor, source.document!.id, result.id);
    return reply.status(exists ? 204 : 201).send();
  }
  if (move) {
    if (dest.org.id !== source.org!.id) throw new DavError(403, 'Collections cannot be moved between organisations; copy them instead.');
    await asForbidden(services.dav.moveCollection(actor, source.collection!, { parent: dest.parent, name, ...(replace ? { replace } : {}) }), CHANGE);
    return reply.status(exists ? 204 : 201).send();
  }
  // A folder tree is copied document by document; across organisations that could stop part-way
  // and leave some of another council's records behind, so it is refused before anything is written.
  if (dest.org.id !== source.org!.id) {
    throw new DavError(403, 'Folders cannot be copied between organisations in one step; copy the documents (each copy is checked, recorded and all-or-nothing).');
  }
  const recursive = depth === 'infinity';
  // The new folder is created in the same transaction as what is in the way is binned; its documents
  // are copied one by one after that, so each one's copy is asked about first (read, scan finished).
  if (replace) await requireTreeCopyable(cx, source.collection!, recursive);
  await copyCollection(cx, source.collection!, dest.org.id, dest.parent, name, recursive, replace);
  return reply.status(exists ? 204 : 201).send();
}

/** Refuses (as the copy would) before anything changes when a document the copy would carry cannot be copied yet. */
async function requireTreeCopyable(cx: DavContext, source: Collection, recursive: boolean): Promise<void> {
  if (!recursive) return;
  const { collections, documents } = await cx.services.dav.members(cx.actor, source.organisationId, source);
  for (const d of documents) await asForbidden(cx.services.filing.requireCopyable(cx.actor, d.id));
  for (const c of collections) await requireTreeCopyable(cx, c, true);
}

async function copyDocumentInto(cx: DavContext, source: Document, collection: Collection, name: string): Promise<Document> {
  const copy = await asForbidden(cx.services.filing.copy(cx.actor, source.id, { collectionId: collection.id, name }));
  await cx.services.dav.copyProperties(cx.actor, source.id, copy.id);
  return copy;
}

async function copyCollection(cx: DavContext, source: Collection, organisationId: string, parent: Collection | null, name: string, recursive: boolean, replace?: InTheWay): Promise<void> {
  const created = await createCollection(cx, organisationId, parent, name, source, replace);
  await cx.services.dav.copyProperties(cx.actor, source.id, created.id);
  if (!recursive) return;
  const { collections, documents } = await cx.services.dav.members(cx.actor, source.organisationId, source);
  for (const d of documents) await copyDocumentInto(cx, d, created, d.name);
  for (const c of collections) await copyCollection(cx, c, organisationId, created, c.name, true);
}
