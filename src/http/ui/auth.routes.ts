// Sign-in pages: e-mail and password, then the authenticator code (or set it up the first time),
// recovery codes, and sign-out. Every form carries a CSRF token.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { requestInfo } from '../plugins/authenticate.js';
import { landingInsteadOfDownload } from './download-question.js';
import { logoutCookie } from './oidc.routes.js';
import { anonymousCsrf, checkAnonymousCsrf, clearSession, cookieOptions, errorList, render, requireCsrf, requirePendingCsrf, sessionCookie, setSession, type Ui } from './context.js';

type Form = Record<string, string | undefined>;

/**
 * Only a path on this site: never an absolute or protocol-relative URL (no open redirect), and never a
 * download (another site may have chosen it, and our redirect to it is same-origin: download-question.ts).
 */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) && !value.startsWith('/sign-') ? landingInsteadOfDownload(value) : '/';
}

/**
 * The refusals a sign-in form shows on itself, in words, rather than on the error page. UNAVAILABLE is
 * momentary (the password checks busy: services/password-check-gate.ts; the database busy) and says when to
 * try again (Retry-After).
 */
const STATUS_FOR: Record<string, number> = { UNAUTHENTICATED: 401, LOCKED: 423, RATE_LIMITED: 429, INVALID: 400, UNAVAILABLE: 503 };

/** The status of a refusal the form shows itself, with its Retry-After; undefined for the error page's. */
function formRefusal(reply: FastifyReply, error: unknown): number | undefined {
  if (!(error instanceof DomainError)) return undefined;
  const retryAfter = error.details?.retryAfterSeconds;
  if (STATUS_FOR[error.code] && typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter));
  return STATUS_FOR[error.code];
}

/** The page a half-signed-in session owes next: the second factor, or setting it up. */
const owedStep = (stage: string | undefined): string => (stage === 'mfa' ? '/sign-in/code' : stage === 'mfa_setup' ? '/sign-in/set-up-mfa' : '/sign-in');
/** That page, keeping where the person was going (`next` is made safe again when it is read). */
const toOwedStep = (reply: FastifyReply, stage: string | undefined, next: unknown) =>
  reply.redirect(stage === 'mfa' || stage === 'mfa_setup' ? `${owedStep(stage)}?next=${encodeURIComponent(safeNext(next))}` : '/sign-in', 303);

