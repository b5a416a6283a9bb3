// SAML 2.0 pages: the start of a sign-in (off to the organisation's identity provider), the reply URL
// (ACS) the provider's answer is posted to, the SP metadata, and an administrator's test sign-in.
//
// The provider's answer arrives as a cross-site POST, on which browsers do not send our SameSite=Lax
// cookies: not the session, not the record of the request this browser started. So the first POST
// from the provider is answered with a page of our own that posts the same answer back to the same
// address (at once with JavaScript, or with its button without): that second POST is same-site, the
// cookies come with it, and only then is anything checked. No cookie is weakened to SameSite=None, and
// an answer posted into someone else's browser finds no request there and is refused.
import { parse as parseForm } from 'node:querystring';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, invalid } from '../../domain/errors.js';
import type { SamlPendingRequest } from '../../domain/identity/saml.js';
import {
  SAML_FORM_BYTES, SAML_FORM_FIELDS, SAML_FORM_REFUSED, SAML_REPOST_REFUSED, isSamlAnswerShape, SAML_REQUEST_LIFETIME_MS, SamlChecksBusyError, SamlRefused,
} from '../../domain/identity/saml.js';
import { FederatedSignInRefused } from '../../services/federated-sign-in.service.js';
import { problemFor, sayWhenToRetry } from '../error-handler.js';
import { requestInfo } from '../plugins/authenticate.js';
import { safeNext } from './auth.routes.js';
import { isSecure, render, sessionCookie, setSession, signedIn, type Ui } from './context.js';
import { askBeforeStarting } from './federated-start.js';

/** __Host- over TLS: no subdomain can plant a request record of its own. */
const requestCookie = (request: FastifyRequest): string => (isSecure(request) ? '__Host-strongroom-saml' : 'strongroom-saml');
const requestCookieOptions = (request: FastifyRequest) => ({ path: '/', httpOnly: true, sameSite: 'lax' as const, secure: isSecure(request) });

/** The pending request as the cookie holds it: id.provider.issuedAt.mode.next (next base64url). */
function encodePending(p: SamlPendingRequest): string {
  return [p.requestId, p.providerId, String(p.issuedAt), p.mode, Buffer.from(p.next).toString('base64url')].join('.');
}

function decodePending(value: string | undefined): SamlPendingRequest | null {
  const parts = value?.split('.') ?? [];
  if (parts.length !== 5) return null;
  const [requestId, providerId, issuedAt, mode, next] = parts as [string, string, string, string, string];
  if (!/^_[0-9a-f]{40}$/.test(requestId) || !/^\d{1,15}$/.test(issuedAt) || (mode !== 'sign-in' && mode !== 'test')) return null;
  return { requestId, providerId, issuedAt: Number(issuedAt), mode, next: safeNext(Buffer.from(next, 'base64url').toString('utf8')) };
}

type AcsBody = { SAMLResponse?: string; RelayState?: string; _bounced?: string };

/** Whether the urlencoded `body` has more than `most` fields, counted without reading past the one too many. */
function moreFieldsThan(body: string, most: number): boolean {
  let fields = 1;
  for (let at = body.indexOf('&'); at !== -1; at = body.indexOf('&', at + 1)) if (++fields > most) return true;
  return false;
}

