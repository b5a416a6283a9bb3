// Web interface security over real HTTP: CSRF on every form, session fixation, disabling a user ends
// their session at once, lockout after failed sign-ins, MFA enforced for admins, cookie attributes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { generateSync } from 'otplib';
import { docm, strongroomTestSample } from '../support/samples.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp, totp } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('web interface security on %s', (dialect) => {
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

  it('renders every main page for a signed-in member, and sends strangers to sign in', async () => {
    const anonymous = new FormClient(base);
    const home = await anonymous.get('/');
    expect(home.status).toBe(303);
    expect(home.location).toBe('/sign-in?next=%2F');
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const api = await org.user({ teams: ['payroll'] });
    const uploaded = (await upload(t.app, api, org.collections.payroll!, 'rota.csv', 'a,b\n1,2\n')).json();
    const client = new FormClient(base);
    const html = await client.signIn(member.email);
    expect(html).toContain('Welcome, Test Person');
    expect(html).toContain('rota.csv');
    for (const url of ['/', `/organisations/${org.slug}`, `/collections/${org.collections.payroll}`, `/documents/${uploaded.id}`, '/upload', '/arrangements', '/reports/shared-services', '/account']) {
      const page = await client.get(url);
      expect(page.status, `${url}: ${page.text.slice(0, 300)}`).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.text).not.toMatch(/<script>(?!<\/script>)/);
    }
    const download = await client.click(`/documents/${uploaded.id}/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(download.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(download.text).toBe('a,b\n1,2\n');
    // Pages a member may not use answer as if they did not exist.
    expect((await client.get('/admin/users')).status).toBe(404);
    expect((await client.get('/audit')).status).toBe(404);
  });

  it('refuses a form post without the CSRF token, and one with a wrong token', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const api = await org.user({ teams: ['payroll'] });
    const uploaded = (await upload(t.app, api, org.collections.payroll!, `keep-${Date.now()}.csv`, 'x,y\n')).json();
    const client = new FormClient(base);
    await client.signIn(member.email);
    const noToken = await client.post(`/documents/${uploaded.id}/delete`, {});
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain('This form has expired');
    const wrongToken = await client.post(`/documents/${uploaded.id}/delete`, { _csrf: 'not-the-token' });
    expect(wrongToken.status).toBe(403);
    const document = await t.vault.documents.get({ ...(await actorOf(api.id)) }, uploaded.id);
    expect(document.document.deletedAt).toBeNull();
    // The sign-in form is protected too (double-submit cookie before there is a session).
    const fresh = new FormClient(base);
    await fresh.get('/sign-in');
    expect((await fresh.post('/sign-in', { email: member.email, password: PASSWORD })).status).toBe(403);
    // And multipart uploads: no token, no file read.
    const form = new FormData();
    form.append('collectionId', org.collections.payroll!);
    form.append('files', new Blob(['z']), 'sneaky.txt');
    const sneaky = await client.request('POST', '/upload', { body: form });
    expect(sneaky.status).toBe(403);
    // A body that is not the multipart form its Content-Type announces: the sender's mistake, said so, nothing stored.
    const uploadPage = await client.get('/upload');
    const notAForm = await client.request('POST', '/upload', {
      headers: { 'content-type': 'multipart/form-data; boundary=x', 'x-csrf-token': FormClient.csrf(uploadPage.text) }, body: '{"a":1}',
    });
    expect(notAForm.status).toBe(400);
    expect(notAForm.text).toContain('not the multipart/form-data form its Content-Type says it is');
    // With the token the same delete works.
    const page = await client.get(`/documents/${uploaded.id}`);
    const ok = await client.post(`/documents/${uploaded.id}/delete`, { _csrf: FormClient.csrf(page.text) });
    expect(ok.status).toBe(303);
  });

  it('changes the session id at sign-in and again after the second factor (no fixation)', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const client = new FormClient(base);
    const signInPage = await client.get('/sign-in');
    client.cookies.set('strongroom-session', 'planted-by-an-attacker-0123456789');
    const password = await client.post('/sign-in', { _csrf: FormClient.csrf(signInPage.text), email: admin.email, password: PASSWORD, next: '/' });
    expect(password.status).toBe(303);
    expect(password.location).toMatch(/^\/sign-in\/code/);
    const pending = client.cookies.get('strongroom-session');
    expect(pending).toBeDefined();
    expect(pending).not.toBe('planted-by-an-attacker-0123456789');
    // Half signed in is not signed in.
    expect((await client.get('/')).status).toBe(303);
    const codePage = await client.get('/sign-in/code');
    const wrong = await client.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code: '000000', next: '/' });
    expect(wrong.status).toBe(400);
    const done = await client.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code: totp(secret), next: '/' });
    expect(done.status).toBe(303);
    const active = client.cookies.get('strongroom-session');
    expect(active).not.toBe(pending);
    expect((await client.get('/')).status).toBe(200);
    // The half-signed-in id died with the rotation.
    const replay = new FormClient(base);
    replay.cookies.set('strongroom-session', pending!);
    expect((await replay.get('/')).status).toBe(303);
    // Sign-out ends the session on the server, not just in the browser.
    const home = await client.get('/');
    expect((await client.post('/sign-out', { _csrf: FormClient.csrf(home.text) })).status).toBe(303);
    const stolen = new FormClient(base);
    stolen.cookies.set('strongroom-session', active!);
    expect((await stolen.get('/')).status).toBe(303);
  });

  it('ends sessions after 30 idle minutes and after their absolute lifetime', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const sessions = t.vault.store.db.updateTable('sessions').where('user_id', '=', member.id);
    const idle = new FormClient(base);
    await idle.signIn(member.email);
    expect((await idle.get('/')).status).toBe(200);
    await sessions.set({ last_seen_at: new Date(Date.now() - 31 * 60_000).toISOString() }).execute();
    expect((await idle.get('/')).status).toBe(303);
    const old = new FormClient(base);
    await old.signIn(member.email);
    expect((await old.get('/')).status).toBe(200);
    await sessions.set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    expect((await old.get('/')).status).toBe(303);
    // Expired sessions are removed, not just ignored.
    expect(await t.vault.store.db.selectFrom('sessions').select('id_hash').where('user_id', '=', member.id).execute()).toEqual([]);
  });

  it("ends a disabled user's session at once", async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const memberClient = new FormClient(base);
    await memberClient.signIn(member.email);
    expect((await memberClient.get('/')).status).toBe(200);
    const adminClient = new FormClient(base);
    await adminClient.signIn(admin.email, PASSWORD, secret);
    const personPage = await adminClient.get(`/admin/users/${member.id}`);
    expect(personPage.status).toBe(200);
    const disabled = await adminClient.post(`/admin/users/${member.id}/disable`, { _csrf: FormClient.csrf(personPage.text) });
    expect(disabled.status).toBe(303);
    const after = await memberClient.get('/');
    expect(after.status).toBe(303);
    expect(after.location).toMatch(/^\/sign-in/);
    // And they cannot sign in again.
    const again = new FormClient(base);
    const page = await again.get('/sign-in');
    expect((await again.post('/sign-in', { _csrf: FormClient.csrf(page.text), email: member.email, password: PASSWORD })).status).toBe(401);
  });

  it('throttles an account from one address after five wrong passwords, without locking it, and audits it', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const client = new FormClient(base);
    const page = await client.get('/sign-in');
    const csrf = FormClient.csrf(page.text);
    for (let i = 0; i < 5; i++) expect((await client.post('/sign-in', { _csrf: csrf, email: member.email, password: 'wrong password 123' })).status).toBe(401);
    const throttled = await client.post('/sign-in', { _csrf: csrf, email: member.email, password: PASSWORD });
    expect(throttled.status).toBe(429);
    expect(throttled.text).toContain('Too many failed sign-in attempts');
    await t.vault.audit.sequencer.integrate();
    const events = await t.vault.store.repos.audit.forOrganisation(org.id);
    const mine = events.filter((e) => e.targetIds.userId === member.id);
    expect(mine.filter((e) => e.action === 'auth.sign-in' && e.decision === 'deny').length).toBe(6);
    expect(mine.some((e) => e.action === 'auth.sign-in' && e.reason === 'throttled')).toBe(true);
    expect(mine.some((e) => e.action === 'auth.lockout')).toBe(false);
  });

  it('makes an org admin set up TOTP at first sign-in, with recovery codes that work once', async () => {
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const client = new FormClient(base);
    const page = await client.get('/sign-in');
    const res = await client.post('/sign-in', { _csrf: FormClient.csrf(page.text), email: admin.email, password: PASSWORD, next: '/' });
    expect(res.location).toMatch(/^\/sign-in\/set-up-mfa/);
    expect((await client.get('/admin/users')).status).toBe(303);
    const setup = await client.get('/sign-in/set-up-mfa');
    expect(setup.text).toContain('<svg');
    const secret = /id="mfa-secret">([A-Z2-7 ]+)</.exec(setup.text)![1]!.replace(/ /g, '');
    const done = await client.post('/sign-in/set-up-mfa', { _csrf: FormClient.csrf(setup.text), code: generateSync({ secret }), next: '/' });
    expect(done.status).toBe(200);
    const codes = [...done.text.matchAll(/<li><code>([0-9a-f]{10})<\/code><\/li>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    expect((await client.get('/admin/users')).status).toBe(200);
    for (const expected of [303, 400]) {
      const other = new FormClient(base);
      const p = await other.get('/sign-in');
      await other.post('/sign-in', { _csrf: FormClient.csrf(p.text), email: admin.email, password: PASSWORD, next: '/' });
      const codePage = await other.get('/sign-in/code');
      expect((await other.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code: codes[0]!, next: '/' })).status).toBe(expected);
    }
  });

  it('sends someone given an MFA role while signed in to set MFA up before anything else', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const client = new FormClient(base);
    await client.signIn(member.email);
    // By the people service, as an admin would: a row changed directly is what `audit verify` (below) names.
    await t.vault.people.update(systemActor('web'), member.id, { roles: ['records_manager'] });
    const home = await client.get('/');
    expect(home.status).toBe(303);
    expect(home.location).toBe('/sign-in/set-up-mfa?next=%2F');
    expect((await client.get('/sign-in/set-up-mfa')).text).toContain('Set up two-factor authentication');
  });

  it('runs an arrangement through propose, accept and suspend, and access follows it at once', async () => {
    const partnerOrg = await createOrganisation(t.vault);
    const hostAdmin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const partnerAdmin = await addPerson(t.vault, partnerOrg.slug, { roles: ['org_admin'] });
    const [hostSecret, partnerSecret] = [await enrolTotp(t.vault, hostAdmin.id), await enrolTotp(t.vault, partnerAdmin.id)];
    const partnerApi = await partnerOrg.user({ teams: ['finance'] });
    const doc = (await upload(t.app, partnerApi, partnerOrg.collections.finance!, 'budget.csv', 'a,b\n')).json();
    const serving = new FormClient(base);
    await serving.signIn((await addPerson(t.vault, org.slug, { teams: ['finance'] })).email);
    expect((await serving.get(`/documents/${doc.id}`)).status).toBe(404);

    const host = new FormClient(base);
    await host.signIn(hostAdmin.email, PASSWORD, hostSecret);
    let form = await host.get('/arrangements/new');
    const incomplete = await host.post('/arrangements', { _csrf: FormClient.csrf(form.text), serviceArea: 'finance', purpose: '', lawfulBasis: '', accessLevel: 'read', ceiling: 'OFFICIAL' });
    expect(incomplete.status).toBe(400);
    expect(incomplete.text).toContain('govuk-error-summary');
    expect(incomplete.text).toContain('a purpose is required');
    form = await host.get('/arrangements/new');
    const proposed = await host.post('/arrangements', {
      _csrf: FormClient.csrf(form.text), partners: partnerOrg.id, serviceArea: 'finance', purpose: 'Shared finance team', lawfulBasis: 'Public task',
      accessLevel: 'read', ceiling: 'OFFICIAL', annualSavingPounds: '£45,000',
    });
    expect(proposed.status).toBe(303);
    const arrangementUrl = proposed.location!.split('?')[0]!;
    expect((await serving.get(`/documents/${doc.id}`)).status).toBe(404);

    const partner = new FormClient(base);
    const partnerHome = await partner.signIn(partnerAdmin.email, PASSWORD, partnerSecret);
    expect(partnerHome).toContain('Shared finance team');
    let page = await partner.get(arrangementUrl);
    expect((await partner.post(`${arrangementUrl}/accept`, { _csrf: FormClient.csrf(page.text), revision: '1' })).status).toBe(303);
    expect((await serving.get(`/documents/${doc.id}`)).status).toBe(200);
    expect((await serving.get(`/organisations/${partnerOrg.slug}`)).text).toContain(partnerOrg.collections.finance!);

    const register = await host.get('/arrangements?status=active&serviceArea=finance');
    expect(register.text).toContain('Shared finance team');
    expect(register.text).toContain('£45,000');
    expect((await host.get('/arrangements?serviceArea=hr')).text).not.toContain('Shared finance team');

    page = await host.get(arrangementUrl);
    expect((await host.post(`${arrangementUrl}/accept`, { _csrf: FormClient.csrf(page.text), revision: '2' })).status).toBe(400);
    expect((await host.post(`${arrangementUrl}/suspend`, { _csrf: FormClient.csrf(page.text) })).status).toBe(303);
    expect((await serving.get(`/documents/${doc.id}`)).status).toBe(404);
    page = await host.get(arrangementUrl);
    expect(page.text).toMatch(/proposed[\s\S]*accepted; now active[\s\S]*suspended|suspended[\s\S]*accepted; now active[\s\S]*proposed/);
  });

  it('sets HttpOnly SameSite cookies, Secure with the __Host- prefix only over TLS', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const page = await t.app.inject({ method: 'GET', url: '/sign-in' });
    const csrfCookie = page.cookies.find((c) => c.name === 'strongroom-csrf')!;
    expect(csrfCookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(csrfCookie.secure).toBeFalsy();
    const res = await t.app.inject({
      method: 'POST', url: '/sign-in', cookies: { 'strongroom-csrf': csrfCookie.value },
      payload: new URLSearchParams({ _csrf: csrfCookie.value, email: member.email, password: PASSWORD }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(303);
    const session = res.cookies.find((c) => c.name === 'strongroom-session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(session.secure).toBeFalsy();
  });

  it('changes a password only to one of 12+ characters that is not common, ends other sessions and revokes tokens and app passwords', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    // Made with the old password (by whoever knew it): they must not outlive it.
    const token = await t.vault.credentials.createCredential(systemActor(), member.id, 'api_token', 'script');
    const appPassword = await t.vault.credentials.createCredential(systemActor(), member.id, 'app_password', 'laptop');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/collections', headers: { authorization: `Bearer ${token.secret}` } })).statusCode).toBe(200);
    const elsewhere = new FormClient(base);
    await elsewhere.signIn(member.email);
    const client = new FormClient(base);
    await client.signIn(member.email);
    let account = await client.get('/account');
    const attempt = async (currentPassword: string, password: string) => {
      const res = await client.post('/account/password', { _csrf: FormClient.csrf(account.text), currentPassword, password });
      if (res.status === 200 || res.status === 400) account = res;
      return res;
    };
    const short = await attempt(PASSWORD, 'short pass');
    expect(short.status).toBe(400);
    expect(short.text).toContain('at least 12 characters');
    const common = await attempt(PASSWORD, 'Password1234');
    expect(common.status).toBe(400);
    expect(common.text).toContain('too common');
    expect((await attempt('not my password', 'a brand new long passphrase')).status).toBe(400);
    // No composition rules: lower-case words and spaces are fine.
    // Refused attempts revoked nothing.
    expect((await t.vault.store.repos.users.listCredentials(member.id)).map((c) => c.revokedAt)).toEqual([null, null]);
    const ok = await attempt(PASSWORD, 'correct horse battery staple');
    expect(ok.status).toBe(303);
    const after = await client.get('/account?done=password');
    expect(after.status).toBe(200);
    expect(after.text).toContain('Your API tokens and WebDAV app passwords were revoked');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/collections', headers: { authorization: `Bearer ${token.secret}` } })).statusCode).toBe(401);
    const basic = Buffer.from(`${member.email}:${appPassword.secret}`).toString('base64');
    expect((await t.app.inject({ method: 'PROPFIND' as 'GET', url: '/dav/', headers: { authorization: `Basic ${basic}`, depth: '0' } })).statusCode).toBe(401);
    await t.vault.audit.sequencer.flush();
    const revoked = await t.vault.store.db.selectFrom('audit_events').select(['reason', 'target_ids']).where('action', '=', 'credential.revoke').where('actor_user_id', '=', member.id).execute();
    expect(revoked.map((r) => r.reason)).toEqual(['password_changed', 'password_changed']);
    expect((await elsewhere.get('/')).status).toBe(303);
    const fresh = new FormClient(base);
    expect(await fresh.signIn(member.email, 'correct horse battery staple')).toContain('Welcome');
  });

  it('changes a document through its page: new version, rename, classification with a reason, delete and restore', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const api = await org.user({ teams: ['payroll'] });
    const uploaded = (await upload(t.app, api, org.collections.payroll!, `ledger-${Date.now()}.csv`, 'v1\n')).json();
    const client = new FormClient(base);
    await client.signIn(member.email);
    let page = await client.get(`/documents/${uploaded.id}`);
    const form = new FormData();
    form.append('_csrf', FormClient.csrf(page.text));
    form.append('file', new Blob(['version two\n']), 'anything.csv');
    const version = await client.request('POST', `/documents/${uploaded.id}/versions`, { body: form });
    expect(version.status).toBe(303);
    expect((await client.click(`/documents/${uploaded.id}/download?version=2`)).text).toBe('version two\n');
    expect((await client.click(`/documents/${uploaded.id}/download?version=1`)).text).toBe('v1\n');
    page = await client.get(`/documents/${uploaded.id}`);
    const csrf = FormClient.csrf(page.text);
    const badName = await client.post(`/documents/${uploaded.id}/rename`, { _csrf: csrf, name: 'a/b.csv' });
    expect(badName.status).toBe(400);
    expect(badName.text).toContain('govuk-error-summary');
    expect((await client.post(`/documents/${uploaded.id}/rename`, { _csrf: csrf, name: 'renamed ledger.csv' })).status).toBe(303);
    expect((await client.post(`/documents/${uploaded.id}/classification`, { _csrf: csrf, classification: 'OFFICIAL' })).status).toBe(400);
    expect((await client.post(`/documents/${uploaded.id}/classification`, { _csrf: csrf, classification: 'OFFICIAL', reason: 'Contains no personal data now' })).status).toBe(303);
    page = await client.get(`/documents/${uploaded.id}`);
    expect(page.text).toContain('renamed ledger.csv');
    expect(page.text).toMatch(/Classification\s*<\/dt>\s*<dd[^>]*>\s*<strong class="govuk-tag govuk-tag--blue">\s*OFFICIAL\s*</);
    expect((await client.post(`/documents/${uploaded.id}/delete`, { _csrf: csrf })).location).toBe(`/collections/${org.collections.payroll}?notice=deleted`);
    expect((await client.click(`/documents/${uploaded.id}/download`)).status).toBe(404);
    expect((await client.post(`/documents/${uploaded.id}/restore`, { _csrf: csrf })).status).toBe(303);
    expect((await client.click(`/documents/${uploaded.id}/download`)).text).toBe('version two\n');
  });

  it('uploads several files without JavaScript and reports each one, including refused ones', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['finance'] });
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get(`/upload?collection=${org.collections.finance}`);
    const form = new FormData();
    form.append('_csrf', FormClient.csrf(page.text));
    form.append('collectionId', org.collections.finance!);
    form.append('classification', '');
    form.append('files', new Blob(['first file\n']), 'minutes-1.txt');
    form.append('files', new Blob([docm()]), 'macro.docm');
    form.append('files', new Blob([strongroomTestSample()]), 'sample.txt');
    form.append('files', new Blob(['second file\n']), 'minutes-2.txt');
    const res = await client.request('POST', '/upload', { body: form });
    expect(res.status).toBe(200);
    const rows = [...res.text.matchAll(/<tr class="govuk-table__row">\s*<td class="govuk-table__cell">(.*?)<\/td>\s*<td class="govuk-table__cell"><strong[^>]*>(.*?)<\/strong>/gs)].map((m) => [m[1]!.replace(/<[^>]+>/g, ''), m[2]]);
    expect(rows).toEqual([
      ['minutes-1.txt', 'Uploaded'], ['macro.docm', 'Blocked: macro-enabled document'], ['sample.txt', 'Blocked: malware'], ['minutes-2.txt', 'Uploaded'],
    ]);
    const listing = await client.get(`/collections/${org.collections.finance}`);
    expect(listing.text).toContain('minutes-2.txt');
    expect(listing.text).toContain('Quarantined');
  });

  it('lets a security admin release or destroy quarantined versions, and an auditor search and verify the log', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const api = await org.user({ teams: ['hr'] });
    const infected = (await upload(t.app, api, org.collections.hr!, `bad-${Date.now()}.txt`, strongroomTestSample())).json();
    expect(infected.documentStatus).toBe('quarantined');
    const security = await addPerson(t.vault, org.slug, { roles: ['security_admin'] });
    const secret = await enrolTotp(t.vault, security.id);
    const client = new FormClient(base);
    const home = await client.signIn(security.email, PASSWORD, secret);
    expect(home).toContain('Review the quarantine');
    let page = await client.get('/admin/quarantine');
    expect(page.text).toContain(infected.id);
    const versionId = /action="\/admin\/quarantine\/([0-9a-f-]+)\/release"/.exec(page.text)![1]!;
    const tooShort = await client.post(`/admin/quarantine/${versionId}/release`, { _csrf: FormClient.csrf(page.text), reason: 'ok' });
    expect(tooShort.status).toBe(400);
    page = await client.get('/admin/quarantine');
    const destroyedIt = await client.post(`/admin/quarantine/${versionId}/destroy`, { _csrf: FormClient.csrf(page.text) });
    expect(destroyedIt.status).toBe(303);
    // Its only version: the document went with it, and the page says so.
    expect(destroyedIt.location).toBe('/admin/quarantine?done=destroyed-document');
    const after = await client.get(destroyedIt.location!);
    expect(after.text).not.toContain(versionId);
    expect(after.text).toContain('and its document with it: it had no other readable version');

    const auditor = await addPerson(t.vault, org.slug, { roles: ['auditor'] });
    const auditClient = new FormClient(base);
    await auditClient.signIn(auditor.email);
    const search = await auditClient.get(`/audit?action=auth.sign-in&actor=${encodeURIComponent(member.email)}`);
    expect(search.status).toBe(200);
    const destroyed = await auditClient.get('/audit?action=quarantine.destroy');
    expect(destroyed.text).toContain(security.email);
    await t.vault.audit.sequencer.flush();
    const verify = await auditClient.get('/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.text).toContain('The audit log verified');
    expect(verify.text).toMatch(/id="checkpoint-note"[^>]*>[^<]*\n\d+\n/);
    const saved = await auditClient.get('/audit/checkpoints.txt');
    expect(saved.status).toBe(200);
    const { openCheckpoint } = await import('../../src/domain/audit/signed-note.js');
    expect(openCheckpoint(saved.text, t.vault.audit.proofs.verifierKey).treeSize).toBeGreaterThan(0);
    expect((await client.get('/audit/checkpoints.txt')).status).toBe(404);
  });

  async function actorOf(userId: string) {
    const user = (await t.vault.identity.userById(userId))!;
    const { actorFor } = await import('../../src/services/identity.service.js');
    return actorFor(user, { channel: 'api', clientAddress: null, requestId: null });
  }
});

describe('cookies behind a TLS-terminating proxy', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_TRUST_PROXY: '1' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('marks cookies Secure with the __Host- prefix when the proxy says https', async () => {
    const org = await createOrganisation(t.vault);
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const headers = { 'x-forwarded-proto': 'https' };
    const page = await t.app.inject({ method: 'GET', url: '/sign-in', headers });
    const csrfCookie = page.cookies.find((c) => c.name === '__Host-strongroom-csrf')!;
    expect(csrfCookie).toMatchObject({ secure: true, httpOnly: true, path: '/' });
    const res = await t.app.inject({
      method: 'POST', url: '/sign-in', cookies: { '__Host-strongroom-csrf': csrfCookie.value },
      payload: new URLSearchParams({ _csrf: csrfCookie.value, email: member.email, password: PASSWORD }).toString(),
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(303);
    expect(res.cookies.find((c) => c.name === '__Host-strongroom-session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax' });
    expect(res.headers['strict-transport-security']).toContain('max-age=');
  });

  it('slows down an address after many failed sign-ins, for every account', { timeout: 300_000 }, async () => {
    const org = await createOrganisation(t.vault);
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9', 'content-type': 'application/x-www-form-urlencoded' };
    const cookies = { '__Host-strongroom-csrf': 'a'.repeat(32) };
    const post = (email: string, password: string) => t.app.inject({ method: 'POST', url: '/sign-in', headers, cookies, payload: new URLSearchParams({ _csrf: 'a'.repeat(32), email, password }).toString() });
    for (let i = 0; i < 30; i++) expect((await post(`nobody-${i}@${org.slug}.test`, 'wrong password here')).statusCode).toBe(401);
    const real = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    expect((await post(real.email, PASSWORD)).statusCode).toBe(429);
    // Another address is unaffected.
    const other = await t.app.inject({ method: 'POST', url: '/sign-in', headers: { ...headers, 'x-forwarded-for': '198.51.100.7' }, cookies, payload: new URLSearchParams({ _csrf: 'a'.repeat(32), email: real.email, password: PASSWORD }).toString() });
    expect(other.statusCode).toBe(303);
  });
});
