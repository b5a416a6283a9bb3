// Without STRONGROOM_SMTP_URL nothing changes for `make run`: a new person still gets a one-time password
// (on the admin page and from the CLI), and queued messages are "sent" to the server log, never retried.
// Staff of an organisation that signs in through its identity provider never get a password, mail or not.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import * as samples from '../support/samples.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';

const clamd = useClamd();

describe('e-mail without an SMTP server configured', () => {
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => t?.close());

  it('keeps the one-time password on the admin page and from the service, and queues no invitation', async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
    expect(t.vault.mail.delivers).toBe(false);
    const added = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email: `p-${Date.now()}@${org.slug}.test`, name: 'Pat', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    expect(added.invited).toBe(false);
    expect(added.generatedPassword).toMatch(/.{12,}/);
    expect(await t.vault.identity.verifyPassword(added.user, added.generatedPassword!)).toBe(true);

    const admin = await org.user({ roles: ['org_admin'] });
    const client = new FormClient(base);
    await client.signIn(admin.email, undefined, await enrolTotp(t.vault, admin.id));
    const form = await client.get('/admin/users/new');
    const res = await client.post('/admin/users', { _csrf: FormClient.csrf(form.text), email: `q-${Date.now()}@${org.slug}.test`, name: 'Quinn', roles: 'member', clearance: 'OFFICIAL' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Quinn can now sign in');
    expect(res.text).toContain('id="generated-password"');
    const jobs = await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute();
    expect(jobs.filter((j) => j.payload.includes('"invitation"'))).toHaveLength(0);
  });

  it('writes a quarantine notice to the log: the send-email job ends done, the in-app notice is made', async () => {
    const org = await createOrganisation(t.vault);
    const uploader = await org.user({ teams: ['payroll'] });
    const res = await upload(t.app, uploader, org.collections.payroll!, 'bad.txt', samples.eicar());
    expect(res.statusCode).toBe(422);
    await t.vault.worker.runDue();
    const jobs = await t.vault.store.db.selectFrom('jobs').select(['status', 'attempts', 'payload']).where('kind', '=', 'send-email').execute();
    expect(jobs.filter((j) => JSON.parse(j.payload).userId === uploader.id)).toMatchObject([{ status: 'done', attempts: 1 }]);
    expect((await t.vault.store.repos.notifications.forUser(uploader.id)).map((n) => n.kind)).toEqual(['quarantine']);
  });
});

describe.each(DIALECTS)('adding a person to an organisation with an identity provider, without SMTP, on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => t?.close());

  it('shows no password on the admin page or from the service, sets none, and queues no invitation', async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
    const now = new Date().toISOString();
    await t.vault.store.repos.federation.insertProvider({
      id: randomUUID(), organisationId: org.id, kind: 'saml', name: 'Council Entra ID', enabled: true, oidc: null,
      saml: { entryPoint: 'https://login.example.test/saml2', idpEntityId: 'https://sts.example.test/', idpCertificates: ['x'], emailAttribute: null },
      createAccounts: false, groupsClaim: null, mfaAmrValues: [], mfaAcrValues: [], createdAt: now, updatedAt: now,
    }, null);
    const added = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: org.slug, email: `p-${Date.now()}@${org.slug}.test`, name: 'Pat', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    expect([added.invited, added.generatedPassword, added.signsInWith]).toEqual([false, null, 'Council Entra ID']);
    expect((await t.vault.store.repos.users.signInState(added.user.id))?.password_hash).toBeNull();

    const admin = await org.user({ roles: ['org_admin'] });
    const client = new FormClient(base);
    await client.signIn(admin.email, undefined, await enrolTotp(t.vault, admin.id));
    const form = await client.get('/admin/users/new');
    const email = `q-${Date.now()}@${org.slug}.test`;
    const res = await client.post('/admin/users', { _csrf: FormClient.csrf(form.text), email, name: 'Quinn', roles: 'member', clearance: 'OFFICIAL' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('<p class="govuk-body" id="signs-in-with">They sign in with their organisation account (Council Entra ID): there is no Strongroom password for them.</p>');
    expect(res.text).not.toContain('id="generated-password"');
    const person = await t.vault.store.repos.users.byEmail(email);
    expect((await t.vault.store.repos.users.signInState(person!.id))?.password_hash).toBeNull();
    const jobs = await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute();
    expect(jobs.filter((j) => j.payload.includes(person!.id))).toHaveLength(0);
  });
});
