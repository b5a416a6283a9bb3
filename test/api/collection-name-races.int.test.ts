// Two requests giving one name to a collection under one parent at once (REST, WebDAV MKCOL, a rename, a
// move, a folder copy): each checks "is there a folder of that name?" before its transaction, and both can
// find none. The transaction that gives the name claims it again (CollectionsRepository.claimName, ordered
// with every other claim of it on PostgreSQL), so the later request is refused exactly as a later duplicate
// is and nothing of it is written. Without it, both were stored: two folders of one name, which no WebDAV
// path can tell apart.
//
// How the interleaving is forced, on both dialects: either every request's checks are held until all have
// read (checksTogether: they all miss each other's folder, then all go on at once; on PostgreSQL their
// transactions then really run side by side, on SQLite its one connection runs them one after another), or
// the winner finishes first and the loser's checks miss its folder (checksMiss), as they do when they run
// just before its commit.
//
// As an outsider would try it: the loser below the clearance of the folder that took the name (WebDAV MKCOL, MOVE
// and COPY, where only a visible folder is told in WebDAV's own words), a partner council's staff in a joint
// workspace where the host's folder is above the arrangement's ceiling, a joint workspace itself (the host's top
// level), and a MOVE and a COPY of one folder onto one new name at once, which claim the name after different row
// locks (the move locks the folder it moves, the copy only the destination's parent): one folder there, the other
// told as a later request is, never a lock cycle. Each compares the loser's status, words and audit events with a
// later duplicate's.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { checksMiss as missing, checksTogether as together } from '../support/name-checks.js';
import { DIALECTS, createOrganisation, createPartnership, type TestOrganisation } from '../support/vault.js';
import { dav, davUser, openDavServer, type DavServer, type DavUser } from '../webdav/support.js';
import { raceAgainstUncommitted } from '../support/uncommitted-race.js';

const clamd = useClamd();

