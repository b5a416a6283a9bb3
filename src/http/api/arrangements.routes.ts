// REST: the register of shared-service arrangements, their lifecycle, and the savings report.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppServices } from '../../services/app-services.js';
import { reportCsv } from '../../services/report-csv.js';
import { bearerActor } from '../plugins/authenticate.js';
import { presentCollection } from './presenters.js';

const idParams = z.object({ id: z.string() });

const terms = z.object({
  partners: z.array(z.string()).min(1).describe('Partner organisation slugs'),
  serviceArea: z.string(),
  purpose: z.string(),
  lawfulBasis: z.string(),
  agreementReference: z.string().nullish(),
  accessLevel: z.enum(['read', 'contribute', 'manage']),
  ceiling: z.enum(['OFFICIAL', 'OFFICIAL-SENSITIVE']),
  startsAt: z.string().optional().describe('When access begins: a date (YYYY-MM-DD), meaning the start of that day in the UK, or a date and time with its offset (2027-04-01T09:00:00Z). Default: now.'),
  endsAt: z.string().nullish().describe('When access stops, given as startsAt is: an end date of 2028-04-01 opens nothing from the start of 1 April 2028, UK time. None: no end date.'),
  annualSavingPounds: z.number().nonnegative().optional(),
});

const acceptance = z.object({
  revision: z.number().int().positive().describe('The revision whose terms you reviewed (`revision` of GET /arrangements/{id})'),
});

export const arrangementsRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const slugsToIds = async (slugs: string[]) => Promise.all(slugs.map(async (s) => (await vault.organisations.organisationBySlug(s)).id));

  r.get('/arrangements', {
    schema: {
      tags: ['arrangements'], summary: 'The register of arrangements',
      description: 'Each arrangement carries `status`, its lifecycle (draft, active, suspended, ended), and `standing`, what it means now: '
        + 'an active arrangement is `scheduled` before its start, `in-force` until its end date and `expired` after it. Filter by either.',
      querystring: z.object({
        organisation: z.string().optional(), serviceArea: z.string().optional(), region: z.string().optional(), status: z.string().optional(),
        standing: z.string().optional().describe('draft, scheduled, in-force, expired, suspended or ended'),
      }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const q = request.query;
    const organisationId = q.organisation ? (await vault.organisations.organisationBySlug(q.organisation)).id : undefined;
    const list = await vault.arrangements.list(actor, {
      ...(organisationId ? { organisationId } : {}), ...(q.serviceArea ? { serviceArea: q.serviceArea } : {}),
      ...(q.region ? { region: q.region } : {}), ...(q.status ? { status: q.status } : {}), ...(q.standing ? { standing: q.standing } : {}),
    });
    return { arrangements: list };
  });

  r.get('/arrangements/report', {
    schema: {
      tags: ['arrangements'], summary: 'Savings and partners by service area and region (JSON, or CSV with ?format=csv)',
      description: 'Over the arrangements in force unless `status` or `standing` asks for others.',
      querystring: z.object({ format: z.enum(['json', 'csv']).optional(), status: z.string().optional(), standing: z.string().optional() }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const q = request.query;
    const report = await vault.arrangements.report(actor, { ...(q.status ? { status: q.status } : {}), ...(q.standing ? { standing: q.standing } : {}) });
    if (request.query.format === 'csv' || request.headers.accept === 'text/csv') {
      return reply.type('text/csv; charset=utf-8').header('Content-Disposition', 'attachment; filename="shared-services-report.csv"').send(reportCsv(report));
    }
    return report;
  });

  r.post('/arrangements', { schema: { tags: ['arrangements'], summary: 'Propose an arrangement (host org admin)', body: terms } }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { partners, ...rest } = request.body;
    const arrangement = await vault.arrangements.propose(actor, { ...rest, hostOrganisationId: actor.organisationId!, partnerOrganisationIds: await slugsToIds(partners) });
    return reply.status(201).send(arrangement);
  });

  r.get('/arrangements/:id', { schema: { tags: ['arrangements'], summary: 'An arrangement and its revisions', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return vault.arrangements.get(actor, request.params.id);
  });

  r.patch('/arrangements/:id', { schema: { tags: ['arrangements'], summary: 'Amend a draft (host org admin)', params: idParams, body: terms.partial() } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const { partners, ...rest } = request.body;
    return vault.arrangements.amend(actor, request.params.id, { ...rest, ...(partners ? { partnerOrganisationIds: await slugsToIds(partners) } : {}) });
  });

  r.post('/arrangements/:id/accept', {
    schema: {
      tags: ['arrangements'], summary: 'Accept the terms of the revision you reviewed (partner org admin)',
      description: 'Refused with 409 if the terms were amended after that revision: review them again and accept the new revision.',
      params: idParams, body: acceptance,
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return vault.arrangements.accept(actor, request.params.id, { revision: request.body.revision });
  });

  for (const step of ['suspend', 'resume', 'end'] as const) {
    r.post(`/arrangements/:id/${step}`, { schema: { tags: ['arrangements'], summary: `${step[0]!.toUpperCase()}${step.slice(1)} an arrangement`, params: idParams } }, async (request) => {
      const actor = await bearerActor(vault.identity, request);
      return vault.arrangements[step](actor, request.params.id);
    });
  }

  r.post('/arrangements/:id/workspace', { schema: { tags: ['arrangements'], summary: 'Create the joint workspace collection', params: idParams, body: z.object({ name: z.string() }) } }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    return reply.status(201).send(presentCollection(await vault.arrangements.createWorkspace(actor, request.params.id, request.body.name)));
  });
};
