// Search in the web interface: the results page (/search, filters, sort and pages by GET), the
// thumbnail a result or a document page shows, and the text facts on a document's page. What a
// person finds, and whether they may see a thumbnail, is SearchService's to decide (through
// AccessService); these routes only read the form and present the answer.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { STORED_CONTENT_CSP } from '../../protocol/content-headers.js';
import type { Actor, Document } from '../../domain/types.js';
import { documentResource } from '../../services/access.service.js';
import type { SearchResponse } from '../../services/search.service.js';
import { render, signedIn, type Ui } from './context.js';
import {
  HIDDEN_FOLDER, SearchFormError, TYPE_NAMES, answerSearchBoxRefusal, filterSelects, pagination, readSearchForm, requestParts, searchBoxRefusal,
  searchHref, snippetPieces,
} from './search-view.js';

/** Which form field a refusal is about, for the error summary's link. */
function fieldOf(error: DomainError | SearchFormError): string {
  if (error instanceof SearchFormError) return error.field;
  const field = typeof error.details?.field === 'string' ? error.details.field : '';
  const known: Record<string, string> = {
    q: 'q', query: 'q', organisation: 'organisation', organisationId: 'organisation', collection: 'collection', collectionId: 'collection',
    serviceArea: 'serviceArea', classification: 'classification', type: 'type', from: 'year', to: 'year', year: 'year', sort: 'sort', page: 'q',
  };
  return known[field] ?? 'q';
}

/** A search result as the template shows it: the snippet already split into plain and marked pieces. */
function presentHits(response: SearchResponse) {
  return response.hits.map((hit) => ({
    ...hit,
    collectionName: hit.collection.name ?? HIDDEN_FOLDER,
    typeName: TYPE_NAMES[hit.type] ?? hit.type,
    snippetPieces: snippetPieces(hit.snippet),
    // A page number helps in a PDF; an image's only page says nothing.
    pageLabel: hit.page !== null && hit.type === 'pdf' ? `Page ${hit.page}` : null,
  }));
}

/** "1 result", "20 results", or past the count cap "More than 1,000 results" (the count stops there). */
function countTexts(response: SearchResponse): { countText: string; ofText: string; facetNote: string | null } {
  const n = response.total.toLocaleString('en-GB');
  if (response.totalIsLowerBound) {
    return { countText: `More than ${n} results`, ofText: `more than ${n}`, facetNote: `The numbers below count the ${n} most recently changed results.` };
  }
  return { countText: `${n} ${response.total === 1 ? 'result' : 'results'}`, ofText: n, facetNote: null };
}

export const searchPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  async function resultsPage(request: FastifyRequest, reply: FastifyReply) {
    const web = signedIn(request);
    const form = readSearchForm(request.query);
    const base = { form, searchQuery: form.q, clearHref: searchHref({ ...form, organisation: '', collection: '', serviceArea: '', classification: '', type: '', year: '', from: '', to: '', page: '' }) };
    // No words yet: the page offers the box and explains the syntax, and nothing is searched (or audited).
    if (!form.q) return render(ui, request, reply, 'search.njk', { ...base, searched: false });
    try {
      const parts = requestParts(form);
      const response = await ui.vault.search.search(web.actor, { q: form.q, ...parts }, 'web');
      const pages = Math.min(Math.ceil(response.total / response.pageSize), 50);
      return render(ui, request, reply, 'search.njk', {
        ...base, searched: true, response, hits: presentHits(response), filters: filterSelects(response.facets, form),
        pagination: pagination(form, response.page, pages), pages,
        ...countTexts(response),
        first: response.total === 0 ? 0 : (response.page - 1) * response.pageSize + 1,
        last: (response.page - 1) * response.pageSize + response.hits.length,
      });
    } catch (error) {
      // The form's own refusals and the search's (unusable words, time spent, search busy or down) are
      // shown on the box, with their status (search-view's searchBoxRefusal); anything else is the error page's.
      const refused = error instanceof SearchFormError ? error : searchBoxRefusal(error);
      if (!refused) throw error;
      const status = refused instanceof SearchFormError ? 400 : answerSearchBoxRefusal(reply, refused);
      return render(ui, request, reply, 'search.njk', {
        ...base, searched: false, errors: [{ text: refused.message, href: '#q' }], errorField: fieldOf(refused),
      }, status);
    }
  }

  app.get('/search', resultsPage);

  // The first page of the current version as a PNG: decided like a download, by the service.
  app.get<{ Params: { id: string } }>('/documents/:id/thumbnail', async (request, reply) => {
    const web = signedIn(request);
    const image = await ui.vault.search.thumbnail(web.actor, request.params.id);
    if (!image) throw new DomainError('NOT_FOUND', 'This document has no preview image.');
    return reply
      .header('Cache-Control', 'private, no-store')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Content-Disposition', 'inline; filename="thumbnail.png"')
      .header('Content-Security-Policy', STORED_CONTENT_CSP)
      .type('image/png')
      .send(image);
  });
};

/** How a document's text status reads on its page. */
const TEXT_WORDS: Record<string, string> = {
  done: 'Extracted', partial: 'Partly extracted', failed: 'Could not be read', pending: 'Waiting to be read',
};

export interface DocumentTextFacts {
  /** "Extracted", "Partly extracted (why)", … */
  text: string;
  /** Whether to show the first-page image. */
  thumbnail: boolean;
}

/**
 * For a document's page: its text status in words, and whether it has a thumbnail this person may
 * see. Null when the person may not read the document's text (a security admin reviewing a
 * quarantined file, say): asked of can() first, so the page leaves the row out and no refusal is
 * audited for merely showing the page.
 */
export async function documentTextFacts(ui: Ui, actor: Actor, document: Document): Promise<DocumentTextFacts | null> {
  const [mayRead] = await ui.vault.access.can(actor, [{ action: 'document.read', resource: documentResource(document) }]);
  if (mayRead !== true) return null;
  const status = await ui.vault.search.textStatus(actor, document.id);
  const words = TEXT_WORDS[status.status] ?? status.status;
  return {
    text: status.reason && (status.status === 'partial' || status.status === 'failed') ? `${words} (${status.reason})` : words,
    thumbnail: (status.status === 'done' || status.status === 'partial') && await ui.vault.search.hasThumbnail(actor, document.id),
  };
}
