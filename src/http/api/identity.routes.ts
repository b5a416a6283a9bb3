// REST: an organisation's identity providers (read-only: adding one takes a client secret and a test
// sign-in in a browser, so that is the admin page's and the CLI's) and its directory group mapping,
// which directory automation may keep in step. Org admins of that organisation only.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppServices } from '../../services/app-services.js';
import { bearerActor } from '../plugins/authenticate.js';

const slug = z.object({ slug: z.string().min(1).max(100) });
const mappingRow = z.object({
  group: z.string().describe('The group id or name exactly as the provider sends it (Entra ID: the object id)'),
  roles: z.array(z.string()).default([]),
  teams: z.array(z.string()).default([]),
  clearance: z.string().nullable().default(null),
});

export const identityRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/organisations/:slug/identity-providers', {
    schema: { tags: ['identity'], summary: 'The organisation\'s identity providers (OpenID Connect and SAML), never the client secret (org admin)', params: slug },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const org = await vault.organisations.organisationBySlug(request.params.slug);
    const providers = await vault.identityProviders.list(actor, org.id);
    return { providers: providers.map(({ organisationId: _o, ...p }) => p) };
  });

  r.get('/organisations/:slug/group-mappings', {
    schema: { tags: ['identity'], summary: 'The organisation\'s directory group → roles, teams and clearance mapping (org admin)', params: slug },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const org = await vault.organisations.organisationBySlug(request.params.slug);
    return { mappings: (await vault.identityProviders.groupMappings(actor, org.id)).map(({ organisationId: _o, ...m }) => m) };
  });

  r.put('/organisations/:slug/group-mappings', {
    schema: { tags: ['identity'], summary: 'Replace the organisation\'s whole group mapping (org admin; audited)', params: slug, body: z.object({ mappings: z.array(mappingRow).max(500) }) },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const org = await vault.organisations.organisationBySlug(request.params.slug);
    const saved = await vault.identityProviders.setGroupMappings(actor, org.id, request.body.mappings);
    return { mappings: saved.map(({ organisationId: _o, ...m }) => m) };
  });
};
