// Preconditions of a WebDAV request: the If header (RFC 4918 §10.4: lock tokens and entity tags,
// tagged or not) and If-Match / If-None-Match. Whether a write may pass the locks it runs into is not
// decided here but by the services (LocksService), for every interface alike, from actor.lockTokens.
import type { FastifyRequest } from 'fastify';
import { etagMatches, ifMatchHashes } from '../protocol/content-headers.js';
import type { ResourceLock } from '../services/locks.service.js';
import type { DavContext } from './context.js';
import { davTarget } from './context.js';
import { DavError } from './errors.js';
import { parseIfHeader, submittedTokens, type IfList } from './if-header.js';
import { davEtag } from './properties.js';
import { lockPath, parseDestination, type Resolved } from './resources.js';

/** The parsed If header ([] when absent); `lenient` answers [] for a malformed one instead of 400. */
export function ifLists(request: FastifyRequest, lenient = false): IfList[] {
  const header = request.headers.if;
  if (typeof header !== 'string' || header.trim() === '') return [];
  try {
    return parseIfHeader(header);
  } catch (error) {
    if (lenient) return [];
    throw error;
  }
}

/**
 * The lock tokens the request presents, which travel with the actor so the services can tell whether
 * the holder of each lock a write runs into presented it. A malformed If header presents none here;
 * the write itself is then refused with 400 by checkIf.
 */
export function presentedLockTokens(request: FastifyRequest): string[] {
  return [...submittedTokens(ifLists(request, true))];
}

/**
 * The If header's lists that apply to `target` (RFC 4918 §10.4.3): untagged ones apply to the request's own resource
 * only, tagged ones to the resource they name (a COPY or MOVE destination is named by a tag, never by an untagged list).
 */
function listsApplying(cx: DavContext, lists: IfList[], target: Resolved, own: boolean): IfList[] {
  return lists.filter((l) => (l.resource === null ? own : tagPath(cx.request, l.resource) === target.path));
}

/**
 * Evaluates the If header before a write for the request resource or, with `own` false, for another resource the
 * method touches (a COPY or MOVE destination): 400 when malformed, 412 when false.
 */
export async function checkIf(cx: DavContext, target: Resolved, own = true): Promise<void> {
  const lists = ifLists(cx.request);
  if (lists.length === 0) return;
  const applicable = listsApplying(cx, lists, target, own);
  if (applicable.length === 0) return;
  const locks = await locksApplying(cx, target);
  const etag = target.document ? davEtag(target.document.sha256) : null;
  const holds = applicable.some((l) => l.conditions.every((c) => {
    const value = c.token !== undefined ? locks.some((k) => k.token === c.token) : etag !== null && c.etag === etag;
    return c.not ? !value : value;
  }));
  if (!holds) throw new DavError(412, 'The conditions in the If header are not met.');
}

/**
 * The `ifMatch` a service write to the document `target` is held to at its commit: its SHA-256 as it was read, when
 * the request's conditions on it looked at the content (If-Match naming ETags, If-None-Match, an entity tag in an If
 * list applying to it); else nothing to hold (no conditions, or `If-Match: *`, which asks only that it exists, RFC 9110). Those conditions were judged on arrival (the plugin, checkIf); the services judge them again
 * in the write's transaction, under the row lock, so a version saved meanwhile is not replaced, binned, moved,
 * copied or given properties unseen. `own` as checkIf's: If-Match and If-None-Match apply to the request's own resource only.
 */
export function heldToContent(cx: DavContext, target: Resolved, own = true): { ifMatch?: readonly string[] } {
  if (!target.document) return {};
  const { headers } = cx.request;
  const judged = (own && (ifMatchHashes(headers['if-match']) !== undefined || Boolean(headers['if-none-match'])))
    || listsApplying(cx, ifLists(cx.request, true), target, own).some((list) => list.conditions.some((c) => c.etag !== undefined));
  return judged ? { ifMatch: [target.document.sha256] } : {};
}

/** Live locks applying to what the URL names (for an unmapped URL: those covering it from above). */
export async function locksApplying(cx: DavContext, target: Resolved): Promise<ResourceLock[]> {
  if (target.kind === 'document' || target.kind === 'collection') return cx.services.dav.locksApplying(cx.actor, davTarget(target));
  if (target.kind === 'missing' && target.parent) return cx.services.dav.locksApplying(cx.actor, { kind: 'new-member', parent: target.parent });
  return [];
}

/** The canonical path a tagged list names, or null when it names nothing under /dav on this host. */
function tagPath(request: FastifyRequest, tag: string): string | null {
  try {
    return lockPath(parseDestination(tag, request.host));
  } catch {
    return null;
  }
}

/** If-Match against the current ETag (null: nothing exists here): 412 when it does not match. */
export function requireIfMatch(request: FastifyRequest, etag: string | null): void {
  const ifMatch = request.headers['if-match'];
  if (!ifMatch) return;
  if (etag === null) throw new DavError(412, 'Nothing exists here to match (If-Match).');
  if (!etagMatches(ifMatch, etag)) throw new DavError(412, 'The document has changed (If-Match).');
}

/**
 * If-Match and If-None-Match on a DELETE, PROPPATCH, COPY or MOVE, judged on the request's own resource as the
 * actor sees it (RFC 9110 13.1.1-2: the method is not performed when they fail): a document by its ETag, a folder
 * (which has none) only by `*`. They were ignored, so a client that asked to delete, move or overwrite only the
 * version it had read did so over a newer one.
 */
export function requireTargetConditions(request: FastifyRequest, target: Resolved): void {
  const exists = target.kind !== 'missing';
  // A folder has no ETag: only `*` matches it (no tag is empty).
  const etag = target.document ? davEtag(target.document.sha256) : '';
  const ifMatch = request.headers['if-match'];
  if (ifMatch && !(exists && etagMatches(ifMatch, etag))) throw new DavError(412, exists ? 'The resource has changed (If-Match).' : 'Nothing exists here to match (If-Match).');
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && exists && etagMatches(ifNoneMatch, etag)) throw new DavError(412, 'The resource exists (If-None-Match).');
}

/** If-None-Match on a write (`*` or the current ETag): 412 when the document it guards against exists. */
export function refuseIfNoneMatch(request: FastifyRequest, etag: string): void {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && etagMatches(ifNoneMatch, etag)) throw new DavError(412, 'The document already exists (If-None-Match).');
}

/** If-None-Match on a read: true when the client's copy is current (304). */
export function notModified(request: FastifyRequest, etag: string): boolean {
  return etagMatches(request.headers['if-none-match'], etag);
}