describe.each(DIALECTS)('one collection name taken by two requests at once, on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await s?.close();
  });

  async function member(): Promise<{ org: TestOrganisation; staff: DavUser; parentId: string }> {
    const org = await createOrganisation(s.vault);
    const staff = await davUser(s.vault, org, { teams: ['finance'] });
    return { org, staff, parentId: org.collections.finance! };
  }

  const repo = () => s.vault.store.repos.collections;
  const checksMiss = (name: string, times: number) => missing(repo(), name, times);
  const checksTogether = (name: string, count: number) => together(repo(), name, count);

  const named = async (org: TestOrganisation, parentId: string | null, name: string) =>
    (await repo().children(org.id, parentId)).filter((c) => c.name === name).map((c) => c.id);
  const creations = async (org: TestOrganisation) =>
    (await s.vault.store.db.selectFrom('audit_events').select('id').where('action', '=', 'collection.create').where('target_organisation_id', '=', org.id).execute()).length;
  const refusals = async (org: TestOrganisation) =>
    (await s.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'target_ids']).where('target_organisation_id', '=', org.id).where('decision', '=', 'deny').execute())
      .map((e) => ({ action: e.action, collectionId: (JSON.parse(e.target_ids) as Record<string, string>).collectionId }));

  /** The first `count` claims each wait until all `count` have been asked (transactions side by side: PostgreSQL only). */
  function claimsTogether(count: number) {
    const proto = Object.getPrototypeOf(repo()) as { claimName: (...args: unknown[]) => Promise<unknown> };
    const claim = proto.claimName;
    let arrived = 0;
    let release!: () => void;
    const all = new Promise<void>((resolve) => { release = resolve; });
    return vi.spyOn(proto, 'claimName').mockImplementation(async function (this: unknown, ...args: unknown[]) {
      if (arrived < count) {
        if (++arrived === count) release();
        await all;
      }
      return claim.apply(this, args);
    });
  }

  const namedIn = async (organisationId: string, parentId: string | null, name: string) =>
    (await repo().children(organisationId, parentId)).filter((c) => c.name === name).map((c) => c.id);
  /** Every event written for these organisations after `after` (its id), as (action, decision, ids) — the loser's trail. */
  const eventsSince = async (organisationIds: string[], after: number) =>
    (await s.vault.store.db.selectFrom('audit_events').select(['id', 'action', 'decision', 'target_ids']).where('target_organisation_id', 'in', organisationIds)
      .orderBy('id').execute()).filter((e) => Number(e.id) > after).map((e) => ({ action: e.action, decision: e.decision, ids: JSON.parse(e.target_ids) as Record<string, string> }));
  const lastEvent = async () => Number((await s.vault.store.db.selectFrom('audit_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst())?.id ?? 0);

  it('REST: two creates of one name started together: one is created, the other hears the later duplicate’s 409, one folder exists', async () => {
    const { org, staff, parentId } = await member();
    const body = { name: 'Invoices', parentId, serviceArea: 'finance', classification: 'OFFICIAL' };
    const before = await creations(org);
    const spy = checksTogether('Invoices', 2);
    const both = await Promise.all([api(s.app, staff).post('collections', body), api(s.app, staff).post('collections', body)]);
    spy.mockRestore();
    const later = await api(s.app, staff).post('collections', body);
    expect(later.statusCode).toBe(409);
    expect(both.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    const [loser] = both.filter((r) => r.statusCode === 409);
    expect({ ...loser!.json(), requestId: null }).toEqual({ ...later.json(), requestId: null });
    expect(later.json().detail).toBe('A collection called "Invoices" already exists there.');
    expect(await named(org, parentId, 'Invoices')).toEqual([both.find((r) => r.statusCode === 201)!.json().id]);
    expect(await creations(org)).toBe(before + 1);
    expect(await refusals(org)).toEqual([]);
  });

  it('top level: two creates of one name keyed on the organisation; the loser hears the later duplicate’s words', async () => {
    const { org } = await member();
    const input = { organisationId: org.id, name: 'Grants', serviceArea: 'finance', classification: 'OFFICIAL' };
    const spy = checksTogether('Grants', 2);
    const both = await Promise.allSettled([s.vault.collectionCreation.create(systemActor(), input), s.vault.collectionCreation.create(systemActor(), input)]);
    spy.mockRestore();
    const later = await s.vault.collectionCreation.create(systemActor(), input).then(() => null, (e: Error & { code: string }) => ({ code: e.code, message: e.message }));
    expect(later).toEqual({ code: 'CONFLICT', message: 'A collection called "Grants" already exists there.' });
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = both.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error & { code: string };
    expect({ code: refused.code, message: refused.message }).toEqual(later);
    expect(await named(org, null, 'Grants')).toHaveLength(1);
  });

  it('a rename onto a name a create took meanwhile is refused as a later rename is, and changes nothing', async () => {
    const { org, staff, parentId } = await member();
    const staffApi = api(s.app, staff);
    const other = (await staffApi.post('collections', { name: 'Drafts', parentId, serviceArea: 'finance', classification: 'OFFICIAL' })).json().id as string;
    const created = await staffApi.post('collections', { name: 'Final', parentId, serviceArea: 'finance', classification: 'OFFICIAL' });
    expect(created.statusCode).toBe(201);
    const later = await staffApi.patch(`collections/${other}`, { name: 'Final' });
    expect(later.statusCode).toBe(409);
    const spy = checksMiss('Final', 1);
    const raced = await staffApi.patch(`collections/${other}`, { name: 'Final' });
    spy.mockRestore();
    expect(raced.statusCode).toBe(409);
    expect({ ...raced.json(), requestId: null }).toEqual({ ...later.json(), requestId: null });
    expect(raced.json().detail).toBe('A collection called "Final" already exists there.');
    expect(await named(org, parentId, 'Final')).toEqual([created.json().id]);
    expect(await named(org, parentId, 'Drafts')).toEqual([other]);
  });

  it('a create of a name a rename took meanwhile is refused as a later create is', async () => {
    const { org, staff, parentId } = await member();
    const staffApi = api(s.app, staff);
    const other = (await staffApi.post('collections', { name: 'Old name', parentId, serviceArea: 'finance', classification: 'OFFICIAL' })).json().id as string;
    expect((await staffApi.patch(`collections/${other}`, { name: 'New name' })).statusCode).toBe(200);
    const body = { name: 'New name', parentId, serviceArea: 'finance', classification: 'OFFICIAL' };
    const later = await staffApi.post('collections', body);
    const spy = checksMiss('New name', 1);
    const raced = await staffApi.post('collections', body);
    spy.mockRestore();
    expect(raced.statusCode).toBe(409);
    expect({ ...raced.json(), requestId: null }).toEqual({ ...later.json(), requestId: null });
    expect(await named(org, parentId, 'New name')).toEqual([other]);
  });

  it('a move into a folder whose name a create took there meanwhile is refused as a later move is, and the folder stays where it was', async () => {
    const { org, staff, parentId } = await member();
    const staffApi = api(s.app, staff);
    const folder = (name: string, under: string) => staffApi.post('collections', { name, parentId: under, serviceArea: 'finance', classification: 'OFFICIAL' });
    const from = (await folder('From', parentId)).json().id as string;
    const to = (await folder('To', parentId)).json().id as string;
    const moving = (await folder('Minutes', from)).json().id as string;
    const created = await folder('Minutes', to);
    expect(created.statusCode).toBe(201);
    const later = await staffApi.patch(`collections/${moving}`, { parentId: to });
    expect(later.statusCode).toBe(409);
    const spy = checksMiss('Minutes', 1);
    const raced = await staffApi.patch(`collections/${moving}`, { parentId: to });
    spy.mockRestore();
    expect({ ...raced.json(), requestId: null }).toEqual({ ...later.json(), requestId: null });
    expect(await named(org, to, 'Minutes')).toEqual([created.json().id]);
    expect(await named(org, from, 'Minutes')).toEqual([moving]);
  });

  it('someone who may not see the folder that took the name hears only that it cannot be used, audited as a later duplicate is', async () => {
    const org = await createOrganisation(s.vault);
    const parentId = org.collections.finance!;
    const cleared = await org.user({ teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const official = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const winner = await api(s.app, cleared).post('collections', { name: 'Appraisals', parentId, serviceArea: 'finance', classification: 'OFFICIAL-SENSITIVE' });
    expect(winner.statusCode).toBe(201);
    const body = { name: 'Appraisals', parentId, serviceArea: 'finance', classification: 'OFFICIAL' };
    const later = await api(s.app, official).post('collections', body);
    expect(later.json().detail).toBe('The name "Appraisals" cannot be used here. Choose another name.');
    expect(await refusals(org)).toEqual([{ action: 'collection.list', collectionId: winner.json().id }]);
    const spy = checksMiss('Appraisals', 1);
    const raced = await api(s.app, official).post('collections', body);
    spy.mockRestore();
    expect(raced.statusCode).toBe(409);
    expect({ ...raced.json(), requestId: null }).toEqual({ ...later.json(), requestId: null });
    expect(await refusals(org)).toEqual([{ action: 'collection.list', collectionId: winner.json().id }, { action: 'collection.list', collectionId: winner.json().id }]);
    expect(await named(org, parentId, 'Appraisals')).toEqual([winner.json().id]);
  });

  it('WebDAV: two MKCOLs of one path at once: one creates it, the other hears a later MKCOL’s 405', async () => {
    const { org, staff, parentId } = await member();
    const path = `/dav/${org.slug}/finance/Receipts`;
    // Each MKCOL checks twice before its transaction: resolving the path, then the service.
    const spy = checksTogether('Receipts', 2);
    const both = await Promise.all([dav(s.base, 'MKCOL', path, { user: staff }), dav(s.base, 'MKCOL', path, { user: staff })]);
    spy.mockRestore();
    const later = await dav(s.base, 'MKCOL', path, { user: staff });
    expect(later.status).toBe(405);
    expect(both.map((r) => r.status).sort()).toEqual([201, 405]);
    const loser = both.find((r) => r.status === 405)!;
    expect({ body: loser.body, allow: loser.headers.get('allow') }).toEqual({ body: later.body, allow: later.headers.get('allow') });
    expect(await named(org, parentId, 'Receipts')).toHaveLength(1);
  });

  it('WebDAV: an MKCOL whose path another MKCOL took meanwhile (both checks missed) hears a later MKCOL’s 405', async () => {
    const { org, staff, parentId } = await member();
    const path = `/dav/${org.slug}/finance/Quotes`;
    expect((await dav(s.base, 'MKCOL', path, { user: staff })).status).toBe(201);
    const later = await dav(s.base, 'MKCOL', path, { user: staff });
    const spy = checksMiss('Quotes', 2);
    const raced = await dav(s.base, 'MKCOL', path, { user: staff });
    spy.mockRestore();
    expect({ status: raced.status, body: raced.body }).toEqual({ status: later.status, body: later.body });
    expect(await named(org, parentId, 'Quotes')).toHaveLength(1);
  });

  it('WebDAV: a MOVE (Overwrite: F) and a COPY of a folder onto a name an MKCOL took meanwhile hear a later one’s 412, and nothing moves or is copied', async () => {
    const { org, staff, parentId } = await member();
    const base = `/dav/${org.slug}/finance`;
    for (const p of ['Source', 'Taken']) expect((await dav(s.base, 'MKCOL', `${base}/${p}`, { user: staff })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${base}/Source/minutes.txt`, { user: staff, body: 'copied, then refused\n' })).status).toBe(201);
    const blobs = await blobFilesUnder(join(s.dataDir, 'blobs'));
    const events = await creations(org);
    // Resolving the destination, then the service's own check (a folder copy checks again once it has read everything).
    for (const [method, checks] of [['MOVE', 2], ['COPY', 3]] as const) {
      const request = () => dav(s.base, method, `${base}/Source`, { user: staff, headers: { destination: `${s.base}${base}/Taken`, overwrite: 'F' } });
      const later = await request();
      expect(later.status).toBe(412);
      const spy = checksMiss('Taken', checks);
      const raced = await request();
      spy.mockRestore();
      expect({ method, status: raced.status, body: raced.body }).toEqual({ method, status: later.status, body: later.body });
    }
    expect(await named(org, parentId, 'Taken')).toHaveLength(1);
    expect(await named(org, parentId, 'Source')).toHaveLength(1);
    // The refused copy read the document and stored its new bytes before its transaction: they are gone.
    expect(await blobFilesUnder(join(s.dataDir, 'blobs'))).toBe(blobs);
    expect(await creations(org)).toBe(events);
    expect((await s.vault.store.db.selectFrom('audit_events').select('id').where('action', '=', 'document.copy').where('target_organisation_id', '=', org.id).execute())).toHaveLength(0);
  });

  it('orders two transactions claiming one name: the second waits for the first, then sees its folder', async () => {
    const { org, parentId } = await member();
    const folder = await s.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId, name: 'Before', serviceArea: 'finance', classification: 'OFFICIAL' });
    const saw = await raceAgainstUncommitted(s.vault.store, async (repos) => {
      expect(await repos.collections.claimName(org.id, parentId, 'After')).toEqual([]);
      await repos.collections.place(folder.id, { ...folder, name: 'After' });
    }, () => s.vault.store.transaction(async (repos) => (await repos.collections.claimName(org.id, parentId, 'After'))[0]?.id ?? null));
    expect(saw).toBe(folder.id);
  });

  it('WebDAV, below the clearance of the folder that took the name: MKCOL, MOVE and COPY (Overwrite: F) each hear a later one’s 409 “cannot be used”, never 405/412, and write nothing', async () => {
    const org = await createOrganisation(s.vault);
    const parentId = org.collections.finance!;
    const official = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL' });
    const base = `/dav/${org.slug}/finance`;
    expect((await dav(s.base, 'MKCOL', `${base}/Source`, { user: official })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${base}/Source/minutes.txt`, { user: official, body: 'minutes\n' })).status).toBe(201);
    // The folder that takes the name, above the person's clearance: hidden from them.
    const hidden = await s.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId, name: 'Appraisals', serviceArea: 'finance', classification: 'OFFICIAL-SENSITIVE' });
    const requests = [
      ['MKCOL', () => dav(s.base, 'MKCOL', `${base}/Appraisals`, { user: official }), 2],
      ['MOVE', () => dav(s.base, 'MOVE', `${base}/Source`, { user: official, headers: { destination: `${s.base}${base}/Appraisals`, overwrite: 'F' } }), 2],
      ['COPY', () => dav(s.base, 'COPY', `${base}/Source`, { user: official, headers: { destination: `${s.base}${base}/Appraisals`, overwrite: 'F' } }), 3],
    ] as const;
    for (const [method, request, checks] of requests) {
      const beforeLater = await lastEvent();
      const later = await request();
      expect({ method, status: later.status }).toEqual({ method, status: 409 });
      expect(later.body).toContain('The name "Appraisals" cannot be used here. Choose another name.');
      const laterEvents = await eventsSince([org.id], beforeLater);
      const beforeRaced = await lastEvent();
      const spy = checksMiss('Appraisals', checks);
      const raced = await request();
      spy.mockRestore();
      expect({ method, status: raced.status, body: raced.body }).toEqual({ method, status: later.status, body: later.body });
      // The loser's path did not meet the folder (it was not there yet), so only the service's refused listing is
      // written: what a later request writes, less WebDAV's own refusal of the hidden step its path then met.
      const racedEvents = await eventsSince([org.id], beforeRaced);
      expect({ method, racedEvents }).toEqual({ method, racedEvents: [{ action: 'collection.list', decision: 'deny', ids: { collectionId: hidden.id } }] });
      expect(laterEvents).toEqual([{ action: 'collection.list', decision: 'deny', ids: { collectionId: hidden.id } }, ...racedEvents]);
    }
    expect(await namedIn(org.id, parentId, 'Appraisals')).toEqual([hidden.id]);
    expect(await namedIn(org.id, parentId, 'Source')).toHaveLength(1);
    expect((await s.vault.store.db.selectFrom('documents').select('id').where('organisation_id', '=', org.id).where('name', '=', 'minutes.txt').execute())).toHaveLength(1);
  });

  it('a partner’s staff in a joint workspace, where the host’s folder of that name is above the ceiling: the loser hears the later create’s words, in REST and WebDAV', async () => {
    const { host, partner, arrangement } = await createPartnership(s.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL', serviceArea: 'payroll' });
    const workspace = await s.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint payroll');
    const partnerStaff = await davUser(s.vault, partner, { teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const hostFolder = await s.vault.collectionCreation.create(systemActor(), { organisationId: host.id, parentId: workspace.id, name: 'Casework', serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' });
    const body = { name: 'Casework', parentId: workspace.id, serviceArea: 'payroll', classification: 'OFFICIAL' };
    const orgs = [host.id, partner.id];

    const rest = () => api(s.app, partnerStaff).post('collections', body);
    let before = await lastEvent();
    const later = await rest();
    expect(later.statusCode).toBe(409);
    expect(later.json().detail).toBe('The name "Casework" cannot be used here. Choose another name.');
    const laterEvents = await eventsSince(orgs, before);
    before = await lastEvent();
    let spy = checksMiss('Casework', 1);
    const raced = await rest();
    spy.mockRestore();
    expect({ status: raced.statusCode, body: { ...raced.json(), requestId: null } }).toEqual({ status: later.statusCode, body: { ...later.json(), requestId: null } });
    expect(await eventsSince(orgs, before)).toEqual(laterEvents);

    const path = `/dav/${host.slug}/${encodeURIComponent('Joint payroll')}/Casework`;
    before = await lastEvent();
    const laterDav = await dav(s.base, 'MKCOL', path, { user: partnerStaff });
    expect(laterDav.status).toBe(409);
    const laterDavEvents = await eventsSince(orgs, before);
    before = await lastEvent();
    spy = checksMiss('Casework', 2);
    const racedDav = await dav(s.base, 'MKCOL', path, { user: partnerStaff });
    spy.mockRestore();
    expect({ status: racedDav.status, body: racedDav.body }).toEqual({ status: laterDav.status, body: laterDav.body });
    // In another organisation a hidden step on the path writes nothing (the audit log as a name oracle), so
    // the later MKCOL and the loser write the same: the service's refused listing only.
    expect(await eventsSince(orgs, before)).toEqual(laterDavEvents);
    expect(await namedIn(host.id, workspace.id, 'Casework')).toEqual([hostFolder.id]);
  });

  it('a joint workspace whose name a host folder took meanwhile is refused as a later workspace of that name is, and writes nothing', async () => {
    const { host, arrangement } = await createPartnership(s.vault, { accessLevel: 'contribute', ceiling: 'OFFICIAL', serviceArea: 'payroll' });
    const hostFolder = await s.vault.collectionCreation.create(systemActor(), { organisationId: host.id, name: 'Shared payroll', serviceArea: 'payroll', classification: 'OFFICIAL' });
    const attempt = () => s.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Shared payroll').then(() => null, (e: Error & { code: string }) => ({ code: e.code, message: e.message }));
    const later = await attempt();
    expect(later).toEqual({ code: 'CONFLICT', message: 'A collection called "Shared payroll" already exists there.' });
    const before = await lastEvent();
    const spy = checksMiss('Shared payroll', 1);
    const raced = await attempt();
    spy.mockRestore();
    expect(raced).toEqual(later);
    expect(await namedIn(host.id, null, 'Shared payroll')).toEqual([hostFolder.id]);
    expect(await eventsSince([host.id], before)).toEqual([]);
  });

  /**
   * A partner's staff whose create in a joint workspace was decided just before the arrangement was suspended: the
   * create's transaction asks decide() again on the parent as it reads it (prepared().write), before it claims the
   * name, so the suspension stops it there and the partner hears what a later create hears.
   */
  async function suspendedMidCreate(name: string, options: { hostTookIt: boolean }) {
    const { host, partner, arrangement } = await createPartnership(s.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL', serviceArea: 'payroll' });
    const workspace = await s.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint payroll');
    const hostFolder = options.hostTookIt
      ? (await s.vault.collectionCreation.create(systemActor(), { organisationId: host.id, parentId: workspace.id, name, serviceArea: 'payroll', classification: 'OFFICIAL' })).id
      : null;
    const partnerStaff = await partner.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const read = repo().childrenHoldingName.bind(repo());
    let suspended = false;
    // The check before the transaction comes after the decisions: the arrangement is suspended there, and it misses the name.
    const spy = vi.spyOn(repo(), 'childrenHoldingName').mockImplementation(async (o, p, n) => {
      if (n !== name || suspended) return read(o, p, n);
      suspended = true;
      await s.vault.arrangements.suspend(systemActor(), arrangement.id);
      return [];
    });
    const body = { name, parentId: workspace.id, serviceArea: 'payroll', classification: 'OFFICIAL' };
    return { host, workspace, hostFolder, create: () => api(s.app, partnerStaff).post('collections', body), done: () => spy.mockRestore() };
  }

  it('a partner suspended between the decision and the transaction, losing the name to a host folder, hears a later create’s 404, not that the name is taken', async () => {
    const { host, workspace, hostFolder, create, done } = await suspendedMidCreate('Casework', { hostTookIt: true });
    const raced = await create();
    done();
    const later = await create();
    expect(later.statusCode).toBe(404);
    expect({ status: raced.statusCode, body: { ...raced.json(), requestId: null } }).toEqual({ status: later.statusCode, body: { ...later.json(), requestId: null } });
    expect(await namedIn(host.id, workspace.id, 'Casework')).toEqual([hostFolder]);
  });

  it('a partner suspended between the decision and the transaction creates nothing in the joint workspace (404, as a later create)', async () => {
    const { host, workspace, create, done } = await suspendedMidCreate('Fresh', { hostTookIt: false });
    const raced = await create();
    done();
    expect(raced.statusCode).toBe(404);
    expect(await namedIn(host.id, workspace.id, 'Fresh')).toEqual([]);
  });

  /**
   * The same for a document taking a name in a joint workspace, which a host folder may hold: an upload, or a copy of
   * the partner's own document there. Its last decision is made once the bytes are stored, just before its
   * transaction, and the arrangement is suspended between the two (after the second decision to add a document
   * there). The transaction must ask decide() again before it claims the name, as a folder create's does.
   */
  async function suspendedMidDocument(way: 'upload' | 'copy', name: string, options: { hostTookIt: boolean }) {
    const { host, partner, arrangement } = await createPartnership(s.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL', serviceArea: 'payroll' });
    const workspace = await s.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint payroll');
    const hostFolder = options.hostTookIt
      ? (await s.vault.collectionCreation.create(systemActor(), { organisationId: host.id, parentId: workspace.id, name, serviceArea: 'payroll', classification: 'OFFICIAL' })).id
      : null;
    const partnerStaff = await partner.user({ teams: ['payroll', 'finance'], clearance: 'OFFICIAL' });
    const upload = (collectionId: string) => s.app.inject({
      method: 'POST', url: `/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}`,
      headers: { authorization: `Bearer ${partnerStaff.token}`, 'content-type': 'application/octet-stream' }, payload: 'timesheet\n',
    });
    const own = way === 'copy' ? (await upload(partner.collections.finance!)).json().id as string : null;
    const access = s.vault.access;
    // An upload asks requireCreatableIn, a copy require('document.create'): the first before the bytes, the second after.
    const method = way === 'upload' ? 'requireCreatableIn' : 'require';
    const original = (access[method] as (...args: unknown[]) => Promise<unknown>).bind(access);
    const read = repo().childrenHoldingName.bind(repo());
    let creates = 0;
    // The check before the bytes (after the first decision) misses the name.
    const miss = vi.spyOn(repo(), 'childrenHoldingName').mockImplementation(async (o, p, n) => (n === name && creates === 1 ? [] : read(o, p, n)));
    const spy = vi.spyOn(access, method).mockImplementation((async (...args: unknown[]) => {
      const decided = await original(...args);
      if (args[1] === 'document.create' && ++creates === 2) await s.vault.arrangements.suspend(systemActor(), arrangement.id);
      return decided;
    }) as never);
    const send = () => (own ? api(s.app, partnerStaff).post(`documents/${own}/copy`, { collectionId: workspace.id }) : upload(workspace.id));
    return { host, workspace, hostFolder, send, done: () => { spy.mockRestore(); miss.mockRestore(); } };
  }

  it.each(['upload', 'copy'] as const)('a partner suspended between a document %s’s last decision and its transaction, losing the name to a host folder, hears a later one’s 404, not that the name is taken', async (way) => {
    const { host, workspace, hostFolder, send, done } = await suspendedMidDocument(way, 'Casework', { hostTookIt: true });
    const raced = await send();
    done();
    const later = await send();
    expect(later.statusCode).toBe(404);
    expect({ status: raced.statusCode, body: { ...raced.json(), requestId: null } }).toEqual({ status: later.statusCode, body: { ...later.json(), requestId: null } });
    expect(await namedIn(host.id, workspace.id, 'Casework')).toEqual([hostFolder]);
  });

  it.each(['upload', 'copy'] as const)('a partner suspended between a document %s’s last decision and its transaction stores nothing in the joint workspace (404, as a later one)', async (way) => {
    const { workspace, send, done } = await suspendedMidDocument(way, 'timesheet.txt', { hostTookIt: false });
    const raced = await send();
    done();
    expect(raced.statusCode).toBe(404);
    expect((await s.vault.store.repos.documents.inCollection(workspace.id, { includeDeleted: true })).map((d) => d.name)).toEqual([]);
  });

  it('a MOVE and a COPY of one folder onto one new name at once: one makes it, the other hears a later one’s 412, no lock cycle, nothing else changes', async () => {
    const org = await createOrganisation(s.vault);
    const parentId = org.collections.finance!;
    const staff = await davUser(s.vault, org, { teams: ['finance'] });
    const base = `/dav/${org.slug}/finance`;
    expect((await dav(s.base, 'MKCOL', `${base}/Ledgers`, { user: staff })).status).toBe(201);
    expect((await dav(s.base, 'MKCOL', `${base}/Ledgers/2025`, { user: staff })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${base}/Ledgers/2025/ledger.txt`, { user: staff, body: 'ledger\n' })).status).toBe(201);
    const source = (await namedIn(org.id, parentId, 'Ledgers'))[0]!;
    const headers = { destination: `${s.base}${base}/Archive`, overwrite: 'F' };
    // Every check before a transaction misses the name, so both reach their transactions; on PostgreSQL both are held
    // at their claims until both are there (SQLite's one connection runs the transactions one after the other).
    // Both first resolve their source and then the destination, held there until both have (so neither's source has
    // moved yet).
    const read = repo().childrenHoldingName.bind(repo());
    let arrived = 0;
    let release!: () => void;
    const both = new Promise<void>((resolve) => { release = resolve; });
    const spy = vi.spyOn(repo(), 'childrenHoldingName').mockImplementation(async (o, p, n) => {
      if (n !== 'Archive') return read(o, p, n);
      if (arrived < 2) {
        if (++arrived === 2) release();
        await both;
      }
      return [];
    });
    const claims = claimsTogether(dialect === 'postgres' ? 2 : 0);
    const [moved, copied] = await Promise.all([
      dav(s.base, 'MOVE', `${base}/Ledgers`, { user: staff, headers }),
      dav(s.base, 'COPY', `${base}/Ledgers`, { user: staff, headers }),
    ]);
    claims.mockRestore();
    spy.mockRestore();
    const statuses = [moved.status, copied.status].sort();
    expect(statuses).toEqual([201, 412]);
    const archive = await namedIn(org.id, parentId, 'Archive');
    expect(archive).toHaveLength(1);
    if (moved.status === 201) {
      expect(archive).toEqual([source]);
      expect(await namedIn(org.id, parentId, 'Ledgers')).toEqual([]);
    } else {
      expect(await namedIn(org.id, parentId, 'Ledgers')).toEqual([source]);
      expect(await namedIn(org.id, archive[0]!, '2025')).toHaveLength(1);
    }
    const loser = moved.status === 412 ? moved : copied;
    const later = await dav(s.base, moved.status === 412 ? 'MOVE' : 'COPY', `${base}/${moved.status === 201 ? 'Archive/2025' : 'Ledgers'}`, { user: staff, headers });
    expect({ status: loser.status, body: loser.body }).toEqual({ status: later.status, body: later.body });
  });
});
