// Parses what a person typed into a search box into a SearchQuery of normalised terms. The adapters
// build FTS5 or tsquery syntax from the parsed terms only, never from the typed string, so operators
// typed by hand (NEAR, ^, column filters, braces) are just punctuation here.
//
// Syntax: words (implicit AND), "phrases", prefix* (3+ characters before the star; a longer prefix
// is cut to its first 10, see MAX_PREFIX_LENGTH), -word or -"phrase" (exclusion), and an upper-case
// OR between two terms. A dangling OR is ignored; an unclosed quote
// runs to the end of the query. A repeated term or clause is searched once (collapseRepeats).
import { DomainError } from '../errors.js';
import { normaliseTerms } from './terms.js';
import type { QueryClause, QueryTerm, SearchQuery } from './types.js';

export const MAX_QUERY_LENGTH = 500;
/** Different terms across the whole query, alternatives and exclusions included (a repeated one counts once). */
export const MAX_QUERY_TERMS = 20;
export const MIN_PREFIX_LENGTH = 3;
/**
 * A prefix longer than this is cut to its first MAX_PREFIX_LENGTH characters. The PostgreSQL blind
 * index can only hash the prefixes it stores (3..10 characters of each word: every prefix of every
 * word made the index about 40 kB per document and the build ten times slower), and SQLite cuts
 * the same way so both dialects return the same documents for the same query.
 */
export const MAX_PREFIX_LENGTH = 10;

const badQuery = (message: string): DomainError => new DomainError('BAD_QUERY', message);

/** One piece of the typed query before it is folded. */
interface RawPiece {
  kind: 'text' | 'quoted' | 'or';
  text: string;
  negated: boolean;
}

function splitPieces(q: string): RawPiece[] {
  const pieces: RawPiece[] = [];
  let i = 0;
  while (i < q.length) {
    const ch = q[i]!;
    if (/\s/u.test(ch)) {
      i++;
      continue;
    }
    let negated = false;
    if (ch === '-' && i + 1 < q.length && !/\s/u.test(q[i + 1]!)) {
      negated = true;
      i++;
    }
    if (q[i] === '"') {
      const close = q.indexOf('"', i + 1);
      const end = close === -1 ? q.length : close;
      pieces.push({ kind: 'quoted', text: q.slice(i + 1, end), negated });
      i = end + 1;
      continue;
    }
    let end = i;
    while (end < q.length && !/\s/u.test(q[end]!) && q[end] !== '"') end++;
    const text = q.slice(i, end);
    pieces.push({ kind: !negated && text === 'OR' ? 'or' : 'text', text, negated });
    i = end;
  }
  return pieces;
}

/** A typed word: one term, a prefix, or (for "e-mail", "1/2") a phrase of its parts. Null when it has no letters or digits. */
function termOfWord(text: string): QueryTerm | null {
  const starred = /\*+$/u.test(text);
  const terms = normaliseTerms(starred ? text.replace(/\*+$/u, '') : text);
  if (terms.length === 0) return null;
  if (starred) {
    if (terms.length > 1) throw badQuery(`A prefix search such as "budg*" must be one word: "${printable(text)}" is several.`);
    const chars = Array.from(terms[0]!);
    if (chars.length < MIN_PREFIX_LENGTH) {
      throw badQuery(`Put at least ${MIN_PREFIX_LENGTH} letters or digits before the * in "${printable(text)}".`);
    }
    return { kind: 'prefix', prefix: chars.slice(0, MAX_PREFIX_LENGTH).join('') };
  }
  return terms.length === 1 ? { kind: 'word', term: terms[0]! } : { kind: 'phrase', terms };
}

function termOfPhrase(text: string): QueryTerm | null {
  const terms = normaliseTerms(text);
  if (terms.length === 0) return null;
  return terms.length === 1 ? { kind: 'word', term: terms[0]! } : { kind: 'phrase', terms };
}

