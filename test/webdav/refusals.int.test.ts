// Refusals over WebDAV look like absence and are audited exactly as over REST: one deny event per
// refused request, none for listings (which leave out what the actor may not see, silently); and
// none for a hidden name guessed inside another organisation, which writes what a missing one does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsOf } from '../support/audit-log.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { systemActor } from '../../src/services/identity.service.js';
import { DIALECTS, upload } from '../support/vault.js';
import { PROPFIND_ALL, createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('WebDAV refusals on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** Every deny event written for this person so far, from the whole log. */
  const denials = (user: DavUser) => eventsOf(s.vault, user.id, { deny: true });

  /** Runs `request` and returns its status and the deny events it wrote. */
  async function refusalsOf(user: DavUser, request: () => Promise<{ status?: number; statusCode?: number }>) {
    const before = (await denials(user)).length;
    const res = await request();
    return { status: res.status ?? res.statusCode, events: (await denials(user)).slice(before) };
  }

  it('audits GET, PROPFIND and PUT on another organisation’s paths once each, as REST does', async () => {
    const victim = await createOrganisation(s.vault);
    const owner = await davUser(s.vault, victim, { teams: ['payroll'] });
    const doc = (await upload(s.app, owner, victim.collections.payroll!, 'pay.csv', 'a,b\n')).json();
    const attacker = await davUser(s.vault, await createOrganisation(s.vault), { teams: ['payroll'], roles: ['member', 'records_manager', 'org_admin'] });
    const rest = api(s.app, attacker);
    const davAs = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => () => dav(s.base, method, path, { user: attacker, headers, ...(body !== undefined ? { body } : {}) });
    const base = `/dav/${victim.slug}`;

    const restGet = await refusalsOf(attacker, () => rest.get(`documents/${doc.id}`));
    const restList = await refusalsOf(attacker, () => rest.get(`collections/${victim.collections.payroll}`));
    const restPut = await refusalsOf(attacker, () => upload(s.app, attacker, victim.collections.payroll!, 'planted.csv', 'x'));
    const davGet = await refusalsOf(attacker, davAs('GET', `${base}/payroll/pay.csv`));
    const davList = await refusalsOf(attacker, davAs('PROPFIND', `${base}/payroll/`, { depth: '1' }, PROPFIND_ALL));
    const davPut = await refusalsOf(attacker, davAs('PUT', `${base}/payroll/planted.csv`, {}, 'x'));

    expect([restGet.status, restList.status, restPut.status]).toEqual([404, 404, 404]);
    // PUT into a missing folder is 409 (RFC 4918 §9.7.1), for a hidden folder exactly as for one that never existed.
    expect([davGet.status, davList.status, davPut.status]).toEqual([404, 404, 409]);
    expect((await dav(s.base, 'PUT', `/dav/${victim.slug}-nope/payroll/planted.csv`, { user: attacker, body: 'x' })).status).toBe(409);
    for (const r of [restGet, restList, restPut, davGet, davList, davPut]) expect(r.events).toHaveLength(1);
    expect(restList.events[0]).toMatchObject({ action: 'collection.list', targetOrganisationId: victim.id, targetIds: { collectionId: victim.collections.payroll }, reason: 'no_arrangement' });
    // The organisation is out of reach: its folder is what was refused, whatever the path names below it.
    for (const r of [davGet, davList, davPut]) {
      expect(r.events[0]).toMatchObject({ action: 'collection.list', targetOrganisationId: victim.id, targetIds: {}, reason: 'no_visible_collection' });
    }
    expect(davGet.events[0]!.channel).toBe('webdav');
    expect(await s.vault.store.repos.documents.byName(victim.collections.payroll!, 'planted.csv')).toBeUndefined();
  });

  it('audits a request for another organisation’s folder itself, and nothing for a name that exists nowhere', async () => {
    const victim = await createOrganisation(s.vault);
    const attacker = await davUser(s.vault, await createOrganisation(s.vault), { teams: ['payroll'] });
    const orgFolder = await refusalsOf(attacker, () => dav(s.base, 'PROPFIND', `/dav/${victim.slug}/`, { user: attacker, headers: { depth: '0' } }));
    expect(orgFolder.status).toBe(404);
    expect(orgFolder.events.map((e) => [e.action, e.targetOrganisationId, e.targetIds])).toEqual([['collection.list', victim.id, {}]]);
    // A guessed name that exists and one that does not write the same event: the actor's own auditors read it.
    const shape = (r: Awaited<ReturnType<typeof refusalsOf>>) => [r.status, r.events.map((e) => [e.action, e.targetOrganisationId, e.targetIds, e.reason])];
    const existing = await refusalsOf(attacker, () => dav(s.base, 'GET', `/dav/${victim.slug}/payroll/x.txt`, { user: attacker }));
    const guessed = await refusalsOf(attacker, () => dav(s.base, 'GET', `/dav/${victim.slug}/no-such-folder/x.txt`, { user: attacker }));
    expect(shape(existing)).toEqual([404, [['collection.list', victim.id, {}, 'no_visible_collection']]]);
    expect(shape(guessed)).toEqual(shape(existing));
    const nowhere = await refusalsOf(attacker, () => dav(s.base, 'GET', `/dav/no-such-organisation-${victim.slug}/payroll/x.txt`, { user: attacker }));
    expect(nowhere).toEqual({ status: 404, events: [] });
  });

  it('audits a hidden document in a folder one may open as REST does, and lists the folder without it and without an event', async () => {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const cleared = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const low = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL' });
    const secret = await s.app.inject({
      method: 'POST', url: `/api/v1/collections/${org.collections.finance}/documents?name=secret.csv&classification=OFFICIAL-SENSITIVE`,
      headers: { authorization: `Bearer ${cleared.token}`, 'content-type': 'application/octet-stream' }, payload: 'x,y\n',
    });
    expect(secret.statusCode).toBe(201);
    const path = `/dav/${org.slug}/finance/secret.csv`;

    const restGet = await refusalsOf(low, () => api(s.app, low).get(`documents/${secret.json().id}`));
    expect(restGet.status).toBe(404);
    for (const [method, headers] of [['GET', {}], ['PROPFIND', { depth: '0' }], ['DELETE', {}]] as const) {
      const r = await refusalsOf(low, () => dav(s.base, method, path, { user: low, headers }));
      expect(r.status, method).toBe(404);
      expect(r.events.map((e) => [e.action, e.reason, e.targetIds.documentId])).toEqual(restGet.events.map((e) => [e.action, e.reason, e.targetIds.documentId]));
    }
    const listing = await refusalsOf(low, () => dav(s.base, 'PROPFIND', `/dav/${org.slug}/finance/`, { user: low, headers: { depth: '1' } }));
    expect(listing.status).toBe(207);
    expect(listing.events).toEqual([]);
    const restListing = await refusalsOf(low, () => api(s.app, low).get(`collections/${org.collections.finance}`));
    expect(restListing.status).toBe(200);
    expect(restListing.events).toEqual([]);
    expect((await dav(s.base, 'PROPFIND', `/dav/${org.slug}/finance/`, { user: cleared, headers: { depth: '1' } })).body).toContain('secret.csv');
  });

  it('writes nothing for a hidden name in a partner organisation, exactly as for a name that exists nowhere', async () => {
    // The attack reviews' name oracle (4 December): a hidden folder or file in a partner organisation
    // the arrangement opens wrote a deny event naming it, a name that exists nowhere wrote none, and
    // the prober's own auditors could see it, or, once it was filed under the partner alone, the gap
    // it left in their staff's event numbers. So the host council could test names one by one.
    const areas = { payroll: 'OFFICIAL', hr: 'OFFICIAL' } as const;
    const host = await createOrganisation(s.vault, { areas });
    const partner = await createOrganisation(s.vault, { areas });
    await s.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Shared payroll',
      lawfulBasis: 'LGA 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    }, { approve: true });
    await s.vault.collectionCreation.create(systemActor(), { organisationId: partner.id, name: 'Disciplinary - J Smith', serviceArea: 'hr', classification: 'OFFICIAL' });
    const partnerStaff = await davUser(s.vault, partner, { teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const secret = await s.app.inject({
      method: 'POST', url: `/api/v1/collections/${partner.collections.payroll}/documents?name=${encodeURIComponent('redundancies 2027.csv')}&classification=OFFICIAL-SENSITIVE`,
      headers: { authorization: `Bearer ${partnerStaff.token}`, 'content-type': 'application/octet-stream' }, payload: 'name,post\n',
    });
    expect(secret.statusCode, secret.body).toBe(201);
    const prober = await davUser(s.vault, host, { teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const base = `/dav/${partner.slug}`;
    expect((await dav(s.base, 'PROPFIND', `${base}/`, { user: prober, headers: { depth: '0' } })).status).toBe(207);

    /** The probe's status and how many events it added to the whole log (any organisation's). */
    const probe = async (path: string) => {
      await s.vault.audit.sequencer.integrate();
      const before = await s.vault.store.repos.audit.treeSize();
      const { status } = await dav(s.base, 'PROPFIND', path, { user: prober, headers: { depth: '0' } });
      await s.vault.audit.sequencer.integrate();
      return { status, events: (await s.vault.store.repos.audit.treeSize()) - before };
    };
    const hiddenFolder = await probe(`${base}/Disciplinary - J Smith/`);
    const missingFolder = await probe(`${base}/Disciplinary - A Jones/`);
    const hiddenFile = await probe(`${base}/payroll/redundancies 2027.csv`);
    const missingFile = await probe(`${base}/payroll/redundancies 2028.csv`);

    expect([hiddenFolder, missingFolder, hiddenFile, missingFile]).toEqual(Array(4).fill({ status: 404, events: 0 }));
    expect(await denials(prober)).toEqual([]);
  });
});
