// REST: the file plan (record series, versioned; a change that moves due dates lists them first) and
// retention events (recorded, cleared, and listed as they reach a collection or a document). Records are
// always the caller's own organisation's (or the one named by slug, or owning the collection or document
// asked about, which answers 404 to anyone but its own records people).
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RetentionEvent } from '../../domain/records/events.js';
import type { RecordSeries } from '../../domain/records/series.js';
import type { Actor } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import type { RetentionEventListing } from '../../services/retention-events.service.js';
import type { SeriesChange } from '../../services/retention.service.js';
import { bearerActor } from '../plugins/authenticate.js';

const organisationQuery = z.object({ organisation: z.string().optional().describe('Organisation slug (default: your own)') });
const codeParams = z.object({ code: z.string().max(60) });

const seriesTerms = {
  title: z.string().max(1000),
  serviceArea: z.string().max(100),
  trigger: z.string().max(100).describe('created, financial_year_end, employment_end, contract_end, product_end, process_complete, or an event the series names (lower_case)'),
  retainYears: z.number().int().describe('Whole years after the trigger date, 0 to 150'),
  action: z.string().max(40).describe('destroy, review or transfer'),
  authority: z.string().max(2000).describe('The statute or guidance the rule rests on'),
};

export const presentSeries = (s: RecordSeries) => ({
  code: s.code, title: s.title, serviceArea: s.serviceArea, trigger: s.trigger, retainYears: s.retainYears, action: s.action,
  authority: s.authority, revision: s.revision, createdAt: s.createdAt, updatedAt: s.updatedAt,
});

export const presentEvent = (e: RetentionEvent) => ({
  id: e.id, kind: e.kind, date: e.date, documentId: e.documentId, collectionId: e.collectionId, recordedBy: e.recordedBy, recordedAt: e.recordedAt,
  clearedAt: e.clearedAt, clearedBy: e.clearedBy,
});

const presentListing = (l: RetentionEventListing) => ({
  series: l.series ? { code: l.series.code, trigger: l.series.trigger } : null,
  events: l.events.map((e) => ({ ...presentEvent(e), recordedByEmail: e.recordedByEmail, inherited: e.inherited, inForce: e.inForce })),
});

const listingDescription = 'Each uncleared event recorded for it or for a collection above it, nearest first (the latest recorded first within one place): '
  + '`inherited` when recorded for a collection above (for a document: for any collection), `inForce` for the one whose date the due date counts from '
  + 'under `series` (for a collection: for a document directly in it with no event of its own). Its records managers, auditors and DPOs only: '
  + 'anyone else, another organisation\'s records manager or a partner\'s staff under an arrangement, gets 404 as for an unknown id.';

const presentChange = (c: SeriesChange) => ({ series: presentSeries(c.series), moved: c.moved, earlier: c.earlier, later: c.later });

