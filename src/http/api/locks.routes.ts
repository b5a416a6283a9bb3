// REST: write locks. Locks are taken over WebDAV; here people see who holds one, holders release
// theirs, and the owning organisation's admins list and break them (decided by decide(), audited).
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppServices } from '../../services/app-services.js';
import type { LockListing } from '../../services/locks.service.js';
import { bearerActor } from '../plugins/authenticate.js';

const presentLock = ({ lock, holder, resourceName, path }: LockListing) => ({
  token: lock.token, organisationId: lock.organisationId, documentId: lock.documentId, collectionId: lock.collectionId, resourceName,
  depth: lock.depth, scope: lock.scope, holder, path, createdAt: lock.createdAt, expiresAt: lock.expiresAt,
});

export const locksRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const idParams = z.object({ id: z.string() });

  r.get('/locks', { schema: { tags: ['locks'], summary: "Every live lock on your organisation's documents and collections (org admins, security admins)" } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { locks: (await vault.locks.listForOrganisation(actor, actor.organisationId ?? '')).map(presentLock) };
  });

  r.get('/documents/:id/locks', { schema: { tags: ['locks'], summary: 'Locks that apply to a document', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { locks: (await vault.locks.listOn(actor, { documentId: request.params.id })).map(presentLock) };
  });

  r.get('/collections/:id/locks', { schema: { tags: ['locks'], summary: 'Locks that apply to a collection', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { locks: (await vault.locks.listOn(actor, { collectionId: request.params.id })).map(presentLock) };
  });

  r.delete('/locks/:token', {
    schema: { tags: ['locks'], summary: "Release your lock, or break one on your organisation's resources (org admins, security admins; audited)", params: z.object({ token: z.string() }) },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    await vault.locks.release(actor, request.params.token);
    return reply.status(204).send();
  });
};
