import { describe, expect, it } from 'vitest';
import { parseSearchQuery } from './query.js';
import { makeSnippet, matchedRanges } from './snippet.js';

describe('snippets', () => {
  it('highlights words, prefixes and phrases as the index matched them', () => {
    const text = 'The Café budgets for annual leave were agreed; budgetary annual review next.';
    expect(makeSnippet(text, parseSearchQuery('cafe budg* "annual leave"'))).toEqual([
      { text: 'The ', highlighted: false },
      { text: 'Café', highlighted: true },
      { text: ' ', highlighted: false },
      { text: 'budgets', highlighted: true },
      { text: ' for ', highlighted: false },
      { text: 'annual leave', highlighted: true },
      { text: ' were agreed; ', highlighted: false },
      { text: 'budgetary', highlighted: true },
      { text: ' annual review next.', highlighted: false },
    ]);
  });

  it('does not highlight excluded words', () => {
    expect(matchedRanges('pay and draft', parseSearchQuery('pay -draft'))).toEqual([{ start: 0, end: 3 }]);
  });

  it('windows long text around the first match, cut at spaces', () => {
    const text = `${'lorem '.repeat(100)}canary ${'ipsum '.repeat(100)}`;
    const parts = makeSnippet(text, parseSearchQuery('canary'), 60);
    expect(parts[0]).toEqual({ text: '…', highlighted: false });
    expect(parts.at(-1)).toEqual({ text: '…', highlighted: false });
    expect(parts.filter((p) => p.highlighted)).toEqual([{ text: 'canary', highlighted: true }]);
    expect(parts.map((p) => p.text).join('').length).toBeLessThanOrEqual(64);
  });
});
