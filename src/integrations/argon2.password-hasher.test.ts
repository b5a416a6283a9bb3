import { describe, expect, it } from 'vitest';
import { Argon2PasswordHasher } from './argon2.password-hasher.js';

describe('Argon2PasswordHasher', () => {
  const standard = new Argon2PasswordHasher('standard');
  const weak = new Argon2PasswordHasher('test-only-weak');

  it('hashes with argon2id at 64 MiB, 3 passes and 4 lanes by default, salted, and checks the password', async () => {
    const hash = await standard.hash('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=65536,p=4,t=3\$/);
    expect(await standard.hash('correct horse battery staple')).not.toBe(hash);
    expect(await standard.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await standard.verify(hash, 'correct horse battery stapler')).toBe(false);
  });

  it('hashes cheaply only when told it is a test suite, and either setting checks the other\'s hashes', async () => {
    const cheap = await weak.hash('correct horse battery staple');
    expect(cheap).toMatch(/^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
    expect(await standard.verify(cheap, 'correct horse battery staple')).toBe(true);
    expect(await weak.verify(await standard.hash('correct horse battery staple'), 'correct horse battery staple')).toBe(true);
    expect(await standard.verify(cheap, 'wrong')).toBe(false);
  });

  it('answers false, not an error, for a hash it cannot read', async () => {
    expect(await standard.verify('', 'x')).toBe(false);
    expect(await standard.verify('$argon2id$v=19$m=65536,p=4,t=3$not-base64', 'x')).toBe(false);
    expect(await standard.verify('$2b$10$abcdefghijklmnopqrstuv', 'x')).toBe(false);
  });

  it('tells a hash made under the other setting, to be made again, and says nothing of one it cannot read', async () => {
    const cheap = await weak.hash('p');
    const strong = await standard.hash('p');
    expect([standard.needsRehash(cheap), standard.needsRehash(strong)]).toEqual([true, false]);
    expect([weak.needsRehash(strong), weak.needsRehash(cheap)]).toEqual([true, false]);
    expect(standard.needsRehash('not a hash')).toBe(false);
  });

  it('calls onWeakHash once, at the first weak hash, and never at the standard cost', async () => {
    const calls = { weak: 0, standard: 0 };
    const warnedWeak = new Argon2PasswordHasher('test-only-weak', () => calls.weak++);
    const warnedStandard = new Argon2PasswordHasher('standard', () => calls.standard++);
    await warnedWeak.hash('a');
    await warnedWeak.hash('b');
    await warnedStandard.hash('c');
    expect(calls).toEqual({ weak: 1, standard: 0 });
  });
});
