// Security headers on every response: a strict CSP with no inline script, no framing, no sniffing,
// and HSTS when the service is reached over TLS.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

const plugin: FastifyPluginAsync<{ hsts: boolean }> = async (app, options) => {
  app.addHook('onSend', async (request, reply) => {
    // The interactive API docs need their own inline bootstrap; everything else gets the strict policy.
    // A route that set a stricter policy of its own (an image, served sandboxed) keeps it.
    if (!request.url.startsWith('/api/docs') && !reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', CSP);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (options.hsts) reply.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  });
};

export const securityHeaders = fp(plugin, { name: 'security-headers' });
