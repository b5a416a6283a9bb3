// buildApp(services): the Fastify application for the REST API, separate from listen() so tests can
// inject requests or bind a real port; src/server.ts mounts the web interface and WebDAV beside it.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { AppServices } from '../services/app-services.js';
import { RATE_GRACE_MS } from '../services/ingest.js';
import { adminRoutes } from './api/admin.routes.js';
import { arrangementsRoutes } from './api/arrangements.routes.js';
import { auditRoutes } from './api/audit.routes.js';
import { certificatesRoutes } from './api/certificates.routes.js';
import { collectionsRoutes } from './api/collections.routes.js';
import { disposalRoutes } from './api/disposal.routes.js';
import { documentsRoutes } from './api/documents.routes.js';
import { locksRoutes } from './api/locks.routes.js';
import { holdsRoutes } from './api/holds.routes.js';
import { subjectAccessRoutes } from './api/subject-access.routes.js';
import { identityRoutes } from './api/identity.routes.js';
import { recordsRoutes } from './api/records.routes.js';
import { searchRoutes } from './api/search.routes.js';
import { systemRoutes } from './api/system.routes.js';
import { usersRoutes } from './api/users.routes.js';
import { problemFor, sendProblem, sendRouterRefusal } from './error-handler.js';
import { closeIdleConnectionsOf } from './idle-connections.js';
import { LingeringConnections } from './lingering-close.js';
import { SlowBodyGuard } from './slow-body-guard.js';
import { fastifyTrustProxy } from './trusted-proxies.js';
import { scimRoutes } from './scim/plugin.js';
import { metrics } from './plugins/metrics.js';
import { securityHeaders } from './plugins/security-headers.js';

export interface BuildAppOptions {
  /** Fastify server options (TLS, logger) from serve. */
  server?: FastifyServerOptions & { https?: { cert: Buffer; key: Buffer } | null };
  /** Extra plugins mounted at the root (the web interface and WebDAV register here). */
  extensions?: ((app: FastifyInstance, vault: AppServices) => Promise<void>)[];
}

/** A page for browsers that ask for an address nothing serves; the web interface provides one. */
export type NotFoundPage = (request: FastifyRequest, reply: FastifyReply) => FastifyReply;

declare module 'fastify' {
  interface FastifyInstance {
    notFoundPage?: NotFoundPage;
    /** The deadline on every request body; a reader that acts piece by piece takes its stall over (handOver). */
    slowBodies: SlowBodyGuard;
  }
}

/** How much longer than an upload's own deadlines the guard on every body waits. */
const BACKSTOP_MARGIN_MS = 5_000;

export async function buildApp(vault: AppServices, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const lingering = new LingeringConnections();
  // Answered before the whole body arrived (an upload refused part-way: too large, disk full, a
  // malformed address): close the connection, but lingering (lingering-close.ts), so a client still
  // sending reads the refusal instead of a reset, and the leftover bytes are never taken for a next request.
  const closeIfBodyUnread = (request: FastifyRequest, reply: FastifyReply) => {
    if (request.raw.complete !== false) return;
    reply.header('Connection', 'close');
    lingering.lingerAfterResponse(request.raw);
  };
  // Every body the server waits for has a deadline; uploads' own (ingest.ts) are the same limits,
  // so this one waits BACKSTOP_MARGIN_MS longer and they answer first, with their own message.
  const slowBodies = new SlowBodyGuard({
    idleMs: vault.config.uploadIdleSeconds * 1000 + BACKSTOP_MARGIN_MS,
    minBytesPerSecond: vault.config.uploadMinBytesPerSecond,
    graceMs: RATE_GRACE_MS + BACKSTOP_MARGIN_MS,
  });
  const hsts = Boolean(vault.config.tlsCert) || vault.config.trustProxy !== null;
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    trustProxy: fastifyTrustProxy(vault.config.trustProxy),
    // Nothing moving either way on a connection for this long closes it, when the client owes the
    // next move (idle-connections.ts): above all a client that stopped reading its answer (a download
    // left unread holds its socket, file and decryption else). Bodies have their own deadlines.
    connectionTimeout: vault.config.connectionIdleSeconds * 1000,
    // Refusals the router makes before any route or hook runs (an undecodable address, say): the
    // same problem document, and the same close, as every other refusal.
    frameworkErrors: (error, request, reply) => {
      closeIfBodyUnread(request, reply);
      return sendRouterRefusal(error, request, reply, hsts);
    },
    ...(options.server ?? {}),
  } as FastifyServerOptions);
  app.decorate('slowBodies', slowBodies);
  closeIdleConnectionsOf(app.server);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((error, request, reply) => sendProblem(reply, problemFor(error, request)));
  app.setNotFoundHandler((request, reply) => {
    const forBrowser = (request.headers.accept ?? '').includes('text/html') && !/^\/(api|dav|scim)(\/|$)/.test(request.url);
    if (forBrowser && app.notFoundPage) return app.notFoundPage(request, reply);
    return sendProblem(reply, { type: 'about:blank', title: 'Not found', status: 404, detail: `Nothing at ${request.method} ${request.url.split('?')[0]}.`, requestId: String(request.id) });
  });
  app.addHook('onSend', async (request, reply) => {
    // Nothing leaves the process before the writes it may depend on are on disk (docs/architecture.md
    // "Durability"): this request's own, and those of others it may have read. Every response (REST,
    // web pages, WebDAV, SCIM, errors) passes here before its first byte, a streamed download included.
    await vault.durable();
    reply.header('X-Request-Id', String(request.id));
    // Whatever carries a council's data stays out of browser and proxy caches unless its route says
    // otherwise (downloads and pages already do; static assets and the service's branding say public).
    if (!reply.hasHeader('cache-control')) reply.header('Cache-Control', 'no-store');
    closeIfBodyUnread(request, reply);
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!lingering.has(request.raw.socket)) {
      slowBodies.watch(request.raw, reply.raw, String(request.id));
      return done();
    }
    // Pipelined behind a refused body on a connection that is closing: not served, and not answered
    // either (the connection sends nothing more); the socket closes as the lingering close decides.
    reply.hijack();
    request.raw.resume();
    done();
  });
  app.addHook('preClose', (done) => {
    lingering.closeAll();
    slowBodies.closeAll();
    done();
  });
  await app.register(metrics); // first: its request counter must see every plugin registered after it
  await app.register(securityHeaders, { hsts });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Strongroom API', version: '1', description: 'Encrypted, audited document vault for councils and their shared services.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // The document describes the REST API only: the web pages and WebDAV are not part of it.
    transform: (input) => (input.url.startsWith('/api/v1/') ? jsonSchemaTransform(input) : { schema: { ...input.schema, hide: true }, url: input.url }),
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  await app.register(systemRoutes(vault));
  await app.register(
    async (api) => {
      await api.register(collectionsRoutes(vault));
      await api.register(documentsRoutes(vault));
      await api.register(locksRoutes(vault));
      await api.register(arrangementsRoutes(vault));
      await api.register(auditRoutes(vault));
      await api.register(adminRoutes(vault));
      await api.register(usersRoutes(vault));
      await api.register(disposalRoutes(vault));
      await api.register(holdsRoutes(vault));
      await api.register(subjectAccessRoutes(vault));
      await api.register(certificatesRoutes(vault));
      await api.register(recordsRoutes(vault));
      await api.register(searchRoutes(vault));
      await api.register(identityRoutes(vault));
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/api/v1' },
  );
  // SCIM provisioning for each organisation's directory: its own token, media type and error bodies.
  await scimRoutes(app, vault);
  for (const extension of options.extensions ?? []) await extension(app, vault);
  return app;
}
