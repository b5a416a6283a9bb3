// REST: subject access requests. The requesting organisation's DPOs open, extend and close them, ask
// partners and download the response package (subject-access.manage); each asked organisation's DPOs
// answer their own part with their own records (subject-access.respond). docs/records.md has the rules.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SUBJECT_ACCESS_OUTCOMES, type SubjectAccessRequest } from '../../domain/records/subject-access.js';
import type { AppServices } from '../../services/app-services.js';
import type { SubjectAccessSummary, SubjectAccessView } from '../../services/subject-access-views.service.js';
import { bearerActor } from '../plugins/authenticate.js';

const idParams = z.object({ id: z.string() });

const presentRequest = (r: SubjectAccessRequest) => ({
  id: r.id, organisationId: r.organisationId, reference: r.reference, subjectName: r.subjectName, subjectDetails: r.subjectDetails,
  receivedOn: r.receivedOn, dueOn: r.dueOn, extendedDueOn: r.extendedDueOn, extensionReason: r.extensionReason,
  status: r.status, outcome: r.outcome, closeNote: r.closeNote, openedBy: r.openedBy, openedAt: r.openedAt, closedBy: r.closedBy, closedAt: r.closedAt,
});

const presentSummary = (s: SubjectAccessSummary) => ({
  ...presentRequest(s.request), requester: s.requester, role: s.role, currentDueOn: s.dueOn, searched: s.searched,
});

const presentView = (v: SubjectAccessView) => ({
  ...presentRequest(v.request), requester: v.requester, role: v.role, currentDueOn: v.dueOn,
  parts: v.parts.map((p) => ({
    organisation: p.organisation, askedAt: p.part.askedAt, holdId: p.part.holdId, searchedAt: p.part.searchedAt, searchedBy: p.part.searchedBy, items: p.items,
  })),
  items: v.items.map((i) => ({
    id: i.item.id, organisationId: i.organisationId, documentId: i.item.documentId, versionId: i.item.versionId, documentName: i.documentName,
    versionNumber: i.versionNumber, size: i.size, exportable: i.exportable, addedBy: i.item.addedBy, addedAt: i.item.addedAt,
  })),
});

export const subjectAccessRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/subject-access', {
    schema: {
      tags: ['subject-access'], summary: 'Open a subject access request your organisation received (DPOs; audited). Due one calendar month after receipt, on a working day',
      body: z.object({
        reference: z.string().nullish().describe('Your case reference (default: one is made up)'),
        subjectName: z.string().describe('Who the request is about'),
        subjectDetails: z.string().nullish().describe('What tells them apart: former names, employee or payroll numbers, addresses'),
        receivedOn: z.string().describe('YYYY-MM-DD: the day the request (with any identification needed) was received'),
        partners: z.array(z.string()).optional().describe('Organisations (slugs or ids) to ask to search their records too: each must share an arrangement in force with yours'),
      }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { partners, ...input } = request.body;
    const opened = await vault.subjectAccess.requests.open(actor, { ...input, partnerOrganisationIds: partners ?? [] });
    return reply.status(201).send(presentView(await vault.subjectAccess.views.get(actor, opened.id)));
  });

  r.get('/subject-access', {
    schema: { tags: ['subject-access'], summary: 'Requests your organisation received, and those partners asked it to search for (DPOs), open first by due date' },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { requests: (await vault.subjectAccess.views.list(actor)).map(presentSummary) };
  });

  r.get('/subject-access/:id', {
    schema: { tags: ['subject-access'], summary: "One request: whole to the requester's DPOs, your own part to an asked organisation's DPOs", params: idParams },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentView(await vault.subjectAccess.views.get(actor, request.params.id));
  });

  r.post('/subject-access/:id/partners', {
    schema: { tags: ['subject-access'], summary: 'Ask more organisations to search their records (each must share an arrangement in force with yours)', params: idParams, body: z.object({ partners: z.array(z.string()) }) },
  }, async (request) => presentView(await vault.subjectAccess.requests.askPartners(await bearerActor(vault.identity, request), request.params.id, request.body.partners)));

  r.post('/subject-access/:id/items', {
    schema: {
      tags: ['subject-access'], summary: "Include your own organisation's documents (their current versions) in your part of the response; each goes under your part's legal hold",
      params: idParams, body: z.object({ documentIds: z.array(z.string()) }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const added = await vault.subjectAccess.answers.addItems(actor, request.params.id, request.body.documentIds);
    return { ...presentView(await vault.subjectAccess.views.get(actor, request.params.id)), added: added.length };
  });

  r.delete('/subject-access/:id/items/:itemId', {
    schema: { tags: ['subject-access'], summary: 'Take a record out of your part of the response (it stays held until the request is closed)', params: z.object({ id: z.string(), itemId: z.string() }) },
  }, async (request, reply) => {
    await vault.subjectAccess.answers.removeItem(await bearerActor(vault.identity, request), request.params.id, request.params.itemId);
    return reply.status(204).send();
  });

  r.post('/subject-access/:id/searched', {
    schema: { tags: ['subject-access'], summary: "Say your organisation's search is finished (searched: false to reopen it)", params: idParams, body: z.object({ searched: z.boolean().default(true) }).optional() },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    await vault.subjectAccess.answers.markSearched(actor, request.params.id, request.body?.searched ?? true);
    return presentView(await vault.subjectAccess.views.get(actor, request.params.id));
  });

  r.post('/subject-access/:id/extend', {
    schema: { tags: ['subject-access'], summary: 'Extend the time to respond by two further months, once (a reason of at least 10 characters)', params: idParams, body: z.object({ reason: z.string() }) },
  }, async (request) => presentRequest(await vault.subjectAccess.requests.extend(await bearerActor(vault.identity, request), request.params.id, request.body.reason)));

  r.post('/subject-access/:id/close', {
    schema: {
      tags: ['subject-access'], summary: 'Close the request with its outcome; every part\'s legal hold is released with it',
      params: idParams, body: z.object({ outcome: z.enum(SUBJECT_ACCESS_OUTCOMES), note: z.string().nullish().describe('Required (10 characters or more) when refused or withdrawn') }),
    },
  }, async (request) => presentRequest(await vault.subjectAccess.requests.close(await bearerActor(vault.identity, request), request.params.id, request.body)));

  r.get('/subject-access/:id/package', {
    schema: { tags: ['subject-access'], summary: 'Download the response package (zip: index.json, index.csv and every record included, withheld ones listed with the reason)', params: idParams },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { filename, stream } = await vault.subjectAccess.package.download(actor, request.params.id);
    return reply.type('application/zip').header('content-disposition', `attachment; filename="${filename}"`).send(stream);
  });
};