export const recordsRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const organisationOf = async (actor: Actor, slug: string | undefined) => (slug ? (await vault.organisations.organisationBySlug(slug)).id : actor.organisationId ?? '');

  r.get('/series', {
    schema: { tags: ['records'], summary: 'The file plan: every record series (records managers, auditors, DPOs)', querystring: organisationQuery },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { series: (await vault.retention.listSeries(actor, await organisationOf(actor, request.query.organisation))).map(presentSeries) };
  });

  r.get('/series/:code', {
    schema: { tags: ['records'], summary: 'A record series and its revisions (each with its reason)', params: codeParams, querystring: organisationQuery },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const { series, revisions } = await vault.retention.series(actor, await organisationOf(actor, request.query.organisation), request.params.code);
    return { ...presentSeries(series), revisions: revisions.map((rev) => ({ ...rev, snapshot: presentSeries(rev.snapshot) })) };
  });

  r.post('/series', {
    schema: {
      tags: ['records'], summary: 'Add a record series to the file plan (records manager)', querystring: organisationQuery,
      body: z.object({ code: z.string().max(60), ...seriesTerms, reason: z.string().max(2000).optional() }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { reason, ...terms } = request.body;
    const series = await vault.retention.createSeries(actor, await organisationOf(actor, request.query.organisation), terms as Parameters<typeof vault.retention.createSeries>[2], reason);
    return reply.status(201).send(presentSeries(series));
  });

  r.patch('/series/:code', {
    schema: {
      tags: ['records'], summary: 'Change a record series (records manager): a new revision, with the reason',
      description: 'The answer lists the documents whose due date moves (`moved`: id, name when you may read it, old and new due date, earlier or later). '
        + 'With `dryRun: true` nothing changes: the answer is what would move. A change that brings any due date earlier is refused (409) unless `confirmShorter: true`.',
      params: codeParams, querystring: organisationQuery,
      body: z.object({
        title: seriesTerms.title.optional(), serviceArea: seriesTerms.serviceArea.optional(), trigger: seriesTerms.trigger.optional(),
        retainYears: seriesTerms.retainYears.optional(), action: seriesTerms.action.optional(), authority: seriesTerms.authority.optional(),
        reason: z.string().max(2000).optional(), confirmShorter: z.boolean().optional(), dryRun: z.boolean().optional(),
      }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const organisationId = await organisationOf(actor, request.query.organisation);
    const { reason, confirmShorter, dryRun, ...patch } = request.body;
    const typed = patch as Parameters<typeof vault.retention.updateSeries>[3];
    if (dryRun) return presentChange(await vault.retention.previewSeriesChange(actor, organisationId, request.params.code, typed));
    return presentChange(await vault.retention.updateSeries(actor, organisationId, request.params.code, typed, {
      ...(reason !== undefined ? { reason } : {}), ...(confirmShorter !== undefined ? { confirmShorter } : {}),
    }));
  });

  r.post('/retention-events', {
    schema: {
      tags: ['records'], summary: 'Record a trigger event (records manager) for documents or a whole collection',
      description: 'The kind must be the trigger of the series that applies (for a collection: of its series or one used below it); the date a real, past date (YYYY-MM-DD). '
        + 'An event recorded for a collection reaches every document in and below it, documents filed later included, until it is cleared. '
        + 'An event that brings any document\'s due date earlier (a date earlier than the one it replaces) is refused (409, saying how many and the earliest new date) unless `confirmShorter: true`.',
      body: z.object({
        kind: z.string().max(100), date: z.string().max(40), documentIds: z.array(z.string().max(100)).max(1000).optional(), collectionId: z.string().max(100).optional(),
        confirmShorter: z.boolean().optional(),
      }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { kind, date, documentIds, collectionId, confirmShorter } = request.body;
    const events = await vault.retentionEvents.recordEvent(actor, { kind, date, ...(documentIds ? { documentIds } : {}), ...(collectionId !== undefined ? { collectionId } : {}) }, { confirmShorter: confirmShorter === true });
    return reply.status(201).send({ events: events.map(presentEvent) });
  });

  r.get('/collections/:id/retention-events', {
    schema: { tags: ['records'], summary: 'Trigger events that reach a collection: its own and those inherited from above (records managers, auditors, DPOs)', description: listingDescription, params: z.object({ id: z.string().max(100) }) },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentListing(await vault.retentionEvents.listEvents(actor, { collectionId: request.params.id }));
  });

  r.get('/documents/:id/retention-events', {
    schema: { tags: ['records'], summary: 'Trigger events that reach a document: its own and those of its collections (records managers, auditors, DPOs)', description: listingDescription, params: z.object({ id: z.string().max(100) }) },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentListing(await vault.retentionEvents.listEvents(actor, { documentId: request.params.id }));
  });

  r.delete('/retention-events/:id', {
    schema: {
      tags: ['records'], summary: 'Clear a recorded event (records manager): what it reached awaits an event again, or falls back to another recorded one',
      description: 'Clearing that brings any document\'s due date earlier (it falls back to an earlier event, or to its creation date) is refused (409) unless `?confirmShorter=true`.',
      params: z.object({ id: z.string().max(100) }), querystring: z.object({ confirmShorter: z.enum(['true', 'false']).optional() }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentEvent(await vault.retentionEvents.clearEvent(actor, request.params.id, { confirmShorter: request.query.confirmShorter === 'true' }));
  });
};
