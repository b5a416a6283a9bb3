// Web pages for subject access requests: the DPO's register (requests received, and those partners asked
// the organisation to search for), "Open a request", and a request's page, where the requester's DPO asks
// partners, extends, closes and downloads the response package, and each part's DPO finds and includes
// their own organisation's records. Every step is a `vault.subjectAccess` service's; which forms a page
// offers comes from the view's `role` and `can`, decided there by the same rules.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { ukDate } from '../../domain/records/retention.js';
import { SUBJECT_ACCESS_OUTCOMES, daysLeft, isRequestOpen, type SubjectAccessRequest } from '../../domain/records/subject-access.js';
import { STATUS_OF_ERROR } from '../../protocol/error-status.js';
import type { SubjectAccessSummary } from '../../services/subject-access-views.service.js';
import { errorList, render, requireCsrf, signedIn, type Ui } from './context.js';
import { type Form, handled, many, one } from './form-fields.js';
import { answerSearchBoxRefusal, searchBoxRefusal } from './search-view.js';

const DONE: Record<string, string> = {
  opened: 'The request was opened. The organisations you asked can now search their records for it.',
  asked: 'The organisations were asked to search their records.',
  added: 'The records were included in the response. They are kept under a legal hold until the request is closed.',
  removed: 'The record was taken out of the response. It stays under the legal hold until the request is closed.',
  searched: 'Your search is marked as finished.',
  reopened: 'Your search is marked as not finished.',
  extended: 'The time to respond was extended.',
  closed: 'The request was closed. Every part’s legal hold was released.',
};

const OUTCOME_NAMES: Record<string, string> = {
  disclosed: 'Disclosed', 'nothing-held': 'Nothing held', refused: 'Refused', withdrawn: 'Withdrawn',
};

/** The service's field names for the page's form fields, where they differ. */
const FIELDS: Record<string, string> = { organisationIds: 'partners', partnerOrganisationIds: 'partners' };

const notFoundPage = (): DomainError => new DomainError('NOT_FOUND', 'No such page, or you do not have access to it.');

/** How the due date reads today: "overdue" past it, otherwise the days left (closed requests have neither). */
function dueText(request: Pick<SubjectAccessRequest, 'status'>, dueOn: string, today: string): { overdue: boolean; days: number | null } {
  if (!isRequestOpen(request)) return { overdue: false, days: null };
  const days = daysLeft(dueOn, today);
  return { overdue: days < 0, days: days < 0 ? null : days };
}

/** The search words for an address; a lone surrogate (not well-formed text, which encodeURIComponent refuses) becomes U+FFFD. */
const searchWords = (q: string): string =>
  encodeURIComponent(q.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));

const dueWords = (days: number | null): string => (days === null ? '' : days === 0 ? 'due today' : days === 1 ? 'due in 1 day' : `due in ${days} days`);

