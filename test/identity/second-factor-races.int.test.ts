// Attacks on sign-in state from the network: a recovery code raced through two sessions (two
// processes, or two requests to one), throttled checks raced by attempts sent at the same moment,
// and X-Forwarded-For used to escape the throttle when the server is not behind a proxy.
import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { Argon2PasswordHasher } from '../../src/integrations/argon2.password-hasher.js';
import { composeWebSignIn } from '../../src/compose/identity.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { SIGN_IN_THROTTLE } from '../../src/domain/identity/sign-in-throttle.js';
import { PASSWORD, addPerson, enrolTotp, totp } from '../ui/support.js';
import { postSignIn } from './support.js';

const SLOW = { timeout: 300_000 };
const FROM = { channel: 'web' as const, clientAddress: '192.0.2.80', requestId: null };
/** A web request from its own address, so one test's failures never count against another's network. */
const from = (clientAddress: string) => ({ ...FROM, clientAddress });
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** How many of a burst of attempts were judged (rejected as wrong) and how many refused by the throttle. */
function tally(outcomes: PromiseSettledResult<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const code = o.status === 'fulfilled' ? 'fulfilled' : (o.reason as { code: string }).code;
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}

const clamd = useClamd();

describe.each(DIALECTS)('second-factor races on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let org: TestOrganisation;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
  });

  /** Two web processes over the same database: nothing shared but the database (and the keys the master key gives both). */
  const twoProcesses = () => {
    const [enrolmentKey, sessionKey] = [randomBytes(32), randomBytes(32)];
    return [0, 1].map(() => composeWebSignIn({ store: t.vault.store, clock: t.vault.clock, identity: t.vault.identity, passwords: new Argon2PasswordHasher('test-only-weak'), enrolmentKey, sessionKey }));
  };

  it('accepts a recovery code once, even when two sign-ins present it at the same moment', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    // The codes handed out at enrolment, as the enrolment page would store them.
    const code = 'a1b2c3d4e5';
    await enrolTotp(t.vault, admin.id, [createHash('sha256').update(code).digest('hex')]);
    const [a, b] = twoProcesses();

    const first = await a!.passwordSignIn.signIn(admin.email, PASSWORD, FROM);
    const second = await b!.passwordSignIn.signIn(admin.email, PASSWORD, FROM);
    const sessions = await Promise.all([a!.sessions.resolve(first.sessionId), b!.sessions.resolve(second.sessionId)]);
    const outcomes = await Promise.allSettled([a!.secondFactor.verifySecondFactor(sessions[0]!, code, FROM), b!.secondFactor.verifySecondFactor(sessions[1]!, code, FROM)]);

    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as { code: string }).code).toBe('INVALID');
    expect(JSON.parse((await t.vault.store.repos.users.signInState(admin.id))!.recovery_codes!)).toEqual([]);
    // One sign-in, one security notice (queued with the spend that won), telling of no code left.
    const notices = await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').where('payload', 'like', `%${admin.id}%recovery-code-used%`).execute();
    expect(notices).toHaveLength(1);
    expect(JSON.parse(notices[0]!.payload).message.recoveryCodesLeft).toBe(0);
  });

  it('makes no session and spends no code for a sign-in whose pending session ended meanwhile (signed out everywhere, or claimed by a request with another code)', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const codes = ['f1e2d3c4b5', 'a9b8c7d6e5'];
    const secret = await enrolTotp(t.vault, admin.id, codes.map((c) => createHash('sha256').update(c).digest('hex')));
    const [a] = twoProcesses();
    const activeSessions = async () => (await t.vault.store.db.selectFrom('sessions').select('stage').where('user_id', '=', admin.id).where('stage', '=', 'active').execute()).length;
    const notices = async () => (await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').where('payload', 'like', `%${admin.id}%recovery-code-used%`).execute()).length;

    // Read at the start of a request; the owner changes their password (every session ends) before the code is checked.
    const pending = await a!.sessions.resolve((await a!.passwordSignIn.signIn(admin.email, PASSWORD, FROM)).sessionId);
    await t.vault.store.repos.sessions.deleteForUser(admin.id);
    const ended = await a!.secondFactor.verifySecondFactor(pending!, codes[0]!, FROM).then(() => null, (error: { code: string; message: string }) => error);
    expect(ended?.code).toBe('INVALID');
    expect(ended?.message).toContain('This sign-in ended before the code was checked');
    const totpEnded = await a!.secondFactor.verifySecondFactor(pending!, totp(secret), FROM).then(() => null, (error: { code: string }) => error);
    expect(totpEnded?.code).toBe('INVALID');
    expect(await activeSessions()).toBe(0);
    expect(JSON.parse((await t.vault.store.repos.users.signInState(admin.id))!.recovery_codes!)).toHaveLength(2);
    expect(await notices()).toBe(0);

    // One pending session, two different codes at once: one sign-in, one code spent.
    const again = await a!.sessions.resolve((await a!.passwordSignIn.signIn(admin.email, PASSWORD, from('192.0.2.81'))).sessionId);
    const outcomes = await Promise.allSettled([a!.secondFactor.verifySecondFactor(again!, codes[0]!, FROM), a!.secondFactor.verifySecondFactor(again!, codes[1]!, FROM)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await activeSessions()).toBe(1);
    expect(JSON.parse((await t.vault.store.repos.users.signInState(admin.id))!.recovery_codes!)).toHaveLength(1);
    expect(await notices()).toBe(1);
  });

  it('accepts a TOTP code once when two processes are given it at the same moment', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['security_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const [a, b] = twoProcesses();
    const first = await a!.passwordSignIn.signIn(admin.email, PASSWORD, FROM);
    const second = await b!.passwordSignIn.signIn(admin.email, PASSWORD, FROM);
    const sessions = await Promise.all([a!.sessions.resolve(first.sessionId), b!.sessions.resolve(second.sessionId)]);
    const code = totp(secret);
    const outcomes = await Promise.allSettled([a!.secondFactor.verifySecondFactor(sessions[0]!, code, FROM), b!.secondFactor.verifySecondFactor(sessions[1]!, code, FROM)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  // Every attempt is counted before it is judged: a burst sent at once gets exactly the limit judged,
  // the rest refused, however the requests interleave.
  it('judges no more wrong passwords than the limit when they arrive all at once from one address', SLOW, async () => {
    const member = await addPerson(t.vault, org.slug, {});
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => postSignIn(t.app, '198.51.100.9', member.email, `wrong password number ${i}`)));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(SIGN_IN_THROTTLE.accountAtNetwork.limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - SIGN_IN_THROTTLE.accountAtNetwork.limit);
  });

  it('judges no more wrong second-factor codes than the per-person limit when they arrive all at once from many addresses', SLOW, async () => {
    const member = await addPerson(t.vault, org.slug, {});
    await enrolTotp(t.vault, member.id);
    const first = await postSignIn(t.app, '198.51.100.7', member.email, PASSWORD);
    expect(first.headers.location).toMatch(/^\/sign-in\/code/);
    const session = first.cookies.find((c) => c.name === 'strongroom-session')!.value;
    const page = await t.app.inject({ method: 'GET', url: '/sign-in/code', cookies: { 'strongroom-session': session } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    // Each from its own address, so only the per-person limit applies. None of these is a code the
    // authenticator shows (they are not six digits), so every judged one is wrong.
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => t.app.inject({
      method: 'POST', url: '/sign-in/code', remoteAddress: `203.0.113.${i + 1}`, headers: FORM, cookies: { 'strongroom-session': session },
      payload: new URLSearchParams({ _csrf: csrf, code: `wrong${i}`, next: '/' }).toString(),
    })));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 400)).toHaveLength(SIGN_IN_THROTTLE.secondFactor.limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(60 - SIGN_IN_THROTTLE.secondFactor.limit);
  });

  it('judges no more wrong set-up codes, or wrong current passwords, than the limit when two processes are raced', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const [a, b] = twoProcesses();
    const pending = await a!.passwordSignIn.signIn(admin.email, PASSWORD, from('192.0.2.81'));
    expect(pending.stage).toBe('mfa_setup');
    const setUp = (await a!.sessions.resolve(pending.sessionId))!;
    await a!.secondFactor.mfaEnrolment(setUp);
    const enrolments = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => (i % 2 ? a! : b!).secondFactor.completeMfaEnrolment(setUp, 'not a code', from('192.0.2.81'))));
    expect(tally(enrolments)).toEqual({ INVALID: SIGN_IN_THROTTLE.secondFactor.limit, RATE_LIMITED: 30 - SIGN_IN_THROTTLE.secondFactor.limit });

    const member = await addPerson(t.vault, org.slug, {});
    const signedIn = await a!.passwordSignIn.signIn(member.email, PASSWORD, from('192.0.2.82'));
    const session = (await a!.sessions.resolve(signedIn.sessionId))!;
    const changes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => (i % 2 ? a! : b!).passwordChange.changePassword(session, `not the password ${i}`, 'a new long enough passphrase', from('192.0.2.82'))));
    expect(tally(changes)).toEqual({ INVALID: SIGN_IN_THROTTLE.secondFactor.limit, RATE_LIMITED: 30 - SIGN_IN_THROTTLE.secondFactor.limit });
  });

  it('lets the right code through after failures below the limit; it clears the count and is not counted itself', SLOW, async () => {
    const member = await addPerson(t.vault, org.slug, {});
    const secret = await enrolTotp(t.vault, member.id);
    const [a] = twoProcesses();
    const request = from('192.0.2.83');
    const pending = await a!.passwordSignIn.signIn(member.email, PASSWORD, request);
    const session = (await a!.sessions.resolve(pending.sessionId))!;
    const wrong = await Promise.allSettled(Array.from({ length: SIGN_IN_THROTTLE.secondFactor.limit - 1 }, () => a!.secondFactor.verifySecondFactor(session, 'not a code', request)));
    expect(tally(wrong)).toEqual({ INVALID: SIGN_IN_THROTTLE.secondFactor.limit - 1 });
    await a!.secondFactor.verifySecondFactor(session, totp(secret), request);
    const counted = await t.vault.store.repos.signInThrottles.failures([`second-factor:${member.id}`], t.vault.clock.now().toISOString());
    expect(counted.get(`second-factor:${member.id}`)).toBe(0);
  });

  // The attack review of the merged fixes (4 December, evening): counting attempts before judging them
  // also counted right answers still being checked, so people signing in at the same moment from one
  // office, or one person in several tabs, were refused (429) with no failure ever counted.
  it('lets everyone in when many right passwords arrive at once from one office, and one person in several tabs', SLOW, async () => {
    const office = await Promise.all(Array.from({ length: 40 }, () => org.user({ roles: ['member'] })));
    const colleagues = await Promise.all(office.map((p) => postSignIn(t.app, '203.0.113.50', p.email, TEST_PASSWORD)));
    expect(colleagues.map((a) => a.statusCode)).toEqual(Array(40).fill(303));
    const tabs = await org.user({ roles: ['member'] });
    const signIns = await Promise.all(Array.from({ length: 8 }, () => postSignIn(t.app, '203.0.113.51', tabs.email, TEST_PASSWORD)));
    expect(signIns.map((a) => a.statusCode)).toEqual(Array(8).fill(303));
  });

  it('counts failures by the connecting address when not behind a proxy, whatever X-Forwarded-For claims', SLOW, async () => {
    const member = await addPerson(t.vault, org.slug, {});
    const csrf = 'c'.repeat(32);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.app.inject({
        method: 'POST', url: '/sign-in', remoteAddress: '198.51.100.200',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `203.0.113.${100 + i}` },
        cookies: { 'strongroom-csrf': csrf },
        payload: new URLSearchParams({ _csrf: csrf, email: member.email, password: 'not the password at all', next: '/' }).toString(),
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});

// Behind a reverse proxy the client address comes from X-Forwarded-For, whose left-hand entries the
// client writes itself (the documented nginx appends the address it saw). Only the entries the
// trusted proxies added may be believed, or every guess names a new "network" and the throttle,
// per-client upload limit and audit log all record what the attacker chose.
describe.each(DIALECTS)('sign-in behind a trusted proxy on %s', (dialect) => {
  const PROXY = '127.0.0.1';
  const CLIENT = '198.51.100.66';

  /** Six wrong passwords for one account, each claiming a different left-hand address; the statuses and the addresses audited. */
  async function guesses(t: ReturnType<typeof useTestVault>, remoteAddress: string) {
    const org = await createOrganisation(t.vault);
    const member = await addPerson(t.vault, org.slug, {});
    const csrf = 'c'.repeat(32);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.app.inject({
        method: 'POST', url: '/sign-in', remoteAddress,
        headers: { ...FORM, 'x-forwarded-for': `10.${i}.0.1, ${CLIENT}`, 'x-forwarded-proto': 'https' },
        cookies: { '__Host-strongroom-csrf': csrf, 'strongroom-csrf': csrf },
        payload: new URLSearchParams({ _csrf: csrf, email: member.email, password: `wrong password ${i}`, next: '/' }).toString(),
      });
      statuses.push(res.statusCode);
    }
    const audited = await t.vault.store.db.selectFrom('audit_events').select('client_address').where('action', '=', 'auth.sign-in').where('actor_user_id', '=', member.id).execute();
    return { statuses, addresses: [...new Set(audited.map((e) => e.client_address))] };
  }

  describe('one proxy in front (STRONGROOM_TRUST_PROXY=1, which once trusted every hop)', () => {
    const t = useTestVault(dialect, clamd, { env: { STRONGROOM_TRUST_PROXY: '1' } });

    it('takes the right-most X-Forwarded-For entry as the client, so spoofed entries do not escape the throttle', SLOW, async () => {
      expect(await guesses(t, PROXY)).toEqual({ statuses: [401, 401, 401, 401, 401, 429], addresses: [CLIENT] });
    });
  });

  describe('the proxy named by address (STRONGROOM_TRUST_PROXY=127.0.0.1)', () => {
    const t = useTestVault(dialect, clamd, { env: { STRONGROOM_TRUST_PROXY: PROXY } });

    it('takes the right-most entry from the named proxy', SLOW, async () => {
      expect(await guesses(t, PROXY)).toEqual({ statuses: [401, 401, 401, 401, 401, 429], addresses: [CLIENT] });
    });

    it('believes no X-Forwarded-For from a client that connects directly', SLOW, async () => {
      expect(await guesses(t, '192.0.2.99')).toEqual({ statuses: [401, 401, 401, 401, 401, 429], addresses: ['192.0.2.99'] });
    });
  });
});
