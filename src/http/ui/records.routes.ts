// Web pages of the file plan: the list of record series, a series with its revisions and the form to
// change it (which first shows the documents whose due date moves, and asks to confirm any that come
// earlier), and the forms on document and collection pages that file them and record and clear trigger events.
// Which forms appear is asked of AccessService (`can`); the services decide again when they are sent.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { BUILT_IN_TRIGGERS, DISPOSAL_ACTIONS } from '../../domain/records/series.js';
import type { Actor, Document } from '../../domain/types.js';
import { SHORTENED } from '../../services/retention-due-dates.js';
import type { SeriesPatch } from '../../services/retention.service.js';
import { problemFor } from '../error-handler.js';
import { errorList, render, requireCsrf, signedIn, type Ui } from './context.js';

type Form = Record<string, string | undefined>;

const FORM_ERRORS = ['INVALID', 'CONFLICT'];

/** What the retention panel of a document page shows: its facts, the events that reach it (records people), and which forms this person gets. */
export async function retentionPanel(ui: Ui, actor: Actor, document: Document) {
  const retention = await ui.vault.retention.retentionOf(actor, document.id);
  const org = { kind: 'organisation' as const, organisationId: document.organisationId };
  const [mayFile, mayRead] = await ui.vault.access.can(actor, [{ action: 'records.file-plan', resource: org }, { action: 'records.read', resource: org }]);
  const plan = mayFile ? await ui.vault.retention.listSeries(actor, document.organisationId) : [];
  const events = mayRead ? (await ui.vault.retentionEvents.listEvents(actor, { documentId: document.id })).events : null;
  return { retention, mayFile, plan, events };
}

/**
 * The filing panel of a collection page: its series (own or inherited), the live events that reach it
 * (its own and those above it, for its records people, who may read them), and the forms for those who may file.
 */
export async function collectionFilingPanel(ui: Ui, actor: Actor, collection: { id: string; organisationId: string }) {
  const filing = await ui.vault.retention.collectionFiling(actor, collection.id);
  const org = { kind: 'organisation' as const, organisationId: collection.organisationId };
  const [filePlan, manage, mayRead] = await ui.vault.access.can(actor, [
    { action: 'records.file-plan', resource: org }, { action: 'organisation.manage-collections', resource: org }, { action: 'records.read', resource: org },
  ]);
  const mayFile = filePlan === true || manage === true;
  const plan = mayFile || mayRead === true ? await ui.vault.retention.listSeries(actor, collection.organisationId).catch(() => []) : [];
  const events = mayRead === true ? (await ui.vault.retentionEvents.listEvents(actor, { collectionId: collection.id })).events : null;
  return { filing, mayFile, mayRecord: filePlan === true, plan, events };
}

function patchFrom(body: Form): SeriesPatch {
  const years = body.retainYears?.trim();
  return {
    ...(body.title !== undefined ? { title: body.title } : {}), ...(body.serviceArea !== undefined ? { serviceArea: body.serviceArea } : {}),
    ...(body.trigger !== undefined ? { trigger: body.trigger.trim() } : {}), ...(body.action !== undefined ? { action: body.action as SeriesPatch['action'] & string } : {}),
    ...(body.authority !== undefined ? { authority: body.authority } : {}), ...(years !== undefined ? { retainYears: /^\d+$/.test(years) ? Number(years) : Number.NaN } : {}),
  };
}

