// Presentation of search for the web pages: the query string a results page reads and writes,
// snippets split into plain and marked pieces (so templates escape every character of document
// text and never need `| safe`), filter options with their counts, and the pagination links.
import type { FastifyReply } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { FacetCount, SearchFacets, SearchFilters, SearchSort } from '../../domain/search/types.js';
import { STATUS_OF_ERROR } from '../../protocol/error-status.js';

/** The results page's parameters, as a person's browser sends them (every one optional). */
export interface SearchForm {
  q: string;
  organisation: string;
  collection: string;
  serviceArea: string;
  classification: string;
  type: string;
  year: string;
  from: string;
  to: string;
  sort: string;
  page: string;
}

const FORM_FIELDS = ['q', 'organisation', 'collection', 'serviceArea', 'classification', 'type', 'year', 'from', 'to', 'sort', 'page'] as const satisfies readonly (keyof SearchForm)[];

/** Longest value read from any one parameter; the service sets its own (smaller) limit on the query. */
const MAX_PARAMETER = 20_000;

/** Reads the query string; a repeated parameter counts once (its first value), anything else is ignored. */
export function readSearchForm(query: unknown): SearchForm {
  const source = (query && typeof query === 'object' ? query : {}) as Record<string, unknown>;
  const form = {} as SearchForm;
  for (const field of FORM_FIELDS) {
    const raw = source[field];
    const value = Array.isArray(raw) ? raw[0] : raw;
    form[field] = typeof value === 'string' ? value.slice(0, MAX_PARAMETER) : '';
  }
  form.q = form.q.trim();
  return form;
}

/**
 * Refusals of a search that a page shows on its own search box, keeping what the person typed and the
 * rest of the page, rather than as an error page: words the index cannot use or that took too long
 * (BAD_QUERY, INVALID: 400), the person's or council's search time spent, or the node's searches all
 * busy (RATE_LIMITED: 429), the search reader down (UNAVAILABLE: 503). Anything else is the error page's.
 */
const SEARCH_BOX_REFUSALS: ReadonlySet<string> = new Set(['BAD_QUERY', 'INVALID', 'RATE_LIMITED', 'UNAVAILABLE']);

/** The error as a refusal the page shows on its search box (SEARCH_BOX_REFUSALS), or null for the error page's. */
export function searchBoxRefusal(error: unknown): DomainError | null {
  return error instanceof DomainError && SEARCH_BOX_REFUSALS.has(error.code) ? error : null;
}

/**
 * Answers a refusal shown on the search box with its own status and, for one that passes by itself, when
 * to try again (the same Retry-After the API sends). Returns the status for the page's render. A part
 * that is down is logged for the operator as the error page would have (http/error-handler.ts).
 */
export function answerSearchBoxRefusal(reply: FastifyReply, refusal: DomainError): number {
  if (refusal.code === 'UNAVAILABLE') reply.log.warn({ err: refusal, cause: refusal.cause }, 'a part the request needs is unavailable');
  const retryAfter = refusal.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter));
  return STATUS_OF_ERROR[refusal.code];
}

/** Why a parameter the page itself builds could not be read: shown in the error summary. */
export class SearchFormError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
  }
}

export interface SearchRequestParts { filters: SearchFilters; sort: SearchSort; page: number }

/**
 * The filters, sort and page the form asks for. Values go to the service as given (it validates
 * them, and a filter the person cannot see simply finds nothing); only what the page itself shapes
 * (sort, page, year) is checked here.
 */
export function requestParts(form: SearchForm): SearchRequestParts {
  const filters: SearchFilters = {};
  if (form.organisation) filters.organisationId = form.organisation;
  if (form.collection) filters.collectionId = form.collection;
  if (form.serviceArea) filters.serviceArea = form.serviceArea as NonNullable<SearchFilters['serviceArea']>;
  if (form.classification) filters.classification = form.classification as NonNullable<SearchFilters['classification']>;
  if (form.type) filters.type = form.type as NonNullable<SearchFilters['type']>;
  if (form.year) {
    if (!/^\d{4}$/.test(form.year)) throw new SearchFormError('Choose a year from the list', 'year');
    filters.from = `${form.year}-01-01`;
    filters.to = `${form.year}-12-31`;
  }
  if (form.from) filters.from = form.from;
  if (form.to) filters.to = form.to;
  if (form.sort && form.sort !== 'relevance' && form.sort !== 'date') throw new SearchFormError('Sort by relevance or by date', 'sort');
  const sort: SearchSort = form.sort === 'date' ? 'date' : 'relevance';
  if (form.page && !/^[1-9]\d{0,5}$/.test(form.page)) throw new SearchFormError('The page number must be a whole number, 1 or more', 'page');
  return { filters, sort, page: form.page ? Number(form.page) : 1 };
}

/** The results page's address for these parameters (blank ones left out), with some of them changed. */
export function searchHref(form: SearchForm, changes: Partial<SearchForm> = {}): string {
  const params = new URLSearchParams();
  const merged = { ...form, ...changes };
  for (const field of FORM_FIELDS) if (merged[field]) params.set(field, merged[field]);
  return `/search?${params.toString()}`;
}

