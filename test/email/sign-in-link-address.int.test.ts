// A database administrator (any row, neither the master key nor the signing key) points a person's address
// at a mailbox of their own only while the mail carrying a link that sets that person's password is sent,
// and puts it back after: a new person's invitation, or the link an admin's password reset mails. The rows
// are as they were afterwards, and a link's use is a recorded write, so verify had nothing to name. The
// mail's link is now recorded (`mail.sign-in-link`) with the person as it was read for the mail, and verify
// names the difference from what their latest recorded change left.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Vault } from '../../src/main.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp } from '../support/smtp.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const PUBLIC_URL = 'https://vault.test';
const LINK = new RegExp(`${PUBLIC_URL}/invitation/([A-Za-z0-9_-]{43})`);
const REQUEST = { channel: 'web' as const, clientAddress: '203.0.113.9', requestId: null };

describe.each(DIALECTS)('a sign-in link mailed while the address was rewritten on %s', (dialect) => {
  let smtp: TestSmtp;
  let t: TestVault | undefined;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Vault <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: PUBLIC_URL } });
    const org = await createOrganisation(t.vault);
    return { v: t.vault, org };
  }

  const problem = async (v: Vault) => {
    await v.audit.sequencer.flush();
    const check = await v.audit.verification.verify(systemActor());
    return check.ok ? '' : check.problem;
  };
  const foundChanged = (id: string, organisationId: string) =>
    `Person ${id} (organisation ${organisationId}) was not as their previous recorded change left them when Strongroom next changed them or mailed them a sign-in link (organisation, e-mail address, roles, teams, clearance or disabled): they were changed in the database directly, not by Strongroom.`;

  /** Runs the queued mail with `userId`'s address pointed at `mallory`, puts it back, and takes the link Mallory got. */
  async function mailedToMallory(v: Vault, userId: string, address: string): Promise<void> {
    const mallory = `mallory-${Date.now()}-${Math.random().toString(36).slice(2)}@elsewhere.test`;
    await v.store.db.updateTable('users').set({ email: mallory }).where('id', '=', userId).execute();
    await v.worker.runDue();
    await v.store.db.updateTable('users').set({ email: address }).where('id', '=', userId).execute();
    const token = LINK.exec(smtp.to(mallory).map((m) => String(m.text)).join('\n'))?.[1];
    expect(token).toBeDefined();
    await v.invitations.accept(token!, 'mallory chose this pass phrase', REQUEST);
  }

  it("a new person's invitation: named by verify; mailed to the address as recorded, verify is content", async () => {
    const { v, org } = await setting();
    const honest = await v.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email: `ada-${Date.now()}@${org.slug}.test`, name: 'Ada', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    await v.worker.runDue();
    const link = LINK.exec(smtp.to(honest.user.email).map((m) => String(m.text)).join('\n'))?.[1];
    await v.invitations.accept(link!, 'ada chose this pass phrase', REQUEST);
    const sent = await v.store.db.selectFrom('audit_events').select(['target_ids', 'reason']).where('action', '=', 'mail.sign-in-link').execute();
    expect(sent.filter((e) => JSON.parse(e.target_ids).userId === honest.user.id).map((e) => e.reason)).toEqual(['invitation']);
    expect(await problem(v)).toBe('');

    const email = `bob-${Date.now()}@${org.slug}.test`;
    const { user } = await v.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email, name: 'Bob', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL' });
    await mailedToMallory(v, user.id, email);
    expect(await problem(v)).toBe(foundChanged(user.id, org.id));
  });

  it("an admin's password reset by e-mail: named by verify", async () => {
    const { v, org } = await setting();
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({ roles: ['dpo'] });
    await v.people.resetPassword(actorFor((await v.store.repos.users.byId(admin.id))!, REQUEST), member.id);
    expect(await problem(v)).toBe('');
    await mailedToMallory(v, member.id, member.email);
    expect(await problem(v)).toBe(foundChanged(member.id, org.id));
  });
});
