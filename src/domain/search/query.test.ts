import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DomainError } from '../errors.js';
import { parseSearchQuery } from './query.js';
import { foldTerms } from './terms.js';
import type { QueryTerm } from './types.js';

function badQuery(q: string): string {
  try {
    parseSearchQuery(q);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('BAD_QUERY');
    return (error as DomainError).message;
  }
  throw new Error(`expected BAD_QUERY for ${JSON.stringify(q)}`);
}

describe('parseSearchQuery', () => {
  it('parses words, phrases, prefixes, exclusions and OR', () => {
    expect(parseSearchQuery('Payslip "Annual Leave" budg* -draft -"old copy" tender OR Contract')).toEqual({
      all: [
        { anyOf: [{ kind: 'word', term: 'payslip' }] },
        { anyOf: [{ kind: 'phrase', terms: ['annual', 'leave'] }] },
        { anyOf: [{ kind: 'prefix', prefix: 'budg' }] },
        { anyOf: [{ kind: 'word', term: 'tender' }, { kind: 'word', term: 'contract' }] },
      ],
      none: [{ kind: 'word', term: 'draft' }, { kind: 'phrase', terms: ['old', 'copy'] }],
    });
  });

  it('cuts a prefix longer than 10 characters to its first 10 (what the PostgreSQL index hashes)', () => {
    expect(parseSearchQuery('Administrati*').all).toEqual([{ anyOf: [{ kind: 'prefix', prefix: 'administra' }] }]);
    expect(parseSearchQuery('administra*').all).toEqual([{ anyOf: [{ kind: 'prefix', prefix: 'administra' }] }]);
    expect(parseSearchQuery('ÉÉÉÉÉÉÉÉÉÉÉÉ*').all).toEqual([{ anyOf: [{ kind: 'prefix', prefix: 'eeeeeeeeee' }] }]);
  });

  it('chains OR and treats a lower-case or as a word', () => {
    expect(parseSearchQuery('a OR b OR "c d"').all).toEqual([
      { anyOf: [{ kind: 'word', term: 'a' }, { kind: 'word', term: 'b' }, { kind: 'phrase', terms: ['c', 'd'] }] },
    ]);
    expect(parseSearchQuery('a or b').all).toHaveLength(3);
  });

  it('ignores a dangling OR and an OR next to an exclusion', () => {
    expect(parseSearchQuery('OR rates OR').all).toEqual([{ anyOf: [{ kind: 'word', term: 'rates' }] }]);
    expect(parseSearchQuery('rates OR -council tax')).toEqual({
      all: [{ anyOf: [{ kind: 'word', term: 'rates' }] }, { anyOf: [{ kind: 'word', term: 'tax' }] }],
      none: [{ kind: 'word', term: 'council' }],
    });
  });

  it('reads a hyphenated word as a phrase and a lone minus as nothing', () => {
    expect(parseSearchQuery('e-mail - policy').all).toEqual([
      { anyOf: [{ kind: 'phrase', terms: ['e', 'mail'] }] },
      { anyOf: [{ kind: 'word', term: 'policy' }] },
    ]);
  });

  it('treats FTS5 and tsquery operators as punctuation', () => {
    expect(parseSearchQuery('NEAR(payroll tax, 5) ^title:budget {a b} & | ! <-> :*').all.map((c) => c.anyOf[0])).toEqual([
      { kind: 'phrase', terms: ['near', 'payroll'] },
      { kind: 'word', term: 'tax' },
      { kind: 'word', term: '5' },
      { kind: 'phrase', terms: ['title', 'budget'] },
      { kind: 'word', term: 'a' },
      { kind: 'word', term: 'b' },
    ]);
  });

  it('runs an unclosed quote to the end, and reads NUL as a separator', () => {
    expect(parseSearchQuery('"annual leave').all).toEqual([{ anyOf: [{ kind: 'phrase', terms: ['annual', 'leave'] }] }]);
    expect(parseSearchQuery('pay\u0000slip').all).toEqual([{ anyOf: [{ kind: 'phrase', terms: ['pay', 'slip'] }] }]);
  });

  it('refuses what it cannot search, with a message a person understands', () => {
    expect(badQuery('')).toBe('Type a word to search for.');
    expect(badQuery('  " " ^ * ')).toBe('Type a word to search for.');
    expect(badQuery('-draft -"old copy"')).toBe('Say what to look for, not only what to leave out (words after a minus sign are left out).');
    expect(badQuery('ab*')).toBe('Put at least 3 letters or digits before the * in "ab*".');
    expect(badQuery('é*')).toBe('Put at least 3 letters or digits before the * in "é*".');
    expect(badQuery('e-mail*')).toBe('A prefix search such as "budg*" must be one word: "e-mail*" is several.');
    expect(badQuery('x'.repeat(10_000))).toBe('Your search is too long: use at most 500 characters.');
    expect(badQuery(Array.from({ length: 21 }, (_, i) => `w${i}`).join(' '))).toBe('Your search has 21 words: use at most 20.');
    expect(badQuery('a b c d e f g h i j k l m n o p q r s t -u')).toBe('Your search has 21 words: use at most 20.');
  });

  it('evaluates a repeated term or clause once: the same query as without the repetition', () => {
    expect(parseSearchQuery('cou* cou* cou*')).toEqual(parseSearchQuery('cou*'));
    expect(parseSearchQuery('cou* cou* cou*').all).toHaveLength(1);
    expect(parseSearchQuery('Council council "COUNCIL"')).toEqual({ all: [{ anyOf: [{ kind: 'word', term: 'council' }] }], none: [] });
    // Within a clause, and a clause whose alternatives are the same in another order.
    expect(parseSearchQuery('tax OR tax OR rates rates OR tax budget')).toEqual({
      all: [{ anyOf: [{ kind: 'word', term: 'tax' }, { kind: 'word', term: 'rates' }] }, { anyOf: [{ kind: 'word', term: 'budget' }] }],
      none: [],
    });
    expect(parseSearchQuery('"annual leave" "Annual Leave" -draft -draft -"old copy" -"old  copy"')).toEqual({
      all: [{ anyOf: [{ kind: 'phrase', terms: ['annual', 'leave'] }] }],
      none: [{ kind: 'word', term: 'draft' }, { kind: 'phrase', terms: ['old', 'copy'] }],
    });
    // A word, a prefix and a phrase of the same letters are different terms.
    expect(parseSearchQuery('cou cou* "cou x"').all).toHaveLength(3);
  });

  it('counts the words left once repetitions are collapsed, and says so when it refuses', () => {
    expect(parseSearchQuery(Array.from({ length: 40 }, () => 'cou*').join(' ')).all).toEqual([{ anyOf: [{ kind: 'prefix', prefix: 'cou' }] }]);
    const twentyOne = Array.from({ length: 21 }, (_, i) => `w${i}`);
    expect(badQuery([...twentyOne, ...twentyOne].join(' '))).toBe('Your search has 21 different words: use at most 20.');
  });

  it('accepts exactly the caps', () => {
    expect(parseSearchQuery('x'.repeat(500)).all).toHaveLength(1);
    expect(parseSearchQuery(Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ')).all).toHaveLength(20);
  });

  it('never throws anything but BAD_QUERY, and every term it returns is normalised', () => {
    const alphabet = fc.constantFrom(...'aZé"*- ORN()^:{}\u0000\t\n1ﬁİ'.split(''), 'OR', 'NEAR(', ' OR ');
    const typed = fc.oneof(fc.string({ unit: 'binary', maxLength: 600 }), fc.array(alphabet, { maxLength: 80 }).map((a) => a.join('')));
    const isNormal = (t: string): boolean => t.length > 0 && foldTerms(t).length === 1 && foldTerms(t)[0] === t;
    const check = (term: QueryTerm): void => {
      if (term.kind === 'word') expect(isNormal(term.term)).toBe(true);
      else if (term.kind === 'prefix') {
        expect(isNormal(term.prefix)).toBe(true);
        expect(Array.from(term.prefix).length).toBeGreaterThanOrEqual(3);
        expect(Array.from(term.prefix).length).toBeLessThanOrEqual(10);
      } else {
        expect(term.terms.length).toBeGreaterThan(1);
        term.terms.forEach((t) => expect(isNormal(t)).toBe(true));
      }
    };
    fc.assert(
      fc.property(typed, (q) => {
        try {
          const parsed = parseSearchQuery(q);
          expect(parsed.all.length).toBeGreaterThan(0);
          parsed.all.forEach((c) => c.anyOf.forEach(check));
          parsed.none.forEach(check);
        } catch (error) {
          if (!(error instanceof DomainError) || error.code !== 'BAD_QUERY') throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
