// `strongroom user reset-password --email ADDRESS`: the operator resets a forgotten password. Without e-mail
// it prints a one-time password, once, on stdout (and says what happened on stderr); with e-mail it prints
// nothing on stdout and the server's worker mails the link. Refused for a disabled account, with the reason.
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
      for (const password of passwords) results.push(await opened.vault.sessions.signIn(email, password, request).then(() => true, () => false));
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
    expect((await cli(['user', '--help'])).stdout).toContain('reset-password');
  });

  it('without e-mail: prints a one-time password once, which signs in where the old one no longer does', async () => {
    const email = 'forgot@resetshire.test';
    const id = await addUser(email);
    const r = await cli(['user', 'reset-password', '--email', email]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(r.stderr).toContain(`The password of ${email} was reset: their old password no longer works and they were signed out everywhere.`);
    expect(r.stderr).toContain('One-time password (shown once;');
    expect(r.stderr).not.toContain(lines[0]!);
    expect(await signsIn(email, [OLD_PASSWORD, lines[0]!])).toEqual([false, true]);
    const opened = await openVaultAt(place.dataDir, clamd.socketPath, place.env);
    try {
      const events = await opened.vault.store.db.selectFrom('audit_events').select(['decision', 'reason', 'target_ids']).where('action', '=', 'user.password-reset').execute();
      expect(events.filter((e) => (JSON.parse(e.target_ids) as Record<string, string>).userId === id)).toMatchObject([{ decision: 'allow', reason: 'system' }]);
      expect(await opened.vault.audit.verify(systemActor())).toMatchObject({ ok: true });
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
    expect(smtp.received.map((m) => toAddress(m.parsed))).toEqual([email]);
    expect(smtp.received[0]!.parsed.subject).toBe('Your Strongroom password was reset');
    expect(smtp.received[0]!.parsed.text).toMatch(/https:\/\/vault\.test\/invitation\/[A-Za-z0-9_-]{43}/);
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
