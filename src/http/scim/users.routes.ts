// /scim/v2/Users: the directory's people, as Entra ID's provisioning service reads and writes them.
import type { FastifyPluginAsync } from 'fastify';
import { parseScimFilter } from '../../domain/identity/scim-filter.js';
import { userPatch } from '../../domain/identity/scim-patch.js';
import { userResource } from '../../domain/identity/scim-resources.js';
import type { AppServices } from '../../services/app-services.js';
import { directoryOf } from './plugin.js';
import { listResponse, pageOf, presentUser, scimBase, single } from './presenters.js';

type Query = Record<string, string | string[] | undefined>;

export const usersRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const users = vault.scim.users;

  app.get<{ Querystring: Query }>('/Users', async (request) => {
    const given = single(request.query, 'filter');
    const filter = given === undefined ? null : parseScimFilter('User', given);
    const page = await users.list(directoryOf(request), filter, pageOf(request.query));
    return listResponse(page, (view) => presentUser(view, scimBase(request)));
  });

  app.post('/Users', async (request, reply) => {
    const view = await users.create(directoryOf(request), userResource(request.body));
    const body = presentUser(view, scimBase(request));
    return reply.status(201).header('Location', body.meta.location).send(body);
  });

  app.get<{ Params: { id: string } }>('/Users/:id', async (request) => presentUser(await users.get(directoryOf(request), request.params.id), scimBase(request)));

  app.put<{ Params: { id: string } }>('/Users/:id', async (request) => {
    // Read the body only after the person is known to be the directory's: a refusal looks like absence.
    const actor = directoryOf(request);
    await users.get(actor, request.params.id);
    return presentUser(await users.replace(actor, request.params.id, userResource(request.body)), scimBase(request));
  });

  app.patch<{ Params: { id: string } }>('/Users/:id', async (request) => {
    const actor = directoryOf(request);
    await users.get(actor, request.params.id);
    return presentUser(await users.patch(actor, request.params.id, userPatch(request.body)), scimBase(request));
  });

  app.delete<{ Params: { id: string } }>('/Users/:id', async (request, reply) => {
    await users.remove(directoryOf(request), request.params.id);
    return reply.status(204).send();
  });
};
