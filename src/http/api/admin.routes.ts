// REST: your own credentials (API tokens, WebDAV app passwords) and the security admin's quarantine.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CREDENTIAL_SCOPES } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import { bearerActor } from '../plugins/authenticate.js';
import { presentQuarantinedItem } from './presenters.js';

export const adminRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/me', { schema: { tags: ['me'], summary: 'Who you are' } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const user = await vault.identity.userById(actor.userId!);
    return { id: user!.id, email: user!.email, name: user!.name, organisationId: user!.organisationId, roles: user!.roles, teams: user!.teams, clearance: user!.clearance };
  });

  for (const [path, kind] of [['/me/tokens', 'api_token'], ['/me/app-passwords', 'app_password']] as const) {
    r.post(path, {
      schema: {
        tags: ['me'], summary: `Create ${kind === 'api_token' ? 'an API token' : 'a WebDAV app password'} (shown once)`,
        body: z.object({
          name: z.string().max(100),
          scope: z.enum(CREDENTIAL_SCOPES).default('full')
            .describe('`full` (the default): everything you may do. `read`: only what reads (list, read, download, search, read the audit log where you may); anything else is refused, 403 with reason `credential_scope`.'),
        }),
      },
    }, async (request, reply) => {
      const actor = await bearerActor(vault.identity, request);
      const { id, secret } = await vault.credentials.createCredential(actor, actor.userId!, kind, request.body.name, request.body.scope);
      return reply.status(201).send({ id, secret, scope: request.body.scope });
    });
  }

  r.get('/me/credentials', { schema: { tags: ['me'], summary: 'Your API tokens and app passwords, each with its scope (never the secrets)' } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { credentials: await vault.credentials.listCredentials(actor, actor.userId!) };
  });

  r.delete('/me/credentials/:id', { schema: { tags: ['me'], summary: 'Revoke a token or app password', params: z.object({ id: z.string() }) } }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    await vault.credentials.revokeCredential(actor, request.params.id);
    return reply.status(204).send();
  });

  r.get('/quarantine', { schema: { tags: ['quarantine'], summary: 'Quarantined and pending versions of your organisation (security admin)' } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const items = await vault.quarantine.list(actor);
    return { items: items.map(presentQuarantinedItem) };
  });

  r.post('/quarantine/:versionId/release', {
    schema: { tags: ['quarantine'], summary: 'Release a quarantined version (with a written reason)', params: z.object({ versionId: z.string() }), body: z.object({ reason: z.string() }) },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    await vault.quarantine.release(actor, request.params.versionId, request.body.reason);
    return reply.status(204).send();
  });

  r.post('/quarantine/:versionId/destroy', { schema: { tags: ['quarantine'], summary: 'Destroy a quarantined version (crypto-shred)', description: 'When it was the document\'s current version, the document goes back to its latest readable (clean or released) version; '
      + 'with none left, the document is destroyed with it and every version it has is shredded, its blobs queued for deletion.', params: z.object({ versionId: z.string() }) } }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    await vault.quarantine.destroy(actor, request.params.versionId);
    return reply.status(204).send();
  });
};
