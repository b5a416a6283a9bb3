// Disposal review pages: the organisation's batches with their counts, and a batch page where its
// records manager decides each item (destroy, extend with date and reason, transfer), downloads the
// transfer package and approves. What each person is offered is what decide() would allow (can()).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, invalid } from '../../domain/errors.js';
import { errorList, render, requireCsrf, signedIn, type Ui } from './context.js';
import { STATUS_OF_ERROR } from '../../protocol/error-status.js';
import { type Form, handled, one } from './form-fields.js';


const DONE: Record<string, string> = {
  nothing: 'Nothing new is due for disposal: no batch was created.',
  decided: 'The decision was saved.',
  approved: 'The batch was approved. It will be carried out shortly; held records are kept whatever was decided.',
};

export const disposalPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const mayDispose = async (request: FastifyRequest): Promise<boolean> => {
    const web = signedIn(request);
    return ui.vault.access.may(web.actor, 'records.dispose', { kind: 'organisation', organisationId: web.organisation.id });
  };

  app.get<{ Querystring: { done?: string } }>('/disposal', async (request, reply) => {
    const web = signedIn(request);
    const batches = await ui.vault.disposal.list(web.actor, web.organisation.id);
    return render(ui, request, reply, 'disposal-batches.njk', { batches, maySweep: await mayDispose(request), done: DONE[request.query.done ?? ''] ?? null });
  });

  app.post<{ Body: Form }>('/disposal/sweep', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const view = await ui.vault.disposal.sweep(web.actor, web.organisation.id);
    return reply.redirect(view ? `/disposal/${view.batch.id}` : '/disposal?done=nothing', 303);
  });

  const batchPage = async (request: FastifyRequest, reply: FastifyReply, batchId: string, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const view = await ui.vault.disposal.get(web.actor, batchId);
    const may = await mayDispose(request);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    const reviewing = may && view.batch.status === 'review';
    // The approve button is offered as decide() answers the approval itself: never to an early batch's proposer, who is told why.
    const approval = reviewing ? await ui.vault.disposal.approvalOffer(web.actor, view.batch) : { allowed: false, refusal: null };
    return render(ui, request, reply, 'disposal-batch.njk', {
      view, mayDecide: reviewing, mayApprove: approval.allowed, cannotApprove: approval.refusal, mayDispose: may, hasTransfer: view.counts.transfer > 0, done, values: {}, ...extra,
    }, status);
  };

  app.get<{ Params: { id: string } }>('/disposal/:id', async (request, reply) => batchPage(request, reply, request.params.id));

  app.post<{ Params: { id: string }; Body: Form }>('/disposal/:id/decisions', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const documentId = one(request.body.documentId);
    const decision = one(request.body.decision);
    try {
      if (decision !== 'destroy' && decision !== 'extend' && decision !== 'transfer') throw invalid('Choose destroy, extend or transfer.', { field: `decision-${documentId}` });
      const extendTo = one(request.body.extendTo).trim();
      const reason = one(request.body.reason).trim();
      await ui.vault.disposal.decide(web.actor, request.params.id, [{
        documentId, decision, ...(decision === 'extend' && extendTo ? { extendTo } : {}), ...(reason ? { reason } : {}),
      }]);
      return reply.redirect(`/disposal/${request.params.id}?done=decided`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      const field = typeof error.details?.field === 'string' ? `${error.details.field}-${documentId}` : `item-${documentId}`;
      // A hold's refusal is a 409 here as on every interface; a decision the form got wrong, 400.
      return batchPage(request, reply, request.params.id, { errors: [{ text: error.message, href: `#${field}` }], values: { documentId, decision, extendTo: one(request.body.extendTo), reason: one(request.body.reason) } }, STATUS_OF_ERROR[error.code]);
    }
  });

  app.post<{ Params: { id: string }; Body: Form }>('/disposal/:id/approve', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    try {
      await ui.vault.disposal.approve(web.actor, request.params.id);
      return reply.redirect(`/disposal/${request.params.id}?done=approved`, 303);
    } catch (error) {
      // An early batch's proposer is told on the page why another records manager must approve it (403).
      const proposer = error instanceof DomainError && error.code === 'FORBIDDEN';
      if (!handled(error) && !proposer) throw error;
      return batchPage(request, reply, request.params.id, { errors: errorList(error, 'approve') }, proposer ? 403 : 400);
    }
  });

  // Downloading the package is a change: it is recorded with the batch, and approval (and destruction as
  // "transferred") rely on it. So it is a form with the CSRF token; as a link (GET, until the attack review of
  // the web interface) any site could make a records manager's browser fetch it, recording an export nobody
  // chose. The old address goes back to the batch page, changing nothing.
  app.get<{ Params: { id: string } }>('/disposal/:id/transfer', async (request, reply) => {
    signedIn(request);
    return reply.redirect(`/disposal/${encodeURIComponent(request.params.id)}`, 303);
  });

  app.post<{ Params: { id: string }; Body: Form }>('/disposal/:id/transfer', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const { filename, stream } = await ui.vault.disposal.transfer(web.actor, request.params.id);
    return reply.type('application/zip').header('content-disposition', `attachment; filename="${filename}"`).send(stream);
  });
};