export const authPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const signInPage = (request: FastifyRequest, reply: FastifyReply, data: Record<string, unknown>, status = 200) =>
    render(ui, request, reply, 'sign-in.njk', { csrfToken: anonymousCsrf(request, reply), ...data }, status);

  // The buttons: every organisation's enabled providers, each named with its organisation; `?org=<slug>`
  // (the link a council gives its staff) shows only that organisation's (docs/identity.md).
  const providersFor = async (org: string | undefined) => {
    const slug = typeof org === 'string' && /^[a-z0-9-]{1,100}$/.test(org) ? org : undefined;
    return { providers: await ui.vault.identityProviders.signInChoices(slug), singleOrganisation: slug !== undefined };
  };

  app.get<{ Querystring: { next?: string; 'signed-out'?: string; org?: string } }>('/sign-in', async (request, reply) => {
    if (request.web) return reply.redirect('/', 303);
    return signInPage(request, reply, { next: safeNext(request.query.next), signedOut: request.query['signed-out'] !== undefined, ...(await providersFor(request.query.org)) });
  });

  app.post<{ Body: Form }>('/sign-in', async (request, reply) => {
    const body = request.body ?? {};
    checkAnonymousCsrf(request, body._csrf);
    const email = (body.email ?? '').trim();
    const next = safeNext(body.next);
    const errors: { text: string; href: string }[] = [];
    if (!email) errors.push({ text: 'Enter your e-mail address', href: '#email' });
    if (!body.password) errors.push({ text: 'Enter your password', href: '#password' });
    if (errors.length > 0) return signInPage(request, reply, { errors, email, next, ...(await providersFor(undefined)) }, 400);
    try {
      const presented = request.cookies[sessionCookie(request)];
      const { sessionId, stage } = await ui.vault.passwordSignIn.signIn(email, body.password!, requestInfo(request, 'web'), presented);
      setSession(request, reply, sessionId);
      // A password session has no provider to sign out of: forget one an earlier sign-in left.
      if (request.cookies[logoutCookie(request)]) reply.clearCookie(logoutCookie(request), cookieOptions(request));
      const target = stage === 'mfa' ? '/sign-in/code' : stage === 'mfa_setup' ? '/sign-in/set-up-mfa' : next;
      return reply.redirect(stage === 'active' ? target : `${target}?next=${encodeURIComponent(next)}`, 303);
    } catch (error) {
      const status = formRefusal(reply, error);
      if (!status) throw error;
      return signInPage(request, reply, { errors: errorList(error, 'email'), email, next, ...(await providersFor(undefined)) }, status);
    }
  });

  app.get<{ Querystring: { next?: string } }>('/sign-in/code', async (request, reply) => {
    if (request.webSession?.stage !== 'mfa') return toOwedStep(reply, request.webSession?.stage, request.query.next);
    return render(ui, request, reply, 'sign-in-code.njk', { next: safeNext(request.query.next) });
  });

  app.post<{ Body: Form }>('/sign-in/code', async (request, reply) => {
    const body = request.body ?? {};
    const session = requirePendingCsrf(ui, request, body._csrf);
    if (session.stage !== 'mfa') return toOwedStep(reply, session.stage, body.next);
    try {
      const sessionId = await ui.vault.secondFactor.verifySecondFactor(session, body.code ?? '', requestInfo(request, 'web'));
      setSession(request, reply, sessionId);
      return reply.redirect(safeNext(body.next), 303);
    } catch (error) {
      const status = formRefusal(reply, error);
      if (!status) throw error;
      return render(ui, request, reply, 'sign-in-code.njk', { errors: errorList(error, 'code'), next: safeNext(body.next) }, status);
    }
  });

  const setupPage = async (request: FastifyRequest, reply: FastifyReply, data: Record<string, unknown> = {}, status = 200) => {
    const { secret, uri } = await ui.vault.secondFactor.mfaEnrolment(request.webSession!);
    // Loaded on the first set-up page, not with the app: most processes (and test files) never draw one.
    const { default: QRCode } = await import('qrcode');
    const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
    return render(ui, request, reply, 'sign-in-set-up-mfa.njk', { secret: secret.replace(/(.{4})/g, '$1 ').trim(), qrSvg, ...data }, status);
  };

  // Looking at this page writes nothing: the secret it shows is derived from the session (second-factor.service.ts).
  app.get<{ Querystring: { next?: string } }>('/sign-in/set-up-mfa', async (request, reply) => {
    if (request.webSession?.stage !== 'mfa_setup') return toOwedStep(reply, request.webSession?.stage, request.query.next);
    return setupPage(request, reply, { next: safeNext(request.query.next) });
  });

  app.post<{ Body: Form }>('/sign-in/set-up-mfa', async (request, reply) => {
    const body = request.body ?? {};
    const session = requirePendingCsrf(ui, request, body._csrf);
    if (session.stage !== 'mfa_setup') return toOwedStep(reply, session.stage, body.next);
    try {
      const { sessionId, recoveryCodes } = await ui.vault.secondFactor.completeMfaEnrolment(session, body.code ?? '', requestInfo(request, 'web'));
      setSession(request, reply, sessionId);
      return render(ui, request, reply, 'sign-in-recovery-codes.njk', { recoveryCodes, next: safeNext(body.next) });
    } catch (error) {
      // Set up in another browser meanwhile: this session owes a code from the authenticator now in use.
      if (error instanceof DomainError && error.code === 'UNAUTHENTICATED') return toOwedStep(reply, 'mfa', body.next);
      if (!(error instanceof DomainError) || error.code !== 'INVALID') throw error;
      return setupPage(request, reply, { errors: errorList(error, 'code'), next: safeNext(body.next) }, 400);
    }
  });

  app.post<{ Body: Form }>('/sign-out', async (request, reply) => {
    const session = request.webSession;
    if (session) {
      if (session.stage === 'active') requireCsrf(ui, request, request.body?._csrf);
      else requirePendingCsrf(ui, request, request.body?._csrf);
      await ui.sessions.signOut(session, requestInfo(request, 'web'));
    }
    clearSession(request, reply);
    // Signed in through an OpenID provider: end the session there too (RP-initiated logout), when it can.
    const idp = request.cookies[logoutCookie(request)];
    if (idp) {
      reply.clearCookie(logoutCookie(request), cookieOptions(request));
      // Built as the callback address is: from STRONGROOM_PUBLIC_URL when set, never then from the request's Host.
      const back = `${ui.vault.config.publicUrl ?? `${request.protocol}://${request.host}`}/sign-in?signed-out`;
      const endSession = await ui.vault.oidcSignIn.endSessionUrl(idp, back).catch(() => null);
      // A page, not a redirect: the sign-out form's CSP (form-action 'self') stops redirects to other sites.
      if (endSession) return render(ui, request, reply, 'signed-out-idp.njk', { endSession });
    }
    return reply.redirect('/sign-in?signed-out', 303);
  });
};
