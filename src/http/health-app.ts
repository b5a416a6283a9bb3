// The worker role's HTTP surface: health, readiness, metrics and the audit key only (no API, web
// interface or WebDAV), so a load balancer or Prometheus can watch a process that serves no users.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AppServices } from '../services/app-services.js';
import { systemRoutes } from './api/system.routes.js';
import { problemFor, sendProblem, sendRouterRefusal } from './error-handler.js';
import { metrics } from './plugins/metrics.js';
import { securityHeaders } from './plugins/security-headers.js';

export async function buildHealthApp(vault: AppServices, server: FastifyServerOptions & { https?: { cert: Buffer; key: Buffer } | null } = {}): Promise<FastifyInstance> {
  const hsts = Boolean(server.https);
  const app = Fastify({
    logger: false, genReqId: () => randomUUID(), requestIdHeader: false,
    // Refusals the router makes before any hook runs: the same problem document and headers as the web role's.
    frameworkErrors: (error, request, reply) => sendRouterRefusal(error, request, reply, hsts),
    ...server,
  });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, problemFor(error, request)));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, { type: 'about:blank', title: 'Not found', status: 404, detail: `Nothing at ${request.method} ${request.url.split('?')[0]}: this process runs the worker role (jobs only).`, requestId: String(request.id) }));
  // The web role's headers on every answer (a 404 names the address asked for): never sniffed, framed or cached.
  await app.register(securityHeaders, { hsts });
  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('Cache-Control', 'no-store');
  });
  await app.register(metrics); // systemRoutes serves the counts it keeps
  await app.register(systemRoutes(vault));
  return app;
}
