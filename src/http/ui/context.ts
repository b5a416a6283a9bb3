// The web interface's per-request state: the session cookie, the signed-in person as an Actor,
// CSRF checks and page rendering with the shared layout data.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type nunjucks from 'nunjucks';
import { brandFor, type Brand } from '../../domain/branding/brand.js';
import { DomainError } from '../../domain/errors.js';
import type { Actor, Organisation, User } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import { actorFor } from '../../services/identity.service.js';
import type { UsersAdminService } from '../../services/users-admin.service.js';
import type { WebSession, WebSessionsService } from '../../services/web-sessions.service.js';
import { requestInfo } from '../plugins/authenticate.js';
import type { DeploymentBrand } from './branding.routes.js';

export interface Ui {
  vault: AppServices;
  /** The deployment's service name, organisation name, colour and logo for every page's header. */
  brand: DeploymentBrand;
  sessions: WebSessionsService;
  people: UsersAdminService;
  views: nunjucks.Environment;
}

export interface WebContext {
  session: WebSession;
  user: User;
  actor: Actor;
  organisation: Organisation;
  /** The organisation pages the navigation offers, as decide() answers them for this person (see `navigation`). */
  pages: OrganisationPages;
  /** The header this person sees: the deployment's brand with their own organisation's laid over it. */
  brand: Brand;
}

interface OrganisationPages { users: boolean; quarantine: boolean; locks: boolean; audit: boolean; checkpoints: boolean; holds: boolean; disposal: boolean; filePlan?: boolean; storage?: boolean; branding?: boolean; identity?: boolean; subjectAccess?: boolean }

/** One question per navigation item that the person's organisation role decides, asked in one call. */
async function organisationPages(ui: Ui, actor: Actor, organisationId: string): Promise<OrganisationPages> {
  const own = { kind: 'organisation' as const, organisationId };
  const actions = ['organisation.manage-users', 'quarantine.list', 'lock.list', 'audit.read', 'audit.checkpoints', 'records.read', 'storage.read', 'organisation.brand', 'organisation.identity', 'subject-access.manage'] as const;
  const [users, quarantine, locks, audit, checkpoints, records, storage, branding, identity, subjectAccess] = await ui.vault.access.can(actor, actions.map((action) => ({ action, resource: own })));
  return {
    users: users === true, quarantine: quarantine === true, locks: locks === true, audit: audit === true, checkpoints: checkpoints === true,
    holds: records === true, disposal: records === true, filePlan: records === true, storage: storage === true, branding: branding === true, identity: identity === true,
    subjectAccess: subjectAccess === true,
  };
}

/** The address of an organisation's logo for its own staff: its hash in the path, so it caches for good. */
export const organisationLogoUrl = (sha256: string): string => `/branding/organisation-logo/${sha256}`;

/** The signed-in person's header: always and only their own organisation's brand over the deployment's. */
async function headerBrand(ui: Ui, organisationId: string): Promise<Brand> {
  const own = await ui.vault.branding.header(organisationId);
  return brandFor(ui.brand.brand, own && { displayName: own.displayName, colour: own.colour, logoUrl: own.logoSha256 ? organisationLogoUrl(own.logoSha256) : null });
}

declare module 'fastify' {
  interface FastifyRequest {
    web: WebContext | null;
    webSession: WebSession | null;
  }
}

/** Secure cookies whenever the browser reached us over TLS (directly, or via a trusted proxy). */
export const isSecure = (request: FastifyRequest): boolean => request.protocol === 'https';
export const sessionCookie = (request: FastifyRequest): string => (isSecure(request) ? '__Host-strongroom-session' : 'strongroom-session');
const anonCsrfCookie = (request: FastifyRequest): string => (isSecure(request) ? '__Host-strongroom-csrf' : 'strongroom-csrf');

export const cookieOptions = (request: FastifyRequest) => ({ path: '/', httpOnly: true, sameSite: 'lax' as const, secure: isSecure(request) });

export function setSession(request: FastifyRequest, reply: FastifyReply, sessionId: string): void {
  reply.setCookie(sessionCookie(request), sessionId, cookieOptions(request));
}

export function clearSession(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(sessionCookie(request), cookieOptions(request));
}

/** onRequest: resolves the session cookie (if any) into request.web. */
export async function loadSession(ui: Ui, request: FastifyRequest): Promise<void> {
  request.web = null;
  request.webSession = null;
  const session = await ui.sessions.resolve(request.cookies[sessionCookie(request)]);
  if (!session) return;
  request.webSession = session;
  if (session.stage !== 'active') return;
  const organisation = await ui.vault.organisations.organisation(session.user.organisationId);
  if (!organisation) return;
  const actor = actorFor(session.user, requestInfo(request, 'web'), { kind: 'session', id: session.idHash, scope: 'full' });
  const [pages, brand] = await Promise.all([organisationPages(ui, actor, organisation.id), headerBrand(ui, organisation.id)]);
  request.web = { session, user: session.user, organisation, actor, pages, brand };
}

