// An org admin (or the operator) resets a forgotten password (UsersAdminService.resetPassword): the old one
// stops working and every web session ends at once, and the person sets a new one themselves through a link
// that works once: e-mailed to them, or without e-mail shown once to whoever reset it (for 24 hours). No
// password is ever shown. Every earlier link is withdrawn by the reset, by a password change and by a disable;
// a disable (or a provider switched on) committed between the reset's decision and its transaction refuses
// it. API tokens and MFA stay. Refused, and audited, for another organisation's person (as any id), a
// non-admin, oneself, a provider's person and a disabled account. A password hash left unsealed (written in
// the database directly: locked out) gets back in this way, and `audit verify` passes an invitation taken
// after a reset but still names one taken with no reset between.
import { randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordBinding } from '../../src/domain/audit/person-secrets-record.js';
import { DomainError } from '../../src/domain/errors.js';
import type { Vault } from '../../src/main.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { passwordStanding } from '../../src/services/invitations.service.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp } from '../support/smtp.js';
import { DIALECTS, TEST_PASSWORD, auth, createOrganisation, openTestVault, realClockUnless, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';

const clamd = useClamd();
const PUBLIC_URL = 'https://vault.test';
const LINK = new RegExp(`${PUBLIC_URL}/invitation/([A-Za-z0-9_-]{43})`);
const NEW_PASSWORD = 'a brand new pass phrase after the reset';
const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'password-reset' } as const;

/** A person's own actor, as the web interface would build it. */
async function actorOf(vault: Vault, userId: string) {
  return actorFor((await vault.store.repos.users.byId(userId))!, request);
}

/** What a refused call threw. */
async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await work.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return { code: (error as DomainError).code, message: (error as DomainError).message };
}

/** Whether `password` signs `email` in (a first step; the stage does not matter here). */
async function signsIn(vault: Vault, email: string, password: string): Promise<boolean> {
  return vault.passwordSignIn.signIn(email, password, request).then(() => true, (e: unknown) => {
    if (e instanceof DomainError) return false;
    throw e;
  });
}

/** The events of `action` about `userId`, oldest first. */
async function eventsAbout(vault: Vault, action: string, userId: string) {
  const rows = await vault.store.db.selectFrom('audit_events').select(['decision', 'reason', 'target_ids']).where('action', '=', action).orderBy('id').execute();
  return rows.map((r) => ({ decision: r.decision, reason: r.reason, ids: JSON.parse(r.target_ids) as Record<string, string> })).filter((e) => e.ids.userId === userId);
}

/** An enabled identity provider for the organisation, added as the operator would: its staff sign in there and have no Strongroom password. */
async function addProvider(vault: Vault, organisationId: string): Promise<void> {
  await vault.identityProviders.add(systemActor(), organisationId, {
    kind: 'oidc', name: 'Council Entra ID', issuer: 'https://login.example.test/v2.0', clientId: 'c', clientSecret: 's', scopes: ['openid', 'email'],
  });
}

const listening = (t: TestVault) => {
  const address = t.app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
};

