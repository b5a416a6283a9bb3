// "Sign-in and provisioning", the org admin's pages: identity providers of both kinds (OpenID Connect and
// SAML 2.0), the directory group → access mapping, and each provider's "test sign-in". The service asks
// decide() ('organisation.identity') on every call; these pages only turn forms into its input.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GroupMappingInput, ProviderInput } from '../../domain/identity/provider-input.js';
import { CLASSIFICATIONS, ROLES } from '../../domain/types.js';
import type { ProviderView } from '../../services/identity-providers.service.js';
import { errorList, render, requireCsrf, signedIn, type Ui } from './context.js';
import { type Form, handled, many, one } from './form-fields.js';
import { redirectUri, refusedPage, startAt } from './oidc.routes.js';
import { OidcRefused } from '../../domain/identity/ports.js';

const words = (v: string | string[] | undefined): string[] => one(v).split(/[\s,]+/).filter(Boolean);

const DONE: Record<string, string> = {
  added: 'The identity provider was added.', updated: 'The changes were saved.', removed: 'The identity provider was removed.', groups: 'The group mapping was saved.',
};

/** A provider form's fields as the service's input (the certificates box may hold two, during a rollover). */
function providerInput(b: Form): ProviderInput {
  const options = many(b.options);
  const certificates = one(b.idpCertificates).split(/(?<=-----END CERTIFICATE-----)/).map((c) => c.trim()).filter(Boolean);
  return {
    kind: one(b.kind), name: one(b.name), enabled: options.includes('enabled'), createAccounts: options.includes('createAccounts'),
    groupsClaim: one(b.groupsClaim), mfaAmrValues: words(b.mfaAmrValues), mfaAcrValues: words(b.mfaAcrValues),
    issuer: one(b.issuer), clientId: one(b.clientId), clientSecret: one(b.clientSecret), scopes: words(b.scopes),
    entryPoint: one(b.entryPoint), idpEntityId: one(b.idpEntityId), idpCertificates: certificates, emailAttribute: one(b.emailAttribute),
  };
}

/** A stored provider as the form's values (never the secret). */
function formValues(p: ProviderView): Record<string, unknown> {
  return {
    name: p.name, enabled: p.enabled, createAccounts: p.createAccounts, groupsClaim: p.groupsClaim ?? '',
    mfaAmrValues: p.mfaAmrValues.join(' '), mfaAcrValues: p.mfaAcrValues.join(' '),
    issuer: p.oidc?.issuer, clientId: p.oidc?.clientId, scopes: p.oidc?.scopes.join(' '),
    entryPoint: p.saml?.entryPoint, idpEntityId: p.saml?.idpEntityId, idpCertificates: p.saml?.idpCertificates.join('\n'), emailAttribute: p.saml?.emailAttribute ?? '',
  };
}

