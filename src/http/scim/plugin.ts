// SCIM 2.0 (RFC 7643/7644) at /scim/v2 for each organisation's directory (Entra ID's provisioning service):
// a per-organisation bearer token on every request, application/scim+json both ways, SCIM error bodies.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppServices } from '../../services/app-services.js';
import { scimUnauthenticated, type DirectoryActor } from '../../services/scim-tokens.service.js';
import { requestInfo } from '../plugins/authenticate.js';
import { discoveryRoutes } from './discovery.routes.js';
import { SCIM_CONTENT_TYPE, scimErrorFor, sendScimError } from './errors.js';
import { groupsRoutes } from './groups.routes.js';
import { usersRoutes } from './users.routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    directory: DirectoryActor | null;
  }
}

/** The directory the request's token stands for (set by the plugin's onRequest hook before any route runs). */
export function directoryOf(request: FastifyRequest): DirectoryActor {
  if (!request.directory) throw scimUnauthenticated();
  return request.directory;
}

export async function scimRoutes(app: FastifyInstance, vault: AppServices): Promise<void> {
  await app.register(async (scim) => {
    scim.decorateRequest('directory', null);
    // SCIM's own media type carries JSON (RFC 7644 §3.1); plain application/json is accepted as well.
    scim.addContentTypeParser('application/scim+json', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    scim.setErrorHandler((error, request, reply) => sendScimError(reply, scimErrorFor(error, request)));
    scim.setNotFoundHandler((request, reply) => sendScimError(reply, { status: 404, detail: `Nothing at ${request.method} ${request.url.split('?')[0]}: Strongroom serves /scim/v2/Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas.` }));
    scim.addHook('onRequest', async (request) => {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      if (!match) throw scimUnauthenticated();
      request.directory = await vault.scim.tokens.authenticate(match[1]!, requestInfo(request, 'api'));
    });
    scim.addHook('onSend', async (_request, reply, payload) => {
      if (reply.statusCode !== 204 && /^application\/json/.test(String(reply.getHeader('content-type') ?? ''))) reply.type(SCIM_CONTENT_TYPE);
      return payload;
    });
    await scim.register(discoveryRoutes);
    await scim.register(usersRoutes(vault));
    await scim.register(groupsRoutes(vault));
  }, { prefix: '/scim/v2' });
}
