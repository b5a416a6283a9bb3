// Security notices (services/account-notices.ts), through a real SMTP server, on both dialects: a person is told
// when their own password changes, when a set-password link is used after a reset, when an admin resets their
// two-step verification, when they make an API token, and (at the OLD address, read when the change was made,
// and at the new) when the directory changes their address, when someone signs in with one of their recovery
// codes (through the web form), and when an admin or the directory switches their account back on (switching
// it off tells nobody). Essential: no opt-out stops one. An admin of another organisation cannot cause one. No
// notice carries a link.
import { createHash } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { Vault } from '../../src/main.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp, toAddress } from '../support/smtp.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, openTestVault, setUpMfa, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';

const clamd = useClamd();
const PUBLIC_URL = 'https://vault.test';
const LINK = new RegExp(`${PUBLIC_URL}/invitation/([A-Za-z0-9_-]{43})`);
const request = { channel: 'web', clientAddress: '203.0.113.7', requestId: 'account-notices' } as const;
const NEW_PASSWORD = 'a brand new pass phrase for the notices';

async function actorOf(vault: Vault, userId: string) {
  return actorFor((await vault.store.repos.users.byId(userId))!, request);
}

describe.each(DIALECTS)('security notices on %s', (dialect) => {
  let smtp: TestSmtp;
  let t: TestVault;
  let org: TestOrganisation;
  let base: string;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    t = await openTestVault({
      dialect, clamdSocket: clamd.socketPath, listen: true,
      // Every notice here alone (one test makes four for one person): a burst's summary is account-notice-limits.int.test.ts's.
      env: { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Records vault <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: PUBLIC_URL, STRONGROOM_ACCOUNT_NOTICES_SINGLY: '10' },
    });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault);
    // The directory may give addresses only in the organisation's own domains.
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  /** The security notices `address` received so far (after the worker has sent what is due), checked to carry no link. */
  async function noticesTo(address: string): Promise<ParsedMail[]> {
    await t.vault.worker.runDue();
    const mails = smtp.to(address).filter((m) => String(m.text).includes("Your account's sign-in changed"));
    for (const mail of mails) {
      expect(toAddress(mail)).toBe(address);
      expect(String(mail.text)).not.toMatch(/https?:\/\//);
      expect(String(mail.html)).not.toMatch(/href=|https?:\/\//);
    }
    return mails;
  }

  it('tells a person their own password was changed (By: you, from their network), even though they opted out of non-essential mail', async () => {
    const person = await org.user({});
    await t.vault.mail.setPreferences(await actorOf(t.vault, person.id), { nonEssentialOptOut: true });
    const { sessionId } = await t.vault.passwordSignIn.signIn(person.email, TEST_PASSWORD, request);
    const session = (await t.vault.sessions.resolve(sessionId))!;
    await t.vault.passwordChange.changePassword(session, TEST_PASSWORD, NEW_PASSWORD, request);

    const [mail, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('Your Strongroom password was changed');
    expect(mail!.text).toContain('Your password was changed. Every other session was signed out, and your API tokens and WebDAV app passwords were revoked.');
    expect(mail!.text).toContain('By: You (signed in as yourself)');
    expect(mail!.text).toContain('From network: 203.0.113.7');
    expect(mail!.text).toContain(`If it was not you, or you did not expect it, tell an administrator of Test ${org.slug}`);
  });

  it('tells a person a set-password link was used after an admin reset their password', async () => {
    const admin = await org.user({ roles: ['org_admin'] });
    const person = await org.user({});
    await t.vault.people.resetPassword(await actorOf(t.vault, admin.id), person.id);
    await t.vault.worker.runDue();
    const token = LINK.exec(String(smtp.to(person.email).at(-1)?.text))![1]!;
    expect(await noticesTo(person.email)).toHaveLength(0);

    await t.vault.invitations.accept(token, NEW_PASSWORD, request);
    const [mail, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('Your Strongroom password was set');
    expect(mail!.text).toContain('By: Whoever used the set-password link');
  });

  it('tells a person an admin reset their two-step verification, naming the admin; an admin of another organisation is refused and causes none', async () => {
    const admin = await org.user({ roles: ['org_admin'] });
    const person = await org.user({});
    await setUpMfa(t.vault, person, 'JBSWY3DPEHPK3PXP');
    const other = await createOrganisation(t.vault);
    const stranger = await other.user({ roles: ['org_admin'] });
    const refused = await t.vault.people.resetMfa(await actorOf(t.vault, stranger.id), person.id).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).code).toBe('NOT_FOUND');
    expect(await noticesTo(person.email)).toHaveLength(0);

    await t.vault.people.resetMfa(await actorOf(t.vault, admin.id), person.id);
    const [mail, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('Two-step verification was reset on your Strongroom account');
    expect(mail!.text).toContain(`By: Test User, an administrator of Test ${org.slug}`);
  });

  it('tells a person an API token was made for them, by them, without its maker\'s words (a name inviting a click) in the notice', async () => {
    const person = await org.user({});
    const name = 'IT Security: if unexpected verify at evil.example/x <script>';
    await t.vault.credentials.createCredential(await actorOf(t.vault, person.id), person.id, 'api_token', name);
    const [mail, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('A new API token was created for your Strongroom account');
    expect(mail!.text).toContain('A new API token was created for your account (your account page lists it).');
    expect(String(mail!.text)).not.toContain('evil.example');
    expect(String(mail!.html)).not.toContain('evil.example');
    expect(mail!.text).toContain('By: You (signed in as yourself)');
    // The secret is in no mail.
    const secrets = await t.vault.store.repos.users.listCredentials(person.id);
    expect(secrets).toHaveLength(2);
  });

  it('tells the OLD address (read when the change was made, not when sent) and the new one when the directory changes an address', async () => {
    const { secret } = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID');
    const directory = await t.vault.scim.tokens.authenticate(secret, { channel: 'api', clientAddress: '198.51.100.9', requestId: null });
    const person = await org.user({});
    const first = `ada.first@${org.slug}.gov.uk`;
    const second = `ada.second@${org.slug}.gov.uk`;
    await t.vault.scim.users.patch(directory, person.id, { userName: first });
    // Changed again before the worker sent anything: the first change's notice still goes to the original address.
    await t.vault.scim.users.patch(directory, person.id, { userName: second });

    const [old, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(old!.subject).toBe('The e-mail address of your Strongroom account was changed');
    expect(old!.text).toContain(`The e-mail address of your account was changed from this address to ${first}.`);
    expect(old!.text).toContain(`By: Test ${org.slug}'s directory (its identity provider's user provisioning)`);
    expect(old!.text).toContain('From network: 198.51.100.9');
    const toFirst = await noticesTo(first);
    expect(toFirst.map((m) => m.subject).sort()).toEqual([
      'The e-mail address of your Strongroom account was changed', 'This is now the e-mail address of your Strongroom account',
    ]);
    expect(toFirst.find((m) => m.subject!.startsWith('The e-mail'))!.text).toContain(`changed from this address to ${second}.`);
    expect((await noticesTo(second)).map((m) => m.subject)).toEqual(['This is now the e-mail address of your Strongroom account']);
  });
  it('still tells the old address when the directory changes it and switches the account off in one request (the worker running meanwhile), then on again', async () => {
    const { secret } = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID (off and on)');
    const directory = await t.vault.scim.tokens.authenticate(secret, { channel: 'api', clientAddress: '198.51.100.9', requestId: null });
    const person = await org.user({});
    const taken = `not.ada@${org.slug}.gov.uk`;
    await t.vault.scim.users.patch(directory, person.id, { userName: taken, active: false });
    await t.vault.worker.runDue();
    await t.vault.scim.users.patch(directory, person.id, { active: true });
    const [old, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(old!.text).toContain(`The e-mail address of your account was changed from this address to ${taken}.`);
    // Switched on again: that is told too, at the address it has now (the new one; the old had the change).
    expect((await noticesTo(taken)).map((m) => m.subject).sort()).toEqual(['This is now the e-mail address of your Strongroom account', 'Your Strongroom account was switched back on']);
  });

  it('still tells a person an admin reset their two-step verification though the admin switched them off and on again before it was sent', async () => {
    const admin = await org.user({ roles: ['org_admin'] });
    const person = await org.user({});
    await setUpMfa(t.vault, person, 'JBSWY3DPEHPK3PXP');
    const adminActor = await actorOf(t.vault, admin.id);
    await t.vault.people.resetMfa(adminActor, person.id);
    await t.vault.people.setDisabled(adminActor, person.id, true);
    await t.vault.worker.runDue();
    await t.vault.people.setDisabled(adminActor, person.id, false);
    expect((await noticesTo(person.email)).map((m) => m.subject)).toEqual(['Two-step verification was reset on your Strongroom account', 'Your Strongroom account was switched back on']);
  });

  /** A second sign-in step through the web form: the code page, then `code` posted. */
  async function postCode(client: FormClient, email: string, code: string) {
    const page = await client.get('/sign-in');
    const first = await client.post('/sign-in', { _csrf: FormClient.csrf(page.text), email, password: TEST_PASSWORD, next: '/' });
    expect(first.location).toMatch(/^\/sign-in\/code/);
    const codePage = await client.get(first.location!);
    return client.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code, next: '/' });
  }

  it('tells a person a recovery code was used to sign in through the web form, with how many are left and how to get more; a wrong or spent code tells nothing', async () => {
    const person = await org.user({ roles: ['org_admin'] });
    await t.vault.mail.setPreferences(await actorOf(t.vault, person.id), { nonEssentialOptOut: true });
    const codes = ['0a1b2c3d4e', '5f6a7b8c9d', 'aa11bb22cc', 'dd33ee44ff'];
    await enrolTotp(t.vault, person.id, codes.map((c) => createHash('sha256').update(c).digest('hex')));
    const wrong = await postCode(new FormClient(base), person.email, '9999999999');
    expect(wrong.status).toBe(400);
    expect(await noticesTo(person.email)).toHaveLength(0);

    const signedIn = await postCode(new FormClient(base), person.email, codes[1]!);
    expect(signedIn.status).toBe(303);
    const [mail, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('A recovery code was used to sign in to your Strongroom account');
    expect(mail!.text).toContain('Someone signed in to your account with your password and one of your recovery codes, instead of a code from your authenticator app. That recovery code no longer works. You have 3 unused recovery codes left.');
    expect(mail!.text).toContain('By: Whoever had your password and one of your recovery codes');
    expect(mail!.text).toContain('From network: 127.0.0.1');
    expect(mail!.text).toContain('If this was you: you are running out of recovery codes. Ask an administrator of');
    for (const code of codes) expect(`${mail!.text}${mail!.html}`).not.toContain(code);

    // The same code again is refused and tells nothing; the next one tells the count it leaves.
    expect((await postCode(new FormClient(base), person.email, codes[1]!)).status).toBe(400);
    expect(await noticesTo(person.email)).toHaveLength(1);
    expect((await postCode(new FormClient(base), person.email, codes[3]!.toUpperCase())).status).toBe(303);
    const notices = await noticesTo(person.email);
    expect(notices).toHaveLength(2);
    expect(notices[1]!.text).toContain('You have 2 unused recovery codes left.');
  });

  it('tells a person an admin switched their account back on through the web form, naming the admin; switching it off, on again when on, or by another organisation\'s admin tells nothing', async () => {
    const admin = await org.user({ roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const person = await org.user({});
    const client = new FormClient(base);
    await client.signIn(admin.email, TEST_PASSWORD, secret);
    const step = async (action: 'disable' | 'enable') => {
      const page = await client.get(`/admin/users/${person.id}`);
      return client.post(`/admin/users/${person.id}/${action}`, { _csrf: FormClient.csrf(page.text) });
    };
    expect((await step('enable')).status).toBe(303);
    expect((await step('disable')).status).toBe(303);
    expect(await noticesTo(person.email)).toHaveLength(0);
    const stranger = await (await createOrganisation(t.vault)).user({ roles: ['org_admin'] });
    const refused = await t.vault.people.setDisabled(await actorOf(t.vault, stranger.id), person.id, false).then(() => null, (e: unknown) => e);
    expect((refused as DomainError).code).toBe('NOT_FOUND');
    expect(await noticesTo(person.email)).toHaveLength(0);

    expect((await step('enable')).status).toBe(303);
    expect((await step('enable')).status).toBe(303);
    const [mail, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('Your Strongroom account was switched back on');
    expect(mail!.text).toContain('Your account had been switched off and was switched on again, so it can be signed into once more.');
    expect(mail!.text).toContain(`By: Test User, an administrator of Test ${org.slug}`);
    expect(mail!.text).toContain('From network: 127.0.0.1');
  });

  it('tells a person the directory switched their account back on; an active=true refused (an admin switched it off) tells nothing', async () => {
    const { secret } = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID (switch on)');
    const directory = await t.vault.scim.tokens.authenticate(secret, { channel: 'api', clientAddress: '198.51.100.9', requestId: null });
    const person = await org.user({});
    await t.vault.scim.users.patch(directory, person.id, { active: false });
    expect(await noticesTo(person.email)).toHaveLength(0);
    await t.vault.scim.users.patch(directory, person.id, { active: true });
    await t.vault.scim.users.patch(directory, person.id, { active: true });
    const [mail, ...more] = await noticesTo(person.email);
    expect(more).toHaveLength(0);
    expect(mail!.subject).toBe('Your Strongroom account was switched back on');
    expect(mail!.text).toContain(`By: Test ${org.slug}'s directory (its identity provider's user provisioning)`);
    expect(mail!.text).toContain('From network: 198.51.100.9');

    const admin = await org.user({ roles: ['org_admin'] });
    await t.vault.people.setDisabled(await actorOf(t.vault, admin.id), person.id, true);
    await t.vault.scim.users.patch(directory, person.id, { active: true });
    expect((await t.vault.store.repos.users.byId(person.id))!.disabled).toBe(true);
    expect(await noticesTo(person.email)).toHaveLength(1);
  });
});
