// What every WebDAV method handler works with: the request and reply, the signed-in actor and the
// services WebDAV may call, plus the few rules the method groups share (refusal wording, Depth, targets).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import type { CollectionCreationService } from '../services/collection-creation.service.js';
import type { DavService, DavTarget } from '../services/dav.service.js';
import type { DocumentFilingService } from '../services/document-filing.service.js';
import type { DocumentsService } from '../services/documents.service.js';
import type { IdentityService } from '../services/identity.service.js';
import { DavError } from './errors.js';
import type { Resolved } from './resources.js';

/** Methods Fastify does not know by itself; they are added with addHttpMethod. */
export const EXTRA_METHODS = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'];
/** Every method served under /dav (the Allow header). */
export const METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', ...EXTRA_METHODS];

/** The services WebDAV calls, and nothing else: every decision, scan and audit event happens behind them. */
export interface DavServices {
  dav: DavService;
  documents: DocumentsService;
  filing: DocumentFilingService;
  collectionCreation: CollectionCreationService;
  identity: IdentityService;
  serviceAreas: readonly string[];
  /** Resolves once every database write made so far is on disk (AppServices.durable): a streamed answer awaits it before each later part. */
  durable(): Promise<void>;
}

/** One authenticated WebDAV request. */
export interface DavContext {
  services: DavServices;
  request: FastifyRequest;
  reply: FastifyReply;
  actor: Actor;
}

/** A method handler: the request path is already resolved as the actor may see it. */
export type MethodHandler = (cx: DavContext, target: Resolved) => Promise<unknown>;

export const CHANGE = 'You may not change this (your access here does not allow it).';

/** The Depth header, lower-cased, or `fallback` when absent; a value not in `allowed` is a 400. */
export function depthOf(request: FastifyRequest, allowed: string[], fallback: string): string {
  const raw = request.headers.depth;
  const depth = typeof raw === 'string' ? raw.trim().toLowerCase() : fallback;
  if (!allowed.includes(depth)) throw new DavError(400, `Depth ${depth} is not allowed for ${request.method}.`);
  return depth;
}

/** What the services call a resolved document or collection; anything else cannot be acted on. */
export function davTarget(r: Resolved): DavTarget {
  if (r.kind === 'document') return { kind: 'document', document: r.document! };
  if (r.kind === 'collection') return { kind: 'collection', collection: r.collection! };
  throw new DavError(403, 'Not a document or collection.');
}

/** The refusal of an upload that found malware (webdav/errors.ts words it and answers 403). */
export function infected(signature: string): DomainError {
  return new DomainError('INFECTED', `Malware detected (${signature}).`, { details: { signature } });
}

/**
 * The services answer NOT_FOUND when decide() refuses, so nothing leaks. These calls act on something
 * the actor has already been shown (the path resolved), so a refusal is reported as 403, which clients
 * show sensibly.
 */
export async function asForbidden<T>(work: Promise<T>, message = 'You may not add to this collection.'): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof DomainError && error.code === 'NOT_FOUND') throw new DavError(403, message);
    throw error;
  }
}
