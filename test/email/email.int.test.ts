// E-mail end to end, with a real SMTP server on 127.0.0.1 (smtp-server) and every message parsed by
// mailparser: quarantine notices to the uploader and the security admins, invitation links (once, expiring,
// hash only at rest), the per-person opt-out (non-essential only), disposal review and arrangement proposals.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSON_SECRET_ACTIONS, unrecordedSignInSecret } from '../../src/domain/audit/person-secrets-record.js';
import { sendEmailJob } from '../../src/domain/jobs/kinds.js';
import type { Vault } from '../../src/main.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import * as samples from '../support/samples.js';
import { TestSmtp, toAddress } from '../support/smtp.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, openTestVault, settableClock, upload, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';

const clamd = useClamd();

const MAIL_FROM = 'Records vault <no-reply@vault.test>';
const PUBLIC_URL = 'https://vault.test';
const EICAR = samples.eicar();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const LINK = new RegExp(`${PUBLIC_URL}/invitation/([A-Za-z0-9_-]{43})`);

const mailEnv = (smtp: TestSmtp) => ({ STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: MAIL_FROM, STRONGROOM_PUBLIC_URL: PUBLIC_URL });

/** A person's own actor, as the web interface would build it. */
async function actorOf(vault: Vault, userId: string) {
  const user = await vault.store.repos.users.byId(userId);
  return actorFor(user!, { channel: 'web', clientAddress: '127.0.0.1', requestId: null });
}

