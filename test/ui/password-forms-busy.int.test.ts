// Every web form that hashes or checks a password, refused because the process's password checks are all busy
// (services/password-check-gate.ts): the form comes back with its error summary saying to try again in a moment,
// 503 with Retry-After, audited `busy` as sign-in's refusal is, and nothing consumed: the link that sets a
// password still sets it, the account not made is made at the next try, the change is made at the next try.
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_CHECKS_BUSY, hasherAround, passwordCheckLimits } from '../../src/services/password-check-gate.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { HeldChecks, fillPasswordGate } from '../support/held-password-checks.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();
const NEW_PASSWORD = 'a brand new pass phrase while busy';
const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'password-forms-busy' } as const;

describe.each(DIALECTS)('password forms refused as busy on %s', (dialect) => {
  const held = new HeldChecks();
  const limits = passwordCheckLimits(availableParallelism());
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true, passwordHasherBeneathGate: (argon2) => hasherAround(argon2, held.counted) });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault);
  });
  afterAll(async () => {
    held.release();
    await t?.close();
  });

  /** The gate full while `submit` runs: its answer, after the flood that filled the gate has drained. */
  const whileBusy = async <T>(submit: () => Promise<T>): Promise<T> => {
    const gate = await fillPasswordGate(t.app, held, limits, `${org.slug}.test`);
    try {
      return await submit();
    } finally {
      await gate.drain();
    }
  };

  /** The form again, in words: the busy sentence in its error summary, 503, Retry-After. */
  const expectBusyForm = (res: { status: number; text: string; headers: Headers }, field: string) => {
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe(String(limits.retryAfterSeconds));
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain('There is a problem');
    expect(res.text).toContain(PASSWORD_CHECKS_BUSY);
    expect(res.text).toContain(`name="${field}"`);
  };

  /** The busy refusals of `action` audited for `userId`: actor, organisations, reason. */
  const busyEvents = async (action: string) => (await t.vault.store.db.selectFrom('audit_events')
    .select(['actor_user_id', 'actor_organisation_id', 'target_organisation_id', 'target_ids', 'decision', 'channel'])
    .where('action', '=', action).where('reason', '=', 'busy').execute()).map((e) => ({ ...e, target_ids: JSON.parse(e.target_ids) as Record<string, string> }));

  it('a link that sets a password: the form again, the link still unused, and it sets the password afterwards', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const member = await addPerson(t.vault, org.slug, {});
    const reset = await t.vault.people.resetPassword(actorFor(admin, request), member.id);
    if (reset.delivery !== 'link-shown') throw new Error('expected a link shown, with no mail');
    const client = new FormClient(base);
    const page = await client.get(reset.link.path);
    expect(page.status).toBe(200);
    const form = { _csrf: FormClient.csrf(page.text), password: NEW_PASSWORD, confirm: NEW_PASSWORD };
    const refused = await whileBusy(() => client.post(reset.link.path, form));
    expectBusyForm(refused, 'confirm');
    expect(refused.text).toContain(member.email);
    expect(await busyEvents('user.invitation-accept')).toEqual([{
      actor_user_id: member.id, actor_organisation_id: org.id, target_organisation_id: org.id, target_ids: { userId: member.id }, decision: 'deny', channel: 'web',
    }]);
    expect((await t.vault.store.repos.users.signInState(member.id))?.password_hash).toBeNull();
    const done = await client.post(reset.link.path, form);
    expect(done.status).toBe(200);
    expect(done.text).toContain('Your password is set');
    expect(await new FormClient(base).signIn(member.email, NEW_PASSWORD)).toContain('Sign out');
  });

  it('changing one\'s password: the form again, the password unchanged, and the change made afterwards', async () => {
    const member = await addPerson(t.vault, org.slug, {});
    const client = new FormClient(base);
    await client.signIn(member.email);
    const account = await client.get('/account');
    const form = { _csrf: FormClient.csrf(account.text), currentPassword: PASSWORD, password: NEW_PASSWORD };
    const refused = await whileBusy(() => client.post('/account/password', form));
    expectBusyForm(refused, 'currentPassword');
    expect(await busyEvents('auth.password-change')).toEqual([{
      actor_user_id: member.id, actor_organisation_id: org.id, target_organisation_id: org.id, target_ids: { userId: member.id }, decision: 'deny', channel: 'web',
    }]);
    expect(await new FormClient(base).signIn(member.email, PASSWORD)).toContain('Sign out');
    const done = await client.post('/account/password', form);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/account?done=password');
    expect(await new FormClient(base).signIn(member.email, NEW_PASSWORD)).toContain('Sign out');
  });

  it('adding a person with a password made for them: the form again with what was typed, no account, and it is made afterwards', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    // An org admin adds people at their organisation's own domains only.
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
    const secret = await enrolTotp(t.vault, admin.id);
    const client = new FormClient(base);
    await client.signIn(admin.email, PASSWORD, secret);
    const page = await client.get('/admin/users/new');
    const email = `new-starter@${org.slug}.test`;
    const form = { _csrf: FormClient.csrf(page.text), email, name: 'New Starter', clearance: 'OFFICIAL' };
    const refused = await whileBusy(() => client.post('/admin/users', form));
    expectBusyForm(refused, 'email');
    expect(refused.text).toContain(`value="${email}"`);
    expect(refused.text).toContain('value="New Starter"');
    expect(await t.vault.store.repos.users.byEmail(email)).toBeUndefined();
    const [event] = await busyEvents('user.create');
    expect(event).toMatchObject({ actor_user_id: admin.id, actor_organisation_id: org.id, target_organisation_id: org.id, decision: 'deny', channel: 'web' });
    // No account was made, so the event names none: not the id it would have had.
    expect(event!.target_ids).toEqual({});
    const done = await client.post('/admin/users', form);
    expect(done.status).toBe(200);
    expect(await t.vault.store.repos.users.byEmail(email)).toMatchObject({ email, name: 'New Starter' });
  });
});
