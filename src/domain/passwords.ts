// Password rules after NCSC and NIST SP 800-63B: length, no composition rules, and a deny-list of common passwords.
import { invalid } from './errors.js';

export const MIN_PASSWORD_LENGTH = 12;

// The most common passwords of at least 12 characters in published breach corpora, plus the service's own words.
const COMMON = new Set([
  '123456789012', '1234567890123', '12345678910', 'qwertyuiop12', 'qwertyuiopas', 'password1234', 'password12345',
  'passwordpassword', 'iloveyou1234', 'abcdefghijkl', 'abc123456789', '111111111111', '000000000000', 'aaaaaaaaaaaa',
  'qwerty123456', '1q2w3e4r5t6y', 'welcome12345', 'letmein12345', 'administrator', 'changeme1234', 'strongroom123',
  'strongroom1234', 'councilpassword', 'password123456', 'qwertyqwerty', 'monkeymonkey', 'football1234', 'sunshine1234',
]);

export function checkPasswordStrength(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw invalid(`Passwords must be at least ${MIN_PASSWORD_LENGTH} characters long.`, { field: 'password' });
  }
  if (COMMON.has(password.toLowerCase()) || /^(.)\1+$/.test(password)) {
    throw invalid('That password is too common; choose a longer phrase that others would not guess.', { field: 'password' });
  }
}
