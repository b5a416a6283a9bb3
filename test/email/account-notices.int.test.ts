// Security notices (services/account-notices.ts), through a real SMTP server, on both dialects: a person is told
// when their own password changes, when a set-password link is used after a reset, when an admin resets their
// two-step verification, when they make an API token, and (at the OLD address, read when the change was made,
// and at the new) when the directory changes their address. Essential: no opt-out stops one. An admin of
// another organisation cannot cause one. No notice carries a link.
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { Vault } from '../../src/main.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp, toAddress } from '../support/smtp.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, openTestVault, setUpMfa, type TestOrganisation, type TestVault } from '../support/vault.js';

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
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    t = await openTestVault({
      dialect, clamdSocket: clamd.socketPath,
      env: { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Records vault <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: PUBLIC_URL },
    });
    org = await createOrganisation(t.vault);
    // The directory may give addresses only in the organisation's own domains.
    await t.vault.identity.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
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
    const { sessionId } = await t.vault.sessions.signIn(person.email, TEST_PASSWORD, request);
    const session = (await t.vault.sessions.resolve(sessionId))!;
    await t.vault.sessions.changePassword(session, TEST_PASSWORD, NEW_PASSWORD, request);

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
    await t.vault.identity.createCredential(await actorOf(t.vault, person.id), person.id, 'api_token', name);
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
    expect((await noticesTo(person.email)).map((m) => m.subject)).toEqual(['Two-step verification was reset on your Strongroom account']);
  });
});
