// `strongroom user add` with e-mail configured prints the new id and says an invitation is e-mailed (no
// password anywhere); the running server's worker sends it. Without e-mail it prints a one-time password,
// except in an organisation that signs in through its identity provider, whose staff never get one.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp, toAddress } from '../support/smtp.js';
import { createOrganisation } from '../support/vault.js';
import { closeKeepingData, openVaultAt, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';

const clamd = useClamd();
const ID = /^[0-9a-f-]{36}$/;

describe('strongroom user add and e-mail', () => {
  let smtp: TestSmtp;
  let place: SharedVaultPlace;
  let mailEnv: Record<string, string>;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    place = await sharedVaultPlace('sqlite', clamd.socketPath);
    mailEnv = { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Strongroom <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: 'https://vault.test' };
    for (const args of [['init'], ['org', 'add', '--slug', 'mailshire', '--name', 'Mailshire Council']]) {
      const r = await runCli(['--data', place.dataDir, ...args], { env: place.env });
      expect(r.code, r.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await place?.remove();
    await smtp?.stop();
  });

  it('with SMTP: prints only the id, says an invitation is e-mailed, and the worker sends the link', async () => {
    const r = await runCli(['--data', place.dataDir, 'user', 'add', '--org', 'mailshire', '--email', 'new@mailshire.test', '--name', 'New Person'], { env: { ...place.env, ...mailEnv } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(ID);
    expect(r.stderr).toContain('An invitation is e-mailed to new@mailshire.test: its link lets them set their password (once, within 7 days).');
    expect(r.stderr).not.toContain('Generated password');
    expect(smtp.received).toHaveLength(0); // the CLI only queues; the server's worker sends

    const opened = await openVaultAt(place.dataDir, clamd.socketPath, { ...place.env, ...mailEnv });
    try {
      await opened.vault.worker.runDue();
    } finally {
      await closeKeepingData(opened);
    }
    expect(smtp.received.map((m) => toAddress(m.parsed))).toEqual(['new@mailshire.test']);
    expect(smtp.received[0]!.parsed.text).toMatch(/https:\/\/vault\.test\/invitation\/[A-Za-z0-9_-]{43}/);
  });

  it('without SMTP: prints the id and a one-time password, as before', async () => {
    const r = await runCli(['--data', place.dataDir, 'user', 'add', '--org', 'mailshire', '--email', 'old@mailshire.test', '--name', 'Old Way'], { env: place.env });
    expect(r.code, r.stderr).toBe(0);
    const [id, password] = r.stdout.trim().split('\n');
    expect(id).toMatch(ID);
    expect(password!.length).toBeGreaterThanOrEqual(12);
    expect(r.stderr).toContain('Generated password (shown once');
    expect(r.stderr).not.toContain('invitation');
    // The run hashes passwords at the test suites' weak cost: a command that sets one says so.
    expect(r.stderr).toContain('STRONGROOM_PASSWORD_HASHING=test-only-weak: this password is hashed cheaply');
  });

  it('without SMTP, in an organisation with an identity provider: prints only the id, and no password is set', async () => {
    const opened = await openVaultAt(place.dataDir, clamd.socketPath, place.env);
    let slug: string;
    try {
      const org = await createOrganisation(opened.vault);
      slug = org.slug;
      const now = new Date().toISOString();
      await opened.vault.store.repos.federation.insertProvider({
        id: randomUUID(), organisationId: org.id, kind: 'oidc', name: 'Council Entra ID', enabled: true,
        oidc: { issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'] }, saml: null,
        createAccounts: false, groupsClaim: null, mfaAmrValues: [], mfaAcrValues: [], createdAt: now, updatedAt: now,
      }, null);
    } finally {
      await closeKeepingData(opened);
    }
    const email = `sso@${slug}.test`;
    const r = await runCli(['--data', place.dataDir, 'user', 'add', '--org', slug, '--email', email, '--name', 'Sam Sso'], { env: place.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(ID);
    expect(r.stderr.trim()).toBe(`${email} signs in with their organisation account (Council Entra ID): no Strongroom password.`);
    const after = await openVaultAt(place.dataDir, clamd.socketPath, place.env);
    try {
      expect((await after.vault.store.repos.users.signInState(r.stdout.trim()))?.password_hash).toBeNull();
    } finally {
      await closeKeepingData(after);
    }
  });
});