export interface SnippetPiece { text: string; mark: boolean }

/**
 * A snippet as plain and marked pieces. Highlights are [start, end) offsets into `text` (UTF-16 code
 * units); ones out of range, empty, overlapping or out of order are clamped, merged and sorted, so
 * a bad offset can never drop or repeat a character.
 */
export function snippetPieces(snippet: { text: string; highlights: ReadonlyArray<readonly [number, number]> } | null): SnippetPiece[] {
  if (!snippet) return [];
  const { text } = snippet;
  const ranges = snippet.highlights
    .map(([start, end]) => [Math.max(0, Math.min(text.length, Math.trunc(start))), Math.max(0, Math.min(text.length, Math.trunc(end)))] as const)
    .filter(([start, end]) => Number.isFinite(start) && Number.isFinite(end) && end > start)
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [start, end] of ranges) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  const pieces: SnippetPiece[] = [];
  let at = 0;
  for (const [start, end] of merged) {
    if (start > at) pieces.push({ text: text.slice(at, start), mark: false });
    pieces.push({ text: text.slice(start, end), mark: true });
    at = end;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), mark: false });
  return pieces;
}

export const TYPE_NAMES: Readonly<Record<string, string>> = {
  pdf: 'PDF', word: 'Word document', spreadsheet: 'Spreadsheet', email: 'Email', image: 'Image', text: 'Text', other: 'Other',
};

const AREA_NAMES: Readonly<Record<string, string>> = { hr: 'HR', it: 'IT', revenues_benefits: 'Revenues and benefits' };
export const areaName = (area: string): string => AREA_NAMES[area] ?? (area.charAt(0).toUpperCase() + area.slice(1)).replace(/_/g, ' ');

/** What a page says in place of the name of a folder its reader may not open. */
export const HIDDEN_FOLDER = 'A folder you cannot open';

export interface SelectItem { value: string; text: string; selected: boolean }

type Labelled = FacetCount & { label?: string };

/**
 * A filter's options: "any" first, then each facet value with its count. The chosen value stays
 * in the list even when no result has it now, so the form shows what is applied.
 */
export function filterItems(anyText: string, facet: readonly Labelled[], chosen: string, name: (value: string, label?: string) => string): SelectItem[] {
  const items: SelectItem[] = [{ value: '', text: anyText, selected: chosen === '' }];
  for (const f of facet) items.push({ value: f.value, text: `${name(f.value, f.label)} (${f.count})`, selected: f.value === chosen });
  if (chosen && !facet.some((f) => f.value === chosen)) items.push({ value: chosen, text: `${name(chosen)} (0)`, selected: true });
  return items;
}

export interface FilterSelects {
  organisation: SelectItem[];
  collection: SelectItem[];
  serviceArea: SelectItem[];
  classification: SelectItem[];
  type: SelectItem[];
  year: SelectItem[];
}

export function filterSelects(facets: SearchFacets, form: SearchForm): FilterSelects {
  // A chosen organisation or collection that no result has is shown by a neutral name: its own
  // name would tell someone who typed an id they cannot see that it exists.
  const named = (fallback: string) => (_value: string, label?: string) => label ?? fallback;
  return {
    organisation: filterItems('Any organisation', facets.organisation, form.organisation, named('Chosen organisation')),
    // A collection facet without a label is a folder the reader may not open (a readable document in it).
    collection: filterItems('Any collection', facets.collection, form.collection, (value, label) => label ?? (facets.collection.some((f) => f.value === value) ? HIDDEN_FOLDER : 'Chosen collection')),
    serviceArea: filterItems('Any service area', facets.serviceArea, form.serviceArea, areaName),
    classification: filterItems('Any classification', facets.classification, form.classification, (v) => v),
    type: filterItems('Any type', facets.type, form.type, (v) => TYPE_NAMES[v] ?? v),
    year: filterItems('Any year', [...facets.year].sort((a, b) => b.value.localeCompare(a.value)), form.year, (v) => v),
  };
}

export interface PaginationView {
  previous?: { href: string };
  next?: { href: string };
  items: ({ number: number; href: string; current: boolean } | { ellipsis: true })[];
}

/** GOV.UK pagination: first, last, and the pages either side of the current one; every link keeps the filters. */
export function pagination(form: SearchForm, page: number, pages: number): PaginationView | null {
  if (pages <= 1) return null;
  const href = (n: number) => searchHref(form, { page: n === 1 ? '' : String(n) });
  const shown = [...new Set([1, page - 1, page, page + 1, pages])].filter((n) => n >= 1 && n <= pages).sort((a, b) => a - b);
  const items: PaginationView['items'] = [];
  let last = 0;
  for (const n of shown) {
    if (n - last > 1) items.push({ ellipsis: true });
    items.push({ number: n, href: href(n), current: n === page });
    last = n;
  }
  return {
    ...(page > 1 ? { previous: { href: href(page - 1) } } : {}),
    ...(page < pages ? { next: { href: href(page + 1) } } : {}),
    items,
  };
}
