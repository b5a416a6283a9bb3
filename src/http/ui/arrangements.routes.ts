// Arrangements: the register with filters, one arrangement's page with its history of changes,
// proposing (host org admin) and accept / suspend / resume / end, and the shared-services savings report.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ArrangementResource } from '../../domain/access/policy.js';
import { DomainError } from '../../domain/errors.js';
import { ARRANGEMENT_STANDINGS } from '../../domain/arrangements/standing.js';
import { ACCESS_LEVELS, CLASSIFICATIONS } from '../../domain/types.js';
import { arrangementResource } from '../../services/arrangements.service.js';
import { reportCsv } from '../../services/report-csv.js';
import { organisationNames } from './browse.routes.js';
import { errorList, render, requireCsrf, signedIn, type Ui } from './context.js';
import { type Form, many, one } from './form-fields.js';


/** The lifecycle steps the arrangement page offers as buttons, in the order shown. */
const STEPS = ['accept', 'suspend', 'resume', 'end'] as const;
const DONE: Record<string, string> = { proposed: 'The arrangement was proposed. Each partner\'s org admin must now accept it.', accept: 'Your organisation accepted the arrangement.', suspend: 'The arrangement was suspended: access through it stopped at once.', resume: 'The arrangement is a draft again; partners must accept it anew.', end: 'The arrangement was ended.' };

/** What a page asks decide() about proposing: an arrangement this organisation would host. */
const hostedBy = (organisationId: string): ArrangementResource => ({
  kind: 'arrangement', arrangement: { id: '', hostOrganisationId: organisationId, partnerOrganisationIds: [], status: 'draft', acceptedBy: [], revision: 0, termsRevision: 0 },
});

/** The revision the accepting page showed (its hidden field); anything else means the page was not the one we served. */
function reviewedRevision(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new DomainError('INVALID', 'We could not tell which version of the terms you reviewed. Review the terms below and accept again.');
  return Number(value);
}

