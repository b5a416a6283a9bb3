// Password hashes follow the server's setting (STRONGROOM_PASSWORD_HASHING): a vault at the standard
// cost makes standard argon2id hashes, and a hash made under the test suites' weak setting is made
// again at the person's next password sign-in; never over a password changed in the meantime, and
// never on a wrong password. An account without a password answers like a wrong password.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/domain/ports.js';
import { Argon2PasswordHasher } from '../../src/integrations/argon2.password-hasher.js';
import { systemActor } from '../../src/services/identity.service.js';
import { composeWebSignIn } from '../../src/compose/identity.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { PASSWORD, addPerson } from '../ui/support.js';

const clamd = useClamd();
const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'password-rehash' } as const;
const STANDARD_HASH = /^\$argon2id\$v=19\$m=65536,p=4,t=3\$/;
const WEAK_HASH = /^\$argon2id\$v=19\$m=1024,p=1,t=1\$/;

describe.each(DIALECTS)('password hashes on a standard-cost vault on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { env: { STRONGROOM_PASSWORD_HASHING: 'standard' } });
  const weak = new Argon2PasswordHasher('test-only-weak');
  let org: TestOrganisation;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
  });
  const storedHash = async (id: string) => (await t.vault.store.repos.users.signInState(id))!.password_hash!;

  it('makes standard argon2id hashes, and makes a weak one again at the next sign-in, once', async () => {
    const person = await addPerson(t.vault, org.slug, {});
    expect(await storedHash(person.id)).toMatch(STANDARD_HASH);
    await t.vault.store.repos.users.update(person.id, { passwordHash: await weak.hash(PASSWORD) });

    await expect(t.vault.passwordSignIn.signIn(person.email, `${PASSWORD}-wrong`, request)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await storedHash(person.id), 'a wrong password changes nothing').toMatch(WEAK_HASH);

    await t.vault.passwordSignIn.signIn(person.email, PASSWORD, request);
    const upgraded = await storedHash(person.id);
    expect(upgraded).toMatch(STANDARD_HASH);
    // The rehash is recorded with its binding: the hash written above by hand is named no longer.
    expect(await t.vault.audit.verification.verify(systemActor()), 'the rehash is recorded').toMatchObject({ ok: true });
    await t.vault.passwordSignIn.signIn(person.email, PASSWORD, request);
    expect(await storedHash(person.id), 'a standard hash is kept').toBe(upgraded);
  });

  it('never puts back a hash over a password changed since it was read', async () => {
    const person = await addPerson(t.vault, org.slug, {});
    const read = await weak.hash(PASSWORD);
    const changed = await weak.hash('another-long-passphrase-456');
    await t.vault.store.repos.users.update(person.id, { passwordHash: changed });
    expect(await t.vault.store.repos.users.rehashPassword(person.id, read, 'replacement')).toBe(false);
    expect(await storedHash(person.id)).toBe(changed);
    expect(await t.vault.store.repos.users.rehashPassword(person.id, changed, 'replacement')).toBe(true);
    expect(await storedHash(person.id)).toBe('replacement');
  });

  it('answers an account without a password as a wrong password, after a check as long as one', async () => {
    const person = await addPerson(t.vault, org.slug, {});
    // As an invited person before they follow their link, or one who signs in through their organisation's provider.
    await t.vault.store.db.updateTable('users').set({ password_hash: null }).where('id', '=', person.id).execute();
    let checks = 0;
    const counting: PasswordHasher = { hash: (p) => weak.hash(p), needsRehash: (h) => weak.needsRehash(h), verify: (h, p) => (checks++, weak.verify(h, p)) };
    const { passwordSignIn } = composeWebSignIn({ store: t.vault.store, clock: t.vault.clock, identity: t.vault.identity, passwords: counting, enrolmentKey: randomBytes(32), sessionKey: randomBytes(32) });
    await expect(passwordSignIn.signIn(person.email, PASSWORD, request)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(checks, 'the dummy hash was checked, as for an unknown address').toBe(1);
    expect((await t.vault.store.repos.users.signInState(person.id))!.password_hash).toBeNull();
  });
});
