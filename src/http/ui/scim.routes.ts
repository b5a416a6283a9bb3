// The org admin's "SCIM provisioning" page: the address to give the directory (Entra ID's "Tenant URL"),
// the organisation's SCIM tokens with their last use, a form to create one (its secret shown once, here)
// and a button to revoke each. Who may is decide()'s `organisation.identity`, asked by the service.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { render, requireCsrf, signedIn, type Ui } from './context.js';
import { type Form, one } from './form-fields.js';


const DONE: Record<string, string> = { revoked: 'The token was revoked. The directory\'s next request with it will be refused.' };

export const scimPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const page = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const tokens = await ui.vault.scim.tokens.list(web.actor, web.organisation.id);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    return render(ui, request, reply, 'admin-scim.njk', { tokens, done, tenantUrl: `${ui.vault.config.publicUrl ?? `${request.protocol}://${request.host}`}/scim/v2`, ...extra }, status);
  };

  app.get('/admin/scim', async (request, reply) => page(request, reply));

  app.post<{ Body: Form }>('/admin/scim/tokens', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    try {
      const created = await ui.vault.scim.tokens.create(web.actor, web.organisation.id, one(request.body.name));
      return page(request, reply, { created: { id: created.token.id, name: created.token.name, secret: created.secret } });
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'INVALID') throw error;
      return page(request, reply, { errors: [{ text: error.message, href: '#name' }], values: { name: one(request.body.name) } }, 400);
    }
  });

  app.post<{ Params: { id: string }; Body: Form }>('/admin/scim/tokens/:id/revoke', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    await ui.vault.scim.tokens.revoke(web.actor, web.organisation.id, request.params.id);
    return reply.redirect('/admin/scim?done=revoked', 303);
  });
};
