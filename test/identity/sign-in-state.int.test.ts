// Sign-in state that must survive a restart (TOTP replay guard, failure counters), and throttling
// that answers alike for real and unknown accounts and never lets a stranger lock the owner out.
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { PASSWORD, addPerson, enrolTotp, totp } from '../ui/support.js';
import { openReopenableVault, postSignIn, signInWithCode, type ReopenableVault } from './support.js';

// Every attempt runs argon2id (at the tests' cheap cost) and throttled ones wait: dozens add up on a busy machine.
const SLOW = { timeout: 300_000 };

const clamd = useClamd();

/** What a client can observe of a sign-in answer, with the typed e-mail address blanked out. */
function observable(res: LightMyRequestResponse, email: string) {
  return {
    status: res.statusCode,
    contentType: res.headers['content-type'],
    cookies: res.cookies.map((c) => c.name).sort(),
    body: res.body.replaceAll(email, '<email>'),
  };
}

describe.each(DIALECTS)('sign-in state on %s', (dialect) => {
  let t: ReopenableVault;
  let org: TestOrganisation;
  beforeAll(async () => {
    t = await openReopenableVault({ dialect, clamdSocket: clamd.socketPath });
    org = await createOrganisation(t.vault);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a TOTP code that was already used, even after the server restarts', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const code = totp(secret);
    expect((await signInWithCode(t.app, '192.0.2.10', admin.email, PASSWORD, code)).statusCode).toBe(303);
    expect((await signInWithCode(t.app, '192.0.2.10', admin.email, PASSWORD, code)).statusCode).toBe(400);
    await t.reopen();
    const replayed = await signInWithCode(t.app, '192.0.2.11', admin.email, PASSWORD, code);
    expect(replayed.statusCode).toBe(400);
    expect(replayed.body).toContain('The code is not right');
  });

  it("keeps an address's failure count across a restart", SLOW, async () => {
    const address = '192.0.2.20';
    for (let i = 0; i < 30; i++) expect((await postSignIn(t.app, address, `nobody-${i}@${org.slug}.test`, 'wrong password here')).statusCode).toBe(401);
    await t.reopen();
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const refused = await postSignIn(t.app, address, member.email, PASSWORD);
    expect(refused.statusCode).toBe(429);
    expect(refused.body).toContain('Too many failed sign-in attempts');
  });

  it("keeps an account's failure count from one address across a restart", SLOW, async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    for (let i = 0; i < 5; i++) expect((await postSignIn(t.app, '192.0.2.30', member.email, 'wrong password here')).statusCode).toBe(401);
    await t.reopen();
    expect((await postSignIn(t.app, '192.0.2.30', member.email, PASSWORD)).statusCode).toBe(429);
  });

  it('answers a real and an unknown account identically after six failures, and the owner still gets in from elsewhere', SLOW, async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const ghost = `${randomUUID().slice(0, 8)}@${org.slug}.test`;
    const real: ReturnType<typeof observable>[] = [];
    const unknown: ReturnType<typeof observable>[] = [];
    for (let i = 0; i < 6; i++) {
      real.push(observable(await postSignIn(t.app, '198.51.100.40', member.email, 'wrong password here'), member.email));
      unknown.push(observable(await postSignIn(t.app, '198.51.100.41', ghost, 'wrong password here'), ghost));
    }
    expect(real.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(unknown).toEqual(real);
    // The right password from the throttled address waits like any other attempt from there…
    expect((await postSignIn(t.app, '198.51.100.40', member.email, PASSWORD)).statusCode).toBe(429);
    // …but the owner elsewhere is not locked out by a stranger's guesses.
    const owner = await postSignIn(t.app, '203.0.113.42', member.email, PASSWORD);
    expect(owner.statusCode).toBe(303);
    expect(owner.headers.location).toBe('/');
  });

  it('never locks the owner out, however many addresses guess', SLOW, async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    // Twelve failures from three networks: past the account-wide limit (slowed), under each network's.
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < 4; i++) expect((await postSignIn(t.app, `198.51.100.${50 + a}`, member.email, 'wrong password here')).statusCode).toBe(401);
    }
    const owner = await postSignIn(t.app, '203.0.113.43', member.email, PASSWORD);
    expect(owner.statusCode).toBe(303);
  });

  it('throttles guessing of the second factor by someone who has the password', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['security_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const wrong = totp(secret, 40);
    const answers: number[] = [];
    for (let i = 0; i < 11; i++) answers.push((await signInWithCode(t.app, `198.51.100.${60 + i}`, admin.email, PASSWORD, wrong)).statusCode);
    expect(answers).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 429]);
    expect((await signInWithCode(t.app, '198.51.100.90', admin.email, PASSWORD, totp(secret))).statusCode).toBe(429);
  });
});
