// Security headers on every response: a strict CSP with no inline script on every page (the API docs
// included), no framing, no sniffing, and HSTS when the service is reached over TLS.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

const policy = (styleSrc: string): string => [
  "default-src 'self'",
  "script-src 'self'",
  `style-src ${styleSrc}`,
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

const CSP = policy("'self'");
/**
 * The interactive API docs (Swagger UI, under /api/docs) run under the same policy but for one inline style
 * their bundle applies: script is still only this origin's files. Chosen by the route that answers, not by
 * the address's spelling.
 */
const API_DOCS_CSP = policy("'self' 'unsafe-inline'");
const isApiDocs = (request: FastifyRequest): boolean => /^\/api\/docs(\/|$)/.test(request.routeOptions?.url ?? '');

/**
 * The headers every answer wears. The plugin's hook sets them; a refusal the router makes before any hook
 * runs (an address that cannot be decoded) sets them itself (error-handler.ts `sendRouterRefusal`).
 */
export function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply, hsts: boolean): void {
  // Every page of this origin gets the strict policy, the interactive API docs (Swagger UI, whose
  // bootstrap is a script file) included: they went without one until the attack review of the web
  // surface. A route that set a stricter policy of its own (an image, served sandboxed) keeps it.
  if (!reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', isApiDocs(request) ? API_DOCS_CSP : CSP);
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('X-Frame-Options', 'DENY');
  reply.header('Referrer-Policy', 'no-referrer');
  reply.header('Cross-Origin-Opener-Policy', 'same-origin');
  reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
  if (hsts) reply.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
}

const plugin: FastifyPluginAsync<{ hsts: boolean }> = async (app, options) => {
  app.addHook('onSend', async (request, reply) => setSecurityHeaders(request, reply, options.hsts));
};

export const securityHeaders = fp(plugin, { name: 'security-headers' });