export const arrangementPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  app.get<{ Querystring: { serviceArea?: string; region?: string; status?: string; standing?: string } }>('/arrangements', async (request, reply) => {
    const web = signedIn(request);
    const q = request.query;
    const filter = {
      ...(q.serviceArea ? { serviceArea: q.serviceArea } : {}), ...(q.region ? { region: q.region } : {}),
      ...(q.status ? { status: q.status } : {}), ...(q.standing ? { standing: q.standing } : {}),
    };
    const orgs = await organisationNames(ui);
    const arrangements = await ui.vault.arrangements.list(web.actor, filter);
    const regions = [...new Set([...orgs.values()].map((o) => o.region))].sort();
    return render(ui, request, reply, 'arrangements.njk', {
      arrangements, orgs: Object.fromEntries(orgs), filter: q, regions, serviceAreas: ui.vault.serviceAreas, standings: ARRANGEMENT_STANDINGS,
      canPropose: await ui.vault.access.may(web.actor, 'arrangement.propose', hostedBy(web.organisation.id)),
    });
  });

  async function newPage(request: FastifyRequest, reply: FastifyReply, values: Form = {}, errors: unknown[] = [], status = 200) {
    const web = signedIn(request);
    const others = (await ui.vault.organisations.listOrganisations()).filter((o) => o.id !== web.organisation.id);
    return render(ui, request, reply, 'arrangement-new.njk', {
      others, values, errors, selectedPartners: many(values.partners), serviceAreas: ui.vault.serviceAreas, accessLevels: ACCESS_LEVELS, classifications: CLASSIFICATIONS,
    }, status);
  }

  app.get('/arrangements/new', async (request, reply) => newPage(request, reply));

  app.post<{ Body: Form }>('/arrangements', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const b = request.body;
    const saving = one(b.annualSavingPounds).replace(/[£,\s]/g, '');
    try {
      if (saving && !/^\d+(\.\d+)?$/.test(saving)) throw new DomainError('INVALID', 'Enter the annual saving as a number of pounds, like 25000.', { details: { field: 'annualSavingPounds' } });
      const arrangement = await ui.vault.arrangements.propose(web.actor, {
        hostOrganisationId: web.organisation.id, partnerOrganisationIds: many(b.partners), serviceArea: one(b.serviceArea), purpose: one(b.purpose),
        lawfulBasis: one(b.lawfulBasis), agreementReference: one(b.agreementReference) || null, accessLevel: one(b.accessLevel), ceiling: one(b.ceiling),
        ...(one(b.startsAt) ? { startsAt: one(b.startsAt) } : {}), endsAt: one(b.endsAt) || null, annualSavingPounds: saving ? Number(saving) : 0,
      });
      return reply.redirect(`/arrangements/${arrangement.id}?done=proposed`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'INVALID') throw error;
      return newPage(request, reply, b, errorList(error, 'partners'), 400);
    }
  });

  async function page(request: FastifyRequest, reply: FastifyReply, id: string, extra: Record<string, unknown> = {}, status = 200) {
    const web = signedIn(request);
    const { arrangement, revisions } = await ui.vault.arrangements.get(web.actor, id);
    const orgs = await organisationNames(ui);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    // Which buttons to offer: one question per step, asked of decide() (party, role and lifecycle), in one call.
    // Accepting is asked as the acceptance the page's form would make: of the revision shown.
    const resource = arrangementResource(arrangement);
    const asked = [...STEPS, 'workspace' as const].map((step) => ({
      action: `arrangement.${step}` as const, resource,
      ...(step === 'accept' ? { acceptance: { organisationId: web.organisation.id, reviewedRevision: arrangement.revision } } : {}),
    }));
    const answers = await ui.vault.access.can(web.actor, asked);
    const offer = Object.fromEntries(asked.map((q, i) => [q.action.slice('arrangement.'.length), answers[i] === true]));
    return render(ui, request, reply, 'arrangement.njk', {
      arrangement, revisions: [...revisions].reverse(), orgs: Object.fromEntries(orgs), done, offer,
      workspaces: await ui.vault.arrangements.workspaces(web.actor, arrangement),
      ...extra,
    }, status);
  }

  app.get<{ Params: { id: string } }>('/arrangements/:id', async (request, reply) => page(request, reply, request.params.id));

  app.post<{ Params: { id: string }; Body: Form }>('/arrangements/:id/workspace', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    try {
      const workspace = await ui.vault.arrangements.createWorkspace(web.actor, request.params.id, one(request.body.name));
      return reply.redirect(`/collections/${workspace.id}`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) || (error.code !== 'INVALID' && error.code !== 'CONFLICT')) throw error;
      return page(request, reply, request.params.id, { errors: errorList(error, 'workspace-name'), workspaceName: one(request.body.name) }, error.code === 'CONFLICT' ? 409 : 400);
    }
  });

  app.post<{ Params: { id: string; step: string }; Body: Form }>('/arrangements/:id/:step', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const step = request.params.step as (typeof STEPS)[number];
    if (!STEPS.includes(step)) throw new DomainError('NOT_FOUND', 'No such action.');
    try {
      if (step === 'accept') await ui.vault.arrangements.accept(web.actor, request.params.id, { revision: reviewedRevision(one(request.body?.revision)) });
      else await ui.vault.arrangements[step](web.actor, request.params.id);
      return reply.redirect(`/arrangements/${request.params.id}?done=${step}`, 303);
    } catch (error) {
      // Changed terms: show the page again with the terms as they now are, so they can be reviewed before accepting.
      if (!(error instanceof DomainError) || (error.code !== 'INVALID' && error.code !== 'CONFLICT')) throw error;
      return page(request, reply, request.params.id, { errors: [{ text: error.message, href: '#terms' }] }, error.code === 'CONFLICT' ? 409 : 400);
    }
  });

  app.get('/reports/shared-services', async (request, reply) => {
    const web = signedIn(request);
    const report = await ui.vault.arrangements.report(web.actor);
    const chart = (rows: { key: string; annualSavingPounds: number }[]) => {
      const max = Math.max(1, ...rows.map((r) => r.annualSavingPounds));
      return rows.map((r, i) => ({ ...r, y: i * 36, width: Math.round((r.annualSavingPounds / max) * 440) }));
    };
    return render(ui, request, reply, 'report.njk', { report, areaChart: chart(report.byServiceArea), regionChart: chart(report.byRegion) });
  });

  app.get('/reports/shared-services.csv', async (request, reply) => {
    const web = signedIn(request);
    const report = await ui.vault.arrangements.report(web.actor);
    return reply.type('text/csv; charset=utf-8').header('Content-Disposition', 'attachment; filename="shared-services-report.csv"').header('Cache-Control', 'no-store').send(reportCsv(report));
  });
};