export const subjectAccessPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const today = (): string => ukDate(ui.vault.clock.now());

  app.get<{ Querystring: { done?: string } }>('/subject-access', async (request, reply) => {
    const web = signedIn(request);
    const summaries = await ui.vault.subjectAccess.views.list(web.actor);
    const now = today();
    // Open ones first, soonest due first; then closed ones, most recently received first.
    const order = (a: SubjectAccessSummary, b: SubjectAccessSummary): number => {
      const open = Number(isRequestOpen(b.request)) - Number(isRequestOpen(a.request));
      if (open !== 0) return open;
      return isRequestOpen(a.request) ? a.dueOn.localeCompare(b.dueOn) : b.request.receivedOn.localeCompare(a.request.receivedOn);
    };
    const rows = [...summaries].sort(order).map((s) => {
      const due = dueText(s.request, s.dueOn, now);
      return { ...s, overdue: due.overdue, dueWords: dueWords(due.days), outcomeName: s.request.outcome ? OUTCOME_NAMES[s.request.outcome] ?? s.request.outcome : null };
    });
    return render(ui, request, reply, 'subject-access-requests.njk', {
      received: rows.filter((r) => r.role === 'requester'), asked: rows.filter((r) => r.role === 'partner'), done: DONE[request.query.done ?? ''] ?? null,
    });
  });

  const newPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    // Only to those the service would let open one; anyone else finds no such page.
    if (!(await ui.vault.access.may(web.actor, 'subject-access.manage', { kind: 'organisation', organisationId: web.organisation.id }))) throw notFoundPage();
    const askable = await ui.vault.subjectAccess.requests.askableOrganisations(web.actor);
    return render(ui, request, reply, 'subject-access-new.njk', { askable, values: { receivedOn: today(), partners: [] }, ...extra }, status);
  };

  app.get('/subject-access/new', async (request, reply) => newPage(request, reply));

  app.post<{ Body: Form }>('/subject-access', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const b = request.body ?? {};
    const values = {
      reference: one(b.reference), subjectName: one(b.subjectName), subjectDetails: one(b.subjectDetails), receivedOn: one(b.receivedOn), partners: many(b.partners),
    };
    try {
      const opened = await ui.vault.subjectAccess.requests.open(web.actor, {
        reference: values.reference, subjectName: values.subjectName, subjectDetails: values.subjectDetails, receivedOn: values.receivedOn, partnerOrganisationIds: values.partners,
      });
      return reply.redirect(`/subject-access/${opened.id}?done=opened`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      const field = typeof error.details?.field === 'string' ? error.details.field : 'subjectName';
      return newPage(request, reply, { errors: [{ text: error.message, href: `#${FIELDS[field] ?? field}` }], values }, STATUS_OF_ERROR[error.code]);
    }
  });

  /**
   * A request's page; `q` (GET) is the search for records to include. The box starts with the person's name,
   * and searches only when sent: every search is audited, and a page view is not a search.
   */
  const requestPage = async (request: FastifyRequest, reply: FastifyReply, id: string, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const view = await ui.vault.subjectAccess.views.get(web.actor, id);
    const query = request.query as { done?: string; q?: string };
    const mine = view.parts.find((p) => p.organisation.id === web.organisation.id) ?? null;
    const names = new Map(view.parts.map((p) => [p.organisation.id, p.organisation.name]));
    const items = view.items.map((i) => ({ ...i, organisationName: names.get(i.organisationId) ?? '', removable: view.can.respond && i.organisationId === web.organisation.id }));
    const due = dueText(view.request, view.dueOn, today());
    const manage = view.role === 'requester' && view.can.manage;
    let askable: { id: string; name: string }[] = [];
    if (manage) {
      const asked = new Set(view.parts.map((p) => p.organisation.id));
      askable = (await ui.vault.subjectAccess.requests.askableOrganisations(web.actor)).filter((o) => !asked.has(o.id)).map((o) => ({ id: o.id, name: o.name }));
    }
    // Finding records to include: the viewer's own organisation's only (a partner's are theirs to include).
    let search: Record<string, unknown> | null = null;
    let searchErrors: { text: string; href: string }[] = [];
    if (view.can.respond && mine) {
      const typed = typeof query.q === 'string';
      const q = (typed ? query.q! : view.request.subjectName).trim();
      search = { q, hits: [], searched: false };
      if (q && typed) {
        try {
          const response = await ui.vault.search.search(web.actor, { q, filters: { organisationId: web.organisation.id }, sort: 'relevance', page: 1 }, 'web');
          const included = new Set(view.items.filter((i) => i.organisationId === web.organisation.id).map((i) => i.item.documentId));
          const hits = response.hits.filter((h) => h.organisation.id === web.organisation.id).map((h) => ({ ...h, included: included.has(h.documentId) }));
          search = { q, hits, searched: true, more: response.total > response.hits.length };
        } catch (error) {
          // Unusable words, search time spent, search busy or down: said on the box, the rest of the request's page kept.
          const refused = searchBoxRefusal(error);
          if (!refused) throw error;
          searchErrors = [{ text: refused.message, href: '#q' }];
          const refusedStatus = answerSearchBoxRefusal(reply, refused);
          if (status === 200) status = refusedStatus;
        }
      }
    }
    const errors = [...((extra.errors as { text: string; href: string }[] | undefined) ?? []), ...searchErrors];
    return render(ui, request, reply, 'subject-access-request.njk', {
      view, sar: view.request, mine, items, askable, search, manage,
      overdue: due.overdue, dueWords: dueWords(due.days), outcomeName: view.request.outcome ? OUTCOME_NAMES[view.request.outcome] ?? view.request.outcome : null,
      outcomes: SUBJECT_ACCESS_OUTCOMES.map((o) => ({ value: o, text: OUTCOME_NAMES[o] ?? o })),
      done: DONE[query.done ?? ''] ?? null, values: {}, ...extra, errors,
    }, status);
  };

  app.get<{ Params: { id: string } }>('/subject-access/:id', async (request, reply) => requestPage(request, reply, request.params.id));

  /** A change through the service, then back to the request's page; its refusals on the page as an error summary. */
  const change = (path: string, field: string, act: (ui: Ui, request: FastifyRequest<{ Params: { id: string }; Body: Form }>) => Promise<string>) => {
    app.post<{ Params: { id: string }; Body: Form }>(`/subject-access/:id/${path}`, async (request, reply) => {
      requireCsrf(ui, request, one(request.body?._csrf));
      try {
        const done = await act(ui, request);
        // Back to the same search after including from it (the include form carries its words).
        const q = one(request.body?.q).trim();
        return reply.redirect(`/subject-access/${encodeURIComponent(request.params.id)}?done=${done}${q ? `&q=${searchWords(q)}` : ''}`, 303);
      } catch (error) {
        if (!handled(error)) throw error;
        const [problem] = errorList(error, field);
        const named = FIELDS[problem!.href.slice(1)];
        const errors = [{ text: problem!.text, href: named ? `#${named}` : problem!.href }];
        return requestPage(request, reply, request.params.id, { errors, values: request.body ?? {} }, STATUS_OF_ERROR[error.code]);
      }
    });
  };

  change('partners', 'partners', async (u, r) => {
    await u.vault.subjectAccess.requests.askPartners(signedIn(r).actor, r.params.id, many(r.body?.partners));
    return 'asked';
  });
  change('items', 'documentIds', async (u, r) => {
    await u.vault.subjectAccess.answers.addItems(signedIn(r).actor, r.params.id, many(r.body?.documentIds));
    return 'added';
  });
  change('remove', 'items', async (u, r) => {
    await u.vault.subjectAccess.answers.removeItem(signedIn(r).actor, r.params.id, one(r.body?.itemId));
    return 'removed';
  });
  change('searched', 'searched', async (u, r) => {
    const searched = one(r.body?.searched) !== 'false';
    await u.vault.subjectAccess.answers.markSearched(signedIn(r).actor, r.params.id, searched);
    return searched ? 'searched' : 'reopened';
  });
  change('extend', 'reason', async (u, r) => {
    await u.vault.subjectAccess.requests.extend(signedIn(r).actor, r.params.id, one(r.body?.reason));
    return 'extended';
  });
  change('close', 'outcome', async (u, r) => {
    await u.vault.subjectAccess.requests.close(signedIn(r).actor, r.params.id, { outcome: one(r.body?.outcome), note: one(r.body?.note) });
    return 'closed';
  });

  // The response package is a form with the CSRF token, never a link: taking it is recorded (an export of
  // someone's personal data), so another site must not be able to make a DPO's browser fetch it. There is
  // no GET address for it at all.
  app.post<{ Params: { id: string }; Body: Form }>('/subject-access/:id/package', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const { filename, stream } = await ui.vault.subjectAccess.package.download(web.actor, request.params.id);
    return reply.type('application/zip').header('content-disposition', `attachment; filename="${filename}"`).send(stream);
  });
};
