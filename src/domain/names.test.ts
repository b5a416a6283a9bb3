import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { nameKey, validateName } from './names.js';

describe('validateName', () => {
  it.each(['report.pdf', 'Payslips Oct 2026.csv', 'café menu.docx', 'a'.repeat(255), 'CONTRACT.pdf', 'console.log', 'nullable.txt', 'LPT10.txt', 'COM0x', 'auxiliary', '.con', 'Ārd Mhacha.txt', 'מסמך.txt', 'تقرير.pdf', 'emoji 📄.txt'])('accepts %s', (name) => {
    expect(validateName(name)).toBe(name.normalize('NFC'));
  });

  it.each([
    ['', 'required'],
    ['..', 'not a valid'],
    ['.', 'not a valid'],
    ['../x', 'not allowed'],
    ['a/b', 'not allowed'],
    ['a\\b', 'not allowed'],
    ['nul\u0000byte', 'not allowed'],
    ['x'.repeat(256), 'too long'],
    [' leading', 'space'],
    ['trailing.', 'full stop'],
    ['next\u0085line.txt', 'control character'],
    ['c1\u009bcontrol', 'control character'],
    ['invoice\u202Etxt.exe', 'invisible'],
    ['embed\u202Aname', 'invisible'],
    ['isolate\u2066name', 'invisible'],
    ['mark\u200Fname', 'invisible'],
    ['zero\u200Bwidth.txt', 'invisible'],
    ['joiner\u200Dname', 'invisible'],
    ['word\u2060joiner', 'invisible'],
    ['bom\uFEFF.txt', 'invisible'],
    ['soft\u00ADhyphen', 'invisible'],
    ['line\u2028separator', 'invisible'],
    ['lone\uD800surrogate', 'invisible'],
    ['CON', 'reserved'],
    ['con', 'reserved'],
    ['nul.txt', 'reserved'],
    ['NUL.tar.gz', 'reserved'],
    ['LPT1', 'reserved'],
    ['lpt9.doc', 'reserved'],
    ['COM1', 'reserved'],
    ['com\u00B9.txt', 'reserved'],
    ['AUX', 'reserved'],
    ['PRN.csv', 'reserved'],
    ['CONIN$', 'reserved'],
    ['conout$.log', 'reserved'],
    ['CON .txt', 'reserved'],
  ])('refuses %j with a clear message', (name, message) => {
    expect(() => validateName(name)).toThrow(DomainError);
    expect(() => validateName(name)).toThrow(new RegExp(message));
  });
});

describe('nameKey: names that differ only in capital letters are one name', () => {
  it('folds case in any script, after NFC, not by any locale', () => {
    expect(nameKey('Minutes.docx')).toBe(nameKey('MINUTES.DOCX'));
    expect(nameKey('Ärger.pdf')).toBe('ärger.pdf');
    // A decomposed Ä (A + combining diaeresis) is the composed one.
    expect(nameKey('A\u0308rger.pdf')).toBe('ärger.pdf');
    expect(nameKey('STRASSE')).toBe(nameKey('Straße'));
    expect(nameKey('ΟΔΟΣ')).toBe(nameKey('οδοσ'));
    expect(nameKey('οδος')).toBe(nameKey('οδοσ'));
    // Names that differ otherwise stay apart.
    expect(nameKey('minutes.docx')).not.toBe(nameKey('minutes .docx'));
    expect(nameKey('resume.txt')).not.toBe(nameKey('résumé.txt'));
  });
});
