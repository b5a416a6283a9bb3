// REST: audit events for auditors and DPOs, and the signed checkpoints anyone holding them can check.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppServices } from '../../services/app-services.js';
import { bearerActor } from '../plugins/authenticate.js';

export const auditRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/audit/events', {
    schema: {
      tags: ['audit'], summary: 'Search audit events of your organisation (auditor, dpo)',
      querystring: z.object({
        actor: z.string().optional(), document: z.string().optional(), action: z.string().optional(),
        from: z.string().optional().describe('Events from this instant on: a date (YYYY-MM-DD, from the start of that UK day) or a date and time with its offset'),
        to: z.string().optional().describe('Events before this instant, given as from is: to=2026-12-08 ends with the last event of 7 December, UK time'), after: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(), limit: z.coerce.number().int().min(1).max(1000).optional(),
      }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const q = request.query;
    const limit = q.limit ?? 100;
    const events = await vault.audit.queries.search(actor, {
      limit, ...(q.actor ? { actorUserId: q.actor } : {}), ...(q.document ? { documentId: q.document } : {}), ...(q.action ? { action: q.action } : {}),
      ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}), ...(q.after !== undefined ? { afterSeq: q.after } : {}),
    });
    const last = events.at(-1);
    if (events.length < limit || !last) return { events, next: null };
    // The next page of the same search: every filter kept, so following `next` never widens it.
    const next = new URLSearchParams();
    for (const key of ['actor', 'document', 'action', 'from', 'to'] as const) if (q[key]) next.set(key, q[key]);
    next.set('after', String(last.seq));
    next.set('limit', String(limit));
    return { events, next: `/api/v1/audit/events?${next.toString()}` };
  });

  r.get('/audit/checkpoints/latest', { schema: { tags: ['audit'], summary: 'The newest signed checkpoint (C2SP signed note)' } }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const latest = await vault.audit.queries.latestCheckpoint(actor);
    if (request.headers.accept?.includes('text/plain')) return reply.type('text/plain; charset=utf-8').send(latest.note);
    return latest;
  });

  r.get('/audit/checkpoints', {
    schema: { tags: ['audit'], summary: 'Every checkpoint after a tree size (to keep the history)', querystring: z.object({ after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }) },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { checkpoints: await vault.audit.queries.checkpointsSince(actor, request.query.after ?? 0) };
  });
};
