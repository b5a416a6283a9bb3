// Snippets for search results: a window of a section's text around the words that matched, split
// into plain and highlighted parts (the page escapes and marks them up). It tokenises with terms.ts,
// so what is highlighted is what the index matched: "Café" for a query "cafe", "budgets" for "budg*".
import { tokenize, type Token } from './terms.js';
import type { QueryTerm, SearchQuery } from './types.js';

export interface SnippetPart {
  text: string;
  highlighted: boolean;
}

export const SNIPPET_LENGTH = 240;

function matchesTerm(term: QueryTerm, tokens: readonly Token[], i: number): number {
  const token = tokens[i]!;
  if (term.kind === 'word') return token.term === term.term ? 1 : 0;
  if (term.kind === 'prefix') return token.term.startsWith(term.prefix) ? 1 : 0;
  for (let k = 0; k < term.terms.length; k++) if (tokens[i + k]?.term !== term.terms[k]) return 0;
  return term.terms.length;
}

/** Character ranges of the text the query's positive terms matched, in order, not overlapping. */
export function matchedRanges(text: string, query: SearchQuery): { start: number; end: number }[] {
  const tokens = tokenize(text);
  const terms = query.all.flatMap((c) => c.anyOf);
  const ranges: { start: number; end: number }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const length = Math.max(0, ...terms.map((t) => matchesTerm(t, tokens, i)));
    if (length === 0) continue;
    const start = tokens[i]!.start;
    const end = tokens[i + length - 1]!.end;
    const last = ranges[ranges.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else ranges.push({ start, end });
  }
  return ranges;
}

/**
 * About `length` characters of `text` around its first match (from the start when nothing matched),
 * cut at spaces where it can, with "…" where it was cut, and the matches highlighted.
 */
export function makeSnippet(text: string, query: SearchQuery, length = SNIPPET_LENGTH): SnippetPart[] {
  const ranges = matchedRanges(text, query);
  const first = ranges[0]?.start ?? 0;
  let from = Math.max(0, first - Math.floor(length / 3));
  if (from > 0) {
    const space = text.indexOf(' ', from);
    if (space !== -1 && space < first) from = space + 1;
  }
  let to = Math.min(text.length, from + length);
  if (to < text.length) {
    const space = text.lastIndexOf(' ', to);
    if (space > first && space > from) to = space;
  }
  // Never split a surrogate pair.
  if (from > 0 && /[\uDC00-\uDFFF]/u.test(text[from] ?? '')) from--;
  if (to < text.length && /[\uD800-\uDBFF]/u.test(text[to - 1] ?? '')) to++;
  const parts: SnippetPart[] = [];
  const push = (part: string, highlighted: boolean): void => {
    if (part.length > 0) parts.push({ text: part.replace(/\s+/gu, ' '), highlighted });
  };
  if (from > 0) push('…', false);
  let at = from;
  for (const r of ranges) {
    if (r.end <= from || r.start >= to) continue;
    const start = Math.max(r.start, from);
    const end = Math.min(r.end, to);
    push(text.slice(at, start), false);
    push(text.slice(start, end), true);
    at = end;
  }
  push(text.slice(at, to), false);
  if (to < text.length) push('…', false);
  return parts;
}