describe.each(DIALECTS)('password reset with e-mail on %s', (dialect) => {
  let smtp: TestSmtp;
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    t = await openTestVault({
      dialect, clamdSocket: clamd.socketPath, listen: true,
      env: { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Strongroom <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: PUBLIC_URL },
    });
    base = listening(t);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  /** The link in the one password-reset mail sent to `email` since the worker last ran. */
  async function mailedLink(email: string): Promise<{ mail: ParsedMail; token: string }> {
    await t.vault.worker.runDue();
    const mails = smtp.to(email).filter((m) => m.subject === 'Your Strongroom password was reset');
    expect(mails).toHaveLength(1);
    const token = LINK.exec(String(mails[0]!.text))?.[1];
    expect(token).toBeDefined();
    smtp.received.splice(0); // the next look starts afresh
    return { mail: mails[0]!, token: token! };
  }

  async function setPasswordThroughLink(token: string, password: string) {
    const client = new FormClient(base);
    const page = await client.get(`/invitation/${token}`);
    expect(page.status).toBe(200);
    const done = await client.post(`/invitation/${token}`, { _csrf: FormClient.csrf(page.text), password, confirm: password });
    return { client, page, done };
  }

  let org: TestOrganisation;
  let admin: { id: string; email: string };
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
    admin = await org.user({ roles: ['org_admin'] });
  });

  it('ends the old password and every session, mails a link that sets a new one once; tokens stay; audit verify passes', async () => {
    const v = t.vault;
    const member = await org.user({});
    const session = await v.passwordSignIn.signIn(member.email, TEST_PASSWORD, request);
    expect(await v.sessions.resolve(session.sessionId)).not.toBeNull();

    const reset = await v.people.resetPassword(await actorOf(v, admin.id), member.id);
    expect(reset).toEqual({ user: expect.objectContaining({ id: member.id }), delivery: 'e-mail' });
    expect(reset.user.id).toBe(member.id);
    // A sealed null: "no password yet", which is what a link sets.
    expect((await v.store.repos.users.signInState(member.id))?.password_hash).toBeNull();
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
    expect(await v.sessions.resolve(session.sessionId)).toBeNull();
    expect(await signsIn(v, member.email, TEST_PASSWORD)).toBe(false);
    // A forgotten password is no compromise: the API token still works (disabling revokes it).
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: auth(member) })).statusCode).toBe(200);
    const [event] = await eventsAbout(v, 'user.password-reset', member.id);
    expect(event).toMatchObject({ decision: 'allow', reason: 'org_admin', ids: { userId: member.id, delivery: 'e-mail', passwordBinding: passwordBinding(member.id, null) } });

    const { mail, token } = await mailedLink(member.email);
    expect(mail.text).toContain(`Test User, your administrator at Test ${org.slug}, reset your password. Your old password no longer works, and you were signed out everywhere.`);
    expect(mail.text).toContain('It works once, and for 7 days.');
    const { page, done } = await setPasswordThroughLink(token, NEW_PASSWORD);
    expect(page.text).toContain(member.email);
    expect(done.status).toBe(200);
    expect(done.text).toContain('Your password is set');
    expect(await signsIn(v, member.email, NEW_PASSWORD)).toBe(true);
    expect(await signsIn(v, member.email, TEST_PASSWORD)).toBe(false);

    // Once: the link does nothing more, and the password stays the one it set.
    expect((await new FormClient(base).get(`/invitation/${token}`)).status).toBe(404);
    await expect(v.invitations.accept(token, 'yet another pass phrase here', request)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await signsIn(v, member.email, NEW_PASSWORD)).toBe(true);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('lets the operator reset, and refuses (audited) another organisation\'s person as any id, a non-admin, oneself, a provider\'s person and a disabled account', async () => {
    const v = t.vault;
    const member = await org.user({});
    const colleague = await org.user({ roles: ['member', 'security_admin'] });
    const other = await createOrganisation(v);
    const otherAdmin = await other.user({ roles: ['org_admin'] });
    const hashOf = async (id: string) => (await v.store.repos.users.signInState(id))?.password_hash;
    const before = await hashOf(member.id);

    // Another organisation's admin: refused exactly as for an id that does not exist, and as their MFA reset is.
    const asOther = await actorOf(v, otherAdmin.id);
    const crossOrganisation = await refusal(v.people.resetPassword(asOther, member.id));
    expect(crossOrganisation).toEqual(await refusal(v.people.resetPassword(asOther, randomUUID())));
    expect(crossOrganisation).toEqual(await refusal(v.people.resetMfa(asOther, member.id)));
    expect(crossOrganisation.code).toBe('NOT_FOUND');
    // Someone in the organisation who is not an org admin.
    expect((await refusal(v.people.resetPassword(await actorOf(v, colleague.id), member.id))).code).toBe('NOT_FOUND');
    expect(await hashOf(member.id)).toBe(before);
    const managing = await v.store.db.selectFrom('audit_events').select(['actor_user_id', 'target_ids']).where('action', '=', 'organisation.manage-users').where('decision', '=', 'deny').execute();
    const refusedFor = (actorId: string) => managing.filter((e) => e.actor_user_id === actorId && (JSON.parse(e.target_ids) as Record<string, string>).userId === member.id);
    expect(refusedFor(otherAdmin.id)).toHaveLength(2); // the reset and the MFA reset
    expect(refusedFor(colleague.id)).toHaveLength(1);

    // Oneself: changed on one's account page.
    const asAdmin = await actorOf(v, admin.id);
    expect(await refusal(v.people.resetPassword(asAdmin, admin.id))).toEqual({ code: 'INVALID', message: 'You cannot reset your own password here: change it on your account page, where you give your current one.' });
    // A disabled account: enable it first.
    const leaver = await org.user({});
    await v.people.setDisabled(asAdmin, leaver.id, true);
    expect(await refusal(v.people.resetPassword(asAdmin, leaver.id))).toEqual({ code: 'INVALID', message: 'This account is disabled: enable it first, then reset the password.' });
    expect(await refusal(v.people.resetPassword(systemActor(), leaver.id))).toMatchObject({ code: 'INVALID' });
    // A provider's person has no Strongroom password.
    const federated = await createOrganisation(v);
    const federatedAdmin = await federated.user({ roles: ['org_admin'] });
    const federatedMember = await federated.user({});
    await addProvider(v, federated.id);
    const noPassword = { code: 'INVALID', message: "This person's organisation signs in through its identity provider: they have no Strongroom password to reset. Their password is reset at the provider." };
    expect(await refusal(v.people.resetPassword(await actorOf(v, federatedAdmin.id), federatedMember.id))).toEqual(noPassword);
    expect(await refusal(v.people.resetPassword(systemActor(), federatedMember.id))).toEqual(noPassword);
    expect((await eventsAbout(v, 'person.reset-password', admin.id)).map((e) => [e.decision, e.reason])).toEqual([['deny', 'self']]);
    expect((await eventsAbout(v, 'person.reset-password', leaver.id)).map((e) => [e.decision, e.reason])).toEqual([['deny', 'person_disabled'], ['deny', 'person_disabled']]);
    expect((await eventsAbout(v, 'person.reset-password', federatedMember.id)).map((e) => [e.decision, e.reason])).toEqual([['deny', 'signs_in_through_provider'], ['deny', 'signs_in_through_provider']]);
    for (const id of [admin.id, leaver.id, federatedMember.id]) {
      expect(await eventsAbout(v, 'user.password-reset', id)).toEqual([]);
      expect(await hashOf(id)).not.toBeNull();
    }

    // The operator (the CLI's actor) may.
    expect(await v.people.resetPassword(systemActor(), member.id)).toMatchObject({ delivery: 'e-mail' });
    expect(await eventsAbout(v, 'user.password-reset', member.id)).toMatchObject([{ decision: 'allow', reason: 'system' }]);
    const { mail } = await mailedLink(member.email);
    expect(mail.text).toContain(`Your administrator at Test ${org.slug} reset your password.`);
  });

  it('lets a person whose password hash is not sealed (written in the database directly: locked out) back in through a reset and its link', async () => {
    const v = t.vault;
    const member = await org.user({});
    // As the upgrade to sign-in seals leaves a hash verify does not vouch for: the right password no longer signs in.
    await v.store.db.updateTable('users').set({ password_seal: null }).where('id', '=', member.id).execute();
    expect(await signsIn(v, member.email, TEST_PASSWORD)).toBe(false);
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('set');

    await v.people.resetPassword(await actorOf(v, admin.id), member.id);
    const { token } = await mailedLink(member.email);
    expect((await setPasswordThroughLink(token, NEW_PASSWORD)).done.status).toBe(200);
    expect(await signsIn(v, member.email, NEW_PASSWORD)).toBe(true);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('withdraws the earlier link at once: a second reset leaves the first one\'s dead before its own mail is sent', async () => {
    const v = t.vault;
    const member = await org.user({});
    const asAdmin = await actorOf(v, admin.id);
    await v.people.resetPassword(asAdmin, member.id);
    const { token: first } = await mailedLink(member.email);
    await v.people.resetPassword(asAdmin, member.id);
    // The second reset's mail is queued, not sent (SMTP may be down for days): the first link is dead already.
    expect((await new FormClient(base).get(`/invitation/${first}`)).status).toBe(404);
    await expect(v.invitations.accept(first, 'whoever kept the first mail', request)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
    const { token: second } = await mailedLink(member.email);
    expect((await setPasswordThroughLink(second, NEW_PASSWORD)).done.status).toBe(200);
    expect(await signsIn(v, member.email, NEW_PASSWORD)).toBe(true);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('offers "Reset password" on the person\'s page only where the rule allows, confirms what happens, and resets', async () => {
    const v = t.vault;
    const adminSecret = await enrolTotp(v, admin.id);
    const client = new FormClient(base);
    await client.signIn(admin.email, TEST_PASSWORD, adminSecret);
    const member = await org.user({});
    const memberBrowser = new FormClient(base);
    await memberBrowser.signIn(member.email);
    const leaver = await org.user({});
    await v.people.setDisabled(await actorOf(v, admin.id), leaver.id, true);

    const page = await client.get(`/admin/users/${member.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="reset-password"');
    expect(page.text).toContain(`href="/admin/users/${member.id}/reset-password"`);
    // Not for oneself, nor a disabled account.
    expect((await client.get(`/admin/users/${admin.id}`)).text).not.toContain('id="reset-password"');
    expect((await client.get(`/admin/users/${leaver.id}`)).text).not.toContain('id="reset-password"');
    // Nobody else sees the person's page at all.
    const colleague = await org.user({});
    const colleagueBrowser = new FormClient(base);
    await colleagueBrowser.signIn(colleague.email);
    expect((await colleagueBrowser.get(`/admin/users/${member.id}`)).status).toBe(404);
    expect((await colleagueBrowser.get(`/admin/users/${member.id}/reset-password`)).status).toBe(404);

    const confirm = await client.get(`/admin/users/${member.id}/reset-password`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('their current password stops working at once, and they are signed out everywhere');
    expect(confirm.text).toContain(`we e-mail ${member.email} a link to set a new password; it works once, for 7 days`);
    expect(confirm.text).toContain('their API tokens, WebDAV app passwords and two-factor authentication are unchanged');
    // Without the form's CSRF token nothing happens.
    expect((await client.post(`/admin/users/${member.id}/reset-password`, { _csrf: 'x'.repeat(32) })).status).toBe(403);
    expect(await eventsAbout(v, 'user.password-reset', member.id)).toEqual([]);

    const done = await client.post(`/admin/users/${member.id}/reset-password`, { _csrf: FormClient.csrf(confirm.text) });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`/admin/users/${member.id}?done=password-reset`);
    expect((await client.get(done.location!)).text).toContain('The password was reset and they were signed out everywhere. We are e-mailing them a link to set a new one');
    expect(await eventsAbout(v, 'user.password-reset', member.id)).toHaveLength(1);
    // The member's browser is signed out at once.
    const after = await memberBrowser.get('/');
    expect(after.status).toBe(303);
    expect(after.location).toMatch(/^\/sign-in/);
    await mailedLink(member.email);

    // Asked by address for a refused case: the reason is told on the person's page.
    const self = await client.post(`/admin/users/${admin.id}/reset-password`, { _csrf: FormClient.csrf(confirm.text) });
    expect(self.status).toBe(400);
    expect(self.text).toContain('You cannot reset your own password here: change it on your account page');
  });

  // Last: it leaves the log naming a replay, as it should, so nothing after it could pass verify.
  it('still names an invitation taken again after a password was set, with no reset between', async () => {
    const v = t.vault;
    const member = await org.user({});
    await v.people.resetPassword(await actorOf(v, admin.id), member.id);
    const { token } = await mailedLink(member.email);
    const db = v.store.db;
    const afterReset = await db.selectFrom('users').select(['password_hash', 'password_seal']).where('id', '=', member.id).executeTakeFirstOrThrow();
    await v.invitations.accept(token, NEW_PASSWORD, request);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    // A database administrator puts the row back to the reset's state (seal and all) and the link back to unused, and takes it again.
    await db.updateTable('users').set(afterReset).where('id', '=', member.id).execute();
    await db.updateTable('invitations').set({ used_at: null }).where('user_id', '=', member.id).execute();
    await v.invitations.accept(token, 'the administrator chose this one', request);
    const check = await v.audit.verification.verify(systemActor());
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.problem).toBe(`Person ${member.id} took an invitation after they had set a password: their row was put back to before their first password, in the database directly, not by Strongroom.`);
  });
});

describe.each(DIALECTS)('password reset without e-mail on %s', (dialect) => {
  const clock = realClockUnless();
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true, clock });
    base = listening(t);
  });
  afterAll(async () => {
    clock.set(null);
    await t?.close();
  });

  /** The token in a link (its path, or the full address) a reset handed back. */
  const tokenOf = (link: string): string => {
    const token = /\/invitation\/([A-Za-z0-9_-]{43})$/.exec(link)?.[1];
    expect(token).toBeDefined();
    return token!;
  };
  /** The person's link rows (hashes only): none once every link is withdrawn. */
  const linksOf = (v: Vault, userId: string) =>
    v.store.db.selectFrom('invitations').select(['created_at', 'expires_at', 'used_at']).where('user_id', '=', userId).execute();
  /** A reset by `adminId` that shows its link; the link's token. */
  async function resetShown(v: Vault, adminId: string, userId: string): Promise<{ token: string; expiresAt: string }> {
    const reset = await v.people.resetPassword(adminId === 'operator' ? systemActor() : await actorOf(v, adminId), userId);
    if (reset.delivery !== 'link-shown') throw new Error(`expected a link shown, got ${reset.delivery}`);
    return { token: tokenOf(reset.link.path), expiresAt: reset.link.expiresAt };
  }
  /** Runs `between` (committed) once, just before the store's next transaction begins: after a reset was decided, before its transaction. */
  function beforeNextTransaction(v: Vault, between: () => Promise<unknown>): void {
    const store = v.store;
    const original = store.transaction;
    store.transaction = (async (work: Parameters<typeof original>[0], options?: Parameters<typeof original>[1]) => {
      store.transaction = original;
      await between();
      return original.call(store, work, options);
    }) as typeof original;
  }

  it('leaves no password and hands back a link, once, with which the person sets their own, once; nothing shown signs in; the event binds null; audit verify passes', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const session = await v.passwordSignIn.signIn(member.email, TEST_PASSWORD, request);

    const reset = await v.people.resetPassword(await actorOf(v, admin.id), member.id);
    expect(reset).toMatchObject({ user: { id: member.id }, delivery: 'link-shown', link: { path: expect.stringMatching(/^\/invitation\/[A-Za-z0-9_-]{43}$/) } });
    const path = reset.delivery === 'link-shown' ? reset.link.path : '';
    const token = tokenOf(path);
    // As the e-mailed reset leaves it: a sealed null ("no password yet"), every session ended, the old password dead.
    expect((await v.store.repos.users.signInState(member.id))?.password_hash).toBeNull();
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
    expect(await v.sessions.resolve(session.sessionId)).toBeNull();
    // Nothing the admin is shown is a password.
    for (const shown of [TEST_PASSWORD, token, path, `${base}${path}`]) expect(await signsIn(v, member.email, shown)).toBe(false);
    expect(await eventsAbout(v, 'user.password-reset', member.id)).toMatchObject([{ decision: 'allow', reason: 'org_admin', ids: { delivery: 'link-shown', passwordBinding: passwordBinding(member.id, null) } }]);
    expect(await v.store.db.selectFrom('jobs').select('id').where('kind', '=', 'send-email').execute()).toEqual([]);
    // One link, for 24 hours.
    const rows = await linksOf(v, member.id);
    expect(rows).toHaveLength(1);
    expect(Date.parse(String(rows[0]!.expires_at)) - Date.parse(String(rows[0]!.created_at))).toBe(24 * 3_600_000);

    // The person sets a password of their own with it, once; the admin's copy then does nothing.
    await v.invitations.accept(token, NEW_PASSWORD, { ...request, clientAddress: '192.0.2.7' });
    expect(await signsIn(v, member.email, NEW_PASSWORD)).toBe(true);
    await expect(v.invitations.accept(token, 'the admin tries it again', request)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await new FormClient(base).get(path)).status).toBe(404);
    expect(await signsIn(v, member.email, NEW_PASSWORD)).toBe(true);
    // The trail: the reset by the admin, then the link taken from the person's address.
    const accepted = await v.store.db.selectFrom('audit_events').select(['client_address', 'target_ids']).where('action', '=', 'user.invitation-accept').execute();
    expect(accepted.filter((e) => (JSON.parse(e.target_ids) as Record<string, string>).userId === member.id).map((e) => e.client_address)).toEqual(['192.0.2.7']);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('expires: the shown link works until 24 hours after the reset, and not after', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const { token, expiresAt } = await resetShown(v, admin.id, member.id);
    try {
      clock.set(new Date(Date.parse(expiresAt) - 60_000).toISOString());
      expect(await v.invitations.check(token)).toMatchObject({ email: member.email });
      clock.set(expiresAt);
      await expect(v.invitations.check(token)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(v.invitations.accept(token, NEW_PASSWORD, request)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      clock.set(null);
    }
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
  });

  it('withdraws the earlier link at once on a second reset and on a disable, and enabling again revives none', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const first = await resetShown(v, admin.id, member.id);
    const second = await resetShown(v, 'operator', member.id);
    await expect(v.invitations.check(first.token)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await v.invitations.check(second.token)).toMatchObject({ email: member.email });

    await v.people.setDisabled(await actorOf(v, admin.id), member.id, true);
    expect(await linksOf(v, member.id)).toEqual([]);
    await v.people.setDisabled(await actorOf(v, admin.id), member.id, false);
    for (const { token } of [first, second]) await expect(v.invitations.accept(token, NEW_PASSWORD, request)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
  });

  it('refuses, leaving nothing usable, when a disable or a provider switched on commits between the decision and the reset\'s transaction', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const asAdmin = await actorOf(v, admin.id);
    const member = await org.user({});
    const hashBefore = (await v.store.repos.users.signInState(member.id))?.password_hash;

    beforeNextTransaction(v, () => v.people.setDisabled(asAdmin, member.id, true));
    expect(await refusal(v.people.resetPassword(asAdmin, member.id))).toEqual({ code: 'INVALID', message: 'This account is disabled: enable it first, then reset the password.' });
    expect(await eventsAbout(v, 'user.password-reset', member.id)).toEqual([]);
    expect(await eventsAbout(v, 'person.reset-password', member.id)).toMatchObject([{ decision: 'deny', reason: 'person_disabled' }]);
    expect(await linksOf(v, member.id)).toEqual([]);
    expect((await v.store.repos.users.signInState(member.id))?.password_hash).toBe(hashBefore);
    // Switched on again, they are as before the reset was asked for: their own password, and no link anyone holds.
    await v.people.setDisabled(asAdmin, member.id, false);
    expect(await signsIn(v, member.email, TEST_PASSWORD)).toBe(true);

    const federated = await createOrganisation(v);
    const federatedAdmin = await federated.user({ roles: ['org_admin'] });
    const federatedMember = await federated.user({});
    beforeNextTransaction(v, () => addProvider(v, federated.id));
    expect((await refusal(v.people.resetPassword(await actorOf(v, federatedAdmin.id), federatedMember.id))).message).toMatch(/signs in through its identity provider/);
    expect(await eventsAbout(v, 'user.password-reset', federatedMember.id)).toEqual([]);
    expect(await linksOf(v, federatedMember.id)).toEqual([]);
    expect((await v.store.repos.users.signInState(federatedMember.id))?.password_hash).not.toBeNull();
  });

  it('shows the link once on the result page, after a confirmation that says so; the person sets their password with it', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const client = new FormClient(base);
    await client.signIn(admin.email, TEST_PASSWORD, await enrolTotp(v, admin.id));
    const confirm = await client.get(`/admin/users/${member.id}/reset-password`);
    expect(confirm.text).toContain('you are shown a link to set a new password, once, to give them through a separate, trusted channel; it works once, for 24 hours, and nobody but them ever knows the new password');
    const done = await client.post(`/admin/users/${member.id}/reset-password`, { _csrf: FormClient.csrf(confirm.text) });
    expect(done.status).toBe(200);
    expect(done.headers.get('cache-control')).toBe('no-store');
    // Without STRONGROOM_PUBLIC_URL, built from the address the browser used.
    const shown = /<code class="sr-secret" id="password-reset-link">([^<]+)<\/code>/.exec(done.text)?.[1];
    expect(shown).toMatch(new RegExp(`^${base}/invitation/[A-Za-z0-9_-]{43}$`));
    expect(done.text).toContain('It works once, for 24 hours');
    expect(done.text).toContain('It is shown only once.');
    expect(done.text).not.toContain('one-time password');
    expect(await signsIn(v, member.email, tokenOf(shown!))).toBe(false);
    // Not on the person's page afterwards.
    expect((await client.get(`/admin/users/${member.id}`)).text).not.toContain(tokenOf(shown!));
    // The person follows it in their own browser.
    const person = new FormClient(base);
    const page = await person.get(shown!.slice(base.length));
    expect(page.status).toBe(200);
    const set = await person.post(shown!.slice(base.length), { _csrf: FormClient.csrf(page.text), password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(set.status).toBe(200);
    expect(await signsIn(v, member.email, NEW_PASSWORD)).toBe(true);
  });

  // Last: it puts a row back by hand, which audit verify rightly names.
  it('a password change withdraws a link still live beside it, so a row put back to "no password" revives none', async () => {
    const v = t.vault;
    const db = v.store.db;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const { token } = await resetShown(v, admin.id, member.id);
    const afterReset = await db.selectFrom('users').select(['password_hash', 'password_seal']).where('id', '=', member.id).executeTakeFirstOrThrow();
    await v.invitations.accept(token, NEW_PASSWORD, request);
    // A link left live beside a password (what a link mailed while its person set a password another way leaves), written here directly.
    await db.updateTable('invitations').set({ used_at: null }).where('user_id', '=', member.id).execute();
    const signedIn = await v.passwordSignIn.signIn(member.email, NEW_PASSWORD, request);
    await v.passwordChange.changePassword((await v.sessions.resolve(signedIn.sessionId))!, NEW_PASSWORD, 'the one they chose themselves', request);
    expect(await linksOf(v, member.id)).toEqual([]);
    // A database administrator puts the row back to the reset's sealed null: no link of theirs is left to set a password with.
    await db.updateTable('users').set(afterReset).where('id', '=', member.id).execute();
    await expect(v.invitations.accept(token, 'the administrator chose this one', request)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
