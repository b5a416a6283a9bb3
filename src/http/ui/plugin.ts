// The web interface: GOV.UK Frontend pages rendered on the server, mounted beside the REST API.
// Works without JavaScript; /assets/app/app.js adds drag-and-drop uploads with progress.
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices } from '../../services/app-services.js';
import { problemFor, sayWhenToRetry } from '../error-handler.js';
import { adminPages } from './admin.routes.js';
import { storagePages } from './storage.routes.js';
import { arrangementPages } from './arrangements.routes.js';
import { auditPages } from './audit.routes.js';
import { brandingRoutes, deploymentBrand } from './branding.routes.js';
import { authPages } from './auth.routes.js';
import { browsePages } from './browse.routes.js';
import { certificatePages } from './certificates.routes.js';
import { loadSession, render, type Ui } from './context.js';
import { disposalPages } from './disposal.routes.js';
import { documentPages } from './documents.routes.js';
import { holdPages } from './holds.routes.js';
import { mailPages } from './mail.routes.js';
import { identityPages } from './identity.routes.js';
import { oidcPages } from './oidc.routes.js';
import { formMultipartOptions } from './multipart.js';
import { organisationBrandingPages } from './organisation-branding.routes.js';
import { recordsPages } from './records.routes.js';
import { samlPages } from './saml.routes.js';
import { searchPages } from './search.routes.js';
import { subjectAccessPages } from './subject-access.routes.js';
import { uploadPages } from './upload.routes.js';
import { ASSETS_DIR, GOVUK_DIST, createViews } from './views.js';
import { scimPages } from './scim.routes.js';

const ASSET_FILES = /\.(css|js|mjs|map|woff2?|svg|png|ico|json)$/;

export async function webInterface(app: FastifyInstance, vault: AppServices): Promise<void> {
  const ui: Ui = {
    vault,
    sessions: vault.sessions,
    people: vault.people,
    views: createViews(),
    brand: deploymentBrand(vault.config),
  };

  // Addresses nothing serves get a GOV.UK page in a browser (API and WebDAV clients keep problem+json).
  app.decorate('notFoundPage', (request: FastifyRequest, reply: FastifyReply) =>
    render(ui, request, reply, 'error.njk', { problem: { status: 404, title: 'Page not found', detail: 'If you typed the web address, check it is correct. If you pasted it, check you copied the entire address.', requestId: String(request.id) } }, 404));

  await app.register(async (assets) => {
    const govuk = path.join(GOVUK_DIST, 'govuk');
    await assets.register(fastifyStatic, {
      root: [path.join(govuk, 'assets'), govuk], prefix: '/assets/', index: false, list: false, wildcard: true,
      allowedPath: (pathName) => ASSET_FILES.test(pathName) && !pathName.includes('..'), maxAge: '1h',
    });
    await assets.register(fastifyStatic, { root: ASSETS_DIR, prefix: '/assets/app/', decorateReply: false, index: false, maxAge: 0 });
    await assets.register(brandingRoutes(ui.brand));
  });

  await app.register(async (web) => {
    await web.register(cookie);
    await web.register(formbody, { bodyLimit: 64 * 1024 });
    await web.register(multipart, formMultipartOptions(vault.config.maxUploadBytes));
    web.decorateRequest('web', null);
    web.decorateRequest('webSession', null);
    web.addHook('onRequest', async (request) => loadSession(ui, request));
    web.setErrorHandler(async (error, request, reply) => {
      const problem = problemFor(error, request);
      sayWhenToRetry(reply, problem);
      const wantsJson = (request.headers.accept ?? '').includes('application/json');
      if (problem.status === 401 && !wantsJson) {
        const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
        const stage = request.webSession?.stage;
        const step = stage === 'mfa' ? '/sign-in/code' : stage === 'mfa_setup' ? '/sign-in/set-up-mfa' : '/sign-in';
        return reply.redirect(`${step}${next}`, 303);
      }
      if (wantsJson) return reply.status(problem.status).type('application/problem+json').send(problem);
      return render(ui, request, reply, 'error.njk', { problem }, problem.status);
    });
    await web.register(authPages(ui));
    await web.register(samlPages(ui));
    await web.register(oidcPages(ui));
    await web.register(identityPages(ui));
    await web.register(browsePages(ui));
    await web.register(documentPages(ui));
    await web.register(uploadPages(ui));
    await web.register(arrangementPages(ui));
    await web.register(adminPages(ui));
    await web.register(auditPages(ui));
    await web.register(disposalPages(ui));
    await web.register(holdPages(ui));
    await web.register(certificatePages(ui));
    await web.register(recordsPages(ui));
    await web.register(storagePages(ui));
    await web.register(organisationBrandingPages(ui));
    await web.register(searchPages(ui));
    await web.register(subjectAccessPages(ui));
    await web.register(mailPages(ui));
    await web.register(scimPages(ui));
  });
}
