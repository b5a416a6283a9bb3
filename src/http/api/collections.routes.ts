// REST: collections (the file plan).
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppServices } from '../../services/app-services.js';
import { bearerActor } from '../plugins/authenticate.js';
import { streamedBody } from '../../protocol/streamed-body.js';
import { NAME_TAKEN_409, presentCollection, presentDocument } from './presenters.js';

/** Documents read, decided and written at a time in a listing. */
const LISTING_PAGE = 500;

export const collectionsRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/collections', {
    schema: {
      tags: ['collections'], summary: 'Create a collection',
      description: `A series given is written in the same transaction: the collection is created filed under it, or not at all. ${NAME_TAKEN_409}`,
      body: z.object({
        name: z.string(), parentId: z.uuid().nullish(), serviceArea: z.string(),
        classification: z.enum(['OFFICIAL', 'OFFICIAL-SENSITIVE']),
        series: z.string().max(60).nullish().describe('A record series code of the organisation\'s file plan (records managers, org admins); everything filed here inherits it'),
      }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { series, ...input } = request.body;
    // The series is decided (and the right to file) before anything is created, so a bad one changes nothing, and
    // written in the creating transaction, decided again there: the folder is created filed, or not at all.
    // Whose file plan: the parent's organisation, only when the actor may see the parent (else the create
    // below answers the parent's own 404, and no other answer tells that a collection of that id exists).
    const parent = input.parentId ? (await vault.collections.trail(actor, input.parentId)).steps.at(-1) ?? null : null;
    const organisationId = parent?.organisationId ?? actor.organisationId!;
    const filing = series ? await vault.retention.stageNewCollectionSeries(actor, organisationId, series) : undefined;
    const collection = await vault.collectionCreation.create(actor, { ...input, organisationId: actor.organisationId! }, filing ? { filing } : {});
    return reply.status(201).send({ ...presentCollection(collection), series: series ?? null });
  });

  r.get('/collections', {
    schema: { tags: ['collections'], summary: 'Top-level collections of an organisation you can see', querystring: z.object({ organisation: z.string().optional() }) },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const organisationId = request.query.organisation ? (await vault.organisations.organisationBySlug(request.query.organisation)).id : actor.organisationId!;
    return { collections: (await vault.collections.roots(actor, organisationId)).map(presentCollection) };
  });

  r.patch('/collections/:id', {
    schema: {
      tags: ['collections'], summary: 'Rename a collection or move it under another parent (null: the top level) in its organisation',
      description: 'Everything below it (sub-collections and documents) takes the arrangement binding, service area and classification floor of the new place, in one transaction. '
        + `A series given with a rename or move is written in the same transaction: if either is refused, neither is done. ${NAME_TAKEN_409}`,
      params: z.object({ id: z.string() }),
      body: z.object({
        name: z.string().optional(), parentId: z.string().nullable().optional(),
        series: z.string().max(60).nullable().optional().describe('File it under this record series (null: inherit from above); records managers and org admins'),
        confirmShorter: z.boolean().optional().describe('Confirms a series change, or a move under a parent filed under a shorter series, that brings due dates earlier '
          + '(otherwise 409); a move is confirmed by records managers only (otherwise 403)'),
      }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const body = request.body;
    if (body.name === undefined && body.parentId === undefined && body.series !== undefined) {
      await vault.retention.setCollectionSeries(actor, request.params.id, body.series, { confirmShorter: body.confirmShorter === true });
      return { ...presentCollection((await vault.collections.open(actor, request.params.id)).collection), series: body.series };
    }
    // A series with a rename or move is decided now and written in the move's transaction: all or nothing.
    const refile = body.series !== undefined ? await vault.retention.stageCollectionSeries(actor, request.params.id, body.series) : undefined;
    return presentCollection(await vault.collectionMoves.move(actor, request.params.id, {
      ...(body.name !== undefined ? { name: body.name } : {}), ...(body.parentId !== undefined ? { parentId: body.parentId } : {}),
      ...(body.confirmShorter === true ? { confirmShorter: true } : {}), ...(refile ? { refile } : {}),
    }));
  });

  r.get('/collections/:id', {
    schema: {
      tags: ['collections'],
      summary: 'A collection with its child collections and documents (in name order, at most 10,000; page on with documentsAfter)', params: z.object({ id: z.string() }),
      description: 'Documents are listed in order of name, then id (binned documents, listed with includeDeleted, may share a name). '
        + 'An answer holds at most 10,000 documents, counting only those you may read: fewer means there are no more. '
        + 'With 10,000, ask for the next page with documentsAfter set to the last document\'s name and documentsAfterId to its id '
        + '(the id is what continues a listing with includeDeleted where binned documents share that name; without it, every document of that name is passed over).',
      querystring: z.object({
        // Not z.coerce.boolean: it reads any non-empty string, "false" too, as true.
        includeDeleted: z.enum(['true', 'false']).optional().describe('true: list binned (deleted) documents too'),
        documentsAfter: z.string().optional().describe('Only documents whose name sorts after this one: the last name of the previous page'),
        documentsAfterId: z.uuid().optional().describe('With documentsAfter: also documents of that name whose id sorts after this one (the last id of the previous page)'),
      }).refine((q) => q.documentsAfterId === undefined || q.documentsAfter !== undefined, { message: 'documentsAfterId needs documentsAfter', path: ['documentsAfterId'] }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { includeDeleted, documentsAfter, documentsAfterId } = request.query;
    const options = {
      ...(includeDeleted === 'true' ? { includeDeleted: true } : {}), ...(documentsAfter !== undefined ? { documentsAfter } : {}),
      ...(documentsAfterId !== undefined ? { documentsAfterId } : {}),
    };
    // The same JSON as the whole object would give, written a page of documents at a time, so a large
    // folder's listing is never all held at once (docs/performance.md, 6 December, evening).
    const listing = await vault.collections.listInPages(actor, request.params.id, LISTING_PAGE, options);
    const head = JSON.stringify({ ...presentCollection(listing.collection), children: listing.children.map(presentCollection) });
    async function* parts(): AsyncGenerator<string> {
      let out = `${head.slice(0, -1)},"documents":[`;
      let separator = '';
      for await (const page of listing.documentPages) {
        for (const d of page) {
          out += separator + JSON.stringify(presentDocument(d));
          separator = ',';
        }
        yield out;
        out = '';
      }
      yield `${out}]}`;
    }
    return reply.type('application/json; charset=utf-8').send(await streamedBody(parts(), () => vault.durable()));
  });
};
