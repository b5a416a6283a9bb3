// The worker role's HTTP surface: health, readiness, metrics and the audit key only (no API, web
// interface or WebDAV), so a load balancer or Prometheus can watch a process that serves no users.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Vault } from '../main.js';
import { systemRoutes } from './api/system.routes.js';
import { problemFor, sendProblem } from './error-handler.js';

export async function buildHealthApp(vault: Vault, server: FastifyServerOptions & { https?: { cert: Buffer; key: Buffer } | null } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, genReqId: () => randomUUID(), requestIdHeader: false, ...server });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, problemFor(error, request)));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, { type: 'about:blank', title: 'Not found', status: 404, detail: `Nothing at ${request.method} ${request.url.split('?')[0]}: this process runs the worker role (jobs only).`, requestId: String(request.id) }));
  await app.register(systemRoutes(vault));
  return app;
}
