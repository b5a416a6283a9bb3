// A flood of web sign-ins for unknown addresses, each from an address of its own (so no throttle stops
// it), against the one gate every password check passes (services/password-check-gate.ts): never more
// checks running at once than the gate allows, a bounded number waiting, the rest refused at once with
// 503, Retry-After and a sentence on the sign-in page, audited as `busy` and counted against no one.
// The checks are held in the hasher beneath the gate until the test lets them go: no timing.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { networkKey } from '../../src/services/sign-in-throttle-keys.js';
import { PASSWORD_CHECKS_BUSY, hasherAround, passwordCheckLimits } from '../../src/services/password-check-gate.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation } from '../support/vault.js';
import { addPerson } from '../ui/support.js';
import { HeldChecks } from '../support/held-password-checks.js';
import { postSignIn } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('password checks behind one gate on %s', (dialect) => {
  const held = new HeldChecks();
  const t = useTestVault(dialect, clamd, { passwordHasherBeneathGate: (argon2) => hasherAround(argon2, held.counted) });
  const limits = passwordCheckLimits(availableParallelism());

  it('runs no more checks at once than the gate allows, refuses the excess as busy on the sign-in page, audits it, and signs people in after', async () => {
    const org = await createOrganisation(t.vault);
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    // The dummy hash unknown addresses are checked against is made at the first of them, not in the flood.
    expect((await postSignIn(t.app, '192.0.2.1', `nobody@${org.slug}.test`, 'a wrong password')).statusCode).toBe(401);
    held.mostAtOnce = 0;
    held.holding = true;
    const refusedCount = 5;
    const flood = limits.running + limits.waiting + refusedCount;
    let answered = 0;
    const answers = Array.from({ length: flood }, (_, i) => postSignIn(t.app, `198.51.100.${i + 1}`, `nobody-${i}@${org.slug}.test`, 'a wrong password').then((response) => {
      answered++;
      held.changed();
      return response;
    }));
    // Every request has either started its check, been answered, or (all but the waiting) is waiting its turn.
    await held.until(() => held.running + answered >= flood - limits.waiting);
    expect(held.mostAtOnce).toBe(limits.running);
    expect(answered).toBe(refusedCount);
    held.release();
    const responses = await Promise.all(answers);
    expect(held.mostAtOnce).toBe(limits.running);
    const refused = responses.filter((r) => r.statusCode !== 401);
    expect(refused.length).toBe(refusedCount);
    for (const response of refused) {
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe(String(limits.retryAfterSeconds));
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.body).toContain(PASSWORD_CHECKS_BUSY);
      expect(response.body).toContain('name="password"');
    }
    expect(responses.filter((r) => r.statusCode === 401).length).toBe(limits.running + limits.waiting);
    const audited = await t.vault.store.db.selectFrom('audit_events').select(['reason', 'client_address']).where('action', '=', 'auth.sign-in').where('decision', '=', 'deny').execute();
    const busy = audited.filter((e) => e.reason === 'busy');
    expect(busy.length).toBe(refusedCount);
    expect(audited.filter((e) => e.reason === 'unknown_user').length).toBe(1 + limits.running + limits.waiting);
    // A busy refusal is counted against nothing: its address may still fail as often as before.
    const failuresOf = async (address: string | null) => (await t.vault.store.db.selectFrom('sign_in_throttles').select('failures').where('key', '=', networkKey(address)).execute()).map((r) => Number(r.failures));
    for (const { client_address: address } of busy) expect(await failuresOf(address)).toEqual([0]);
    const judged = responses.findIndex((r) => r.statusCode === 401);
    expect(await failuresOf(`198.51.100.${judged + 1}`)).toEqual([1]);
    expect((await postSignIn(t.app, '203.0.113.5', member.email, TEST_PASSWORD)).statusCode).toBe(303);
    expect(held.mostAtOnce).toBe(limits.running);
  });
});
