// WebDAV (RFC 4918 classes 1 and 2) at /dav/: one folder per reachable organisation, then collections
// and documents. This file mounts the routes and sends each request to its method group (methods/);
// every method goes through the services (and so decide(), scanning and audit, channel 'webdav').
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestSender } from '../protocol/fetch-site.js';
import type { AppServices } from '../services/app-services.js';
import { authenticate } from './auth.js';
import { presentedLockTokens, requireTargetConditions } from './conditions.js';
import { EXTRA_METHODS, METHODS, type DavServices, type MethodHandler } from './context.js';
import { DavError, sendDavError } from './errors.js';
import { lock, unlock } from './methods/locks.js';
import { copyMove } from './methods/namespace.js';
import { get, options, propfind } from './methods/read.js';
import { del, mkcol, proppatch, put } from './methods/write.js';
import { parseDavPath, resolve } from './resources.js';

const HANDLERS: ReadonlyMap<string, MethodHandler> = new Map(Object.entries({
  GET: (cx, target) => get(cx, target, false),
  HEAD: (cx, target) => get(cx, target, true),
  PUT: put,
  DELETE: del,
  MKCOL: mkcol,
  PROPPATCH: proppatch,
  PROPFIND: propfind,
  COPY: (cx, target) => copyMove(cx, target, false),
  MOVE: (cx, target) => copyMove(cx, target, true),
  LOCK: lock,
  UNLOCK: unlock,
} satisfies Record<string, MethodHandler>));

/** The methods that change a resource whose If-Match and If-None-Match are judged here, on the request's own resource. */
const CONDITIONAL: ReadonlySet<string> = new Set(['DELETE', 'PROPPATCH', 'COPY', 'MOVE']);

export async function webdavExtension(app: FastifyInstance, vault: AppServices): Promise<void> {
  for (const m of EXTRA_METHODS) if (!app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true });
  const services: DavServices = { dav: vault.dav, documents: vault.documents, filing: vault.filing, collectionCreation: vault.collectionCreation, identity: vault.identity, serviceAreas: vault.serviceAreas, durable: () => vault.durable() };
  await app.register(async (scope) => {
    // Bodies are never parsed by Fastify: PUT streams straight into the upload pipeline, XML is read by body.ts with a limit.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.setErrorHandler((error, request, reply) => sendDavError(error, request, reply));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => handle(services, request, reply);
    scope.route({ method: METHODS, url: '/dav', handler, exposeHeadRoute: false });
    scope.route({ method: METHODS, url: '/dav/*', handler, exposeHeadRoute: false });
  });
}

/** One WebDAV request: authenticates, resolves the path as the actor may see it and runs the method. */
async function handle(services: DavServices, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const rawUrl = request.raw.url ?? '/dav/';
  // A fragment is never part of a request target (RFC 9112 §3.2); acting on the path without it would be unsafe.
  if (rawUrl.includes('#')) throw new DavError(400, 'The request URL must not contain a fragment (#).');
  const segments = parseDavPath(rawUrl);
  if (request.method === 'OPTIONS') return options(reply);
  // A browser that has cached Basic credentials for /dav/ sends them with any request for it, another site's
  // link or <img> included, and a GET records a download in the person's name. WebDAV clients (Explorer,
  // Finder, rclone) send no Sec-Fetch-Site at all, so only a request the browser says another site sent is
  // refused: before credentials are checked, so nothing is read or recorded and every address answers alike.
  if (requestSender(request.headers) === 'another-site') throw new DavError(403, 'Another site sent this request. Open WebDAV addresses in a WebDAV client, or type them into the browser.');
  const actor = { ...(await authenticate(services.identity, request)), lockTokens: presentedLockTokens(request) };
  const target = await resolve(services.dav, actor, segments);
  const method = HANDLERS.get(request.method);
  if (!method) throw new DavError(405, `${request.method} is not supported here.`);
  // GET, HEAD and PUT judge If-Match and If-None-Match themselves (304; a new version held to them until it commits).
  if (CONDITIONAL.has(request.method)) requireTargetConditions(request, target);
  return method({ services, request, reply, actor }, target);
}
