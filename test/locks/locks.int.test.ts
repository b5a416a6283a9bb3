// Locks bound to documents and collections: they bind every interface (REST, web, WebDAV), lapse
// when their holder loses write access, and the owning organisation's admins can list and break them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from '../ui/support.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();

const lockinfo = (owner: string) =>
  `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

describe.each(DIALECTS)('locks on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  async function auditActions(filter: { action: string; token: string }) {
    await s.vault.audit.sequencer.integrate();
    const rows = await s.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'reason', 'target_ids', 'actor_user_id']).where('action', '=', filter.action).execute();
    return rows.filter((r) => String(r.target_ids).includes(filter.token));
  }

  async function lock(user: DavUser, path: string, depth: '0' | 'infinity' = 'infinity'): Promise<string> {
    const res = await dav(s.base, 'LOCK', path, { user, headers: { timeout: 'Second-3600', depth }, body: lockinfo(user.email) });
    expect(res.status, res.body).toBe(200);
    return /^<(.+)>$/.exec(res.headers.get('lock-token')!)![1]!;
  }

  /** A host whose payroll team serves a partner at manage level, under an active arrangement. */
  async function sharedService() {
    const host = await createOrganisation(s.vault);
    const partner = await createOrganisation(s.vault);
    const hostAdmin = await host.user({ roles: ['org_admin'] });
    const partnerAdmin = await partner.user({ roles: ['org_admin'] });
    const hostStaff = await davUser(s.vault, host, { teams: ['payroll'] });
    const partnerStaff = await davUser(s.vault, partner, { teams: ['payroll'] });
    const partnerMember = await partner.user({ teams: ['payroll'] });
    const proposed = await api(s.app, hostAdmin).post('arrangements', {
      partners: [partner.slug], serviceArea: 'payroll', purpose: 'Payroll processing for the partner council', lawfulBasis: 'UK GDPR Art 6(1)(e) public task',
      agreementReference: 'DSA-LOCKS', accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', annualSavingPounds: 1000,
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const arrangementId = proposed.json().id as string;
    expect((await api(s.app, partnerAdmin).post(`arrangements/${arrangementId}/accept`, { revision: proposed.json().revision })).json().status).toBe('active');
    return { host, partner, hostAdmin, partnerAdmin, hostStaff, partnerStaff, partnerMember, arrangementId };
  }

  it("lapses a host team's infinite-depth lock on a partner folder when the arrangement is suspended, and audits the lapse", async () => {
    const p = await sharedService();
    const folder = `/dav/${p.partner.slug}/payroll/`;
    const token = await lock(p.hostStaff, folder);
    // While the arrangement is in force the lock binds the partner's own staff too.
    expect((await dav(s.base, 'PUT', `${folder}during.csv`, { user: p.partnerStaff, body: 'a,b\n' })).status).toBe(423);
    expect((await api(s.app, p.partnerAdmin).post(`arrangements/${p.arrangementId}/suspend`)).json().status).toBe('suspended');
    // The holder can no longer write there, so the lock has lapsed: the partner's staff work again.
    expect((await dav(s.base, 'PUT', `${folder}after.csv`, { user: p.partnerStaff, body: 'a,b\n' })).status).toBe(201);
    const lapses = await auditActions({ action: 'lock.lapse', token });
    expect(lapses).toHaveLength(1);
    expect(lapses[0]).toMatchObject({ decision: 'deny', reason: 'no_arrangement' });
    // The lapsed lock is gone for everyone: not listed, not refreshable.
    const listed = await api(s.app, p.partnerAdmin).get('locks');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().locks).toEqual([]);
  });

  it('lets the owning organisation’s admin break a lock (audited), but not a member or the host’s admin', async () => {
    const p = await sharedService();
    const folder = `/dav/${p.partner.slug}/payroll/`;
    const token = await lock(p.hostStaff, folder);
    const listed = await api(s.app, p.partnerAdmin).get('locks');
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().locks).toEqual([expect.objectContaining({ token, depth: 'infinity', holder: expect.objectContaining({ userId: p.hostStaff.id }), collectionId: p.partner.collections.payroll })]);
    const url = `locks/${encodeURIComponent(token)}`;
    expectProblem(await api(s.app, p.partnerMember).delete(url), 404);
    expectProblem(await api(s.app, p.hostAdmin).delete(url), 404);
    expectProblem(await api(s.app, p.partnerMember).get('locks'), 404);
    expect((await dav(s.base, 'PUT', `${folder}still-locked.csv`, { user: p.partnerStaff, body: 'a\n' })).status).toBe(423);
    expect((await api(s.app, p.partnerAdmin).delete(url)).statusCode).toBe(204);
    expect((await dav(s.base, 'PUT', `${folder}unlocked.csv`, { user: p.partnerStaff, body: 'a\n' })).status).toBe(201);
    const breaks = await auditActions({ action: 'lock.break', token });
    expect(breaks.filter((b) => b.decision === 'allow')).toEqual([expect.objectContaining({ actor_user_id: p.partnerAdmin.id })]);
    expect(breaks.filter((b) => b.decision === 'deny').map((b) => b.actor_user_id).sort()).toEqual([p.partnerMember.id, p.hostAdmin.id].sort());
    expectProblem(await api(s.app, p.partnerAdmin).delete(url), 404);
  });

  describe('a document locked through WebDAV', () => {
    let org: TestOrganisation;
    let holder: DavUser;
    let colleague: TestUser;
    let path: string;
    let documentId: string;
    let token: string;
    beforeAll(async () => {
      org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
      holder = await davUser(s.vault, org, { teams: ['finance'] });
      colleague = await org.user({ teams: ['finance'] });
      path = `/dav/${org.slug}/finance/budget.csv`;
      expect((await dav(s.base, 'PUT', path, { user: holder, body: 'v1\n' })).status).toBe(201);
      documentId = (await s.vault.documents.versions({ kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL-SENSITIVE', channel: 'cli', clientAddress: null, requestId: null }, (await s.vault.store.repos.documents.byName(org.collections.finance!, 'budget.csv'))!.id)).document.id;
      token = await lock(holder, path, '0');
    });

    it('refuses a REST new version, rename, move, delete and classification with 423 naming the holder', async () => {
      const other = (await s.vault.collectionCreation.create({ kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL-SENSITIVE', channel: 'cli', clientAddress: null, requestId: null },
        { organisationId: org.id, name: 'archive', parentId: org.collections.finance!, serviceArea: 'finance', classification: 'OFFICIAL' })).id;
      const rest = api(s.app, colleague);
      const version = expectProblem(await rest.put(`documents/${documentId}/content`, 'v2 from REST\n'), 423);
      expect(version.detail).toContain(holder.email);
      expect(version.detail).toMatch(/until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
      expectProblem(await rest.patch(`documents/${documentId}`, { name: 'renamed.csv' }), 423);
      expectProblem(await rest.patch(`documents/${documentId}`, { collectionId: other }), 423);
      expectProblem(await rest.delete(`documents/${documentId}`), 423);
      expectProblem(await rest.post(`documents/${documentId}/classification`, { classification: 'OFFICIAL', reason: 'No personal data in it' }), 423);
      // Nothing changed.
      const doc = (await rest.get(`documents/${documentId}`)).json();
      expect(doc).toMatchObject({ name: 'budget.csv', version: 1 });
    });

    it('refuses a new version from the web form with 423', async () => {
      const person = await addPerson(s.vault, org.slug, { teams: ['finance'] });
      const client = new FormClient(s.base);
      await client.signIn(person.email);
      const page = await client.get(`/documents/${documentId}`);
      const form = new FormData();
      form.append('_csrf', FormClient.csrf(page.text));
      form.append('file', new Blob(['v2 from the web\n']), 'budget.csv');
      const res = await client.request('POST', `/documents/${documentId}/versions`, { body: form });
      expect(res.status).toBe(423);
      expect(res.text).toContain('govuk-error-summary');
      expect(res.text).toContain('locked');
    });

    it('still lets the holder write over WebDAV with the token, and over REST with Lock-Token', async () => {
      expect((await dav(s.base, 'PUT', path, { user: holder, body: 'v2\n' })).status).toBe(423);
      expect((await dav(s.base, 'PUT', path, { user: holder, body: 'v2\n', headers: { if: `(<${token}>)` } })).status).toBe(204);
      // A colleague presenting the holder's token is still refused: tokens are not bearer secrets.
      expectProblem(await api(s.app, colleague).put(`documents/${documentId}/content`, 'v3\n', { 'lock-token': `<${token}>` }), 423);
      const holderRest = api(s.app, holder);
      expect((await holderRest.put(`documents/${documentId}/content`, 'v3\n', { 'lock-token': `<${token}>` })).statusCode).toBe(200);
      expect((await api(s.app, colleague).get(`documents/${documentId}/locks`)).json().locks).toEqual([expect.objectContaining({ token, documentId })]);
    });
  });

  it('binds a collection lock for uploads and new sub-collections over REST, and drops a document’s locks when it is moved', async () => {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const holder = await davUser(s.vault, org, { teams: ['finance'] });
    const colleague = await org.user({ teams: ['finance'] });
    expect((await dav(s.base, 'MKCOL', `/dav/${org.slug}/finance/locked`, { user: holder })).status).toBe(201);
    const locked = (await s.vault.store.repos.collections.childByName(org.id, org.collections.finance!, 'locked'))!.id;
    await lock(holder, `/dav/${org.slug}/finance/locked/`, 'infinity');
    expectProblem(await upload(s.app, colleague, locked, 'new.csv', 'a\n'), 423);
    expectProblem(await api(s.app, colleague).post('collections', { organisationId: org.id, parentId: locked, name: 'sub', serviceArea: 'finance', classification: 'OFFICIAL' }), 423);
    // Outside the locked folder work goes on.
    const free = await upload(s.app, colleague, org.collections.finance!, 'free.csv', 'a\n');
    expect(free.statusCode).toBe(201);
    // A document locked on its own: moving it (by its holder) drops the lock, as WebDAV MOVE would.
    expect((await dav(s.base, 'PUT', `/dav/${org.slug}/finance/moving.csv`, { user: holder, body: 'm\n' })).status).toBe(201);
    const docToken = await lock(holder, `/dav/${org.slug}/finance/moving.csv`, '0');
    const moving = (await s.vault.store.repos.documents.byName(org.collections.finance!, 'moving.csv'))!.id;
    expect((await s.app.inject({ method: 'PATCH', url: `/api/v1/documents/${moving}`, headers: { authorization: `Bearer ${holder.token}`, 'content-type': 'application/json', 'lock-token': `<${docToken}>` }, payload: JSON.stringify({ name: 'moved.csv' }) })).statusCode).toBe(200);
    expect((await api(s.app, colleague).get(`documents/${moving}/locks`)).json().locks).toEqual([]);
    expect((await api(s.app, colleague).put(`documents/${moving}/content`, 'n\n')).statusCode).toBe(200);
  });

  it('protects a locked document from WebDAV DELETE and MOVE of the folder around it', async () => {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const holder = await davUser(s.vault, org, { teams: ['finance'] });
    const colleague = await davUser(s.vault, org, { teams: ['finance'] });
    const folder = `/dav/${org.slug}/finance/reports`;
    expect((await dav(s.base, 'MKCOL', folder, { user: colleague })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${folder}/q1.csv`, { user: colleague, body: 'q1\n' })).status).toBe(201);
    await lock(holder, `${folder}/q1.csv`, '0');
    const destination = `${s.base}/dav/${org.slug}/finance/renamed`;
    expect((await dav(s.base, 'MOVE', folder, { user: colleague, headers: { destination } })).status).toBe(423);
    expect((await dav(s.base, 'DELETE', folder, { user: colleague })).status).toBe(423);
    // A sibling is not covered by a lock on one document.
    expect((await dav(s.base, 'PUT', `${folder}/q2.csv`, { user: colleague, body: 'q2\n' })).status).toBe(201);
    expect((await dav(s.base, 'GET', `${folder}/q1.csv`, { user: colleague })).body).toBe('q1\n');
  });

  it('lapses a lock when its holder’s clearance falls below the document’s classification', async () => {
    const org = await createOrganisation(s.vault, { areas: { hr: 'OFFICIAL-SENSITIVE' } });
    const holder = await davUser(s.vault, org, { teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' });
    const colleague = await org.user({ teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' });
    expect((await dav(s.base, 'PUT', `/dav/${org.slug}/hr/case.txt`, { user: holder, body: 'x\n' })).status).toBe(201);
    const token = await lock(holder, `/dav/${org.slug}/hr/case.txt`, '0');
    const id = (await s.vault.store.repos.documents.byName(org.collections.hr!, 'case.txt'))!.id;
    expectProblem(await api(s.app, colleague).put(`documents/${id}/content`, 'y\n'), 423);
    await s.vault.store.repos.users.update(holder.id, { clearance: 'OFFICIAL' });
    expect((await api(s.app, colleague).put(`documents/${id}/content`, 'y\n')).statusCode).toBe(200);
    expect(await auditActions({ action: 'lock.lapse', token })).toEqual([expect.objectContaining({ reason: 'clearance' })]);
  });

  it('shows an admin the organisation’s locks on a web page, and breaks one from there (audited)', async () => {
    const p = await sharedService();
    const token = await lock(p.hostStaff, `/dav/${p.partner.slug}/payroll/`);
    const admin = await addPerson(s.vault, p.partner.slug, { roles: ['org_admin'] });
    const secret = await enrolTotp(s.vault, admin.id);
    const client = new FormClient(s.base);
    await client.signIn(admin.email, undefined, secret);
    const page = await client.get('/admin/locks');
    expect(page.status).toBe(200);
    expect(page.text).toContain(p.hostStaff.email);
    const broken = await client.post('/admin/locks/break', { _csrf: FormClient.csrf(page.text), token });
    expect(broken.status).toBe(303);
    expect(broken.location).toBe('/admin/locks?done=broken');
    expect((await client.get('/admin/locks')).text).toContain('Nothing is locked.');
    expect(await auditActions({ action: 'lock.break', token })).toEqual([expect.objectContaining({ decision: 'allow', actor_user_id: admin.id })]);
    // A member has no such page.
    const member = await addPerson(s.vault, p.partner.slug, { teams: ['payroll'] });
    const memberClient = new FormClient(s.base);
    await memberClient.signIn(member.email);
    expect((await memberClient.get('/admin/locks')).status).toBe(404);
  });

  it('lapses a lock when its holder is disabled', async () => {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const holder = await davUser(s.vault, org, { teams: ['finance'] });
    const colleague = await org.user({ teams: ['finance'] });
    expect((await dav(s.base, 'PUT', `/dav/${org.slug}/finance/d.csv`, { user: holder, body: 'x\n' })).status).toBe(201);
    const token = await lock(holder, `/dav/${org.slug}/finance/d.csv`, '0');
    const id = (await s.vault.store.repos.documents.byName(org.collections.finance!, 'd.csv'))!.id;
    expectProblem(await api(s.app, colleague).put(`documents/${id}/content`, 'y\n'), 423);
    await s.vault.store.repos.users.update(holder.id, { disabled: true });
    expect((await api(s.app, colleague).put(`documents/${id}/content`, 'y\n')).statusCode).toBe(200);
    expect(await auditActions({ action: 'lock.lapse', token })).toEqual([expect.objectContaining({ reason: 'holder_disabled' })]);
  });
});
