// Attacks on reach after the issue #10 fixes: what someone can do to, or learn about, things they
// may not see. Moving or deleting a folder that holds items above the actor's reach is refused as if
// the folder were not theirs to manage (404, audited, nothing changed); breadcrumbs name only the
// folders the reader may list; a lock's 423 names its holder only to the holder's organisation and
// the owner's admins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api, expectProblem } from '../support/http.js';
import { eicar } from '../support/samples.js';
import { DIALECTS, upload, createPartnership } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from '../ui/support.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();

const lockinfo = (owner: string) =>
  `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

describe.each(DIALECTS)('reach over hidden things on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  async function denials(userId: string, action: string) {
    return s.vault.store.db.selectFrom('audit_events').selectAll()
      .where('actor_user_id', '=', userId).where('decision', '=', 'deny').where('action', '=', action).execute();
  }

  /**
   * An OFFICIAL finance folder "Bids" with an OFFICIAL document, an OFFICIAL-SENSITIVE document and an
   * OFFICIAL-SENSITIVE sub-folder; an OFFICIAL-cleared records manager in the team sees only the first.
   */
  async function folderWithHiddenItems() {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const cleared = await org.user({ teams: ['finance'] });
    const lower = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL', roles: ['member', 'records_manager'] });
    const as = api(s.app, cleared);
    const bids = (await as.post('collections', { name: 'Bids', parentId: org.collections.finance, serviceArea: 'finance', classification: 'OFFICIAL' })).json();
    const other = (await as.post('collections', { name: 'Archive', parentId: org.collections.finance, serviceArea: 'finance', classification: 'OFFICIAL' })).json();
    const open = (await upload(s.app, cleared, bids.id, 'open.txt', 'open\n')).json();
    const hidden = (await upload(s.app, cleared, bids.id, 'tribunal.txt', 'sensitive\n')).json();
    const classified = await as.post(`documents/${hidden.id}/classification`, { classification: 'OFFICIAL-SENSITIVE', reason: 'Tribunal papers' });
    expect(classified.statusCode, classified.body).toBe(200);
    hidden.classification = classified.json().classification;
    expect(hidden.classification).toBe('OFFICIAL-SENSITIVE');
    const hiddenFolder = (await as.post('collections', { name: 'Grievances', parentId: bids.id, serviceArea: 'finance', classification: 'OFFICIAL-SENSITIVE' })).json();
    // The lower-cleared records manager sees the folder and the OFFICIAL document only.
    const listing = (await api(s.app, lower).get(`collections/${bids.id}`)).json();
    expect(JSON.stringify(listing)).not.toContain('tribunal');
    expect(JSON.stringify(listing)).not.toContain('Grievances');
    return { org, cleared, lower, bids, other, open, hidden, hiddenFolder };
  }

  it('refuses moving a folder holding documents above the mover’s clearance as if the folder were not theirs (404, audited, nothing moved)', async () => {
    const f = await folderWithHiddenItems();
    const res = await api(s.app, f.lower).patch(`collections/${f.bids.id}`, { parentId: f.other.id });
    const problem = expectProblem(res, 404);
    // The same answer as for a folder that never existed: nothing tells of the hidden items.
    const never = expectProblem(await api(s.app, f.lower).patch('collections/00000000-0000-4000-8000-000000000000', { parentId: f.other.id }), 404);
    expect(problem.detail).toBe(never.detail);
    expect((await api(s.app, f.cleared).get(`collections/${f.bids.id}`)).json()).toMatchObject({ parentId: f.org.collections.finance });
    expect((await denials(f.lower.id, 'collection.move')).some((e) => JSON.parse(e.target_ids).collectionId === f.bids.id)).toBe(true);
  });

  it('refuses moving a folder holding a sub-folder above the mover’s clearance, over WebDAV too', async () => {
    const f = await folderWithHiddenItems();
    // Take the hidden document out, so only the hidden sub-folder remains below.
    expect((await api(s.app, f.cleared).patch(`documents/${f.hidden.id}`, { collectionId: f.other.id })).statusCode).toBe(200);
    const res = await dav(s.base, 'MOVE', `/dav/${f.org.slug}/finance/Bids/`, { user: f.lower, headers: { destination: `${s.base}/dav/${f.org.slug}/finance/Archive/Bids/` } });
    // WebDAV tells someone who sees a folder that they may not change it with 403, whatever the reason.
    expect(res.status).toBe(403);
    expect((await api(s.app, f.cleared).get(`collections/${f.bids.id}`)).json()).toMatchObject({ parentId: f.org.collections.finance });
  });

  it('refuses deleting over WebDAV a folder holding a document the deleter cannot see, and deletes nothing (it used to delete the visible part)', async () => {
    const f = await folderWithHiddenItems();
    const res = await dav(s.base, 'DELETE', `/dav/${f.org.slug}/finance/Bids/`, { user: f.lower });
    expect(res.status).toBe(403);
    for (const id of [f.open.id, f.hidden.id]) expect((await api(s.app, f.cleared).get(`documents/${id}`)).json()).toMatchObject({ deletedAt: null });
    expect((await api(s.app, f.cleared).get(`collections/${f.bids.id}`)).statusCode).toBe(200);
    expect((await denials(f.lower.id, 'collection.delete')).some((e) => JSON.parse(e.target_ids).collectionId === f.bids.id)).toBe(true);
  });

  it('shows a security admin outside the team a quarantined file without naming the folders above it', async () => {
    const org = await createOrganisation(s.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const folder = (await api(s.app, staff).post('collections', { name: 'Tribunal J Smith', parentId: org.collections.payroll, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' })).json();
    await upload(s.app, staff, folder.id, 'statement.txt', eicar());
    const doc = (await s.vault.store.db.selectFrom('documents').select(['id', 'status']).where('collection_id', '=', folder.id).executeTakeFirstOrThrow());
    expect(doc.status).toBe('quarantined');
    const securityAdmin = await addPerson(s.vault, org.slug, { roles: ['member', 'security_admin'] });
    const secret = await enrolTotp(s.vault, securityAdmin.id);
    const client = new FormClient(s.base);
    await client.signIn(securityAdmin.email, undefined, secret);
    const page = await client.get(`/documents/${doc.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('statement.txt');
    expect(page.text).not.toContain('Tribunal J Smith');
    expect(page.text).not.toContain(`/collections/${folder.id}`);
    expect(page.text).not.toContain(`/collections/${org.collections.payroll}`);
    expect(page.text).toContain('…');
  });

  /** A host payroll team serving a partner at manage level; the host's staff hold a lock on a partner folder. */
  async function lockedPartnerFolder() {
    const { host, partner, arrangement } = await createPartnership(s.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    expect(arrangement.status).toBe('active');
    const holder: DavUser = await davUser(s.vault, host, { teams: ['payroll'] });
    const res = await dav(s.base, 'LOCK', `/dav/${partner.slug}/payroll/`, { user: holder, headers: { timeout: 'Second-3600', depth: 'infinity' }, body: lockinfo('editor') });
    expect(res.status, res.body).toBe(200);
    return { host, partner, holder, token: /^<(.+)>$/.exec(res.headers.get('lock-token')!)![1]! };
  }

  it("does not name a lock's holder to another organisation's staff, in the 423 or the lock listing", async () => {
    const l = await lockedPartnerFolder();
    const partnerStaff = await l.partner.user({ teams: ['payroll'] });
    const refused = await upload(s.app, partnerStaff, l.partner.collections.payroll!, 'slip.csv', 'a,b\n');
    const problem = expectProblem(refused, 423);
    expect(JSON.stringify(problem)).not.toContain(l.holder.email);
    expect(JSON.stringify(problem)).not.toContain('Test User');
    expect(problem.detail).toContain(`someone in Test ${l.host.slug}`);
    const listed = await api(s.app, partnerStaff).get(`collections/${l.partner.collections.payroll}/locks`);
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(l.holder.email);
    expect(listed.body).toContain(`Test ${l.host.slug}`);
  });

  it("names a lock's holder to the holder's colleagues and to the owning organisation's admins", async () => {
    const l = await lockedPartnerFolder();
    const colleague = await l.host.user({ teams: ['payroll'] });
    const colleagueRefused = expectProblem(await upload(s.app, colleague, l.partner.collections.payroll!, 'slip.csv', 'a,b\n'), 423);
    expect(colleagueRefused.detail).toContain(l.holder.email);
    const partnerAdmin = await l.partner.user({ roles: ['member', 'org_admin'], teams: ['payroll'] });
    const adminRefused = expectProblem(await upload(s.app, partnerAdmin, l.partner.collections.payroll!, 'slip.csv', 'a,b\n'), 423);
    expect(adminRefused.detail).toContain(l.holder.email);
    expect((await api(s.app, partnerAdmin).get('locks')).body).toContain(l.holder.email);
  });

  it("does not show a partner's manager the e-mail addresses of the host's staff in a document's access history", async () => {
    const l = await lockedPartnerFolder();
    const workspace = await s.vault.arrangements.createWorkspace(systemActor(), (await s.vault.arrangements.list(systemActor(), { organisationId: l.host.id }))[0]!.id, 'Joint payroll');
    const hostStaff = await l.host.user({ teams: ['payroll'] });
    const doc = (await upload(s.app, hostStaff, workspace.id, 'rota.csv', 'a,b\n')).json();
    expect((await api(s.app, hostStaff).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    const partnerManager = await addPerson(s.vault, l.partner.slug, { teams: ['payroll'] });
    const client = new FormClient(s.base);
    await client.signIn(partnerManager.email);
    const page = await client.get(`/documents/${doc.id}/history`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(hostStaff.email);
    expect(page.text).toContain(`someone in Test ${l.host.slug}`);
    // The partner's own people are named to them.
    const colleague = await l.partner.user({ teams: ['payroll'] });
    expect((await api(s.app, colleague).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    const ownView = await client.get(`/documents/${doc.id}/history`);
    expect(ownView.text).toContain(colleague.email);
  });

  it('lists for an admin below a document’s clearance a lock on it without its name or path, and the admin can still break it', async () => {
    const org = await createOrganisation(s.vault);
    const editor = await davUser(s.vault, org, { teams: ['payroll'] });
    await upload(s.app, editor, org.collections.payroll!, 'tribunal-j-smith.docx.txt', 'x\n');
    const locked = await dav(s.base, 'LOCK', `/dav/${org.slug}/payroll/tribunal-j-smith.docx.txt`, { user: editor, headers: { timeout: 'Second-3600' }, body: lockinfo('editor') });
    expect(locked.status, locked.body).toBe(200);
    const admin = await org.user({ roles: ['member', 'org_admin'], clearance: 'OFFICIAL' });
    const listed = await api(s.app, admin).get('locks');
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain('tribunal');
    expect(listed.json().locks).toMatchObject([{ resourceName: null, path: null }]);
    const token = listed.json().locks[0].token as string;
    expect((await api(s.app, admin).delete(`locks/${encodeURIComponent(token)}`)).statusCode).toBe(204);
  });

  it('audits a guess at a hidden document’s name (the clash itself cannot be hidden), and does not suggest a new version of it', async () => {
    const f = await folderWithHiddenItems();
    const guess = expectProblem(await upload(s.app, f.lower, f.bids.id, 'tribunal.txt', 'probe\n'), 409);
    expect(guess.detail).not.toMatch(/new version/i);
    const probes = await denials(f.lower.id, 'document.read');
    expect(probes.some((e) => JSON.parse(e.target_ids).documentId === f.hidden.id)).toBe(true);
    // Moving one's own document onto that name is audited the same way.
    expectProblem(await api(s.app, f.lower).patch(`documents/${f.open.id}`, { name: 'tribunal.txt' }), 409);
    expect((await denials(f.lower.id, 'document.read')).filter((e) => JSON.parse(e.target_ids).documentId === f.hidden.id)).toHaveLength(2);
  });

  it('audits a guess at a hidden sub-folder’s name when creating or moving a folder', async () => {
    const f = await folderWithHiddenItems();
    const as = api(s.app, f.lower);
    expectProblem(await as.post('collections', { name: 'Grievances', parentId: f.bids.id, serviceArea: 'finance', classification: 'OFFICIAL' }), 409);
    const mine = (await as.post('collections', { name: 'Notes', parentId: f.other.id, serviceArea: 'finance', classification: 'OFFICIAL' })).json();
    expectProblem(await as.patch(`collections/${mine.id}`, { parentId: f.bids.id, name: 'Grievances' }), 409);
    const probes = (await denials(f.lower.id, 'collection.list')).filter((e) => JSON.parse(e.target_ids).collectionId === f.hiddenFolder.id);
    expect(probes).toHaveLength(2);
  });

  it('refuses a WebDAV MOVE of a folder holding hidden items onto an existing folder without deleting the destination first', async () => {
    const f = await folderWithHiddenItems();
    const res = await dav(s.base, 'MOVE', `/dav/${f.org.slug}/finance/Bids/`, { user: f.lower, headers: { destination: `${s.base}/dav/${f.org.slug}/finance/Archive/`, overwrite: 'T' } });
    expect(res.status).toBe(403);
    expect((await api(s.app, f.cleared).get(`collections/${f.other.id}`)).statusCode).toBe(200);
    expect((await api(s.app, f.cleared).get(`collections/${f.bids.id}`)).json()).toMatchObject({ parentId: f.org.collections.finance, name: 'Bids' });
  });
});
