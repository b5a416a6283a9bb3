// REST: full-text search over what the caller may read, and a document's first-page thumbnail. The
// service parses the query, applies the readable scope inside the index's query and audits the search.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../domain/errors.js';
import { STORED_CONTENT_CSP } from '../../protocol/content-headers.js';
import { DOCUMENT_TYPES, SEARCH_COUNT_CAP } from '../../domain/search/types.js';
import { CLASSIFICATIONS } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import { SEARCH_MAX_PAGE } from '../../services/search.service.js';
import { bearerActor } from '../plugins/authenticate.js';

const facet = z.object({ value: z.string(), count: z.number().int(), label: z.string().optional() });

const searchQuery = z.object({
  q: z.string().max(10_000).describe('Words, "a phrase", prefix*, -exclusion, OR (see docs/search.md)'),
  organisation: z.string().optional().describe('Organisation id'),
  collection: z.string().optional().describe('Collection id'),
  serviceArea: z.string().optional(),
  classification: z.string().optional().describe(CLASSIFICATIONS.join(' | ')),
  type: z.string().optional().describe(DOCUMENT_TYPES.join(' | ')),
  from: z.string().optional().describe('Last changed on or after (YYYY-MM-DD, UK date)'),
  to: z.string().optional().describe('Last changed on or before (YYYY-MM-DD, UK date)'),
  sort: z.string().optional().describe('relevance (default) | date'),
  page: z.string().optional().describe(`1 to ${SEARCH_MAX_PAGE}; 20 results a page`),
});

export const searchResponseSchema = z.object({
  q: z.string(),
  total: z.number().int().describe(`Matching documents you may read, counted exactly up to ${SEARCH_COUNT_CAP}; when more match, ${SEARCH_COUNT_CAP} with totalIsLowerBound true`),
  totalIsLowerBound: z.boolean().describe(`true: more than total documents match (total is the count cap, ${SEARCH_COUNT_CAP}); the facets then count the ${SEARCH_COUNT_CAP} most recently changed matches`),
  page: z.number().int(), pageSize: z.number().int(),
  hits: z.array(z.object({
    documentId: z.string(), versionId: z.string(), name: z.string(),
    organisation: z.object({ id: z.string(), name: z.string() }),
    collection: z.object({ id: z.string(), name: z.string().nullable().describe('null where you may not open the folder (you may still read the document in it)') }),
    snippet: z.object({ text: z.string(), highlights: z.array(z.tuple([z.number().int(), z.number().int()])) }).nullable(),
    page: z.number().int().nullable(), score: z.number(), updatedAt: z.string(), type: z.enum(DOCUMENT_TYPES), thumbnail: z.boolean(),
  })),
  facets: z.object({
    organisation: z.array(facet), collection: z.array(facet), serviceArea: z.array(facet),
    classification: z.array(facet), type: z.array(facet), year: z.array(facet),
  }),
});

export const searchRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/search', {
    schema: {
      tags: ['search'], summary: 'Full-text search over the documents you may read (audited; the query itself is never stored)',
      querystring: searchQuery, response: { 200: searchResponseSchema },
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const p = request.query;
    const page = p.page === undefined || p.page === '' ? 1 : /^\d{1,4}$/.test(p.page) ? Number(p.page) : Number.NaN;
    const empty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
    const filters = Object.fromEntries(Object.entries({
      organisationId: empty(p.organisation), collectionId: empty(p.collection), serviceArea: empty(p.serviceArea),
      classification: empty(p.classification), type: empty(p.type), from: empty(p.from), to: empty(p.to),
    }).filter(([, v]) => v !== undefined));
    const sort = p.sort === undefined || p.sort === '' ? 'relevance' : p.sort;
    // The service validates every filter's value (400 with the field named); the casts only carry strings to it.
    return vault.search.search(actor, { q: p.q, filters: filters as never, sort: sort as 'relevance', page }, 'api');
  });

  r.get('/documents/:id/thumbnail', {
    schema: { tags: ['documents'], summary: 'The first page as a small PNG (PDFs and images); 404 when there is none. Decided like a download', params: z.object({ id: z.string() }) },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const image = await vault.search.thumbnail(actor, request.params.id);
    if (image === null) throw notFound('thumbnail');
    return reply.type('image/png').header('Cache-Control', 'private, no-store').header('Content-Security-Policy', STORED_CONTENT_CSP).send(image);
  });
};
