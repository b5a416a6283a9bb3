import { describe, expect, it } from 'vitest';
import { checkPasswordStrength } from './passwords.js';

describe('checkPasswordStrength', () => {
  it('accepts a long passphrase without composition rules', () => {
    expect(() => checkPasswordStrength('correct horse battery staple')).not.toThrow();
  });
  it('refuses fewer than 12 characters', () => {
    expect(() => checkPasswordStrength('Sh0rt!pass')).toThrow(/at least 12/);
  });
  it('refuses common passwords and repeated characters', () => {
    expect(() => checkPasswordStrength('password1234')).toThrow(/too common/);
    expect(() => checkPasswordStrength('aaaaaaaaaaaaaaa')).toThrow(/too common/);
  });
});
