import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from './report-csv.js';

describe('csvField', () => {
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvField('plain.txt')).toBe('plain.txt');
    expect(csvField('a,b.txt')).toBe('"a,b.txt"');
    expect(csvField('say "hi".txt')).toBe('"say ""hi"".txt"');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(-3)).toBe('-3');
  });

  it.each([
    ['=HYPERLINK("http://x","y").txt', `"'=HYPERLINK(""http://x"",""y"").txt"`],
    ['+1.txt', "'+1.txt"],
    ['-cmd.txt', "'-cmd.txt"],
    ['@SUM(A1).txt', "'@SUM(A1).txt"],
    ['\tindent', "'\tindent"],
    ['\rback', `"'\rback"`],
  ])('neutralises a formula in %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('ends a line with CRLF', () => {
    expect(csvLine(['a', 1, null])).toBe('a,1,\r\n');
  });
});
