// The one normaliser both search dialects share: what counts as a word, and how it is folded, so a
// word typed in a query matches the same words in FTS5 and in PostgreSQL's blind index. Snippets use
// the same tokeniser, with character offsets into the original text, to highlight what matched.

/** Longer words are indexed (and queried) by their first 32 characters. */
export const MAX_TERM_LENGTH = 32;

/** A run of letters and digits in the original text (marks kept with their letter, e.g. "é" decomposed). */
const WORD_RUN = /[\p{L}\p{N}\p{M}]+/gu;
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]+/u;
const MARKS = /\p{M}/gu;

export interface Token {
  term: string;
  /** 0-based position of the term in the text (term count before it). */
  position: number;
  /** Character offsets (UTF-16 code units) of the run the term came from, in the original text. */
  start: number;
  end: number;
}

/**
 * Folds a run of text: compatibility decomposition (ligatures, full-width forms), diacritics removed,
 * lower case, then split where anything other than a letter or digit is left ("ﬁ" → "fi", "Ångström"
 * → "angstrom", "½" → "1", "2"). Lower-casing can itself produce marks ("İ"), so they go twice.
 */
export function foldTerms(run: string): string[] {
  const folded = run.normalize('NFKD').replace(MARKS, '').toLowerCase().normalize('NFKD').replace(MARKS, '');
  const terms: string[] = [];
  for (const part of folded.split(NOT_LETTER_OR_DIGIT)) {
    if (part.length === 0) continue;
    terms.push(capTerm(part));
  }
  return terms;
}

/** Caps by code points, so a word never ends in half a surrogate pair. */
function capTerm(term: string): string {
  if (term.length <= MAX_TERM_LENGTH) return term;
  return Array.from(term).slice(0, MAX_TERM_LENGTH).join('');
}

/** Every term of `text` in order, with positions and the offsets of the run it came from. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  for (const match of text.matchAll(WORD_RUN)) {
    const start = match.index;
    const end = start + match[0].length;
    for (const term of foldTerms(match[0])) tokens.push({ term, position: position++, start, end });
  }
  return tokens;
}

/** The terms of `text`, in order. */
export function normaliseTerms(text: string): string[] {
  return tokenize(text).map((t) => t.term);
}
