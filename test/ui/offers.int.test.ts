// What the web pages offer is what decide() would allow: arrangement steps and the joint workspace by
// party, role and lifecycle; document forms by access; navigation by role; breadcrumbs name only the
// folders the reader may list. Posting what is not offered is refused with the exact status, and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp } from './support.js';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

const STEP_BUTTONS = ['accept', 'suspend', 'resume', 'end', 'workspace'] as const;
type Step = (typeof STEP_BUTTONS)[number];

/** The step buttons a page offers (by their ids). */
const offered = (html: string): Step[] => STEP_BUTTONS.filter((step) => html.includes(`id="${step}-arrangement"`));
const revisionOn = (html: string): string => /name="revision" value="(\d+)"/.exec(html)?.[1] ?? 'none';

describe.each(DIALECTS)('what the web pages offer on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  async function signedIn(slug: string, spec: { roles?: string[]; teams?: string[] }) {
    const person = await addPerson(t.vault, slug, spec);
    const admin = (spec.roles ?? []).some((r) => r !== 'member');
    const secret = admin ? await enrolTotp(t.vault, person.id) : undefined;
    const client = new FormClient(base);
    await client.signIn(person.email, PASSWORD, secret);
    return client;
  }

  async function events(arrangementId: string, action: string) {
    const rows = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', action).execute();
    return rows.filter((e) => JSON.parse(e.target_ids).arrangementId === arrangementId);
  }

  it('offers each arrangement step to the party, role and status decide() allows, and refuses the rest when posted anyway', async () => {
    const [host, partner] = [await createOrganisation(t.vault), await createOrganisation(t.vault)];
    const hostApi = await host.user({ roles: ['org_admin'] });
    const hostAdmin = await signedIn(host.slug, { roles: ['org_admin'] });
    const partnerAdmin = await signedIn(partner.slug, { roles: ['org_admin'] });
    const partnerMember = await signedIn(partner.slug, { teams: ['finance'] });
    const proposed = await api(t.app, hostApi).post('arrangements', {
      partners: [partner.slug], serviceArea: 'finance', purpose: 'Shared finance team', lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const id: string = proposed.json().id;
    const url = `/arrangements/${id}`;
    const state = async () => (await api(t.app, hostApi).get(`arrangements/${id}`)).json().arrangement as { status: string; acceptedBy: string[]; revision: number };

    // Draft: the partner's admin accepts (or ends); the host's admin sets up the workspace (or ends); a member does nothing.
    expect(offered((await partnerAdmin.get(url)).text)).toEqual(['accept', 'end']);
    expect(offered((await hostAdmin.get(url)).text)).toEqual(['end', 'workspace']);
    const memberDraft = await partnerMember.get(url);
    expect(memberDraft.status).toBe(200);
    expect(offered(memberDraft.text)).toEqual([]);
    const memberAccept = await partnerMember.post(`${url}/accept`, { _csrf: FormClient.csrf(memberDraft.text), revision: '1' });
    expect(memberAccept.status).toBe(400);
    expect(memberAccept.text).toContain('Only an org admin of a party can do that.');
    expect(await state()).toMatchObject({ status: 'draft', acceptedBy: [], revision: 1 });

    const review = await partnerAdmin.get(url);
    const accepted = await partnerAdmin.post(`${url}/accept`, { _csrf: FormClient.csrf(review.text), revision: revisionOn(review.text) });
    expect(accepted.status).toBe(303);
    expect(await state()).toMatchObject({ status: 'active', acceptedBy: [partner.id], revision: 2 });
    // The event is the step's, and carries the decision that allowed it.
    expect((await events(id, 'arrangement.accepted')).map((e) => [e.decision, e.reason])).toEqual([['allow', 'partner_admin']]);

    // The host's admin sets up the joint workspace from the page.
    const hostPage = await hostAdmin.get(url);
    const created = await hostAdmin.post(`${url}/workspace`, { _csrf: FormClient.csrf(hostPage.text), name: 'Shared ledgers' });
    expect(created.status).toBe(303);
    const workspaceId = /^\/collections\/([0-9a-f-]{36})$/.exec(created.location ?? '')?.[1];
    expect(workspaceId).toBeDefined();

    // Active: either side's admin suspends or ends; nobody accepts; only a suspended one is reinstated.
    expect(offered((await partnerAdmin.get(url)).text)).toEqual(['suspend', 'end']);
    expect(offered((await hostAdmin.get(url)).text)).toEqual(['suspend', 'end', 'workspace']);
    const memberActive = await partnerMember.get(url);
    expect(offered(memberActive.text)).toEqual([]);
    expect(memberActive.text).toContain(`href="/collections/${workspaceId}"`);
    const memberSuspend = await partnerMember.post(`${url}/suspend`, { _csrf: FormClient.csrf(memberActive.text) });
    expect(memberSuspend.status).toBe(400);
    expect(memberSuspend.text).toContain('Only an org admin of a party can do that.');
    expect(await state()).toMatchObject({ status: 'active' });

    const partnerActive = await partnerAdmin.get(url);
    const suspended = await partnerAdmin.post(`${url}/suspend`, { _csrf: FormClient.csrf(partnerActive.text) });
    expect(suspended.status).toBe(303);
    expect(await state()).toMatchObject({ status: 'suspended', revision: 3 });
    expect((await events(id, 'arrangement.suspended')).map((e) => [e.decision, e.reason])).toEqual([['allow', 'party_admin']]);

    // Suspended: the partner's team no longer sees the workspace; the partner's admin cannot accept or reinstate.
    const memberSuspended = await partnerMember.get(url);
    expect(memberSuspended.text).not.toContain(`/collections/${workspaceId}`);
    expect((await partnerMember.get(`/collections/${workspaceId}`)).status).toBe(404);
    const partnerSuspended = await partnerAdmin.get(url);
    expect(offered(partnerSuspended.text)).toEqual(['end']);
    expect(offered((await hostAdmin.get(url)).text)).toEqual(['resume', 'end', 'workspace']);
    const lateAccept = await partnerAdmin.post(`${url}/accept`, { _csrf: FormClient.csrf(partnerSuspended.text), revision: '3' });
    expect(lateAccept.status).toBe(400);
    expect(lateAccept.text).toContain('This arrangement is not waiting for your organisation&#39;s acceptance.');
    const partnerResume = await partnerAdmin.post(`${url}/resume`, { _csrf: FormClient.csrf(partnerSuspended.text) });
    expect(partnerResume.status).toBe(400);
    expect(await state()).toMatchObject({ status: 'suspended', acceptedBy: [partner.id], revision: 3 });

    // Ended: nothing is offered to anyone.
    const ended = await hostAdmin.post(`${url}/end`, { _csrf: FormClient.csrf((await hostAdmin.get(url)).text) });
    expect(ended.status).toBe(303);
    for (const client of [hostAdmin, partnerAdmin, partnerMember]) expect(offered((await client.get(url)).text)).toEqual([]);
  });

  it('offers proposing, and the organisation pages in the navigation, to the roles decide() allows', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await signedIn(org.slug, { roles: ['org_admin'] });
    const security = await signedIn(org.slug, { roles: ['member', 'security_admin'] });
    const member = await signedIn(org.slug, { teams: ['finance'] });
    expect((await admin.get('/arrangements')).text).toContain('id="propose"');
    expect((await member.get('/arrangements')).text).not.toContain('id="propose"');
    const nav = (html: string) => ['/admin/users', '/admin/quarantine', '/admin/locks', '/audit'].filter((href) => html.includes(`href="${href}"`));
    expect(nav((await admin.get('/')).text)).toEqual(['/admin/users', '/admin/locks']);
    expect((await admin.get('/')).text).toContain('href="/audit/verify"');
    expect(nav((await security.get('/')).text)).toEqual(['/admin/quarantine', '/admin/locks']);
    expect(nav((await member.get('/')).text)).toEqual([]);
    expect((await member.get('/admin/quarantine')).status).toBe(404);
  });

  it('offers a reader through an arrangement only reading: no forms to change a document, and a post anyway is 404', async () => {
    const [host, partner] = [await createOrganisation(t.vault), await createOrganisation(t.vault)];
    const hostApi = await host.user({ roles: ['org_admin'] });
    const partnerApi = await partner.user({ roles: ['org_admin'] });
    const a = (await api(t.app, hostApi).post('arrangements', {
      partners: [partner.slug], serviceArea: 'finance', purpose: 'Finance reading', lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL',
    })).json();
    expect((await api(t.app, partnerApi).post(`arrangements/${a.id}/accept`, { revision: a.revision })).statusCode).toBe(200);
    const partnerStaff = await partner.user({ teams: ['finance'] });
    const doc = (await upload(t.app, partnerStaff, partner.collections.finance!, 'ledger.csv', 'a,b\n')).json();
    const owner = await signedIn(partner.slug, { teams: ['finance'] });
    const reader = await signedIn(host.slug, { teams: ['finance'] });

    const forms = (html: string) => ['versions', 'rename', 'classification', 'delete', 'restore', 'history'].filter((what) => html.includes(`/documents/${doc.id}/${what}"`));
    const own = await owner.get(`/documents/${doc.id}`);
    expect(own.status).toBe(200);
    expect(forms(own.text)).toEqual(['versions', 'rename', 'classification', 'delete', 'history']);
    expect(own.text).toContain('id="download"');
    const read = await reader.get(`/documents/${doc.id}`);
    expect(read.status).toBe(200);
    expect(forms(read.text)).toEqual([]);
    expect(read.text).toContain('id="download"');
    const refused = await reader.post(`/documents/${doc.id}/delete`, { _csrf: FormClient.csrf(read.text) });
    expect(refused.status).toBe(404);
    expect((await api(t.app, partnerStaff).get(`documents/${doc.id}`)).json()).toMatchObject({ deletedAt: null });
    // The owner's own collection page offers uploading; the reader's view of it does not.
    expect((await owner.get(`/collections/${partner.collections.finance}`)).text).toContain('Upload files here');
    const folder = await reader.get(`/collections/${partner.collections.finance}`);
    expect(folder.status).toBe(200);
    expect(folder.text).not.toContain('Upload files here');
    // Nor does the upload page offer it as a place to file.
    expect((await owner.get('/upload')).text).toContain(`value="${partner.collections.finance}"`);
    const uploadPage = await reader.get('/upload');
    expect(uploadPage.status).toBe(200);
    expect(uploadPage.text).not.toContain(`value="${partner.collections.finance}"`);
  });

  it('names in breadcrumbs only the folders the reader may list: a folder above their clearance is "…"', async () => {
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const cleared = await org.user({ teams: ['payroll'] });
    const lower = await org.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const folder = (await api(t.app, cleared).post('collections', { name: 'Tribunal J Smith', parentId: org.collections.payroll, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' })).json();
    const doc = (await upload(t.app, cleared, folder.id, 'outcome-letter.txt', 'The outcome\n')).json();
    // The letter itself is released to the wider team: classified down, with a reason, below its folder.
    const lowered = await api(t.app, cleared).post(`documents/${doc.id}/classification`, { classification: 'OFFICIAL', reason: 'Outcome letter, published to the team' });
    expect(lowered.statusCode, lowered.body).toBe(200);
    const client = new FormClient(base);
    await client.signIn(lower.email);
    for (const path of [`/documents/${doc.id}`, `/documents/${doc.id}/history`]) {
      const page = await client.get(path);
      expect(page.status, path).toBe(200);
      expect(page.text).toContain('outcome-letter.txt');
      expect(page.text).not.toContain('Tribunal J Smith');
      expect(page.text).not.toContain(`/collections/${folder.id}`);
      expect(page.text).toContain(`href="/collections/${org.collections.payroll}"`);
      expect(page.text).toMatch(/<li class="govuk-breadcrumbs__list-item"[^>]*>\s*…\s*<\/li>/);
    }
    // The colleague cleared for the folder sees its name and link.
    const colleague = new FormClient(base);
    await colleague.signIn(cleared.email);
    const full = await colleague.get(`/documents/${doc.id}`);
    expect(full.text).toContain(`href="/collections/${folder.id}"`);
    expect(full.text).toContain('Tribunal J Smith');
  });
});
