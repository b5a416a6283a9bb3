// Web pages for legal holds: the hold register, a hold's page (what it covers, release with a reason),
// and "Place on hold" for a document or a collection (an existing hold, or a new one). Every change
// goes through HoldsService; which forms to offer is asked of can().
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { errorList, render, requireCsrf, signedIn, type Ui } from './context.js';
import { handled } from './form-fields.js';

type Form = Record<string, string | undefined>;

const DONE: Record<string, string> = {
  placed: 'The hold was placed. What it covers cannot be deleted, changed or disposed of until it is released.',
  added: 'Added to the hold.',
  released: 'The hold was released.',
};

export const holdPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const mayHold = async (request: FastifyRequest) => {
    const web = signedIn(request);
    return ui.vault.access.may(web.actor, 'records.hold', { kind: 'organisation', organisationId: web.organisation.id });
  };

  const registerPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const holds = await ui.vault.holds.list(web.actor, web.organisation.id);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    return render(ui, request, reply, 'holds.njk', { holds, mayHold: await mayHold(request), done, values: {}, ...extra }, status);
  };

  app.get('/holds', async (request, reply) => registerPage(request, reply));

  app.post<{ Body: Form }>('/holds', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const b = request.body ?? {};
    try {
      const hold = await ui.vault.holds.create(web.actor, { name: b.name ?? '', reason: b.reason ?? '', reference: b.reference ?? null });
      return reply.redirect(`/holds/${hold.id}?done=placed`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      return registerPage(request, reply, { errors: errorList(error, 'name'), values: b }, 400);
    }
  });

  const holdPage = async (request: FastifyRequest, reply: FastifyReply, id: string, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const detail = await ui.vault.holds.get(web.actor, id);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    const mayRelease = detail.hold.releasedAt === null && await ui.vault.access.may(web.actor, 'records.hold', { kind: 'organisation', organisationId: detail.hold.organisationId });
    return render(ui, request, reply, 'hold.njk', { detail, mayRelease, done, ...extra }, status);
  };

  app.get<{ Params: { id: string } }>('/holds/:id', async (request, reply) => holdPage(request, reply, request.params.id));

  app.post<{ Params: { id: string }; Body: Form }>('/holds/:id/release', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    try {
      await ui.vault.holds.release(web.actor, request.params.id, request.body?.reason ?? '');
      return reply.redirect(`/holds/${request.params.id}?done=released`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      return holdPage(request, reply, request.params.id, { errors: errorList(error, 'reason') }, error.code === 'CONFLICT' ? 409 : 400);
    }
  });

  /** "Place on hold": for one document or one collection the person can see, in their own organisation. */
  const placePage = async (request: FastifyRequest, reply: FastifyReply, target: { documentId?: string; collectionId?: string }, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const record = target.documentId
      ? (await ui.vault.documents.get(web.actor, target.documentId)).document
      : (await ui.vault.collections.open(web.actor, target.collectionId ?? '')).collection;
    const subject = target.documentId
      ? { kind: 'document', id: record.id, name: record.name, holds: await ui.vault.holds.holdsFor(web.actor, record.id) }
      : { kind: 'collection', id: record.id, name: record.name, holds: await ui.vault.holds.holdsForCollection(web.actor, record.id) };
    // Only the organisation's own records, to someone who may place holds; the service decides again on submit.
    if (record.organisationId !== web.organisation.id || !(await mayHold(request))) throw new DomainError('NOT_FOUND', 'No such page, or you do not have access to it.');
    const holds = await ui.vault.holds.placeable(web.actor);
    return render(ui, request, reply, 'hold-place.njk', { subject, holds, values: {}, ...extra }, status);
  };

  app.get<{ Querystring: { document?: string; collection?: string } }>('/holds/place', async (request, reply) => {
    const q = request.query;
    return placePage(request, reply, q.document ? { documentId: q.document } : { collectionId: q.collection ?? '' });
  });

  app.post<{ Body: Form }>('/holds/place', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const b = request.body ?? {};
    const target = b.documentId ? { documentId: b.documentId } : { collectionId: b.collectionId ?? '' };
    const items = target.documentId ? { documentIds: [target.documentId] } : { collectionIds: [target.collectionId!] };
    try {
      const holdId = b.holdId ?? '';
      // A new hold and what it covers are written in one transaction (createOver): a document or folder refused
      // (not there, not theirs, destroyed meanwhile) leaves no empty hold in the register.
      if (holdId === 'new' || holdId === '') {
        const { hold } = await ui.vault.holds.createOver(web.actor, { name: b.name ?? '', reason: b.reason ?? '', reference: b.reference ?? null }, items);
        return reply.redirect(`/holds/${hold.id}?done=placed`, 303);
      }
      await ui.vault.holds.addItems(web.actor, holdId, items);
      return reply.redirect(`/holds/${holdId}?done=added`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      return placePage(request, reply, target, { errors: errorList(error, 'name'), values: b }, error.code === 'CONFLICT' ? 409 : 400);
    }
  });
};