export const identityPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const service = ui.vault.identityProviders;

  app.get<{ Querystring: { done?: string } }>('/admin/identity', async (request, reply) => {
    const web = signedIn(request);
    const providers = await service.list(web.actor, web.organisation.id);
    const mappings = await service.groupMappings(web.actor, web.organisation.id);
    return render(ui, request, reply, 'admin-identity.njk', { providers, mappings, done: DONE[request.query.done ?? ''] ?? null });
  });

  // A SAML provider's page shows the addresses its administrators enter at the IdP (Entra: Identifier, Reply
  // URL, Sign on URL): built from STRONGROOM_PUBLIC_URL, never from this request's Host, so none without it.
  const samlAddresses = (provider: ProviderView | undefined) =>
    (provider?.kind === 'saml' && ui.vault.config.publicUrl ? ui.vault.samlSignIn.serviceProvider(provider.id) : null);

  const providerPage = (request: FastifyRequest, reply: FastifyReply, data: { kind: string; provider?: ProviderView; values: Record<string, unknown>; errors?: unknown[] }, status = 200) =>
    render(ui, request, reply, 'admin-identity-provider.njk', {
      redirectUri: redirectUri(ui, request), samlAddresses: samlAddresses(data.provider),
      done: DONE[(request.query as { done?: string }).done ?? ''] ?? null, ...data,
    }, status);

  app.get<{ Querystring: { kind?: string } }>('/admin/identity/providers/new', async (request, reply) => {
    const web = signedIn(request);
    await service.list(web.actor, web.organisation.id); // org admins only (403, audited)
    const kind = request.query.kind === 'saml' ? 'saml' : 'oidc';
    return providerPage(request, reply, { kind, values: { enabled: true } });
  });

  app.post<{ Body: Form }>('/admin/identity/providers', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const input = providerInput(request.body);
    try {
      const added = await service.add(web.actor, web.organisation.id, input);
      return reply.redirect(`/admin/identity/providers/${added.id}?done=added`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      return providerPage(request, reply, { kind: input.kind === 'saml' ? 'saml' : 'oidc', values: { ...input, clientSecret: undefined, scopes: one(request.body.scopes), mfaAmrValues: one(request.body.mfaAmrValues), mfaAcrValues: one(request.body.mfaAcrValues), idpCertificates: one(request.body.idpCertificates) }, errors: errorList(error, 'name') }, 400);
    }
  });

  app.get<{ Params: { id: string } }>('/admin/identity/providers/:id', async (request, reply) => {
    const provider = await service.get(signedIn(request).actor, request.params.id);
    return providerPage(request, reply, { kind: provider.kind, provider, values: formValues(provider) });
  });

  app.post<{ Params: { id: string }; Body: Form }>('/admin/identity/providers/:id', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const input = providerInput(request.body);
    try {
      await service.update(web.actor, request.params.id, input);
      return reply.redirect(`/admin/identity/providers/${request.params.id}?done=updated`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      const provider = await service.get(web.actor, request.params.id);
      return providerPage(request, reply, { kind: provider.kind, provider, values: { ...input, clientSecret: undefined, scopes: one(request.body.scopes), mfaAmrValues: one(request.body.mfaAmrValues), mfaAcrValues: one(request.body.mfaAcrValues), idpCertificates: one(request.body.idpCertificates) }, errors: errorList(error, 'name') }, 400);
    }
  });

  app.post<{ Params: { id: string }; Body: Form }>('/admin/identity/providers/:id/remove', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    await service.remove(web.actor, request.params.id);
    return reply.redirect('/admin/identity?done=removed', 303);
  });

  // The test sign-in runs the provider's real flow; its callback shows what came back and changes nothing.
  // A link (a form's redirect to the provider would break the CSP's form-action 'self'); it changes nothing.
  app.get<{ Params: { id: string } }>('/admin/identity/providers/:id/test', async (request, reply) => {
    const web = signedIn(request);
    const provider = await service.get(web.actor, request.params.id);
    // SAML's test sign-in is the SAML adapter's (it answers this address with its own flow).
    if (provider.kind === 'saml') return reply.redirect(`/admin/identity/providers/${provider.id}/test-saml`, 303);
    try {
      return startAt(reply, request, await ui.vault.oidcSignIn.beginTest(web.actor, provider.id, redirectUri(ui, request)));
    } catch (error) {
      if (error instanceof OidcRefused) return refusedPage(ui, request, reply, error.message, 502);
      throw error;
    }
  });

  const groupsPage = (request: FastifyRequest, reply: FastifyReply, rows: GroupMappingInput[], errors: unknown[] = [], status = 200) =>
    render(ui, request, reply, 'admin-identity-groups.njk', {
      rows: [...rows, ...Array.from({ length: 3 }, () => ({ group: '', roles: [], teams: [], clearance: '' }))],
      allRoles: ROLES, allTeams: ui.vault.serviceAreas, classifications: CLASSIFICATIONS, errors,
    }, status);

  app.get('/admin/identity/groups', async (request, reply) => {
    const web = signedIn(request);
    return groupsPage(request, reply, await service.groupMappings(web.actor, web.organisation.id));
  });

  app.post<{ Body: Form }>('/admin/identity/groups', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const b = request.body;
    const count = Math.min(Number.parseInt(one(b.rows), 10) || 0, 500);
    const rows: GroupMappingInput[] = Array.from({ length: count }, (_, i) => ({
      group: one(b[`group-${i}`]), roles: many(b[`roles-${i}`]), teams: many(b[`teams-${i}`]), clearance: one(b[`clearance-${i}`]) || null,
    }));
    try {
      await service.setGroupMappings(web.actor, web.organisation.id, rows);
      return reply.redirect('/admin/identity?done=groups', 303);
    } catch (error) {
      if (!handled(error)) throw error;
      return groupsPage(request, reply, rows, errorList(error), 400);
    }
  });
};
