// `strongroom user reset-password --email ADDRESS`: the operator resets a forgotten password. Without e-mail
// it prints a link that sets a new password, once, on stdout (a full address with STRONGROOM_PUBLIC_URL, else
// its path, with a note on stderr) and never a password; with e-mail it prints nothing on stdout and the
// server's worker mails the link. Refused for a disabled account, with the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp, toAddress } from '../support/smtp.js';
import { closeKeepingData, openVaultAt, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';

const clamd = useClamd();
const OLD_PASSWORD = 'the password they forgot, long';
const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'cli-reset' } as const;

describe('strongroom user reset-password', () => {
  let smtp: TestSmtp;
  let place: SharedVaultPlace;
  let mailEnv: Record<string, string>;
  const cli = (args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli(['--data', place.dataDir, ...args], { env: { ...place.env, ...env }, ...(input === undefined ? {} : { input }) });
  const addUser = async (email: string) => {
    const r = await cli(['user', 'add', '--org', 'resetshire', '--email', email, '--name', 'Forgetful Person', '--password-stdin'], {}, OLD_PASSWORD);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  /** Whether each password signs the person in, read with the vault opened in this process. */
  const signsIn = async (email: string, passwords: string[], env: Record<string, string> = {}) => {
    const opened = await openVaultAt(place.dataDir, clamd.socketPath, { ...place.env, ...env });
    try {
      const results = [];
      for (const password of passwords) results.push(await opened.vault.passwordSignIn.signIn(email, password, request).then(() => true, () => false));
      return results;
    } finally {
      await closeKeepingData(opened);
    }
  };

  beforeAll(async () => {
    smtp = await TestSmtp.started();
    place = await sharedVaultPlace('sqlite', clamd.socketPath);
    mailEnv = { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Strongroom <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: 'https://vault.test' };
    for (const args of [['init'], ['org', 'add', '--slug', 'resetshire', '--name', 'Resetshire Council']]) {
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await place?.remove();
    await smtp?.stop();
  });

  it('--help says what it does', async () => {
    const r = await cli(['user', 'reset-password', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--email <email>');
    const text = r.stdout.replace(/\s+/g, ' '); // commander wraps the description
    expect(text).toContain('reset a forgotten password, as the operator');
    expect(text).toContain('API tokens, app passwords and two-factor authentication are unchanged');
    expect(text).toContain('without it the link is printed, once, on stdout (within 24 hours)');
    expect(text).toContain('No password is ever printed.');
    expect((await cli(['user', '--help'])).stdout).toContain('reset-password');
  });

  it('without e-mail: prints a link once (its path, with a note, without STRONGROOM_PUBLIC_URL) that sets a new password once; nothing printed signs in', async () => {
    const email = 'forgot@resetshire.test';
    const id = await addUser(email);
    const r = await cli(['user', 'reset-password', '--email', email]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\/invitation\/[A-Za-z0-9_-]{43}$/);
    const token = lines[0]!.slice('/invitation/'.length);
    expect(r.stderr).toContain(`The password of ${email} was reset: their old password no longer works and they were signed out everywhere.`);
    expect(r.stderr).toContain('A link to set a new password (shown once; it works once, until ');
    expect(r.stderr).toContain('STRONGROOM_PUBLIC_URL is not set, so this is the path only');
    expect(r.stderr).not.toContain(token);
    expect(await signsIn(email, [OLD_PASSWORD, token, lines[0]!])).toEqual([false, false, false]);
    const opened = await openVaultAt(place.dataDir, clamd.socketPath, place.env);
    try {
      const v = opened.vault;
      await v.invitations.accept(token, 'the one the person chose themselves', request);
      await expect(v.invitations.accept(token, 'the operator tries it again', request)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const events = await v.store.db.selectFrom('audit_events').select(['decision', 'reason', 'target_ids']).where('action', '=', 'user.password-reset').execute();
      expect(events.filter((e) => (JSON.parse(e.target_ids) as Record<string, string>).userId === id)).toMatchObject([{ decision: 'allow', reason: 'system', target_ids: expect.stringContaining('"delivery":"link-shown"') }]);
      expect(await v.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    } finally {
      await closeKeepingData(opened);
    }
    expect(await signsIn(email, ['the one the person chose themselves'])).toEqual([true]);
  });

  it('without e-mail, with STRONGROOM_PUBLIC_URL: prints the full address, and a second reset kills the first link', async () => {
    const email = 'forgot-again@resetshire.test';
    await addUser(email);
    const env = { STRONGROOM_PUBLIC_URL: 'https://vault.test' };
    const first = await cli(['user', 'reset-password', '--email', email], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toMatch(/^https:\/\/vault\.test\/invitation\/[A-Za-z0-9_-]{43}$/);
    expect(first.stderr).not.toContain('STRONGROOM_PUBLIC_URL is not set');
    const second = await cli(['user', 'reset-password', '--email', email], env);
    expect(second.code, second.stderr).toBe(0);
    const tokenOf = (out: string) => out.trim().slice('https://vault.test/invitation/'.length);
    const opened = await openVaultAt(place.dataDir, clamd.socketPath, place.env);
    try {
      await expect(opened.vault.invitations.check(tokenOf(first.stdout))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await opened.vault.invitations.check(tokenOf(second.stdout))).toMatchObject({ email });
    } finally {
      await closeKeepingData(opened);
    }
  });

  it('with e-mail: prints nothing on stdout, says a link is e-mailed, and the worker mails it', async () => {
    const email = 'mailed@resetshire.test';
    await addUser(email);
    const r = await cli(['user', 'reset-password', '--email', email], mailEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`A link to set a new password is e-mailed to ${email} (it works once, within 7 days).`);
    expect(smtp.received).toHaveLength(0); // the CLI only queues; the server's worker sends
    const opened = await openVaultAt(place.dataDir, clamd.socketPath, { ...place.env, ...mailEnv });
    try {
      await opened.vault.worker.runDue();
    } finally {
      await closeKeepingData(opened);
    }
    // The earlier tests' people set their passwords with links: their security notices go out in this run too.
    const notices = smtp.received.filter((m) => m.parsed.subject === 'Your Strongroom password was set');
    expect(smtp.received.filter((m) => !notices.includes(m)).map((m) => toAddress(m.parsed))).toEqual([email]);
    const mail = smtp.to(email)[0]!;
    expect(mail.subject).toBe('Your Strongroom password was reset');
    expect(mail.text).toMatch(/https:\/\/vault\.test\/invitation\/[A-Za-z0-9_-]{43}/);
    expect(await signsIn(email, [OLD_PASSWORD], mailEnv)).toEqual([false]);
  });

  it('refuses a disabled account and an unknown address, changing nothing', async () => {
    const email = 'leaver@resetshire.test';
    const id = await addUser(email);
    const opened = await openVaultAt(place.dataDir, clamd.socketPath, place.env);
    try {
      await opened.vault.people.setDisabled(systemActor(), id, true);
    } finally {
      await closeKeepingData(opened);
    }
    const disabled = await cli(['user', 'reset-password', '--email', email]);
    expect(disabled.code).not.toBe(0);
    expect(disabled.stdout).toBe('');
    expect(disabled.stderr).toContain('This account is disabled: enable it first, then reset the password.');
    const unknown = await cli(['user', 'reset-password', '--email', 'nobody@resetshire.test']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toBe('');
  });
});