/** The signed-in person, or UNAUTHENTICATED (the error handler sends them to sign in). */
export function signedIn(request: FastifyRequest): WebContext {
  if (!request.web) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue.');
  return request.web;
}

/** Refuses a state-changing request whose CSRF token does not match the session's. */
export function requireCsrf(ui: Ui, request: FastifyRequest, token: unknown): WebContext {
  const web = signedIn(request);
  const header = request.headers['x-csrf-token'];
  if (!ui.sessions.csrfValid(web.session, token ?? header)) throw csrfRefused();
  return web;
}

export function requirePendingCsrf(ui: Ui, request: FastifyRequest, token: unknown): WebSession {
  const session = request.webSession;
  if (!session) throw new DomainError('UNAUTHENTICATED', 'Your sign-in has expired. Sign in again.');
  if (!ui.sessions.csrfValid(session, token)) throw csrfRefused();
  return session;
}

/** Before sign-in there is no session: a double-submit token in its own cookie protects the form. */
export function anonymousCsrf(request: FastifyRequest, reply: FastifyReply): string {
  const existing = request.cookies[anonCsrfCookie(request)];
  if (existing && /^[A-Za-z0-9_-]{20,100}$/.test(existing)) return existing;
  const token = randomBytes(24).toString('base64url');
  reply.setCookie(anonCsrfCookie(request), token, cookieOptions(request));
  return token;
}

export function checkAnonymousCsrf(request: FastifyRequest, token: unknown): void {
  const cookie = request.cookies[anonCsrfCookie(request)];
  if (typeof token !== 'string' || !cookie || token.length !== cookie.length || !timingSafeEqual(Buffer.from(token), Buffer.from(cookie))) throw csrfRefused();
}

export const csrfRefused = (): DomainError =>
  new DomainError('FORBIDDEN', 'This form has expired or did not come from this service. Go back, reload the page and try again.', { details: { csrf: true } });

interface NavItem { href: string; text: string; active?: boolean }

function navigation(web: WebContext | null, path: string): NavItem[] {
  if (!web) return [];
  const may = web.pages;
  const items: NavItem[] = [
    { href: '/', text: 'Home' },
    { href: `/organisations/${web.organisation.slug}`, text: 'Browse' },
    { href: '/upload', text: 'Upload' },
    { href: '/arrangements', text: 'Arrangements' },
    { href: '/reports/shared-services', text: 'Savings report' },
  ];
  if (may.filePlan) items.push({ href: '/file-plan', text: 'File plan' });
  if (may.users) items.push({ href: '/admin/users', text: 'Users' });
  if (may.identity) items.push({ href: '/admin/identity', text: 'Sign-in' });
  if (may.quarantine) items.push({ href: '/admin/quarantine', text: 'Quarantine' });
  if (may.locks) items.push({ href: '/admin/locks', text: 'Locks' });
  if (may.disposal) items.push({ href: '/disposal', text: 'Disposal review' });
  if (may.storage) items.push({ href: '/admin/storage', text: 'Storage' });
  if (may.branding) items.push({ href: '/admin/branding', text: 'Branding' });
  if (may.audit) items.push({ href: '/audit', text: 'Audit' });
  else if (may.checkpoints) items.push({ href: '/audit/verify', text: 'Audit' });
  if (may.holds) items.push({ href: '/holds', text: 'Legal holds' });
  if (may.subjectAccess) items.push({ href: '/subject-access', text: 'Subject access' });
  items.push({ href: '/account', text: 'Your account' });
  const best = items.filter((i) => (i.href === '/' ? path === '/' : path === i.href || path.startsWith(`${i.href}/`) || path.startsWith(`${i.href}?`))).at(-1);
  return items.map((i) => ({ ...i, active: i === best }));
}

export function render(ui: Ui, request: FastifyRequest, reply: FastifyReply, view: string, data: Record<string, unknown> = {}, status = 200): FastifyReply {
  const web = request.web;
  const html = ui.views.render(view, {
    web,
    user: web?.user ?? null,
    organisation: web?.organisation ?? null,
    csrfToken: web?.session.csrfToken ?? request.webSession?.csrfToken ?? '',
    navigation: navigation(web, request.url),
    currentUrl: request.url,
    brand: web?.brand ?? ui.brand.brand,
    brandIcon: ui.brand.iconUrl,
    ...data,
  });
  return reply.status(status).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(html);
}

/** GOV.UK error summary items from a DomainError (field-level when the service named a field). */
export function errorList(error: unknown, fallbackField = ''): { text: string; href: string }[] {
  const message = error instanceof Error ? error.message : String(error);
  const field = error instanceof DomainError && typeof error.details?.field === 'string' ? error.details.field : fallbackField;
  return [{ text: message, href: field ? `#${field}` : '#main-content' }];
}
