// Prometheus metrics for the whole server: one registry per app, and request counting at the root,
// so every request is counted whichever area answers it (REST API, web pages, WebDAV, system
// endpoints, not-found answers). system.routes.ts serves the registry at /metrics.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

const plugin: FastifyPluginAsync = async (app) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'strongroom_' });
  const requests = new Counter({ name: 'strongroom_http_requests_total', help: 'HTTP requests by method and status', labelNames: ['method', 'status'], registers: [registry] });
  const duration = new Histogram({ name: 'strongroom_http_request_seconds', help: 'HTTP request duration', labelNames: ['method'], registers: [registry], buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60] });
  app.decorate('metrics', registry);
  // A root hook applies only to plugins registered after it: buildApp registers this first.
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({ method: request.method, status: String(reply.statusCode) });
    duration.observe({ method: request.method }, reply.elapsedTime / 1000);
  });
};

export const metrics = fp(plugin, { name: 'strongroom-metrics' });
