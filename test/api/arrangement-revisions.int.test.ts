// An arrangement's revisions against what the policy reads: every amendment changes exactly what its
// revision says (partners included), a removed partner is no longer a party anywhere (REST, WebDAV),
// and an acceptance names the revision its partner reviewed: stale terms are refused (409, audited).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { alignArrangementsWithTheirTerms } from '../../src/db/migrations/202611300103_arrangement_terms_revision.js';
import type { Arrangement } from '../../src/domain/types.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { dav, davUser, openDavServer, type DavServer } from '../webdav/support.js';

const clamd = useClamd();

const TERMS = {
  serviceArea: 'payroll', purpose: 'Payroll processing', lawfulBasis: 'UK GDPR Art 6(1)(e) public task', agreementReference: 'DSA-7',
  accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: '2026-01-01', endsAt: '2031-01-01', annualSavingPounds: 5000,
};

interface Party {
  org: TestOrganisation;
  admin: TestUser;
}

describe.each(DIALECTS)('arrangement revisions and acceptance on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  async function party(): Promise<Party> {
    const org = await createOrganisation(s.vault);
    return { org, admin: await org.user({ roles: ['org_admin'] }) };
  }

  async function propose(host: Party, partners: Party[], terms: Record<string, unknown> = {}): Promise<string> {
    const res = await api(s.app, host.admin).post('arrangements', { ...TERMS, ...terms, partners: partners.map((p) => p.org.slug) });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  async function current(who: Party, id: string): Promise<Arrangement> {
    const res = await api(s.app, who.admin).get(`arrangements/${id}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().arrangement as Arrangement;
  }

  /** Accepts the terms as the partner's org admin has just seen them. */
  async function accept(partner: Party, id: string) {
    const seen = await current(partner, id);
    const res = await api(s.app, partner.admin).post(`arrangements/${id}/accept`, { revision: seen.revision });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as Arrangement;
  }

  /**
   * The newest revision is a snapshot of exactly what decide() is given: the arrangement as the
   * access service loads it for the host and for every partner, and as the API shows it.
   */
  async function expectRevisionIsWhatThePolicyReads(host: Party, id: string, everyone: Party[]): Promise<Arrangement> {
    const shown = (await api(s.app, host.admin).get(`arrangements/${id}`)).json() as { arrangement: Arrangement; revisions: { revision: number; snapshot: Arrangement }[] };
    const latest = shown.revisions.at(-1)!;
    expect(latest.revision).toBe(shown.arrangement.revision);
    expect(shown.revisions.map((r) => r.revision)).toEqual(shown.revisions.map((_, i) => i + 1));
    const asHost = (await s.vault.store.repos.arrangements.involving([host.org.id])).find((a) => a.id === id);
    expect(asHost).toEqual(latest.snapshot);
    // As the API shows it: the snapshot, and what it means now beside it (a derived standing, not stored).
    const { standing, ...stored } = shown.arrangement as Arrangement & { standing: string };
    expect(stored).toEqual(latest.snapshot);
    expect(standing).toBe(latest.snapshot.status === 'active' ? 'in-force' : latest.snapshot.status);
    for (const p of everyone) {
      const seenFor = (await s.vault.store.repos.arrangements.involving([p.org.id])).find((a) => a.id === id);
      if (latest.snapshot.partnerOrganisationIds.includes(p.org.id)) expect(seenFor, `partner ${p.org.slug}`).toEqual(latest.snapshot);
      else expect(seenFor, `former or never partner ${p.org.slug}`).toBeUndefined();
    }
    return latest.snapshot;
  }

  it('stores exactly what each revision says after every kind of change', async () => {
    const [host, a, b, c] = [await party(), await party(), await party(), await party()];
    const everyone = [a, b, c];
    const id = await propose(host, [a, b]);
    const hostAdmin = api(s.app, host.admin);
    const sorted = (ps: Party[]) => ps.map((p) => p.org.id).sort();
    expect((await expectRevisionIsWhatThePolicyReads(host, id, everyone)).partnerOrganisationIds).toEqual(sorted([a, b]));

    const amend = async (change: Record<string, unknown>) => {
      const res = await hostAdmin.patch(`arrangements/${id}`, change);
      expect(res.statusCode, res.body).toBe(200);
      return expectRevisionIsWhatThePolicyReads(host, id, everyone);
    };
    // A partner added, then one removed.
    expect((await amend({ partners: [a.org.slug, b.org.slug, c.org.slug] })).partnerOrganisationIds).toEqual(sorted([a, b, c]));
    expect((await amend({ partners: [b.org.slug, c.org.slug] })).partnerOrganisationIds).toEqual(sorted([b, c]));
    expect(await amend({ accessLevel: 'manage' })).toMatchObject({ accessLevel: 'manage' });
    expect(await amend({ ceiling: 'OFFICIAL-SENSITIVE' })).toMatchObject({ ceiling: 'OFFICIAL-SENSITIVE' });
    expect(await amend({ startsAt: '2026-02-01', endsAt: '2030-06-30' })).toMatchObject({ startsAt: '2026-02-01T00:00:00.000Z', endsAt: '2030-06-29T23:00:00.000Z' }); // 30 June begins at midnight BST

    // Accepting after all those amendments; the removed partner is not among those whose word counts.
    await accept(b, id);
    expect(await expectRevisionIsWhatThePolicyReads(host, id, everyone)).toMatchObject({ status: 'draft', acceptedBy: [b.org.id] });
    await accept(c, id);
    expect(await expectRevisionIsWhatThePolicyReads(host, id, everyone)).toMatchObject({ status: 'active', acceptedBy: sorted([b, c]) });
    expect((await hostAdmin.post(`arrangements/${id}/suspend`)).statusCode).toBe(200);
    expect(await expectRevisionIsWhatThePolicyReads(host, id, everyone)).toMatchObject({ status: 'suspended' });
    expect((await hostAdmin.post(`arrangements/${id}/resume`)).statusCode).toBe(200);
    expect(await expectRevisionIsWhatThePolicyReads(host, id, everyone)).toMatchObject({ status: 'draft', acceptedBy: [] });
    expect((await api(s.app, b.admin).post(`arrangements/${id}/end`)).statusCode).toBe(200);
    expect(await expectRevisionIsWhatThePolicyReads(host, id, everyone)).toMatchObject({ status: 'ended' });
  });

  it('takes a removed partner out at once: it cannot accept, and its team loses the joint workspace over REST and WebDAV', async () => {
    const [host, kept, removed] = [await party(), await party(), await party()];
    const id = await propose(host, [kept, removed], { ceiling: 'OFFICIAL-SENSITIVE' });
    const hostAdmin = api(s.app, host.admin);
    const workspaceName = `Joint payroll ${randomUUID().slice(0, 6)}`;
    const workspace = await hostAdmin.post(`arrangements/${id}/workspace`, { name: workspaceName });
    expect(workspace.statusCode, workspace.body).toBe(201);
    const hostTeam = await host.org.user({ teams: ['payroll'] });
    const shared = (await upload(s.app, hostTeam, workspace.json().id, 'joint-rota.csv', 'week,who\n1,ann\n')).json();
    const removedTeam = await davUser(s.vault, removed.org, { teams: ['payroll'] });
    const keptTeam = await davUser(s.vault, kept.org, { teams: ['payroll'] });
    const removedOwn = (await upload(s.app, removedTeam, removed.org.collections.payroll!, 'own-slips.csv', 'net\n1\n')).json();
    const davPath = `/dav/${host.org.slug}/${encodeURIComponent(workspaceName)}/joint-rota.csv`;

    await accept(kept, id);
    await accept(removed, id);
    // While it is a partner, its team uses the joint workspace and the host's team serves its payroll.
    expect((await api(s.app, removedTeam).get(`documents/${shared.id}/content`)).statusCode).toBe(200);
    expect((await dav(s.base, 'GET', davPath, { user: removedTeam })).status).toBe(200);
    expect((await api(s.app, hostTeam).get(`documents/${removedOwn.id}`)).statusCode).toBe(200);

    // Terms change only in draft: suspend, reinstate, then amend the partner away.
    expect((await hostAdmin.post(`arrangements/${id}/suspend`)).statusCode).toBe(200);
    expect((await hostAdmin.post(`arrangements/${id}/resume`)).statusCode).toBe(200);
    const amended = await hostAdmin.patch(`arrangements/${id}`, { partners: [kept.org.slug] });
    expect(amended.statusCode, amended.body).toBe(200);
    const terms = await current(host, id);
    expect(terms.partnerOrganisationIds).toEqual([kept.org.id]);

    // No longer a party: its acceptance of the new terms is refused as if the draft did not exist.
    expectProblem(await api(s.app, removed.admin).post(`arrangements/${id}/accept`, { revision: terms.revision }), 404);
    expectProblem(await api(s.app, removed.admin).get(`arrangements/${id}`), 404);
    expect((await current(host, id)).acceptedBy).toEqual([]);

    expect((await accept(kept, id)).status).toBe('active');
    expectProblem(await api(s.app, removedTeam).get(`documents/${shared.id}`), 404);
    expectProblem(await api(s.app, removedTeam).get(`documents/${shared.id}/content`), 404);
    expectProblem(await api(s.app, removedTeam).get(`collections/${workspace.json().id}`), 404);
    expect((await dav(s.base, 'GET', davPath, { user: removedTeam })).status).toBe(404);
    // Writing into it answers exactly as writing into a folder that does not exist (RFC 4918: 409, missing parent).
    const planted = await dav(s.base, 'PUT', `/dav/${host.org.slug}/${encodeURIComponent(workspaceName)}/planted.csv`, { user: removedTeam, body: 'x' });
    const nowhere = await dav(s.base, 'PUT', `/dav/${host.org.slug}/No%20such%20folder/planted.csv`, { user: removedTeam, body: 'x' });
    expect([planted.status, planted.body]).toEqual([409, nowhere.body]);
    expectProblem(await api(s.app, hostTeam).get(`documents/${removedOwn.id}`), 404);
    // The partner that stayed keeps the workspace.
    expect((await dav(s.base, 'GET', davPath, { user: keptTeam })).status).toBe(200);
  });

  it('refuses an acceptance of terms that changed since the partner reviewed them, with 409 and an audited refusal', async () => {
    const [host, a, b] = [await party(), await party(), await party()];
    const id = await propose(host, [a, b]);
    const reviewed = await current(a, id);
    expect(reviewed).toMatchObject({ revision: 1, termsRevision: 1, accessLevel: 'read', ceiling: 'OFFICIAL' });
    const hostAdmin = api(s.app, host.admin);
    expect((await hostAdmin.patch(`arrangements/${id}`, { accessLevel: 'manage' })).statusCode).toBe(200);
    expect((await hostAdmin.patch(`arrangements/${id}`, { ceiling: 'OFFICIAL-SENSITIVE' })).statusCode).toBe(200);

    const stale = expectProblem(await api(s.app, a.admin).post(`arrangements/${id}/accept`, { revision: reviewed.revision }), 409);
    expect(stale.detail).toBe('The terms of this arrangement changed since you reviewed them (you reviewed revision 1; it is now revision 3). Review the new terms and accept again.');
    expect(await current(host, id)).toMatchObject({ status: 'draft', acceptedBy: [], revision: 3, termsRevision: 3 });
    await s.vault.audit.sequencer.integrate();
    const refusals = await s.vault.store.repos.audit.query({ organisationId: a.org.id, actorUserId: a.admin.id, action: 'arrangement.accept', limit: 10 });
    expect(refusals.map((e) => [e.decision, e.reason, e.targetIds.arrangementId])).toEqual([['deny', 'terms_changed', id]]);

    // The revision is required, and must be one that exists.
    expectProblem(await api(s.app, a.admin).post(`arrangements/${id}/accept`), 400);
    expectProblem(await api(s.app, a.admin).post(`arrangements/${id}/accept`, {}), 400);
    expectProblem(await api(s.app, a.admin).post(`arrangements/${id}/accept`, { revision: 'latest' }), 400);
    expectProblem(await api(s.app, a.admin).post(`arrangements/${id}/accept`, { revision: 1.5 }), 400);
    expect(expectProblem(await api(s.app, a.admin).post(`arrangements/${id}/accept`, { revision: 99 }), 400).detail)
      .toBe('This arrangement has no revision 99 yet (it is at revision 3). Review the current terms and accept those.');
    expect(await current(host, id)).toMatchObject({ status: 'draft', acceptedBy: [], revision: 3 });

    // Another partner's acceptance bumps the revision but not the terms: a's review of revision 3 still stands.
    const afterA = await current(a, id);
    expect((await api(s.app, b.admin).post(`arrangements/${id}/accept`, { revision: 3 })).json()).toMatchObject({ revision: 4, termsRevision: 3, acceptedBy: [b.org.id] });
    const accepted = await api(s.app, a.admin).post(`arrangements/${id}/accept`, { revision: afterA.revision });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({ status: 'active', revision: 5, termsRevision: 3, accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
  });

  it('documents the required revision of an acceptance in OpenAPI', async () => {
    const doc = (await s.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    const path = Object.keys(doc.paths).find((p) => p.endsWith('/arrangements/{id}/accept'))!;
    const schema = doc.paths[path].post.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['revision']);
    expect(schema.properties.revision).toMatchObject({ type: 'integer' });
  });

  it('asks for acceptance again after a reinstatement, against the terms last set', async () => {
    const [host, a] = [await party(), await party()];
    const id = await propose(host, [a]);
    await accept(a, id);
    const hostAdmin = api(s.app, host.admin);
    expect((await hostAdmin.post(`arrangements/${id}/suspend`)).statusCode).toBe(200);
    expect((await hostAdmin.post(`arrangements/${id}/resume`)).statusCode).toBe(200);
    expect((await hostAdmin.patch(`arrangements/${id}`, { accessLevel: 'contribute' })).statusCode).toBe(200);
    // The partner's old review (revision 2, when it accepted) predates the amendment in revision 5.
    const stale = expectProblem(await api(s.app, a.admin).post(`arrangements/${id}/accept`, { revision: 2 }), 409);
    expect(stale.detail).toContain('you reviewed revision 2; it is now revision 5');
    expect((await accept(a, id))).toMatchObject({ status: 'active', accessLevel: 'contribute', termsRevision: 5 });
  });

  it('never writes a change decided on a revision that is no longer the stored one', async () => {
    const [host, a] = [await party(), await party()];
    const id = await propose(host, [a]);
    const decidedOn = await current(host, id);
    expect((await api(s.app, host.admin).patch(`arrangements/${id}`, { accessLevel: 'manage' })).statusCode).toBe(200);
    // A change computed from revision 1 (say, an acceptance racing the amendment) finds revision 2 stored.
    const late: Arrangement = { ...decidedOn, acceptedBy: [a.org.id], status: 'active', revision: 2, updatedAt: new Date().toISOString() };
    expect(await s.vault.store.repos.arrangements.save(late, decidedOn.revision, null)).toBe(false);
    expect(await current(host, id)).toMatchObject({ status: 'draft', accessLevel: 'manage', acceptedBy: [], revision: 2, termsRevision: 2 });
  });

  it('repairs, on migration, an arrangement whose parties drifted from the partner list its host last set', async () => {
    const [host, removed, added, other] = [await party(), await party(), await party(), await party()];
    const db = s.vault.store.db;
    // What the old code left behind: the host amended the partners from [removed] to [added] (revision 5),
    // the parties table kept [removed], who then accepted (revision 6, snapshotting the drifted table).
    const id = await propose(host, [removed]);
    await accept(removed, id);
    expect((await api(s.app, host.admin).post(`arrangements/${id}/suspend`)).statusCode).toBe(200);
    expect((await api(s.app, host.admin).post(`arrangements/${id}/resume`)).statusCode).toBe(200);
    const before = await current(host, id);
    const snapshot = (revision: number, fields: Partial<Arrangement>) => JSON.stringify({ ...before, revision, ...fields });
    await db.insertInto('arrangement_revisions').values([
      { arrangement_id: id, revision: 5, change: 'amended (partners must accept again)', snapshot: snapshot(5, { partnerOrganisationIds: [added.org.id], acceptedBy: [] }), changed_by: null, changed_at: new Date().toISOString() },
      { arrangement_id: id, revision: 6, change: 'accepted; now active', snapshot: snapshot(6, { status: 'active', acceptedBy: [removed.org.id] }), changed_by: null, changed_at: new Date().toISOString() },
    ]).execute();
    await db.updateTable('arrangements').set({ status: 'active', revision: 6, terms_revision: 1 }).where('id', '=', id).execute();
    await db.updateTable('arrangement_parties').set({ accepted_at: new Date().toISOString() }).where('arrangement_id', '=', id).execute();
    expect(await current(host, id)).toMatchObject({ status: 'active', partnerOrganisationIds: [removed.org.id] });
    // An arrangement that never drifted only gets its terms revision: amended in 2, accepted in 3.
    const intact = await propose(host, [other]);
    expect((await api(s.app, host.admin).patch(`arrangements/${intact}`, { purpose: 'Payroll and pensions' })).statusCode).toBe(200);
    await accept(other, intact);
    await db.updateTable('arrangements').set({ terms_revision: 1 }).where('id', '=', intact).execute();

    await db.transaction().execute((trx) => alignArrangementsWithTheirTerms(trx, new Date().toISOString()));

    const repaired = await expectRevisionIsWhatThePolicyReads(host, id, [removed, added, other]);
    expect(repaired).toMatchObject({ status: 'draft', partnerOrganisationIds: [added.org.id], acceptedBy: [], revision: 7, termsRevision: 7 });
    expect((await api(s.app, host.admin).get(`arrangements/${id}`)).json().revisions.at(-1).change).toBe('repaired: partners set to those of revision 5 (partners must accept again)');
    expectProblem(await api(s.app, removed.admin).post(`arrangements/${id}/accept`, { revision: 7 }), 404);
    expect(await accept(added, id)).toMatchObject({ status: 'active', partnerOrganisationIds: [added.org.id] });
    expect(await expectRevisionIsWhatThePolicyReads(host, intact, [other])).toMatchObject({ status: 'active', revision: 3, termsRevision: 2 });
  });
});
