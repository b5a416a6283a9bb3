// OpenID Connect sign-in pages: the button's POST (to the organisation's provider), the one callback
// address every provider sends the browser back to, and the admin's test sign-in outcome. The flow's
// state, nonce and PKCE verifier travel in a sealed, HttpOnly cookie that only this browser holds.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { OidcRefused } from '../../domain/identity/ports.js';
import { FederatedSignInRefused } from '../../services/federated-sign-in.service.js';
import { FLOW_SECONDS } from '../../services/oidc-sign-in.service.js';
import { requestInfo } from '../plugins/authenticate.js';
import { safeNext } from './auth.routes.js';
import { cookieOptions, isSecure, render, sessionCookie, setSession, type Ui } from './context.js';
import { askBeforeStarting } from './federated-start.js';

export const CALLBACK_PATH = '/sign-in/oidc/callback';

/** The callback address registered at the provider: from STRONGROOM_PUBLIC_URL when set, else the address the browser used. */
export const redirectUri = (ui: Ui, request: FastifyRequest): string => `${ui.vault.config.publicUrl ?? `${request.protocol}://${request.host}`}${CALLBACK_PATH}`;

export const flowCookie = (request: FastifyRequest): string => (isSecure(request) ? '__Host-strongroom-oidc' : 'strongroom-oidc');
export const logoutCookie = (request: FastifyRequest): string => (isSecure(request) ? '__Host-strongroom-idp' : 'strongroom-idp');

/** Sends the browser to the provider, holding the flow's sealed cookie for FLOW_SECONDS. */
export function startAt(reply: FastifyReply, request: FastifyRequest, started: { url: string; flowCookie: string }): FastifyReply {
  reply.setCookie(flowCookie(request), started.flowCookie, { ...cookieOptions(request), maxAge: FLOW_SECONDS });
  return reply.redirect(started.url, 303);
}

export function refusedPage(ui: Ui, request: FastifyRequest, reply: FastifyReply, message: string, status: number): FastifyReply {
  return render(ui, request, reply, 'sign-in-refused.njk', { message, requestId: String(request.id) }, status);
}

export const oidcPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  // A link, not a form: the page's CSP (form-action 'self') would stop a form's redirect to the provider.
  // Another site's link is asked about first (federated-start.ts: login CSRF); the callback must come from this browser.
  app.get<{ Params: { id: string }; Querystring: { next?: string } }>('/sign-in/oidc/:id', async (request, reply) => {
    const asked = await askBeforeStarting(ui, request, reply, 'oidc', request.params.id);
    if (asked) return asked;
    try {
      return startAt(reply, request, await ui.vault.oidcSignIn.begin(request.params.id, redirectUri(ui, request), safeNext(request.query.next)));
    } catch (error) {
      if (error instanceof OidcRefused) return refusedPage(ui, request, reply, error.message, 502);
      throw error;
    }
  });

  app.get(CALLBACK_PATH, async (request, reply) => {
    const cookie = request.cookies[flowCookie(request)];
    reply.clearCookie(flowCookie(request), cookieOptions(request));
    const url = new URL(request.url, redirectUri(ui, request));
    try {
      const outcome = await ui.vault.oidcSignIn.finish(cookie, url, requestInfo(request, 'web'), request.cookies[sessionCookie(request)], request.web?.actor ?? null);
      if (outcome.kind === 'test') {
        return render(ui, request, reply, 'admin-identity-test.njk', { preview: outcome.preview, claimsJson: JSON.stringify(outcome.claims, null, 2) });
      }
      setSession(request, reply, outcome.sessionId);
      reply.setCookie(logoutCookie(request), outcome.logoutCookie, cookieOptions(request));
      const next = safeNext(outcome.next);
      // Exactly where the password step goes next: the second factor, or setting it up, or in.
      const target = outcome.stage === 'mfa' ? '/sign-in/code' : outcome.stage === 'mfa_setup' ? '/sign-in/set-up-mfa' : next;
      return reply.redirect(outcome.stage === 'active' ? target : `${target}?next=${encodeURIComponent(next)}`, 303);
    } catch (error) {
      if (error instanceof OidcRefused || error instanceof FederatedSignInRefused) return refusedPage(ui, request, reply, error.message, 401);
      if (error instanceof DomainError && error.code === 'FORBIDDEN') return refusedPage(ui, request, reply, error.message, 403);
      throw error;
    }
  });
};
