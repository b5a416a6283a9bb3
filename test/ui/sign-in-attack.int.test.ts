// The web interface attacked through its sign-in and its GET routes (attack review of the web interface):
// an authenticator being set up is one browser's alone, a second-factor set-up cannot replace one already
// turned on, and a cross-site navigation cannot make a records manager's browser record an export.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSync } from 'otplib';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { samlProvider } from '../identity/saml-flow.js';
import { makeIdp } from '../identity/saml-idp.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp, totp } from './support.js';

const clamd = useClamd();

/** Signs in with the password only, and says where the sign-in sent the browser next. */
async function passwordOnly(client: FormClient, email: string): Promise<string> {
  const page = await client.get('/sign-in');
  const res = await client.post('/sign-in', { _csrf: FormClient.csrf(page.text), email, password: PASSWORD, next: '/' });
  expect(res.status, res.text).toBe(303);
  return res.location!;
}

const secretOn = (html: string): string => /id="mfa-secret">([A-Z2-7 ]+)</.exec(html)![1]!.replace(/ /g, '');

describe.each(DIALECTS)('the web sign-in under attack on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault);
  });
  afterAll(async () => {
    await t?.close();
  });

  // Attack: someone with an org admin's password (and nothing else) signs in while the admin is setting up
  // their authenticator. The set-up page showed every browser the same pending secret, so the attacker read
  // the very secret the admin then confirmed, and signed in with password and "second factor" ever after.
  it('shows each browser an authenticator secret of its own: another browser with the password learns nothing of the one confirmed', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const owner = new FormClient(base);
    const attacker = new FormClient(base);
    expect(await passwordOnly(owner, admin.email)).toMatch(/^\/sign-in\/set-up-mfa/);
    const ownerPage = await owner.get('/sign-in/set-up-mfa');
    const ownerSecret = secretOn(ownerPage.text);
    // A reload shows the owner the same secret (they may have scanned it already).
    expect(secretOn((await owner.get('/sign-in/set-up-mfa')).text)).toBe(ownerSecret);

    expect(await passwordOnly(attacker, admin.email)).toMatch(/^\/sign-in\/set-up-mfa/);
    const attackerSecret = secretOn((await attacker.get('/sign-in/set-up-mfa')).text);
    expect(attackerSecret).not.toBe(ownerSecret);

    const done = await owner.post('/sign-in/set-up-mfa', { _csrf: FormClient.csrf(ownerPage.text), code: generateSync({ secret: ownerSecret }), next: '/' });
    expect(done.status, done.text).toBe(200);
    expect((await owner.get('/admin/users')).status).toBe(200);

    // Later, password and a code from the secret the attacker saw: refused.
    const later = new FormClient(base);
    expect(await passwordOnly(later, admin.email)).toMatch(/^\/sign-in\/code/);
    const codePage = await later.get('/sign-in/code');
    const refused = await later.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code: totp(attackerSecret, 1), next: '/' });
    expect(refused.status).toBe(400);
    expect((await later.get('/admin/users')).status).toBe(303);
  });

  // Attack: the attacker's password-only session, started before the admin turned their authenticator on,
  // is still waiting at "set up two-factor authentication". It must not replace the authenticator the admin
  // has since turned on (which, before, reset it and let the attacker's own become the admin's only one).
  it('never lets a set-up page left open replace an authenticator turned on since: it asks for a code instead', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const owner = new FormClient(base);
    const attacker = new FormClient(base);
    expect(await passwordOnly(attacker, admin.email)).toMatch(/^\/sign-in\/set-up-mfa/);
    const attackerPage = await attacker.get('/sign-in/set-up-mfa');
    const attackerSecret = secretOn(attackerPage.text);

    expect(await passwordOnly(owner, admin.email)).toMatch(/^\/sign-in\/set-up-mfa/);
    const ownerPage = await owner.get('/sign-in/set-up-mfa');
    const ownerSecret = secretOn(ownerPage.text);
    expect((await owner.post('/sign-in/set-up-mfa', { _csrf: FormClient.csrf(ownerPage.text), code: generateSync({ secret: ownerSecret }), next: '/' })).status).toBe(200);

    // The waiting session: the set-up page is gone (a second factor is owed now), and confirming its old secret changes nothing.
    const again = await attacker.get('/sign-in/set-up-mfa');
    expect(again.status).toBe(303);
    expect(again.location).toMatch(/^\/sign-in\/code/);
    const confirm = await attacker.post('/sign-in/set-up-mfa', { _csrf: FormClient.csrf(attackerPage.text), code: totp(attackerSecret, 1), next: '/' });
    expect(confirm.status).toBe(303);
    expect(confirm.location).toMatch(/^\/sign-in\/code/);
    expect((await attacker.get('/admin/users')).status).toBe(303);
    const state = await t.vault.store.repos.users.signInState(admin.id);
    expect(state?.mfa_enabled).toBeTruthy();

    // The owner's authenticator still signs them in; the attacker's secret does not.
    const later = new FormClient(base);
    await passwordOnly(later, admin.email);
    const codePage = await later.get('/sign-in/code');
    expect((await later.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code: totp(attackerSecret, 2), next: '/' })).status).toBe(400);
    expect((await later.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code: totp(ownerSecret, 1), next: '/' })).status).toBe(303);
    expect((await later.get('/admin/users')).status).toBe(200);
  });

  it('writes nothing when the set-up page is only looked at (a GET, or a HEAD)', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const client = new FormClient(base);
    await passwordOnly(client, admin.email);
    expect((await client.request('HEAD', '/sign-in/set-up-mfa')).status).toBe(200);
    expect((await client.get('/sign-in/set-up-mfa')).status).toBe(200);
    const state = await t.vault.store.repos.users.signInState(admin.id);
    expect(state?.mfa_secret ?? null).toBeNull();
    expect(state?.mfa_enabled).toBeFalsy();
  });

  // Attack (CSRF through a link): the transfer package's download is recorded with the batch, and approval
  // (then destruction as "transferred") relies on it. As a GET, any site's page could make a records
  // manager's browser fetch it (a top-level navigation carries the Lax session cookie), recording an export
  // the records manager never chose, so that approving no longer asked them to download it first.
  it('records a transfer package only from the batch page\'s own form: a link another site sends the browser to changes nothing', async () => {
    const council = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, council.id, council.collections.hr!, HR_03);
    const member = await council.user({ teams: ['hr'] });
    const doc = (await upload(t.app, member, council.collections.hr!, 'applicant.txt', 'application form\n')).json();
    await recordEvent(t.vault, council.id, doc.id, 'process_complete', yearsAgo(2));
    // Two records managers of the council: one over REST (a token), one in a browser.
    const viaApi = await council.user({ roles: ['records_manager'], teams: ['hr'] });
    const manager = await addPerson(t.vault, council.slug, { roles: ['member', 'records_manager'], teams: ['hr'] });
    const secret = await enrolTotp(t.vault, manager.id);
    const batch = (await api(t.app, viaApi).post('disposal/batches', {})).json();
    expect((await api(t.app, viaApi).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: doc.id, decision: 'transfer' }] })).statusCode).toBe(200);
    const exported = async () => {
      const events = await t.vault.store.db.selectFrom('audit_events').select('action').where('action', '=', 'disposal.transfer-export').where('target_organisation_id', '=', council.id).execute();
      return { events: events.length, recorded: (await t.vault.store.repos.settings.get(`disposal.transfer-exported:${batch.id}`)) ?? null };
    };

    const client = new FormClient(base);
    await client.signIn(manager.email, PASSWORD, secret);
    for (const method of ['GET', 'HEAD']) {
      const forced = await client.request(method, `/disposal/${batch.id}/transfer`, { headers: { 'sec-fetch-site': 'cross-site' } });
      expect(forced.status).toBe(303);
      expect(forced.location).toBe(`/disposal/${batch.id}`);
    }
    expect(await exported()).toEqual({ events: 0, recorded: null });
    // Without the form's token (another site's form): refused, nothing recorded.
    expect((await client.post(`/disposal/${batch.id}/transfer`, { _csrf: 'not-the-token' })).status).toBe(403);
    expect(await exported()).toEqual({ events: 0, recorded: null });
    // Approving still asks for the package first.
    const approve = await api(t.app, viaApi).post(`disposal/batches/${batch.id}/approve`, {});
    expect(approve.statusCode).toBe(400);

    const page = await client.get(`/disposal/${batch.id}`);
    expect(page.text).toContain(`<form method="post" action="/disposal/${batch.id}/transfer" id="transfer-form">`);
    const zip = await client.post(`/disposal/${batch.id}/transfer`, { _csrf: FormClient.csrf(page.text) });
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    expect((await exported()).events).toBe(1);

    // Someone who may read the batch but not export it (an auditor) is not offered the button.
    const auditor = await addPerson(t.vault, council.slug, { roles: ['member', 'auditor'] });
    const reader = new FormClient(base);
    await reader.signIn(auditor.email);
    const theirs = await reader.get(`/disposal/${batch.id}`);
    expect(theirs.status).toBe(200);
    expect(theirs.text).not.toContain('transfer-form');
  });

  // What people, partner councils and identity providers write is shown to others: a person's name (which a
  // provider's claim or the directory sets), a provider's button, an organisation's name, an arrangement's
  // purpose seen by every party, a hold, a credential's and a SCIM token's name. Every page that shows them
  // escapes them (nunjucks autoescape; `html:` parameters are built only from escaped pieces).
  it('escapes what others write on every page that shows it, the sign-in page included', async () => {
    const HOSTILE = '"><img src=x onerror=alert(1)>';
    const slug = `xss-${Math.random().toString(36).slice(2, 8)}`;
    const council = await t.vault.organisations.addOrganisation(systemActor(), { slug, name: `North ${HOSTILE}` });
    const partner = await createOrganisation(t.vault);
    const admin = await addPerson(t.vault, slug, { roles: ['org_admin', 'records_manager'], name: `Admin ${HOSTILE}` });
    const secret = await enrolTotp(t.vault, admin.id);
    const adminActor = actorFor((await t.vault.identity.userById(admin.id))!, { channel: 'cli', clientAddress: null, requestId: null });
    const provider = await samlProvider(t.vault, council.id, makeIdp('xss'), { name: `Entra ${HOSTILE}` });
    await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: council.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: `Payroll ${HOSTILE}`,
      lawfulBasis: `Act ${HOSTILE}`, accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    const hold = await t.vault.holds.create(adminActor, { name: `Inquiry ${HOSTILE}`, reason: `Because ${HOSTILE}`, reference: `Ref ${HOSTILE}` });
    await t.vault.credentials.createCredential(adminActor, admin.id, 'api_token', `Laptop ${HOSTILE}`);
    await t.vault.scim.tokens.create(adminActor, council.id, `Entra ${HOSTILE}`);

    const expectEscaped = (where: string, html: string) => {
      expect(html, where).not.toContain('<img src=x');
      expect(html, where).toContain('&lt;img src=x onerror=alert(1)&gt;');
    };
    const anonymous = new FormClient(base);
    expectEscaped('sign-in', (await anonymous.get(`/sign-in?org=${slug}`)).text);
    expectEscaped('sign-in, every council', (await anonymous.get('/sign-in')).text);
    expectEscaped('the question before a sign-in another site started', (await anonymous.request('GET', `/sign-in/saml/${provider.id}`, { headers: { 'sec-fetch-site': 'cross-site' } })).text);

    const client = new FormClient(base);
    await client.signIn(admin.email, PASSWORD, secret);
    const arrangementId = (await t.vault.arrangements.list(adminActor, { organisationId: council.id }))[0]!.id;
    for (const path of ['/', '/admin/users', `/admin/users/${admin.id}`, '/admin/identity', `/admin/identity/providers/${provider.id}`, '/arrangements', `/arrangements/${arrangementId}`, '/holds', `/holds/${hold.id}`, '/account', '/admin/scim']) {
      const page = await client.get(path);
      expect(page.status, path).toBe(200);
      expectEscaped(path, page.text);
    }
  });

  it('offers an org admin no button the service would refuse them: not disabling their own account, nor resetting their own two-step verification', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const colleague = await addPerson(t.vault, org.slug, {});
    const client = new FormClient(base);
    await client.signIn(admin.email, PASSWORD, await enrolTotp(t.vault, admin.id));
    const own = await client.get(`/admin/users/${admin.id}`);
    expect(own.status).toBe(200);
    expect(own.text).not.toContain('id="disable-user"');
    expect(own.text).not.toContain('id="reset-mfa"');
    expect((await client.post(`/admin/users/${admin.id}/disable`, { _csrf: FormClient.csrf(own.text) })).status).toBe(400);
    // Posted anyway (a forged or stale form): refused by decide() (self), their authenticator kept.
    const reset = await client.post(`/admin/users/${admin.id}/reset-mfa`, { _csrf: FormClient.csrf(own.text) });
    expect(reset.status).toBe(400);
    expect(reset.text).toContain('You cannot reset your own two-step verification: ask another org admin of your organisation.');
    expect((await t.vault.store.repos.users.byId(admin.id))!.mfaEnabled).toBe(true);
    const theirs = (await client.get(`/admin/users/${colleague.id}`)).text;
    expect(theirs).toContain('id="disable-user"');
    expect(theirs).toContain('id="reset-mfa"');
  });
});
