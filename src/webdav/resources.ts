// Maps /dav/{organisation}/{collection path}/{file} to what it names, as the actor may see it.
// Anything the actor may not see resolves as missing (404), exactly like something that does not exist.
import type { Actor, Collection, Document, Organisation } from '../domain/types.js';
import type { DavService, Lookup, Refusal } from '../services/dav.service.js';
import { DavError } from './errors.js';

export const DAV_PREFIX = '/dav';

export interface Resolved {
  segments: string[];
  /** Canonical decoded path, used for locks: "/dav/org/a/b" (no trailing slash). */
  path: string;
  kind: 'root' | 'organisation' | 'collection' | 'document' | 'missing';
  org: Organisation | null;
  /** The collection itself (kind collection) or the collection holding the document. */
  collection: Collection | null;
  document: Document | null;
  /** For missing resources: whether the parent exists, and the parent collection (null = organisation level). */
  parentExists: boolean;
  parent: Collection | null;
}

const bad = (what: string) => new DavError(400, `The ${what} is not a valid path: "." and ".." segments, encoded slashes and control characters are refused.`);

/** Splits and decodes a /dav path, refusing traversal (raw or percent-encoded) and encoded separators. */
export function parseDavPath(rawPath: string, what = 'request URL'): string[] {
  const pathname = rawPath.split(/[?#]/)[0]!;
  if (pathname !== DAV_PREFIX && !pathname.startsWith(`${DAV_PREFIX}/`)) throw new DavError(404, 'Not a WebDAV path.');
  const out: string[] = [];
  for (const part of pathname.slice(DAV_PREFIX.length).split('/')) {
    if (part === '') continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      throw bad(what);
    }
    // eslint-disable-next-line no-control-regex
    if (decoded === '.' || decoded === '..' || /[/\\\u0000-\u001f]/.test(decoded)) throw bad(what);
    out.push(decoded.normalize('NFC'));
  }
  return out;
}

export const lockPath = (segments: string[]): string => (segments.length === 0 ? DAV_PREFIX : `${DAV_PREFIX}/${segments.join('/')}`);

export function href(segments: string[], collection: boolean): string {
  if (segments.length === 0) return `${DAV_PREFIX}/`;
  return `${DAV_PREFIX}/${segments.map(encodeSegment).join('/')}${collection ? '/' : ''}`;
}

export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The Destination header of COPY/MOVE: an absolute URI on this host or an absolute path, under /dav.
 * Another host → 502 (RFC 4918 §9.8.5); traversal → 400.
 */
export function parseDestination(header: string | undefined, requestHost: string | undefined): string[] {
  if (!header) throw new DavError(400, 'COPY and MOVE need a Destination header.');
  let rawPath: string;
  if (header.startsWith('/')) {
    rawPath = header;
  } else {
    const m = /^(https?):\/\/([^/?#]*)(\/[^?#]*)?/i.exec(header);
    if (!m) throw new DavError(400, 'The Destination header must be an absolute URI or path.');
    if (!requestHost || m[2]!.toLowerCase() !== requestHost.toLowerCase()) {
      throw new DavError(502, 'The Destination is on another server; copying or moving across servers is not supported.');
    }
    rawPath = m[3] ?? '/';
  }
  return parseDavPath(rawPath, 'Destination');
}

/**
 * Walks the path as the actor may see it. A step that exists but is hidden ends the walk as
 * "missing", exactly like a step that does not exist, and — when the request ends missing — its
 * refusal is written to the audit log once, as REST writes one for a refused id: the organisation
 * folder when the actor can reach nothing in it (whatever the path names below it), else the first
 * hidden collection or document on the path, in the actor's own organisation only. Inside another
 * organisation an arrangement opens, a hidden step writes nothing, exactly as a missing one does:
 * every event takes the next number in the one log, and the actor's own auditors see the numbers of
 * their staff's events, so an event written only when a guessed name exists would tell them it does
 * (docs/threat-model.md, "The audit log as a name oracle across organisations"). Listings never write
 * refusals (they leave out what the actor may not see, as REST listings do).
 */
export async function resolve(dav: DavService, actor: Actor, segments: string[]): Promise<Resolved> {
  const { value, refusal } = await walk(dav, actor, segments);
  const recorded = value.org === null || value.org.id === actor.organisationId;
  if (value.kind === 'missing' && refusal && recorded) await dav.recordRefusal(actor, refusal);
  return value;
}

async function walk(dav: DavService, actor: Actor, segments: string[]): Promise<{ value: Resolved; refusal: Refusal | null }> {
  const base = { segments, path: lockPath(segments), org: null, collection: null, document: null, parentExists: false, parent: null };
  const done = (value: Resolved, refusal: Refusal | null = null) => ({ value, refusal });
  if (segments.length === 0) return done({ ...base, kind: 'root', parentExists: true });
  const found = await dav.organisation(actor, segments[0]!);
  if (!found) return done({ ...base, kind: 'missing', parentExists: segments.length === 1 });
  if (!found.reachable) {
    // An organisation the actor cannot reach looks exactly like one that does not exist. Its refusal
    // names the organisation only, whatever the rest of the path names, so that the event (which the
    // actor's own auditors can read) does not tell them whether a guessed name exists in it.
    return done({ ...base, kind: 'missing', parentExists: segments.length === 1 }, dav.unreachableOrganisation(found.org));
  }
  const org = found.org;
  if (segments.length === 1) return done({ ...base, kind: 'organisation', org, parentExists: true });
  let current: Collection | null = null;
  for (let i = 1; i < segments.length - 1; i++) {
    const next: Lookup<Collection> = await dav.childCollection(actor, org.id, current?.id ?? null, segments[i]!);
    if (!next.found) return done({ ...base, kind: 'missing', org }, next.refusal ?? null);
    current = next.found;
  }
  const last = segments[segments.length - 1]!;
  const asCollection = await dav.childCollection(actor, org.id, current?.id ?? null, last);
  if (asCollection.found) return done({ ...base, kind: 'collection', org, collection: asCollection.found, parentExists: true, parent: current });
  const asDocument = current ? await dav.documentByName(actor, current, last) : {};
  if (asDocument.found) return done({ ...base, kind: 'document', org, collection: current, document: asDocument.found, parentExists: true, parent: current });
  return done({ ...base, kind: 'missing', org, parentExists: true, parent: current }, asCollection.refusal ?? asDocument.refusal ?? null);
}
