// The search page's presentation helpers: snippets split at highlight offsets (hostile offsets
// included), the form read from a query string, filter options and pagination links.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SearchFacets } from '../../src/domain/search/types.js';
import { SearchFormError, filterSelects, pagination, readSearchForm, requestParts, searchHref, snippetPieces } from '../../src/http/ui/search-view.js';

const noFacets: SearchFacets = { organisation: [], collection: [], serviceArea: [], classification: [], type: [], year: [] };

describe('snippetPieces', () => {
  it('marks the highlighted ranges and keeps the rest as plain text', () => {
    expect(snippetPieces({ text: 'pay the canary now', highlights: [[8, 14]] })).toEqual([
      { text: 'pay the ', mark: false }, { text: 'canary', mark: true }, { text: ' now', mark: false },
    ]);
  });

  it('sorts, merges and clamps bad offsets', () => {
    expect(snippetPieces({ text: 'abcdef', highlights: [[4, 99], [1, 3], [2, 4], [-5, 0], [3, 3]] })).toEqual([
      { text: 'a', mark: false }, { text: 'bcdef', mark: true },
    ]);
    expect(snippetPieces({ text: 'abc', highlights: [[Number.NaN, 2]] })).toEqual([{ text: 'abc', mark: false }]);
    expect(snippetPieces(null)).toEqual([]);
  });

  it('never drops or repeats a character, whatever the offsets', () => {
    fc.assert(fc.property(fc.string(), fc.array(fc.tuple(fc.integer({ min: -10, max: 60 }), fc.integer({ min: -10, max: 60 }))), (text, highlights) => {
      const pieces = snippetPieces({ text, highlights });
      expect(pieces.map((p) => p.text).join('')).toBe(text);
      for (const p of pieces) expect(p.text.length).toBeGreaterThan(0);
      for (let i = 1; i < pieces.length; i += 1) expect(pieces[i]!.mark && pieces[i - 1]!.mark).toBe(false);
    }));
  });
});

describe('the search form', () => {
  it('reads the first value of each parameter and trims the query', () => {
    const form = readSearchForm({ q: ['  canary  ', 'other'], type: 'pdf', page: '2', junk: 'x' });
    expect(form).toEqual({ q: 'canary', organisation: '', collection: '', serviceArea: '', classification: '', type: 'pdf', year: '', from: '', to: '', sort: '', page: '2' });
    expect(requestParts(form)).toEqual({ filters: { type: 'pdf' }, sort: 'relevance', page: 2 });
  });

  it('turns a year into from and to, and refuses pages, sorts and years it did not offer', () => {
    expect(requestParts(readSearchForm({ q: 'a', year: '2026', sort: 'date' }))).toEqual({ filters: { from: '2026-01-01', to: '2026-12-31' }, sort: 'date', page: 1 });
    expect(() => requestParts(readSearchForm({ q: 'a', page: '0' }))).toThrow(SearchFormError);
    expect(() => requestParts(readSearchForm({ q: 'a', page: '-1' }))).toThrow('The page number must be a whole number, 1 or more');
    expect(() => requestParts(readSearchForm({ q: 'a', sort: 'name' }))).toThrow('Sort by relevance or by date');
    expect(() => requestParts(readSearchForm({ q: 'a', year: '26' }))).toThrow('Choose a year from the list');
  });

  it('writes addresses that keep the query and filters', () => {
    const form = readSearchForm({ q: 'a&b "c"', type: 'pdf' });
    expect(searchHref(form, { page: '3' })).toBe('/search?q=a%26b+%22c%22&type=pdf&page=3');
  });
});

describe('filter options', () => {
  it('counts each value, names organisations by label, and keeps a chosen value with no results', () => {
    const facets: SearchFacets = { ...noFacets, organisation: [{ value: 'o1', count: 3, label: 'Borough' } as never], type: [{ value: 'pdf', count: 2 }] };
    const selects = filterSelects(facets, readSearchForm({ q: 'x', organisation: 'o1', collection: 'c9' }));
    expect(selects.organisation).toEqual([{ value: '', text: 'Any organisation', selected: false }, { value: 'o1', text: 'Borough (3)', selected: true }]);
    expect(selects.collection).toEqual([{ value: '', text: 'Any collection', selected: false }, { value: 'c9', text: 'Chosen collection (0)', selected: true }]);
    expect(selects.type).toEqual([{ value: '', text: 'Any type', selected: true }, { value: 'pdf', text: 'PDF (2)', selected: false }]);
  });

  it('shows a folder the reader may not open (a collection facet without a label) by a neutral name, never its id', () => {
    const facets: SearchFacets = { ...noFacets, collection: [{ value: 'c1', count: 2, label: 'Payroll' } as never, { value: 'c2', count: 1 }] };
    expect(filterSelects(facets, readSearchForm({ q: 'x', collection: 'c2' })).collection).toEqual([
      { value: '', text: 'Any collection', selected: false },
      { value: 'c1', text: 'Payroll (2)', selected: false },
      { value: 'c2', text: 'A folder you cannot open (1)', selected: true },
    ]);
  });
});

describe('pagination', () => {
  const form = readSearchForm({ q: 'canary', type: 'pdf' });
  it('is absent for one page', () => {
    expect(pagination(form, 1, 1)).toBeNull();
  });
  it('links first, last and neighbours, with ellipses, keeping the filters', () => {
    expect(pagination(form, 5, 9)).toEqual({
      previous: { href: '/search?q=canary&type=pdf&page=4' },
      next: { href: '/search?q=canary&type=pdf&page=6' },
      items: [
        { number: 1, href: '/search?q=canary&type=pdf', current: false }, { ellipsis: true },
        { number: 4, href: '/search?q=canary&type=pdf&page=4', current: false },
        { number: 5, href: '/search?q=canary&type=pdf&page=5', current: true },
        { number: 6, href: '/search?q=canary&type=pdf&page=6', current: false }, { ellipsis: true },
        { number: 9, href: '/search?q=canary&type=pdf&page=9', current: false },
      ],
    });
  });
});