export const samlPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const saml = ui.vault.samlSignIn;
  // The reply URL's form, up to 1 MiB from anyone (no cookie needed for the re-post page), is counted before it
  // is parsed: 1 MiB of 100,000 fields took half a second of the event loop to parse into an object. An
  // answer has two or three fields; a form of more is refused (400) unread. Only these pages' forms.
  app.removeContentTypeParser('application/x-www-form-urlencoded');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    if (moreFieldsThan(body as string, SAML_FORM_FIELDS)) done(invalid(SAML_FORM_REFUSED), undefined);
    else done(null, parseForm(body as string));
  });

  const refusedPage = (request: FastifyRequest, reply: FastifyReply, message: string, status: number) =>
    render(ui, request, reply, 'saml-refused.njk', { message }, status);

  const sendToProvider = (request: FastifyRequest, reply: FastifyReply, started: { redirectUrl: string; pending: SamlPendingRequest }) => {
    reply.setCookie(requestCookie(request), encodePending(started.pending), { ...requestCookieOptions(request), maxAge: SAML_REQUEST_LIFETIME_MS / 1000 });
    return reply.redirect(started.redirectUrl, 303);
  };

  app.get<{ Params: { id: string }; Querystring: { next?: string } }>('/sign-in/saml/:id', async (request, reply) => {
    // Another site's link is asked about first (federated-start.ts: login CSRF).
    const asked = await askBeforeStarting(ui, request, reply, 'saml', request.params.id);
    if (asked) return asked;
    try {
      return sendToProvider(request, reply, await saml.start(request.params.id, { next: safeNext(request.query.next) }));
    } catch (error) {
      if (error instanceof DomainError && (error.code === 'FORBIDDEN' || error.code === 'UNAVAILABLE')) {
        // A refusal that passes by itself (the database busy or restarting) says when to try again, as every other page does.
        sayWhenToRetry(reply, problemFor(error, request));
        return refusedPage(request, reply, error.message, error.code === 'FORBIDDEN' ? 403 : 503);
      }
      throw error;
    }
  });

  app.get<{ Params: { id: string } }>('/sign-in/saml/:id/metadata', async (request, reply) => {
    const xml = await saml.metadata(request.params.id);
    return reply.header('Cache-Control', 'no-cache').type('application/samlmetadata+xml; charset=utf-8').send(xml);
  });

  // An org admin's test sign-in. The "Sign-in and provisioning" page's Test sign-in button
  // (/admin/identity/providers/:id/test) sends SAML providers to the second address.
  const startTest = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const web = signedIn(request);
    return sendToProvider(request, reply, await saml.start(request.params.id, { next: '/', test: { actor: web.actor } }));
  };
  app.get<{ Params: { id: string } }>('/admin/identity-providers/:id/test', startTest);
  app.get<{ Params: { id: string } }>('/admin/identity/providers/:id/test-saml', startTest);

  // A larger form than the rest of the site takes (64 KiB): a person in a few hundred groups is a few hundred KiB.
  app.post<{ Params: { id: string }; Body: AcsBody }>('/sign-in/saml/:id/acs', { bodyLimit: SAML_FORM_BYTES }, async (request, reply) => {
    const body = request.body ?? {};
    const samlResponse = typeof body.SAMLResponse === 'string' ? body.SAMLResponse : '';
    const pending = decodePending(request.cookies[requestCookie(request)]);
    // The provider's own (cross-site) POST: no cookies came with it. Post it back from this site, once.
    if (!pending && body._bounced !== '1') {
      const relayState = body.RelayState ?? '';
      if (!isSamlAnswerShape(samlResponse, relayState)) return refusedPage(request, reply, SAML_REPOST_REFUSED, 400);
      return render(ui, request, reply, 'saml-continue.njk', { action: `/sign-in/saml/${encodeURIComponent(request.params.id)}/acs`, samlResponse, relayState });
    }
    // Whatever the outcome, the request this browser held is spent.
    reply.clearCookie(requestCookie(request), requestCookieOptions(request));
    try {
      if (pending?.mode === 'test') {
        const web = signedIn(request);
        const outcome = await saml.test(request.params.id, samlResponse, pending, web.actor);
        return render(ui, request, reply, 'saml-test.njk', { outcome, attributes: Object.entries(outcome.attributes) });
      }
      const { sessionId, stage } = await saml.finish(request.params.id, samlResponse, pending, requestInfo(request, 'web'), request.cookies[sessionCookie(request)]);
      setSession(request, reply, sessionId);
      const next = pending?.next ?? '/';
      const target = stage === 'mfa' ? '/sign-in/code' : stage === 'mfa_setup' ? '/sign-in/set-up-mfa' : next;
      return reply.redirect(stage === 'active' ? target : `${target}?next=${encodeURIComponent(next)}`, 303);
    } catch (error) {
      if (error instanceof SamlRefused || error instanceof FederatedSignInRefused) return refusedPage(request, reply, error.message, 401);
      // Too many answers waiting for the SAML thread: nothing was checked, the person tries again shortly.
      if (error instanceof SamlChecksBusyError) {
        sayWhenToRetry(reply, problemFor(error, request));
        return refusedPage(request, reply, error.message, 503);
      }
      throw error;
    }
  });
};
