import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_TERM_LENGTH, foldTerms, normaliseTerms, tokenize } from './terms.js';

describe('search terms', () => {
  it('folds case, diacritics and compatibility forms, and splits on anything but letters and digits', () => {
    expect(normaliseTerms('Ångström café, NAÏVE façade')).toEqual(['angstrom', 'cafe', 'naive', 'facade']);
    expect(normaliseTerms('ﬁnance Ｆｕｌｌ-width e-mail')).toEqual(['finance', 'full', 'width', 'e', 'mail']);
    expect(normaliseTerms('İstanbul straße ½')).toEqual(['istanbul', 'straße', '1', '2']);
    expect(normaliseTerms('NEAR(a b) ^c: {d} "e" *f\u0000g')).toEqual(['near', 'a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(normaliseTerms('')).toEqual([]);
    expect(normaliseTerms('  —  ')).toEqual([]);
  });

  it('caps terms at 32 characters, by code points', () => {
    const long = 'a'.repeat(40);
    expect(normaliseTerms(long)).toEqual(['a'.repeat(32)]);
    const astral = '𝐀'.repeat(40); // mathematical bold A: NFKD folds it to "a"
    expect(normaliseTerms(astral)).toEqual(['a'.repeat(32)]);
    expect(foldTerms('𐐀'.repeat(40))[0]).toBe('𐐨'.repeat(32)); // Deseret: a letter outside the BMP
  });

  it('gives positions and the offsets of the original run', () => {
    expect(tokenize('Pay  Café-bills')).toEqual([
      { term: 'pay', position: 0, start: 0, end: 3 },
      { term: 'cafe', position: 1, start: 5, end: 9 },
      { term: 'bills', position: 2, start: 10, end: 15 },
    ]);
  });

  it('always yields non-empty, already normalised terms', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        for (const token of tokenize(text)) {
          expect(token.term.length).toBeGreaterThan(0);
          expect(Array.from(token.term).length).toBeLessThanOrEqual(MAX_TERM_LENGTH);
          expect(foldTerms(token.term)).toEqual([token.term]);
          expect(/^[\p{L}\p{N}]+$/u.test(token.term)).toBe(true);
          expect(token.start).toBeLessThan(token.end);
        }
      }),
    );
  });
});
