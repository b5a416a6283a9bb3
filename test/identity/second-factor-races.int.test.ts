// Attacks on sign-in state from the network: a recovery code raced through two sessions (two
// processes, or two requests to one), and X-Forwarded-For used to escape the throttle when the
// server is not behind a proxy.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { Argon2PasswordHasher } from '../../src/integrations/argon2.password-hasher.js';
import { WebSessionsService } from '../../src/services/web-sessions.service.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { PASSWORD, addPerson, enrolTotp, totp } from '../ui/support.js';

const SLOW = { timeout: 300_000 };
const FROM = { channel: 'web' as const, clientAddress: '192.0.2.80', requestId: null };

const clamd = useClamd();

describe.each(DIALECTS)('second-factor races on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let org: TestOrganisation;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
  });

  /** Two web processes over the same database: nothing shared but the database. */
  const twoProcesses = () => [0, 1].map(() => new WebSessionsService({ store: t.vault.store, clock: t.vault.clock, identity: t.vault.identity, passwords: new Argon2PasswordHasher('test-only-weak') }));

  it('accepts a recovery code once, even when two sign-ins present it at the same moment', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    await enrolTotp(t.vault, admin.id);
    const [a, b] = twoProcesses();
    // The codes handed out at enrolment: set directly, as the enrolment page would store them.
    const code = 'a1b2c3d4e5';
    await t.vault.store.repos.users.update(admin.id, { recoveryCodes: JSON.stringify([createHash('sha256').update(code).digest('hex')]) });

    const first = await a!.signIn(admin.email, PASSWORD, FROM);
    const second = await b!.signIn(admin.email, PASSWORD, FROM);
    const sessions = await Promise.all([a!.resolve(first.sessionId), b!.resolve(second.sessionId)]);
    const outcomes = await Promise.allSettled([a!.verifySecondFactor(sessions[0]!, code, FROM), b!.verifySecondFactor(sessions[1]!, code, FROM)]);

    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as { code: string }).code).toBe('INVALID');
    expect(JSON.parse((await t.vault.store.repos.users.signInState(admin.id))!.recovery_codes!)).toEqual([]);
  });

  it('accepts a TOTP code once when two processes are given it at the same moment', SLOW, async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['security_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const [a, b] = twoProcesses();
    const first = await a!.signIn(admin.email, PASSWORD, FROM);
    const second = await b!.signIn(admin.email, PASSWORD, FROM);
    const sessions = await Promise.all([a!.resolve(first.sessionId), b!.resolve(second.sessionId)]);
    const code = totp(secret);
    const outcomes = await Promise.allSettled([a!.verifySecondFactor(sessions[0]!, code, FROM), b!.verifySecondFactor(sessions[1]!, code, FROM)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
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