/** The user's own text, shortened and without control characters, for an error message. */
function printable(text: string): string {
  const clean = text.replace(/\p{C}/gu, '');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

const termCount = (term: QueryTerm): number => (term.kind === 'phrase' ? term.terms.length : 1);

export function parseSearchQuery(q: string): SearchQuery {
  if (q.length > MAX_QUERY_LENGTH) throw badQuery(`Your search is too long: use at most ${MAX_QUERY_LENGTH} characters.`);
  const all: QueryClause[] = [];
  const none: QueryTerm[] = [];
  // Set when an OR was seen right after a positive term: the next positive term joins that clause.
  let joinNext = false;
  let lastWasPositive = false;
  for (const piece of splitPieces(q)) {
    if (piece.kind === 'or') {
      joinNext = lastWasPositive;
      continue;
    }
    const term = piece.kind === 'quoted' ? termOfPhrase(piece.text) : termOfWord(piece.text);
    if (term === null) continue; // punctuation only: nothing to look for
    if (piece.negated) {
      none.push(term);
      joinNext = false;
      lastWasPositive = false;
      continue;
    }
    if (joinNext && all.length > 0) all[all.length - 1]!.anyOf.push(term);
    else all.push({ anyOf: [term] });
    joinNext = false;
    lastWasPositive = true;
  }
  const typed = countTerms(all, none);
  const query = collapseRepeats({ all, none });
  // Counted once repeated: the cap bounds the index's work, and a repeated term costs nothing more.
  const terms = countTerms(query.all, query.none);
  if (terms > MAX_QUERY_TERMS) throw badQuery(`Your search has ${terms} ${terms < typed ? 'different ' : ''}words: use at most ${MAX_QUERY_TERMS}.`);
  if (all.length === 0) {
    throw badQuery(none.length > 0 ? 'Say what to look for, not only what to leave out (words after a minus sign are left out).' : 'Type a word to search for.');
  }
  return query;
}

const countTerms = (all: readonly QueryClause[], none: readonly QueryTerm[]): number =>
  all.reduce((n, c) => n + c.anyOf.reduce((m, t) => m + termCount(t), 0), 0) + none.reduce((n, t) => n + termCount(t), 0);

/** A term's identity: kind and normalised text (a phrase's words joined by a space, which no term holds). */
const termKey = (term: QueryTerm): string => (term.kind === 'word' ? `w:${term.term}` : term.kind === 'prefix' ? `p:${term.prefix}` : `f:${term.terms.join(' ')}`);

function uniqueTerms(terms: readonly QueryTerm[]): QueryTerm[] {
  const seen = new Set<string>();
  return terms.filter((term) => !seen.has(termKey(term)) && seen.add(termKey(term)));
}

/**
 * The same term twice in a clause (or among the exclusions), and the same clause twice (its
 * alternatives in any order), are kept once, the first time they appear: each clause is a separate
 * pass over the index, so "cou* cou* cou*" would otherwise cost three passes for the results of one.
 */
function collapseRepeats(query: SearchQuery): SearchQuery {
  const seen = new Set<string>();
  const all: QueryClause[] = [];
  for (const clause of query.all) {
    const anyOf = uniqueTerms(clause.anyOf);
    const key = anyOf.map(termKey).sort().join('\0');
    if (seen.has(key)) continue;
    seen.add(key);
    all.push({ anyOf });
  }
  return { all, none: uniqueTerms(query.none) };
}

/** Every normalised term a query names, for tests and for highlighting snippets. */
export function queryTerms(query: SearchQuery): { words: string[]; prefixes: string[] } {
  const words: string[] = [];
  const prefixes: string[] = [];
  for (const clause of query.all) {
    for (const term of clause.anyOf) {
      if (term.kind === 'word') words.push(term.term);
      else if (term.kind === 'prefix') prefixes.push(term.prefix);
      else words.push(...term.terms);
    }
  }
  return { words, prefixes };
}
