// REST: disposal review. A records manager runs a sweep (or the daily job does), decides each item of
// a batch (destroy, extend with a date and reason, or transfer), downloads the transfer package, and
// approves; a job then carries the batch out. Only the owning organisation's records manager decides.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppServices } from '../../services/app-services.js';
import type { BatchView } from '../../services/disposal.service.js';
import type { BatchCounts, DisposalBatch } from '../../domain/records/disposal.js';
import { bearerActor } from '../plugins/authenticate.js';

const presentBatch = (batch: DisposalBatch, counts: BatchCounts) => ({ ...batch, counts });

export const presentBatchView = (view: BatchView) => ({
  ...presentBatch(view.batch, view.counts),
  items: view.items.map((i) => ({
    documentId: i.documentId, name: i.name, seriesCode: i.seriesCode, trigger: i.trigger, triggerDate: i.triggerDate, dueAt: i.dueAt, action: i.action,
    excludedBy: i.excludedBy, decision: i.decision, decidedBy: i.decidedBy, decidedAt: i.decidedAt, extendTo: i.extendTo, reason: i.reason,
    outcome: i.outcome, executedAt: i.executedAt,
  })),
});

const idParams = z.object({ id: z.string() });

export const disposalRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/disposal/batches', {
    schema: {
      tags: ['disposal'], summary: 'Run a disposal sweep of your organisation now (records managers)',
      description: 'Proposes a batch of the records due on or before `dueBy` (today, UK, by default; a later date is refused with 400) that are in no open batch; held records are '
        + 'listed as excluded, naming their holds. 201 with the batch; 200 with `{"batch": null}` when nothing new is due (no batch is created, nobody is notified).',
      body: z.object({ dueBy: z.string().optional() }).optional(),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const view = await vault.disposal.sweep(actor, actor.organisationId ?? '', request.body?.dueBy);
    return view ? reply.status(201).send(presentBatchView(view)) : reply.status(200).send({ batch: null });
  });

  r.post('/disposal/early', {
    schema: {
      tags: ['disposal'], summary: 'Propose documents in the bin for destruction before their retention ends (records managers of the owning organisation)',
      description: 'Creates a disposal batch of kind `early` for the named documents, each of which must be in the bin (deleted, not yet purged), with the reason (required; '
        + 'its audit events hold only its SHA-256). The batch is then decided (destroy only), approved and carried out like any other, and its certificate of destruction says '
        + 'its records were destroyed before their retention ended, with the reason\'s hash. 201 with the batch. 404 (audited) for anyone but a records manager of the '
        + 'organisation that owns the documents; 409 for a document not in the bin, or already in an open batch; 409 naming the hold for a held one; 400 without a reason.',
      body: z.object({ documentIds: z.array(z.string()).min(1).max(1000), reason: z.string().max(2000) }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    return reply.status(201).send(presentBatchView(await vault.disposal.proposeEarly(actor, request.body.documentIds, request.body.reason)));
  });

  r.get('/disposal/batches', { schema: { tags: ['disposal'], summary: "Your organisation's disposal batches, newest first, with their counts" } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { batches: (await vault.disposal.list(actor, actor.organisationId ?? '')).map((b) => presentBatch(b.batch, b.counts)) };
  });

  r.get('/disposal/batches/:id', { schema: { tags: ['disposal'], summary: 'A disposal batch with its items (names only of records you may read)', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentBatchView(await vault.disposal.get(actor, request.params.id));
  });

  r.post('/disposal/batches/:id/decisions', {
    schema: {
      tags: ['disposal'], summary: 'Decide items of a batch under review: destroy, extend (new due date and reason) or transfer',
      description: 'All or nothing. Held (excluded) items may only be extended. 409 once the batch is approved.',
      params: idParams,
      body: z.object({
        items: z.array(z.object({
          documentId: z.string(), decision: z.enum(['destroy', 'extend', 'transfer']), extendTo: z.string().optional(), reason: z.string().max(2000).optional(),
        })).max(10_000),
      }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const items = request.body.items.map((i) => ({
      documentId: i.documentId, decision: i.decision, ...(i.extendTo === undefined ? {} : { extendTo: i.extendTo }), ...(i.reason === undefined ? {} : { reason: i.reason }),
    }));
    return presentBatchView(await vault.disposal.decide(actor, request.params.id, items));
  });

  r.post('/disposal/batches/:id/approve', {
    schema: {
      tags: ['disposal'], summary: 'Approve a batch whose items are all decided; a job then carries it out',
      description: 'Extensions take effect now. A batch with transfer items needs its transfer package downloaded after the last decision. '
        + 'A batch of kind `early` is approved by another records manager than the one who proposed it: the proposer is refused with 403 '
        + '("You proposed this early destruction, so another records manager must approve it.", audited as a `disposal.approve` denial, '
        + '`same_person_as_proposer`), and everyone with 500 while the audit log vouches for no proposer. '
        + 'A due batch (the sweep\'s) is approved by a records manager who brought forward none of its records\' due dates (shortened their series, '
        + 'refiled or moved them under a shorter period, recorded or cleared a trigger event that made them due sooner): one who did is refused with 403 '
        + '("You brought forward when some of these records fall due, so another records manager must approve their destruction.", audited '
        + '`brought_due_date_forward`), and everyone with 500 while the audit log cannot vouch for who did.',
      params: idParams,
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentBatchView(await vault.disposal.approve(actor, request.params.id));
  });

  r.get('/disposal/batches/:id/transfer', {
    schema: { tags: ['disposal'], summary: 'Download the transfer package (zip: a folder per transfer item with its metadata.json and its current version under content/)', params: idParams },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { filename, stream } = await vault.disposal.transfer(actor, request.params.id);
    return reply.type('application/zip').header('content-disposition', `attachment; filename="${filename}"`).send(stream);
  });
};
