// REST: legal holds and the hold register. Placing, extending and releasing a hold is the owning
// organisation's records managers' and DPOs' (records.hold); reading the register, records.read.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LegalHold } from '../../domain/records/holds.js';
import type { AppServices } from '../../services/app-services.js';
import type { HoldDetail, HoldSummary } from '../../services/holds.service.js';
import { bearerActor } from '../plugins/authenticate.js';

const idParams = z.object({ id: z.string() });

export const presentHold = (h: LegalHold) => ({
  id: h.id, organisationId: h.organisationId, name: h.name, reason: h.reason, reference: h.reference, active: h.releasedAt === null,
  createdBy: h.createdBy, createdAt: h.createdAt, releasedAt: h.releasedAt, releasedBy: h.releasedBy, releaseReason: h.releaseReason,
});

const presentSummary = (s: HoldSummary) => ({ ...presentHold(s.hold), counts: { documents: s.documents, collections: s.collections } });

const presentDetail = (d: HoldDetail) => ({
  ...presentSummary(d),
  items: d.items.map((v) => ({ id: v.item.id, kind: v.kind, documentId: v.item.documentId, collectionId: v.item.collectionId, name: v.name, addedBy: v.item.addedBy, addedAt: v.item.addedAt })),
});

export const holdsRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/holds', {
    schema: {
      tags: ['holds'], summary: "Place a legal hold in your organisation (records managers, DPOs; audited). Add documents and collections with POST /holds/{id}/items",
      description: 'Documents and collections given here are put under the hold in the same transaction, all or nothing: one refused (not found, not your '
        + "organisation's, destroyed) places no hold at all, so no empty hold is left in the register.",
      body: z.object({
        name: z.string().describe('The case, inquiry or request, e.g. "Smith v Council"'), reason: z.string().optional().describe('Why the records must be kept (at least 10 characters)'), reference: z.string().nullish(),
        documentIds: z.array(z.string()).optional().describe('Documents to hold from the start'), collectionIds: z.array(z.string()).optional().describe('Collections to hold from the start'),
      }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { name, reason, reference, documentIds, collectionIds } = request.body;
    const { hold } = await vault.holds.createOver(actor, { name, reason: reason ?? '', reference: reference ?? null }, { ...(documentIds ? { documentIds } : {}), ...(collectionIds ? { collectionIds } : {}) });
    return reply.status(201).send(presentHold(hold));
  });

  r.get('/holds', {
    schema: {
      tags: ['holds'], summary: "The hold register, active holds first (records managers, auditors, DPOs)",
      querystring: z.object({ organisation: z.string().optional().describe('Organisation slug (default: your own)') }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const organisationId = request.query.organisation ? (await vault.organisations.organisationBySlug(request.query.organisation)).id : (actor.organisationId ?? '');
    return { holds: (await vault.holds.list(actor, organisationId)).map(presentSummary) };
  });

  r.get('/holds/:id', { schema: { tags: ['holds'], summary: 'One hold and what it covers (names of what you may see)', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentDetail(await vault.holds.get(actor, request.params.id));
  });

  r.post('/holds/:id/items', {
    schema: {
      tags: ['holds'], summary: "Put your organisation's documents and collections under an active hold (a collection's hold covers everything in it, later additions included)",
      params: idParams, body: z.object({ documentIds: z.array(z.string()).optional(), collectionIds: z.array(z.string()).optional() }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const added = await vault.holds.addItems(actor, request.params.id, request.body);
    return { ...presentDetail(await vault.holds.get(actor, request.params.id)), added: added.length };
  });

  r.post('/holds/:id/release', {
    schema: { tags: ['holds'], summary: 'Release a hold (a reason of at least 10 characters is required; audited)', params: idParams, body: z.object({ reason: z.string().optional() }).optional() },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentHold(await vault.holds.release(actor, request.params.id, request.body?.reason ?? ''));
  });
};
