import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { validateName } from './names.js';

describe('validateName', () => {
  it.each(['report.pdf', 'Payslips Oct 2026.csv', 'café menu.docx', 'a'.repeat(255)])('accepts %s', (name) => {
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
  ])('refuses %j with a clear message', (name, message) => {
    expect(() => validateName(name)).toThrow(DomainError);
    expect(() => validateName(name)).toThrow(new RegExp(message));
  });
});
