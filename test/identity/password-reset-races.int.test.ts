// What an admin's password reset leaves when something else happens to the person at the same moment, and
// what a database administrator can do with an old link afterwards:
// - a password change whose current password was judged just before a reset committed is refused (it took
//   the person's row and read it again), so the reset and its link stand; the trail says reset, then nothing;
// - a link taken while its person's organisation switched on an identity provider sets nothing;
// - on PostgreSQL, a password change, or a link taken, while a reset holds the person's row waits for it (the
//   row before the link's, as the reset takes them: the other order deadlocked) and is then refused, the
//   reset seen;
// - an old, used link's row put back after a reset still works (its row binds it to its person, not to a
//   time), but `audit verify` names its use: each issuance and each use record the link's id;
// - a person who sets a password through a link can sign in with it at once from where they took the link,
//   their failed guesses there forgotten, while a guesser elsewhere stays throttled.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_THROTTLE } from '../../src/domain/identity/sign-in-throttle.js';
import { DomainError } from '../../src/domain/errors.js';
import type { Vault } from '../../src/main.js';
import { auditEvent } from '../../src/services/audit-events.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { passwordIds } from '../../src/services/person-state.js';
import { passwordStanding } from '../../src/services/invitations.service.js';
import { accountAtNetworkKey, accountKey, networkKey } from '../../src/services/sign-in-throttle-keys.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp } from '../support/smtp.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, openTestVault, setUpMfa, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const PUBLIC_URL = 'https://vault.test';
const LINK = new RegExp(`${PUBLIC_URL}/invitation/([A-Za-z0-9_-]{43})`);
const NEW_PASSWORD = 'a brand new pass phrase after the reset';
const request = (clientAddress: string) => ({ channel: 'web', clientAddress, requestId: 'reset-races' }) as const;
const HOME = request('198.51.100.20');

async function actorOf(vault: Vault, userId: string) {
  return actorFor((await vault.store.repos.users.byId(userId))!, HOME);
}

/** What a refused call threw. */
async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await work.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return { code: (error as DomainError).code, message: (error as DomainError).message };
}

/** The token in a reset's shown link. */
async function shownToken(vault: Vault, adminId: string, userId: string): Promise<string> {
  const reset = await vault.people.resetPassword(await actorOf(vault, adminId), userId);
  if (reset.delivery !== 'link-shown') throw new Error(`expected a link shown, got ${reset.delivery}`);
  return /\/invitation\/([A-Za-z0-9_-]{43})$/.exec(reset.link.path)![1]!;
}

/** The allowed-or-denied events of `action` about `userId`, oldest first. */
async function eventsAbout(vault: Vault, action: string, userId: string) {
  const rows = await vault.store.db.selectFrom('audit_events').select(['decision', 'reason', 'target_ids']).where('action', '=', action).orderBy('id').execute();
  return rows.map((r) => ({ decision: r.decision, reason: r.reason, ids: JSON.parse(r.target_ids) as Record<string, string> })).filter((e) => e.ids.userId === userId);
}

/** Runs `between` (committed) once, just before the store's next transaction begins: after a check made before it. */
function beforeNextTransaction(v: Vault, between: () => Promise<unknown>): void {
  const store = v.store;
  const original = store.transaction;
  store.transaction = (async (work: Parameters<typeof original>[0], options?: Parameters<typeof original>[1]) => {
    store.transaction = original;
    await between();
    return original.call(store, work, options);
  }) as typeof original;
}

