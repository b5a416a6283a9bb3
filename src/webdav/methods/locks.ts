// The lock methods: LOCK (create, or refresh with an empty body and the token in the If header) and
// UNLOCK. The locks themselves live in LocksService and bind every interface, not only WebDAV.
import { Readable } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import type { ResourceLock } from '../../services/locks.service.js';
import { readXml } from '../body.js';
import { checkIf, ifLists, locksApplying } from '../conditions.js';
import { asForbidden, CHANGE, davTarget, depthOf, type DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { submittedTokens } from '../if-header.js';
import { lockXml } from '../properties.js';
import type { Resolved } from '../resources.js';
import { DAV_NS, XML_HEADER, child, serializeNodes } from '../xml.js';

const DEFAULT_LOCK_SECONDS = 3600;
const MAX_LOCK_SECONDS = 7 * 24 * 3600;
const MAX_OWNER_CHARS = 4096;

/** The first Timeout value we understand ("Infinite" is a week), else an hour. */
function timeoutOf(cx: DavContext): number {
  const raw = (cx.request.headers.timeout as string | undefined) ?? '';
  for (const part of raw.split(',').map((s) => s.trim())) {
    if (/^infinite$/i.test(part)) return MAX_LOCK_SECONDS;
    const m = /^Second-(\d+)$/i.exec(part);
    if (m) return Math.max(1, Math.min(Number(m[1]), MAX_LOCK_SECONDS));
  }
  return DEFAULT_LOCK_SECONDS;
}

function discovery(lock: ResourceLock): string {
  return `${XML_HEADER}<D:prop xmlns:D="DAV:"><D:lockdiscovery>${lockXml(lock)}</D:lockdiscovery></D:prop>`;
}

export async function lock(cx: DavContext, target: Resolved) {
  const root = await readXml(cx.request, cx.reply);
  const timeoutSeconds = timeoutOf(cx);
  if (!root) return refreshLock(cx, target, timeoutSeconds);
  if (root.ns !== DAV_NS || root.local !== 'lockinfo') throw new DavError(400, 'The body must be a DAV:lockinfo element.');
  const scopeEl = child(root, DAV_NS, 'lockscope');
  const scope = scopeEl && child(scopeEl, DAV_NS, 'shared') ? 'shared' : scopeEl && child(scopeEl, DAV_NS, 'exclusive') ? 'exclusive' : null;
  const typeEl = child(root, DAV_NS, 'locktype');
  if (!scope || !typeEl || !child(typeEl, DAV_NS, 'write')) throw new DavError(400, 'Only exclusive or shared write locks are supported.');
  const ownerEl = child(root, DAV_NS, 'owner');
  const owner = ownerEl ? serializeNodes(ownerEl.children) : null;
  if (owner && owner.length > MAX_OWNER_CHARS) throw new DavError(400, 'The lock owner is too long.');
  const depth = depthOf(cx.request, ['0', 'infinity'], 'infinity') as '0' | 'infinity';
  if (target.kind === 'root' || target.kind === 'organisation') throw new DavError(403, 'Organisation folders cannot be locked.');
  let created = false;
  let resource: Resolved = target;
  if (target.kind === 'missing') {
    // RFC 4918 §7.3: locking an unmapped URL creates an empty resource, through the ordinary upload.
    if (!target.parentExists || !target.org) throw new DavError(409, 'The parent folder does not exist.');
    if (!target.parent) throw new DavError(403, 'Files go inside a collection, not directly in the organisation folder.');
    await checkIf(cx, target);
    const conflicts = await locksApplying(cx, target);
    if (conflicts.length > 0 && (scope === 'exclusive' || conflicts.some((l) => l.scope === 'exclusive'))) throw new DavError(423, 'Already locked.', 'no-conflicting-lock');
    const result = await asForbidden(cx.services.documents.upload(cx.actor, target.parent.id, { name: target.segments[target.segments.length - 1]!, body: Readable.from([]), declaredSize: 0 }));
    resource = { ...target, kind: 'document', document: result.document, collection: target.parent };
    created = true;
  }
  let granted: ResourceLock;
  try {
    granted = await asForbidden(cx.services.dav.lock(cx.actor, davTarget(resource), { rootPath: resource.path, scope, depth: resource.kind === 'document' ? '0' : depth, owner, timeoutSeconds }), CHANGE);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'LOCKED') throw new DavError(423, 'The resource is already locked.', 'no-conflicting-lock');
    throw error;
  }
  return cx.reply.status(created ? 201 : 200).header('Lock-Token', `<${granted.token}>`).type('application/xml; charset=utf-8').send(discovery(granted));
}

async function refreshLock(cx: DavContext, target: Resolved, timeoutSeconds: number) {
  const header = cx.request.headers.if;
  if (typeof header !== 'string' || header.trim() === '') throw new DavError(400, 'A LOCK without a body refreshes a lock: send its token in an If header.');
  if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
  const tokens = submittedTokens(ifLists(cx.request));
  const held = (await locksApplying(cx, target)).find((l) => tokens.has(l.token));
  if (!held) throw new DavError(412, 'No lock with that token covers this resource.', 'lock-token-matches-request-uri');
  const refreshed = await cx.services.dav.refresh(cx.actor, held, timeoutSeconds);
  return cx.reply.status(200).type('application/xml; charset=utf-8').send(discovery(refreshed));
}

export async function unlock(cx: DavContext, target: Resolved) {
  const raw = cx.request.headers['lock-token'];
  const token = typeof raw === 'string' ? /^\s*<([^>]+)>\s*$/.exec(raw)?.[1] : undefined;
  if (!token) throw new DavError(400, 'UNLOCK needs a Lock-Token header.');
  if (target.kind === 'missing') throw new DavError(404, 'Nothing here.');
  const covers = (await locksApplying(cx, target)).some((l) => l.token === token);
  if (!covers) throw new DavError(409, 'That lock token does not match this resource.', 'lock-token-matches-request-uri');
  await asForbidden(cx.services.dav.unlock(cx.actor, token), 'That lock belongs to someone else.');
  return cx.reply.status(204).send();
}