export const recordsPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const choices = { triggers: BUILT_IN_TRIGGERS, actions: DISPOSAL_ACTIONS, serviceAreas: ui.vault.serviceAreas };

  async function planPage(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const web = signedIn(request);
    const series = await ui.vault.retention.listSeries(web.actor, web.organisation.id);
    const mayEdit = await ui.vault.access.may(web.actor, 'records.file-plan', { kind: 'organisation', organisationId: web.organisation.id });
    const notice = (request.query as { notice?: string }).notice;
    return render(ui, request, reply, 'file-plan.njk', { series, mayEdit, choices, form: {}, notice: notice === 'created' ? 'The series was added.' : null, ...extra }, status);
  }

  async function seriesPage(request: FastifyRequest, reply: FastifyReply, code: string, extra: Record<string, unknown> = {}, status = 200) {
    const web = signedIn(request);
    const { series, revisions } = await ui.vault.retention.series(web.actor, web.organisation.id, code);
    const mayEdit = await ui.vault.access.may(web.actor, 'records.file-plan', { kind: 'organisation', organisationId: web.organisation.id });
    const notice = (request.query as { notice?: string }).notice === 'changed' ? 'The series was changed.' : null;
    return render(ui, request, reply, 'series.njk', { series, revisions: [...revisions].reverse(), mayEdit, choices, form: series, notice, ...extra }, status);
  }

  app.get('/file-plan', async (request, reply) => planPage(request, reply));

  app.post<{ Body: Form }>('/file-plan', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const b = request.body;
    try {
      const created = await ui.vault.retention.createSeries(web.actor, web.organisation.id, {
        code: (b.code ?? '').trim(), title: b.title ?? '', serviceArea: b.serviceArea ?? '', trigger: (b.trigger ?? '').trim(),
        retainYears: /^\d+$/.test((b.retainYears ?? '').trim()) ? Number(b.retainYears) : Number.NaN, action: (b.action ?? '') as 'destroy', authority: b.authority ?? '',
      }, b.reason);
      return reply.redirect(`/file-plan/${encodeURIComponent(created.code)}?notice=changed`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) || !FORM_ERRORS.includes(error.code)) throw error;
      return planPage(request, reply, { errors: errorList(error, 'code'), form: b }, error.code === 'CONFLICT' ? 409 : 400);
    }
  });

  app.get<{ Params: { code: string } }>('/file-plan/:code', async (request, reply) => seriesPage(request, reply, request.params.code));

  // Changing a series takes two steps: "Check the change" shows what moves; "Save the change" saves it,
  // and when any due date comes earlier only with the confirmation box ticked.
  app.post<{ Params: { code: string }; Body: Form }>('/file-plan/:code', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const code = request.params.code;
    const b = request.body;
    const patch = patchFrom(b);
    try {
      if (b.step !== 'save') {
        const preview = await ui.vault.retention.previewSeriesChange(web.actor, web.organisation.id, code, patch);
        return seriesPage(request, reply, code, { preview, form: { ...preview.series }, reason: b.reason ?? '' });
      }
      await ui.vault.retention.updateSeries(web.actor, web.organisation.id, code, patch, { ...(b.reason !== undefined ? { reason: b.reason } : {}), confirmShorter: b.confirmShorter === 'yes' });
      return reply.redirect(`/file-plan/${encodeURIComponent(code)}?notice=changed`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) || !FORM_ERRORS.includes(error.code)) throw error;
      const preview = error.code === 'CONFLICT' ? await ui.vault.retention.previewSeriesChange(web.actor, web.organisation.id, code, patch).catch(() => null) : null;
      return seriesPage(request, reply, code, { errors: errorList(error, error.code === 'CONFLICT' ? 'confirmShorter' : 'title'), form: { ...b }, preview, reason: b.reason ?? '' }, error.code === 'CONFLICT' ? 409 : 400);
    }
  });

  /**
   * A filing form's change, then back to the page it came from; a refusal of shape is explained on a page
   * linking back. A change refused for bringing due dates earlier gets a confirm step there: the same
   * form again, with the confirmation box to tick.
   */
  async function filingChange(request: FastifyRequest, reply: FastifyReply, back: string, work: (actor: Actor, confirmShorter: boolean) => Promise<unknown>) {
    const body = (request.body ?? {}) as Form;
    const web = requireCsrf(ui, request, body._csrf);
    try {
      await work(web.actor, body.confirmShorter === 'yes');
      return reply.redirect(`${back}?notice=retention`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) || !FORM_ERRORS.includes(error.code)) throw error;
      const confirm = error.details?.reason === SHORTENED
        ? { action: request.url.split('?')[0], fields: Object.entries(body).filter(([k, v]) => k !== '_csrf' && k !== 'confirmShorter' && typeof v === 'string').map(([name, value]) => ({ name, value })) }
        : null;
      // Shown on a page of its own with a way back: the message is the service's, never the address's.
      return render(ui, request, reply, 'retention-refused.njk', { problem: problemFor(error, request), back, confirm }, error.code === 'CONFLICT' ? 409 : 400);
    }
  }

  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/series', async (request, reply) =>
    filingChange(request, reply, `/documents/${request.params.id}`, (actor, confirmShorter) => ui.vault.retention.setDocumentSeries(actor, request.params.id, request.body.series || null, { confirmShorter })));

  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/retention-event', async (request, reply) =>
    filingChange(request, reply, `/documents/${request.params.id}`, (actor, confirmShorter) => ui.vault.retentionEvents.recordEvent(actor, { kind: request.body.kind ?? '', date: request.body.date ?? '', documentIds: [request.params.id] }, { confirmShorter })));

  app.post<{ Params: { id: string }; Body: Form }>('/collections/:id/series', async (request, reply) =>
    filingChange(request, reply, `/collections/${request.params.id}`, (actor, confirmShorter) => ui.vault.retention.setCollectionSeries(actor, request.params.id, request.body.series || null, { confirmShorter })));

  app.post<{ Params: { id: string }; Body: Form }>('/collections/:id/retention-event', async (request, reply) =>
    filingChange(request, reply, `/collections/${request.params.id}`, (actor, confirmShorter) => ui.vault.retentionEvents.recordEvent(actor, { kind: request.body.kind ?? '', date: request.body.date ?? '', collectionId: request.params.id }, { confirmShorter })));

  app.post<{ Params: { id: string; eventId: string }; Body: Form }>('/collections/:id/retention-events/:eventId/clear', async (request, reply) =>
    filingChange(request, reply, `/collections/${request.params.id}`, (actor, confirmShorter) => ui.vault.retentionEvents.clearEvent(actor, request.params.eventId, { confirmShorter, recordedFor: { collectionId: request.params.id } })));

  app.post<{ Params: { id: string; eventId: string }; Body: Form }>('/documents/:id/retention-events/:eventId/clear', async (request, reply) =>
    filingChange(request, reply, `/documents/${request.params.id}`, (actor, confirmShorter) => ui.vault.retentionEvents.clearEvent(actor, request.params.eventId, { confirmShorter, recordedFor: { documentId: request.params.id } })));
};