/** Resolves once some statement of this database waits for a lock (PostgreSQL): the racer has reached the row held. */
async function waitingOnALock(v: Vault): Promise<void> {
  for (let i = 0; ; i++) {
    const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.datname = current_database()`.execute(v.store.db);
    if (waiting.rows[0]!.n > 0) return;
    if (i > 500) throw new Error('nothing ever waited on the row held');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(DIALECTS)('password reset racing the person on %s', (dialect) => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a password change judged before an admin reset the person\'s two-step verification (which signed them out): no session comes back', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const session = (await v.sessions.resolve((await v.passwordSignIn.signIn(member.email, TEST_PASSWORD, HOME)).sessionId))!;
    await setUpMfa(v, member, 'JBSWY3DPEHPK3PXP');
    beforeNextTransaction(v, async () => v.people.resetMfa(actorFor((await v.store.repos.users.byId(admin.id))!, HOME), member.id));
    expect((await refusal(v.passwordChange.changePassword(session, TEST_PASSWORD, 'a new pass phrase chosen meanwhile', HOME))).message)
      .toMatch(/^Your password was not changed: .* or you were signed out \(your two-step verification reset\)/);
    expect(await eventsAbout(v, 'auth.password-change', member.id)).toEqual([]);
    expect((await v.passwordSignIn.signIn(member.email, TEST_PASSWORD, HOME)).user.id).toBe(member.id);
  });

  it("refuses a password change judged before a reset committed: the reset and its link stand, nothing of the change is written", async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const signedIn = await v.passwordSignIn.signIn(member.email, TEST_PASSWORD, HOME);
    const session = (await v.sessions.resolve(signedIn.sessionId))!;
    let token = '';
    // The current password is judged right; the admin's reset commits before the change's transaction.
    beforeNextTransaction(v, async () => { token = await shownToken(v, admin.id, member.id); });
    expect(await refusal(v.passwordChange.changePassword(session, TEST_PASSWORD, 'what the person meant to choose', HOME))).toEqual({
      code: 'INVALID',
      message: 'Your password was not changed: it was reset or changed elsewhere, your account was switched off, or you were signed out (your two-step verification reset) while you were changing it. Sign in again; after a reset, use the link you were sent to set a new one.',
    });
    expect(token).not.toBe('');
    // As the reset left them: no password, and its link alive (the change would have withdrawn it).
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
    expect(await eventsAbout(v, 'auth.password-change', member.id)).toEqual([]);
    expect(await eventsAbout(v, 'credential.revoke', member.id)).toEqual([]);
    await v.invitations.accept(token, NEW_PASSWORD, HOME);
    expect((await v.passwordSignIn.signIn(member.email, NEW_PASSWORD, HOME)).user.id).toBe(member.id);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('refuses a link taken while the organisation switched its identity provider on, and one taken while the person was disabled: nothing set', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const token = await shownToken(v, admin.id, member.id);
    // The page loaded and the link was checked; the provider goes on before the password is set.
    beforeNextTransaction(v, () => v.identityProviders.add(systemActor(), org.id, {
      kind: 'oidc', name: 'Council Entra ID', issuer: 'https://login.example.test/v2.0', clientId: 'c', clientSecret: 's', scopes: ['openid', 'email'],
    }));
    expect(await refusal(v.invitations.accept(token, NEW_PASSWORD, HOME))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
    expect(await eventsAbout(v, 'user.invitation-accept', member.id)).toEqual([]);
    const [row] = await v.store.db.selectFrom('invitations').select('used_at').where('user_id', '=', member.id).execute();
    expect(row?.used_at).toBeNull();

    const other = await createOrganisation(v);
    const otherAdmin = await other.user({ roles: ['org_admin'] });
    const leaver = await other.user({});
    const link = await shownToken(v, otherAdmin.id, leaver.id);
    beforeNextTransaction(v, () => v.people.setDisabled(systemActor(), leaver.id, true));
    expect(await refusal(v.invitations.accept(link, NEW_PASSWORD, HOME))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await passwordStanding(v.store.repos.users, leaver.id)).toBe('none');
    expect(await eventsAbout(v, 'user.invitation-accept', leaver.id)).toEqual([]);
  });

  it.runIf(dialect === 'postgres')("a password change waits for a reset holding the person's row, then is refused: the reset stands", async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const member = await org.user({});
    const session = (await v.sessions.resolve((await v.passwordSignIn.signIn(member.email, TEST_PASSWORD, HOME)).sessionId))!;
    let changing: Promise<{ code: string; message: string }> | undefined;
    await v.store.db.transaction().execute(async (trx) => {
      // What resetPassword writes, its transaction held open with the person's row taken first.
      const repos = v.store.reposWithin(trx);
      await repos.users.lock(member.id);
      changing = refusal(v.passwordChange.changePassword(session, TEST_PASSWORD, 'what the person meant to choose', HOME));
      await waitingOnALock(v);
      await repos.mail.withdrawInvitations(member.id);
      await repos.users.update(member.id, { passwordHash: null });
      await repos.sessions.deleteForUser(member.id);
      await repos.audit.insert([auditEvent(systemActor(), 'user.password-reset', { organisationId: org.id, ids: { userId: member.id, delivery: 'e-mail', ...passwordIds(member.id, null) } }, { allow: true, reason: 'system', via: null }, new Date())]);
    });
    expect((await changing!).message).toMatch(/^Your password was not changed: it was reset or changed elsewhere/);
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
    expect(await eventsAbout(v, 'auth.password-change', member.id)).toEqual([]);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it.runIf(dialect === 'postgres')("waits for a reset holding the person's row, then refuses the link the reset withdrew (no deadlock)", async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const token = await shownToken(v, admin.id, member.id);
    let taking: Promise<{ code: string; message: string }> | undefined;
    await v.store.db.transaction().execute(async (trx) => {
      // What resetPassword does, held open: the person's row taken first, then their links withdrawn.
      await sql`select id from users where id = ${member.id} for update`.execute(trx);
      taking = refusal(v.invitations.accept(token, NEW_PASSWORD, HOME));
      await waitingOnALock(v);
      await trx.deleteFrom('invitations').where('user_id', '=', member.id).execute();
    });
    expect(await taking!).toMatchObject({ code: 'NOT_FOUND' });
    expect(await passwordStanding(v.store.repos.users, member.id)).toBe('none');
    expect(await eventsAbout(v, 'user.invitation-accept', member.id)).toEqual([]);
  });
});

describe.each(DIALECTS)('links and throttling after a reset, with e-mail, on %s', (dialect) => {
  let smtp: TestSmtp;
  let t: TestVault;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    t = await openTestVault({
      dialect, clamdSocket: clamd.socketPath,
      env: { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Strongroom <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: PUBLIC_URL },
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  /** The link in the one mail with a link sent to `email` since the worker last ran (security notices have none). */
  async function mailedToken(email: string): Promise<string> {
    await t.vault.worker.runDue();
    const mails = smtp.to(email).filter((m) => LINK.test(String(m.text)));
    expect(mails).toHaveLength(1);
    smtp.received.splice(0);
    return LINK.exec(String(mails[0]!.text))![1]!;
  }

  it('lets the person sign in at once from where they set their password; a guesser elsewhere stays throttled', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const guesser = request('203.0.113.66');
    const failures = async (key: string) => (await v.store.repos.signInThrottles.failures([key], new Date().toISOString())).get(key);
    // The person forgot their password and used up their tries at home; someone elsewhere guesses too.
    for (const from of [HOME, guesser]) {
      for (let i = 0; i < SIGN_IN_THROTTLE.accountAtNetwork.limit; i++) await refusal(v.passwordSignIn.signIn(member.email, `wrong guess ${i}`, from));
    }
    expect(await failures(accountAtNetworkKey(member.email, HOME.clientAddress))).toBe(SIGN_IN_THROTTLE.accountAtNetwork.limit);

    await v.people.resetPassword(await actorOf(v, admin.id), member.id);
    await v.invitations.accept(await mailedToken(member.email), NEW_PASSWORD, HOME);
    expect((await v.passwordSignIn.signIn(member.email, NEW_PASSWORD, HOME)).user.id).toBe(member.id);
    // Elsewhere nothing is forgotten: that network's count on this account, the network's own, the account's everywhere.
    expect(await failures(accountAtNetworkKey(member.email, guesser.clientAddress))).toBe(SIGN_IN_THROTTLE.accountAtNetwork.limit);
    expect(await failures(networkKey(guesser.clientAddress))).toBe(SIGN_IN_THROTTLE.accountAtNetwork.limit);
    expect(await failures(accountKey(member.email))).toBe(2 * SIGN_IN_THROTTLE.accountAtNetwork.limit);
  });

  // Last: it leaves the log naming a replay, as it should.
  it('names a set-password link whose old, used row was put back after a reset and taken again', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const { user } = await v.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email: `ada-${Date.now()}@${org.slug}.test`, name: 'Ada', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    const invitation = await mailedToken(user.email);
    await v.invitations.accept(invitation, 'ada chose this pass phrase', HOME);
    const used = await v.store.db.selectFrom('invitations').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    // A reset withdraws it and mails a new link; every use so far is of the link last issued.
    await v.people.resetPassword(await actorOf(v, admin.id), user.id);
    const fresh = await mailedToken(user.email);
    expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    const links = await eventsAbout(v, 'mail.sign-in-link', user.id);
    const accepted = await eventsAbout(v, 'user.invitation-accept', user.id);
    expect(links.map((e) => e.ids.link)).toHaveLength(2);
    expect(accepted.map((e) => e.ids.link)).toEqual([links[0]!.ids.link]);
    for (const e of [...links, ...accepted]) expect(JSON.stringify(e.ids)).not.toContain(invitation);

    // A database administrator puts the old row back, unused; the invitation still in the mailbox sets a password.
    await v.store.db.insertInto('invitations').values({ ...used, used_at: null }).execute();
    await v.invitations.accept(invitation, 'the administrator chose this one', HOME);
    const check = await v.audit.verification.verify(systemActor());
    expect(check.ok ? '' : check.problem).toBe(`Person ${user.id} set a password with a link that was not their latest one issued, or that was used already: its row was put back in the database directly, not by Strongroom.`);
    expect(fresh).not.toBe(invitation);
  });
});
