// The namespace methods: COPY and MOVE of a document or a collection, within /dav on this server.
// A copied document is uploaded again at the destination (scanned and decided as a create there);
// dead properties go with it. A folder is copied all or nothing (services/folder-copy.service.ts).
import { DomainError } from '../../domain/errors.js';
import { checkIf, heldToContent } from '../conditions.js';
import { asForbidden, CHANGE, depthOf, type DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { lockPath, parseDestination, resolve, type Resolved } from '../resources.js';
import type { InTheWay } from '../../services/removals.service.js';
import { NameTaken } from '../../services/name-claims.js';
import { newCollection } from './write.js';

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
  const destinationExists = () => new DavError(412, 'The destination exists and Overwrite is F.');
  if (exists && !overwrite) throw destinationExists();
  // A document or a folder the actor may see took the destination's name since it was resolved: with Overwrite: F,
  // told as a later request is.
  // One called otherwise in capital letters only is not at the destination as asked (paths resolve exactly): its 409 says why.
  const takenMeanwhile = (error: unknown): unknown => (!overwrite && error instanceof NameTaken && error.visible && !error.inAnotherCase ? destinationExists() : error);
  if (source.kind === 'document' && !dest.parent) throw new DavError(409, 'Files go inside a collection, not directly in the organisation folder.');

  await checkIf(cx, source);
  // The If header's lists naming the destination are judged on it as it is now (RFC 4918 §10.4.3), and what is
  // replaced there (Overwrite: T) is held to the content they looked at until it is binned, as the source is to its own.
  await checkIf(cx, dest, false);

  const name = destSegments[destSegments.length - 1]!;
  // What is in the way (Overwrite: T) is never removed here, ahead of the operation: the services bin it
  // in the copy's or move's own transaction, once everything that could refuse either was decided, so a
  // refused COPY or MOVE (a due date brought earlier, a hold, a lock, a scan under way) bins nothing.
  const replace: InTheWay | undefined = dest.kind === 'document' ? { kind: 'document', id: dest.document!.id, ...heldToContent(cx, dest, false) }
    : dest.kind === 'collection' ? { kind: 'collection', id: dest.collection!.id } : undefined;
  if (source.kind === 'document') {
    // Judged on the source's content (If-Match, If-None-Match, the If header): a version saved meanwhile is not moved or copied unseen.
    const input = { collectionId: dest.parent!.id, name, ...(replace ? { replace } : {}), ...heldToContent(cx, source) };
    const result = await (move
      ? asForbidden(services.filing.move(actor, source.document!.id, input), CHANGE)
      : asForbidden(services.filing.copy(actor, source.document!.id, input))).catch((error: unknown) => {
      throw takenMeanwhile(error);
    });
    if (result.id !== source.document!.id) await services.dav.copyProperties(actor, source.document!.id, result.id);
    return reply.status(exists ? 204 : 201).send();
  }
  if (move) {
    if (dest.org.id !== source.org!.id) throw new DavError(403, 'Collections cannot be moved between organisations; copy them instead.');
    await asForbidden(services.dav.moveCollection(actor, source.collection!, { parent: dest.parent, name, ...(replace ? { replace } : {}) }), CHANGE).catch((error: unknown) => {
      throw takenMeanwhile(error);
    });
    return reply.status(exists ? 204 : 201).send();
  }
  // A folder is copied all or nothing within its organisation; across organisations it would be another
  // council's records arriving in bulk, so it is refused before anything is read — copy the documents.
  if (dest.org.id !== source.org!.id) {
    throw new DavError(403, 'Folders cannot be copied between organisations in one step; copy the documents (each copy is checked, recorded and all-or-nothing).');
  }
  // Everything inside is decided, read and checked before anything is written, and what is in the way
  // is binned in the same transaction as the new tree is written: a refused member changes nothing.
  const top = newCollection(cx, dest.org.id, dest.parent, name, source.collection!);
  await asForbidden(services.dav.copyCollection(actor, source.collection!, { top, recursive: depth === 'infinity', ...(replace ? { replace } : {}) }).catch((error: unknown) => {
    throw takenMeanwhile(refusedMember(error));
  }));
  return reply.status(exists ? 204 : 201).send();
}

/**
 * A folder copy refused because of one thing inside it: nothing was copied, and the person is told
 * which (its path below the folder). Something they may see but not copy is a 403 naming it, not the
 * folder's own 404-as-403; the other refusals keep their status (423 for a scan under way, 403 for
 * malware or the file policy) with the member named in the message (webdav/errors.ts).
 */
function refusedMember(error: unknown): unknown {
  if (!(error instanceof DomainError) || typeof error.details?.member !== 'string') return error;
  if (error.code === 'NOT_FOUND') return new DavError(403, `Nothing was copied: you may not copy "${error.details.member}".`);
  return error;
}