/** The one message `address` received, after checking it is the only one. */
function onlyMailTo(smtp: TestSmtp, address: string): ParsedMail {
  const mails = smtp.to(address);
  expect(mails.map((m) => m.subject)).toHaveLength(1);
  const mail = mails[0]!;
  expect(toAddress(mail)).toBe(address);
  expect(mail.from?.value[0]).toMatchObject({ address: 'no-reply@vault.test', name: 'Records vault' });
  expect(mail.attachments).toHaveLength(0);
  // Both parts, and an HTML part that fetches nothing when opened.
  expect(typeof mail.text).toBe('string');
  expect(typeof mail.html).toBe('string');
  expect(mail.html as string).not.toMatch(/<img|src=|url\(|<script|<link/i);
  return mail;
}

describe.each(DIALECTS)('e-mail on %s', (dialect) => {
  let smtp: TestSmtp;
  let t: TestVault;
  let base: string;
  // Real time, moved on by hand for expiry: sign-in codes are checked against this clock too.
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  const advance = (seconds: number) => { offsetMs += seconds * 1000; };

  beforeAll(async () => {
    smtp = await TestSmtp.started();
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: mailEnv(smtp), listen: true, clock });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  it('an EICAR upload e-mails the uploader (naming the file) and each security admin (what the quarantine page shows), after the request', async () => {
    const org = await createOrganisation(t.vault);
    const uploader = await org.user({ teams: ['payroll'] });
    const admin = await org.user({ roles: ['security_admin'] });
    const quietAdmin = await org.user({ roles: ['security_admin'] });
    const colleague = await org.user({ teams: ['payroll'] });
    // The uploader's notice is essential: their opt-out does not stop it. The admins' copies are not.
    await t.vault.mail.setPreferences(await actorOf(t.vault, uploader.id), { nonEssentialOptOut: true });
    await t.vault.mail.setPreferences(await actorOf(t.vault, quietAdmin.id), { nonEssentialOptOut: true });
    const name = 'invoices & receipts.txt';

    const res = await upload(t.app, uploader, org.collections.payroll!, name, EICAR);
    expect(res.statusCode, res.body).toBe(422);
    const documentId = res.json().id as string;
    const signature = String(res.json().signature);
    expect(signature).toMatch(/eicar/i);
    expect(smtp.received.filter((m) => m.envelopeTo.some((a) => a.endsWith(`@${org.slug}.test`)))).toHaveLength(0);

    await t.vault.worker.runDue();
    const toUploader = onlyMailTo(smtp, uploader.email);
    expect(toUploader.subject).toBe(`Your upload "${name}" was quarantined`);
    expect(toUploader.text).toContain(`Version 1 of "${name}" was quarantined because malware was found in it.`);
    expect(toUploader.text).toContain(`Reason: Malware detected (${signature})`);
    expect(toUploader.text).toContain(`${PUBLIC_URL}/documents/${documentId}`);
    expect(toUploader.html).toContain('Version 1 of &quot;invoices &amp; receipts.txt&quot; was quarantined');
    expect(toUploader.html).toContain(`href="${PUBLIC_URL}/documents/${documentId}"`);

    const toAdmin = onlyMailTo(smtp, admin.email);
    expect(toAdmin.subject).toBe(`Quarantined: "${name}", version 1`);
    expect(toAdmin.text).toContain(`Document: ${name}, version 1`);
    expect(toAdmin.text).toContain(`Reason: Malware detected (${signature})`);
    expect(toAdmin.text).toContain(`Size: ${EICAR.length} bytes`);
    expect(toAdmin.text).toContain(`Review the quarantine:\n${PUBLIC_URL}/admin/quarantine`);
    expect(toAdmin.text).toContain(`${PUBLIC_URL}/account/email`);
    expect(toAdmin.html).toContain('invoices &amp; receipts.txt, version 1');

    expect(smtp.to(quietAdmin.email)).toHaveLength(0);
    expect(smtp.to(colleague.email)).toHaveLength(0);
    // The file's content is in no mail, and every in-app notice is still made (opted out or not).
    for (const mail of [toUploader, toAdmin]) {
      expect(String(mail.text)).not.toContain('EICAR-STANDARD');
      expect(String(mail.html)).not.toContain('EICAR-STANDARD');
    }
    for (const who of [uploader, admin, quietAdmin]) {
      expect((await t.vault.store.repos.notifications.forUser(who.id)).filter((n) => n.documentId === documentId)).toHaveLength(1);
    }
  });

  it('a person added while mail is configured gets no password on screen but a link that sets it once; only its hash is stored', async () => {
    const org = await createOrganisation(t.vault);
    const email = `new-${Date.now()}@${org.slug}.test`;
    const added = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email, name: 'Ada Newcomer', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    expect(added.invited).toBe(true);
    expect(added.generatedPassword).toBeNull();
    expect((await t.vault.store.repos.users.signInState(added.user.id))?.password_hash).toBeNull();

    await t.vault.worker.runDue();
    const mail = onlyMailTo(smtp, email);
    expect(mail.subject).toBe('You have been invited to Strongroom');
    expect(mail.text).toContain(`An administrator has added you to Test ${org.slug} in Strongroom.`);
    const token = LINK.exec(String(mail.text))?.[1];
    expect(token).toBeDefined();
    expect(mail.html).toContain(`href="${PUBLIC_URL}/invitation/${token}"`);

    // At rest: a keyed hash, never the token, nor a plain hash of it (not in the invitation row, nor in the job that sent it).
    const rows = await t.vault.store.db.selectFrom('invitations').selectAll().where('user_id', '=', added.user.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.token_hash).not.toBe(sha256(token!));
    const jobs = await t.vault.store.db.selectFrom('jobs').select(['payload', 'last_error']).where('kind', '=', 'send-email').execute();
    expect(jobs.filter((j) => j.payload.includes(token!) || (j.last_error ?? '').includes(token!))).toHaveLength(0);

    const client = new FormClient(base);
    const page = await client.get(`/invitation/${token}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Set your password');
    expect(page.text).toContain(email);
    const csrf = FormClient.csrf(page.text);
    const mismatch = await client.post(`/invitation/${token}`, { _csrf: csrf, password: 'correct horse battery staple', confirm: 'something else entirely' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain('The passwords do not match: type the same password twice');
    const weak = await client.post(`/invitation/${token}`, { _csrf: csrf, password: 'short', confirm: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('Passwords must be at least 12 characters long.');
    const forged = await client.post(`/invitation/${token}`, { _csrf: 'x'.repeat(32), password: 'forged password phrase', confirm: 'forged password phrase' });
    expect(forged.status).toBe(403);

    const done = await client.post(`/invitation/${token}`, { _csrf: csrf, password: 'correct horse battery staple', confirm: 'correct horse battery staple' });
    expect(done.status).toBe(200);
    expect(done.text).toContain('Your password is set');
    const user = (await t.vault.store.repos.users.byId(added.user.id))!;
    expect(await t.vault.identity.verifyPassword(user, 'correct horse battery staple')).toBe(true);
    expect(await new FormClient(base).signIn(email, 'correct horse battery staple')).toContain('Ada Newcomer');
    const accepted = await t.vault.store.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'user.invitation-accept').execute();
    expect(accepted.filter((e) => JSON.parse(e.target_ids).userId === added.user.id)).toHaveLength(1);

    // Used: the same link does nothing more, on either method.
    const again = await client.get(`/invitation/${token}`);
    expect(again.status).toBe(404);
    expect(again.text).toContain('This invitation link does not work: it has been used, has expired or was replaced by a newer one.');
    const replay = await client.post(`/invitation/${token}`, { _csrf: csrf, password: 'a different pass phrase', confirm: 'a different pass phrase' });
    expect(replay.status).toBe(404);
    expect(await t.vault.identity.verifyPassword(user, 'correct horse battery staple')).toBe(true);
    expect(await t.vault.identity.verifyPassword(user, 'a different pass phrase')).toBe(false);
    expect((await new FormClient(base).get(`/invitation/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await new FormClient(base).get('/invitation/not-a-token')).status).toBe(404);
  });

  it('the admin page invites a new person by e-mail and shows no password', async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
    const admin = await org.user({ roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const client = new FormClient(base);
    await client.signIn(admin.email, undefined, secret);
    const form = await client.get('/admin/users/new');
    const email = `invitee-${Date.now()}@${org.slug}.test`;
    const res = await client.post('/admin/users', { _csrf: FormClient.csrf(form.text), email, name: 'Ivy Invitee', roles: 'member', clearance: 'OFFICIAL' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Ivy Invitee has been invited');
    expect(res.text).toContain(`We are e-mailing ${email} a link to set their password. It works once, for 7 days.`);
    expect(res.text).not.toContain('generated-password');
    expect(res.text).not.toContain('one-time password');
    await t.vault.worker.runDue();
    const mail = onlyMailTo(smtp, email);
    expect(mail.text).toContain(`Test User has added you to Test ${org.slug} in Strongroom.`);
  });

  it('in an organisation that signs in through its identity provider, the admin page sets no password and the invitation points at the sign-in page', async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
    const now = new Date().toISOString();
    await t.vault.store.repos.federation.insertProvider({
      id: randomUUID(), organisationId: org.id, kind: 'oidc', name: 'Council Entra ID', enabled: true,
      oidc: { issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'] }, saml: null,
      createAccounts: false, groupsClaim: null, mfaAmrValues: [], mfaAcrValues: [], createdAt: now, updatedAt: now,
    }, null);
    const admin = await org.user({ roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const client = new FormClient(base);
    await client.signIn(admin.email, undefined, secret);
    const form = await client.get('/admin/users/new');
    const email = `sso-${Date.now()}@${org.slug}.test`;
    const res = await client.post('/admin/users', { _csrf: FormClient.csrf(form.text), email, name: 'Sam Sso', roles: 'member', clearance: 'OFFICIAL' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('They sign in with their organisation account (Council Entra ID): there is no Strongroom password for them.');
    expect(res.text).not.toContain('generated-password');
    const person = await t.vault.store.repos.users.byEmail(email);
    expect((await t.vault.store.repos.users.signInState(person!.id))?.password_hash).toBeNull();
    await t.vault.worker.runDue();
    const mail = onlyMailTo(smtp, email);
    expect(mail.text).toContain('You sign in with your usual Test ' + org.slug + ' account (Council Entra ID)');
    expect(mail.text).toContain(`${PUBLIC_URL}/sign-in?org=${org.slug}`);
    expect(String(mail.text)).not.toMatch(LINK);
    expect(await t.vault.store.db.selectFrom('invitations').selectAll().where('user_id', '=', person!.id).execute()).toEqual([]);
  });

  it('an invitation job written in the database, mailed while the person\'s address was rewritten, is no link to a password for someone who signs in through the provider', async () => {
    // A database administrator (any row, not the master key) queues an invitation for an org admin who signs
    // in only through the council's identity provider (no Strongroom password), points the admin's address at
    // their own mailbox for the moment it is sent, puts it back, and follows the link.
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
    const now = new Date().toISOString();
    await t.vault.store.repos.federation.insertProvider({
      id: randomUUID(), organisationId: org.id, kind: 'oidc', name: 'Council Entra ID', enabled: true,
      oidc: { issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'] }, saml: null,
      createAccounts: false, groupsClaim: null, mfaAmrValues: [], mfaAcrValues: [], createdAt: now, updatedAt: now,
    }, null);
    const email = `sso-admin-${Date.now()}@${org.slug}.test`;
    const { user: admin } = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email, name: 'Sso Admin', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL-SENSITIVE' });
    await t.vault.worker.runDue();
    expect((await t.vault.store.repos.users.signInState(admin.id))?.password_hash).toBeNull();
    const db = t.vault.store.db;
    const mallory = `mallory-${Date.now()}@elsewhere.test`;
    await db.updateTable('users').set({ email: mallory }).where('id', '=', admin.id).execute();
    await t.vault.store.transaction(async (repos) => {
      await t.vault.mail.queue(repos.jobs, new Date(), org.id, [admin.id], { kind: 'invitation', organisationName: 'x', invitedBy: null, signInWith: null });
    });
    await t.vault.worker.runDue();
    await db.updateTable('users').set({ email }).where('id', '=', admin.id).execute();
    const link = LINK.exec(String(smtp.to(mallory).map((m) => m.text).join('\n')));
    if (link) {
      const client = new FormClient(base);
      const csrf = FormClient.csrf((await client.get(`/invitation/${link[1]}`)).text);
      await client.post(`/invitation/${link[1]}`, { _csrf: csrf, password: 'taken over pass phrase', confirm: 'taken over pass phrase' });
    }
    expect(link).toBeNull();
    expect((await t.vault.store.repos.users.signInState(admin.id))?.password_hash).toBeNull();
  });

  it('a password written off in the database is no "no password yet": no invitation is mailed for it, and no link takes it', async () => {
    // A database administrator (any row, not the master key) writes an org admin's password hash null and
    // their address to their own mailbox, queues an invitation job and follows the link: Strongroom would
    // seal and audit the password they chose. A null Strongroom did not write (its seal) is refused.
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'], teams: [] });
    const db = t.vault.store.db;
    const honest = await db.selectFrom('users').select(['email', 'password_hash', 'password_seal']).where('id', '=', admin.id).executeTakeFirstOrThrow();
    const mallory = `mallory-${Date.now()}@elsewhere.test`;
    await db.updateTable('users').set({ email: mallory, password_hash: null }).where('id', '=', admin.id).execute();
    await t.vault.store.transaction(async (repos) => {
      await t.vault.mail.queue(repos.jobs, new Date(), org.id, [admin.id], { kind: 'invitation', organisationName: 'x', invitedBy: null, signInWith: null });
    });
    await t.vault.worker.runDue();
    expect(smtp.to(mallory)).toEqual([]);
    const refusedAs = async (action: string) => (await db.selectFrom('audit_events').select(['reason', 'target_ids']).where('action', '=', action).where('decision', '=', 'deny').execute())
      .filter((e) => (JSON.parse(e.target_ids) as Record<string, string>).userId === admin.id).map((e) => e.reason);
    expect(await refusedAs('mail.invitation')).toEqual(['secrets_not_sealed']);
    await db.updateTable('users').set(honest).where('id', '=', admin.id).execute();

    // Someone invited (no password yet, sealed so), their null's seal then written over: the link no longer works.
    const email = `invited-${Date.now()}@${org.slug}.test`;
    const { user } = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email, name: 'Invited', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    await t.vault.worker.runDue();
    const token = LINK.exec(String(onlyMailTo(smtp, email).text))![1]!;
    const sealed = (await db.selectFrom('users').select('password_seal').where('id', '=', user.id).executeTakeFirstOrThrow()).password_seal;
    await db.updateTable('users').set({ password_seal: null }).where('id', '=', user.id).execute();
    const client = new FormClient(base);
    expect((await client.get(`/invitation/${token}`)).status).toBe(404);
    await db.updateTable('users').set({ password_seal: sealed }).where('id', '=', user.id).execute();
    const csrf = FormClient.csrf((await client.get(`/invitation/${token}`)).text);
    await db.updateTable('users').set({ password_seal: null }).where('id', '=', user.id).execute();
    expect((await client.post(`/invitation/${token}`, { _csrf: csrf, password: 'taken over pass phrase', confirm: 'taken over pass phrase' })).status).toBe(404);
    expect((await t.vault.store.repos.users.signInState(user.id))?.password_hash).toBeNull();
    const refused = (await db.selectFrom('audit_events').select(['reason', 'target_ids']).where('action', '=', 'user.invitation-accept').where('decision', '=', 'deny').execute())
      .filter((e) => (JSON.parse(e.target_ids) as Record<string, string>).userId === user.id).map((e) => e.reason);
    expect(refused).toEqual(['secrets_not_sealed', 'secrets_not_sealed']);
  });

  it('an invitation row written or pointed at someone else in the database is no link, and no link replaces a password', async () => {
    // A database administrator (any row, not the master key) would set an org admin's password through
    // the invitation page, with a sealed event that audit verify accepts.
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'], teams: [] });
    const invite = async (name: string) => {
      const email = `${name}-${Date.now()}@${org.slug}.test`;
      const { user } = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email, name, roles: ['member'], teams: [], clearance: 'OFFICIAL' });
      await t.vault.worker.runDue();
      return { user, token: LINK.exec(String(onlyMailTo(smtp, email).text))![1]! };
    };
    const insider = await invite('insider');
    const newcomer = await invite('newcomer');
    const db = t.vault.store.db;
    const pointAt = (userId: string) => db.updateTable('invitations').set({ user_id: userId }).where('user_id', '=', insider.user.id).execute();
    const client = new FormClient(base);
    const csrf = FormClient.csrf((await client.get(`/invitation/${insider.token}`)).text);
    const NOT_VALID = 'This invitation link does not work: it has been used, has expired or was replaced by a newer one.';
    const refused = async (token: string) => {
      const page = await client.get(`/invitation/${token}`);
      expect(page.status).toBe(404);
      expect(page.text).toContain(NOT_VALID);
      expect((await client.post(`/invitation/${token}`, { _csrf: csrf, password: 'taken over pass phrase', confirm: 'taken over pass phrase' })).status).toBe(404);
    };
    // The insider's own link pointed at the org admin, then at a colleague who has no password yet: for neither.
    await db.deleteFrom('invitations').where('user_id', '=', newcomer.user.id).execute();
    await pointAt(admin.id);
    await refused(insider.token);
    const adminUser = (await t.vault.store.repos.users.byId(admin.id))!;
    expect(await t.vault.identity.verifyPassword(adminUser, TEST_PASSWORD)).toBe(true);
    await db.updateTable('invitations').set({ user_id: newcomer.user.id }).where('user_id', '=', admin.id).execute();
    await refused(insider.token);
    expect((await t.vault.store.repos.users.signInState(newcomer.user.id))?.password_hash).toBeNull();
    // A row written by hand with a token of one's choosing, hashed as anyone can.
    const chosen = randomBytes(32).toString('base64url');
    await db.insertInto('invitations').values({ token_hash: sha256(chosen), user_id: newcomer.user.id, created_at: new Date().toISOString(), expires_at: new Date(Date.now() + 86_400_000).toISOString(), used_at: null }).execute();
    await refused(chosen);
    // Put back, the insider's link works once; marked unused again by hand, it does not replace the password it set.
    await db.deleteFrom('invitations').where('token_hash', '=', sha256(chosen)).execute();
    await db.updateTable('invitations').set({ user_id: insider.user.id }).where('user_id', '=', newcomer.user.id).execute();
    expect((await client.post(`/invitation/${insider.token}`, { _csrf: csrf, password: 'correct horse battery staple', confirm: 'correct horse battery staple' })).status).toBe(200);
    await db.updateTable('invitations').set({ used_at: null }).where('user_id', '=', insider.user.id).execute();
    await refused(insider.token);
    expect(await t.vault.identity.verifyPassword((await t.vault.store.repos.users.byId(insider.user.id))!, 'correct horse battery staple')).toBe(true);
  });

  it('an invitation link stops working after 7 days, and a newer invitation replaces the older one', async () => {
    const org = await createOrganisation(t.vault);
    const email = `late-${Date.now()}@${org.slug}.test`;
    const { user } = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email, name: 'Late Comer', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    await t.vault.worker.runDue();
    const first = LINK.exec(String(onlyMailTo(smtp, email).text))![1]!;
    // A retry or a resend makes a new link; the earlier one stops working. An invitation is essential:
    // an opt-out (set here directly; a person cannot sign in to set one before accepting) does not stop it.
    await t.vault.store.repos.mail.setPreferences(user.id, { nonEssentialOptOut: true }, clock.now().toISOString());
    await t.vault.store.transaction((repos) => t.vault.mail.queue(repos.jobs, clock.now(), org.id, [user.id], { kind: 'invitation', organisationName: 'Test', invitedBy: null, signInWith: null }));
    await t.vault.worker.runDue();
    const mails = smtp.to(email);
    expect(mails).toHaveLength(2);
    const second = LINK.exec(String(mails[1]!.text))![1]!;
    expect(second).not.toBe(first);
    const client = new FormClient(base);
    expect((await client.get(`/invitation/${first}`)).status).toBe(404);
    expect((await client.get(`/invitation/${second}`)).status).toBe(200);
    advance(7 * 24 * 3600 - 60);
    const lastMinute = await client.get(`/invitation/${second}`);
    expect(lastMinute.status).toBe(200);
    advance(120);
    const expired = await client.get(`/invitation/${second}`);
    expect(expired.status).toBe(404);
    const posted = await client.post(`/invitation/${second}`, { _csrf: FormClient.csrf(lastMinute.text), password: 'correct horse battery staple', confirm: 'correct horse battery staple' });
    expect(posted.status).toBe(404);
    expect((await t.vault.store.repos.users.signInState(user.id))?.password_hash).toBeNull();
    offsetMs = 0; // back to now, for the sign-in codes of the tests after this one
  });

  it('of two uses of one link at the same moment exactly one sets the password; a disabled person\'s link does not work', async () => {
    const org = await createOrganisation(t.vault);
    const email = `race-${Date.now()}@${org.slug}.test`;
    const { user } = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email, name: 'Rae Race', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    await t.vault.worker.runDue();
    const token = LINK.exec(String(onlyMailTo(smtp, email).text))![1]!;
    const info = { channel: 'web' as const, clientAddress: '127.0.0.1', requestId: null };
    const outcomes = await Promise.allSettled([
      t.vault.invitations.accept(token, 'first racing pass phrase', info),
      t.vault.invitations.accept(token, 'second racing pass phrase', info),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.map((o) => (o.reason as { code: string }).code)).toEqual(['NOT_FOUND']);
    const stored = (await t.vault.store.repos.users.byId(user.id))!;
    const first = await t.vault.identity.verifyPassword(stored, 'first racing pass phrase');
    expect(first).toBe(outcomes[0]!.status === 'fulfilled');
    expect(await t.vault.identity.verifyPassword(stored, 'second racing pass phrase')).toBe(!first);
    // The winner's event records the hash it wrote (audit verify's check, on this person alone: other tests here write rows directly).
    const secretsProblem = async () => unrecordedSignInSecret(
      (await t.vault.store.repos.users.everySignInSecret()).filter((r) => r.id === user.id), await t.vault.store.repos.audit.allowedEvents(PERSON_SECRET_ACTIONS, { logOrder: true }));
    expect(await secretsProblem()).toBeNull();
    const accepted = (await t.vault.store.repos.users.signInState(user.id))!.password_hash;
    await t.vault.store.db.updateTable('users').set({ password_hash: null }).where('id', '=', user.id).execute();
    expect(await secretsProblem()).toMatch(/password hash is not what their latest recorded password change set/);
    await t.vault.store.db.updateTable('users').set({ password_hash: accepted }).where('id', '=', user.id).execute();
    expect(await secretsProblem()).toBeNull();

    const other = `gone-${Date.now()}@${org.slug}.test`;
    const gone = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email: other, name: 'Gone Person', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    await t.vault.worker.runDue();
    const goneToken = LINK.exec(String(onlyMailTo(smtp, other).text))![1]!;
    await t.vault.store.repos.users.update(gone.user.id, { disabled: true });
    expect((await new FormClient(base).get(`/invitation/${goneToken}`)).status).toBe(404);
    await expect(t.vault.invitations.accept(goneToken, 'a perfectly good phrase', info)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Switching someone off revokes their credentials for good, an unused invitation link with them: switched
    // back on (by an admin, or SCIM's active: true), the old link stays dead, and a new invitation is needed.
    const back = `back-${Date.now()}@${org.slug}.test`;
    const returning = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email: back, name: 'Back Again', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    await t.vault.worker.runDue();
    const backToken = LINK.exec(String(onlyMailTo(smtp, back).text))![1]!;
    const admin = await org.user({ roles: ['org_admin'] });
    const adminActor = await actorOf(t.vault, admin.id);
    await t.vault.people.setDisabled(adminActor, returning.user.id, true);
    await t.vault.people.setDisabled(adminActor, returning.user.id, false);
    expect((await new FormClient(base).get(`/invitation/${backToken}`)).status).toBe(404);
    await expect(t.vault.invitations.accept(backToken, 'a perfectly good phrase', info)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('the opt-out is set on a page reached from the account page, audited, and stops arrangement proposals to that org admin only', async () => {
    const host = await createOrganisation(t.vault);
    const partner = await createOrganisation(t.vault);
    const other = await createOrganisation(t.vault);
    const quiet = await other.user({ roles: ['org_admin'] });
    const loud = await partner.user({ roles: ['org_admin'] });
    const member = await partner.user({ teams: ['payroll'] });
    const secret = await enrolTotp(t.vault, quiet.id);
    const client = new FormClient(base);
    await client.signIn(quiet.email, undefined, secret);
    const account = await client.get('/account');
    expect(account.text).toContain('href="/account/email"');
    const page = await client.get('/account/email');
    expect(page.status).toBe(200);
    expect(page.text).toContain('A file you uploaded was quarantined');
    const csrf = FormClient.csrf(page.text);
    const bad = await client.post('/account/email', { _csrf: csrf, nonEssential: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Choose whether to get e-mails that are not essential');
    expect((await client.post('/account/email', { nonEssential: 'off' })).status).toBe(403);
    expect((await t.vault.store.repos.mail.preferences(quiet.id)).nonEssentialOptOut).toBe(false);
    const saved = await client.post('/account/email', { _csrf: csrf, nonEssential: 'off' });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe('/account/email?done=saved');
    expect((await client.get(saved.location!)).text).toContain('Your e-mail preferences were saved.');
    expect((await t.vault.store.repos.mail.preferences(quiet.id)).nonEssentialOptOut).toBe(true);
    const events = await t.vault.store.db.selectFrom('audit_events').select(['target_ids', 'actor_user_id']).where('action', '=', 'mail.preferences').execute();
    expect(events.filter((e) => e.actor_user_id === quiet.id).map((e) => JSON.parse(e.target_ids))).toEqual([{ userId: quiet.id, nonEssential: 'off' }]);

    const arrangement = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id, other.id], serviceArea: 'payroll', purpose: 'Shared payroll <team>',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    await t.vault.worker.runDue();
    const proposal = onlyMailTo(smtp, loud.email);
    expect(proposal.subject).toBe(`Test ${host.slug} asks your organisation to accept a shared-service arrangement`);
    expect(proposal.text).toContain('Purpose: Shared payroll <team>');
    expect(proposal.html).toContain('Shared payroll &lt;team&gt;');
    expect(proposal.text).toContain(`${PUBLIC_URL}/arrangements/${arrangement.id}`);
    expect(smtp.to(quiet.email)).toHaveLength(0);
    expect(smtp.to(member.email)).toHaveLength(0);
  });

  it('a queued notice goes only to someone it is still for when sent: an org admin demoted, or an arrangement withdrawn, gets no proposal', async () => {
    const host = await createOrganisation(t.vault);
    const partner = await createOrganisation(t.vault);
    const demoted = await partner.user({ roles: ['org_admin'] });
    const kept = await partner.user({ roles: ['org_admin'] });
    await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Shared payroll (confidential bid)',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    // Queued in the proposal's transaction; the role goes before the worker sends it.
    await t.vault.store.repos.users.update(demoted.id, { roles: ['member'] });
    await t.vault.worker.runDue();
    expect(onlyMailTo(smtp, kept.email).text).toContain('Purpose: Shared payroll (confidential bid)');
    expect(smtp.to(demoted.email)).toHaveLength(0);

    const later = await createOrganisation(t.vault);
    const reader = await later.user({ roles: ['org_admin'] });
    const withdrawn = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [later.id], serviceArea: 'payroll', purpose: 'Withdrawn before it was sent',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    await t.vault.arrangements.end(systemActor(), withdrawn.id);
    await t.vault.worker.runDue();
    expect(smtp.to(reader.email)).toHaveLength(0);
  });

  it('a proposal e-mail carries the terms as they are when it is sent, not as they were queued (outside review of 5 December)', async () => {
    const host = await createOrganisation(t.vault);
    const partner = await createOrganisation(t.vault);
    const admin = await partner.user({ roles: ['org_admin'] });
    const proposed = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Shared payroll (first draft: includes the bid)',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    // Amended before the worker sends the first mail: both mails give the terms now, the first draft in neither.
    const amended = await t.vault.arrangements.amend(systemActor(), proposed.id, { purpose: 'Shared payroll and pensions' });
    await t.vault.worker.runDue();
    const mails = smtp.to(admin.email);
    expect(mails).toHaveLength(2);
    for (const mail of mails) {
      expect(mail.text).toContain('Purpose: Shared payroll and pensions');
      expect(mail.text).toContain(`Terms revision: ${amended.revision}`);
      expect(`${mail.subject} ${mail.text} ${mail.html}`).not.toContain('first draft');
    }

    // A queued job is a row anyone who can write the database can write: what it carries is never shown.
    await t.vault.store.transaction(async (repos) => {
      await repos.jobs.enqueue(sendEmailJob, { userId: admin.id, message: {
        kind: 'arrangement-proposal', arrangementId: proposed.id, change: 'proposed',
        hostName: 'Forged Council', serviceArea: 'hr', purpose: 'Forged purpose', revision: 99,
        terms: { hostName: 'Forged Council', serviceArea: 'hr', purpose: 'Forged purpose', revision: 99 },
      } }, { now: clock.now(), organisationId: null });
    });
    await t.vault.worker.runDue();
    const forged = smtp.to(admin.email)[2]!;
    expect(forged.subject).toBe(`Test ${host.slug} asks your organisation to accept a shared-service arrangement`);
    expect(forged.text).toContain('Purpose: Shared payroll and pensions');
    expect(forged.text).toContain('Service area: payroll');
    expect(`${forged.subject} ${forged.text} ${forged.html}`).not.toMatch(/Forged|Terms revision: 99/);
  });

  it('a disposal batch e-mails the records managers the counts, never the records\' names', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const staff = await org.user({ teams: ['hr'] });
    const name = `grievance-${Date.now()}.txt`;
    const id = (await upload(t.app, staff, org.collections.hr!, name, 'case notes\n')).json().id as string;
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(2));
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const view = await t.vault.disposal.sweep(systemActor('job'), org.id);
    await t.vault.worker.runDue();
    const mail = onlyMailTo(smtp, manager.email);
    expect(mail.subject).toBe('1 record is due for disposal review');
    expect(mail.text).toContain(`${PUBLIC_URL}/disposal/${view!.batch.id}`);
    expect(String(mail.text)).not.toContain(name);
    expect(String(mail.html)).not.toContain(name);
    expect(smtp.to(staff.email)).toHaveLength(0);
  });
});

describe.each(DIALECTS)('e-mail with the SMTP server down on %s', (dialect) => {
  let smtp: TestSmtp;
  let t: TestVault;
  let clock: ReturnType<typeof settableClock>; // stands still unless moved: the backoff is checked exactly

  beforeAll(async () => {
    clock = settableClock(new Date().toISOString());
    smtp = await TestSmtp.reserve(); // nothing listens on its port yet
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: mailEnv(smtp), clock });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  async function mailJobs() {
    return t.vault.store.db.selectFrom('jobs').select(['status', 'attempts', 'last_error', 'run_at']).where('kind', '=', 'send-email').execute();
  }

  it('the upload answers as ever; the send-email job is retried with backoff, and the mail arrives once the server is up', async () => {
    const org = await createOrganisation(t.vault);
    const uploader: TestUser = await org.user({ teams: ['payroll'] });
    const started = Date.now();
    const res = await upload(t.app, uploader, org.collections.payroll!, 'payslips.txt', EICAR);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ status: 422, documentStatus: 'quarantined' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const clean = await upload(t.app, uploader, org.collections.payroll!, 'rota.csv', samples.csv());
    expect(clean.statusCode, clean.body).toBe(201);

    await t.vault.worker.runDue();
    const failed = await mailJobs();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'queued', attempts: 1 });
    expect(failed[0]!.last_error).toMatch(/ECONNREFUSED/);
    expect(Date.parse(failed[0]!.run_at)).toBe(clock.now().getTime() + 30_000);

    await smtp.start();
    await t.vault.worker.runDue(); // not due yet: nothing is tried before the backoff
    expect(smtp.received).toHaveLength(0);
    clock.set(new Date(clock.now().getTime() + 31_000).toISOString());
    await t.vault.worker.runDue();
    const mail = onlyMailTo(smtp, uploader.email);
    expect(mail.subject).toBe('Your upload "payslips.txt" was quarantined');
    expect(await mailJobs()).toMatchObject([{ status: 'done', attempts: 2 }]);
  });
});
