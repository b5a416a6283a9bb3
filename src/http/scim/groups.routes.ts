// /scim/v2/Groups: the directory's groups and their members; membership sets provisioned people's access.
import type { FastifyPluginAsync } from 'fastify';
import { parseScimFilter } from '../../domain/identity/scim-filter.js';
import { groupPatch } from '../../domain/identity/scim-patch.js';
import { groupResource } from '../../domain/identity/scim-resources.js';
import type { AppServices } from '../../services/app-services.js';
import { directoryOf } from './plugin.js';
import { listResponse, membersExcluded, pageOf, presentGroup, scimBase, single } from './presenters.js';

type Query = Record<string, string | string[] | undefined>;

export const groupsRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const groups = vault.scim.groups;

  app.get<{ Querystring: Query }>('/Groups', async (request) => {
    const given = single(request.query, 'filter');
    const filter = given === undefined ? null : parseScimFilter('Group', given);
    const page = await groups.list(directoryOf(request), filter, pageOf(request.query), !membersExcluded(request.query));
    return listResponse(page, (view) => presentGroup(view, scimBase(request)));
  });

  app.post('/Groups', async (request, reply) => {
    const view = await groups.create(directoryOf(request), groupResource(request.body));
    const body = presentGroup(view, scimBase(request));
    return reply.status(201).header('Location', body.meta.location).send(body);
  });

  app.get<{ Params: { id: string }; Querystring: Query }>('/Groups/:id', async (request) =>
    presentGroup(await groups.get(directoryOf(request), request.params.id, !membersExcluded(request.query)), scimBase(request)));

  app.put<{ Params: { id: string } }>('/Groups/:id', async (request) => {
    const actor = directoryOf(request);
    await groups.get(actor, request.params.id, false);
    return presentGroup(await groups.replace(actor, request.params.id, groupResource(request.body)), scimBase(request));
  });

  // Entra ID expects 204 to a group PATCH (or 200 with the group); 204 saves listing every member back.
  app.patch<{ Params: { id: string } }>('/Groups/:id', async (request, reply) => {
    const actor = directoryOf(request);
    await groups.get(actor, request.params.id, false);
    await groups.patch(actor, request.params.id, groupPatch(request.body));
    return reply.status(204).send();
  });

  app.delete<{ Params: { id: string } }>('/Groups/:id', async (request, reply) => {
    await groups.remove(directoryOf(request), request.params.id);
    return reply.status(204).send();
  });
};
