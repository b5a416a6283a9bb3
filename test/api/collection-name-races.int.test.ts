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
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { dav, davUser, openDavServer, type DavServer, type DavUser } from '../webdav/support.js';

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
  const original = () => repo().childByName.bind(repo());

  /** The next `times` checks of `name` before a transaction miss whatever holds it, as they do just before the holder's commit. */
  function checksMiss(name: string, times: number) {
    const read = original();
    let left = times;
    return vi.spyOn(repo(), 'childByName').mockImplementation(async (o, p, n) => (n === name && left-- > 0 ? undefined : read(o, p, n)));
  }

  /** The first `count` checks of `name` each wait, once read, until all `count` have read: every one misses the others' folders. */
  function checksTogether(name: string, count: number) {
    const read = original();
    let arrived = 0;
    let release!: () => void;
    const all = new Promise<void>((resolve) => { release = resolve; });
    return vi.spyOn(repo(), 'childByName').mockImplementation(async (o, p, n) => {
      const found = await read(o, p, n);
      if (n !== name || arrived >= count) return found;
      if (++arrived === count) release();
      await all;
      return found;
    });
  }

  const named = async (org: TestOrganisation, parentId: string | null, name: string) =>
    (await repo().children(org.id, parentId)).filter((c) => c.name === name).map((c) => c.id);
  const creations = async (org: TestOrganisation) =>
    (await s.vault.store.db.selectFrom('audit_events').select('id').where('action', '=', 'collection.create').where('target_organisation_id', '=', org.id).execute()).length;
  const refusals = async (org: TestOrganisation) =>
    (await s.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'target_ids']).where('target_organisation_id', '=', org.id).where('decision', '=', 'deny').execute())
      .map((e) => ({ action: e.action, collectionId: (JSON.parse(e.target_ids) as Record<string, string>).collectionId }));

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
    const both = await Promise.allSettled([s.vault.collections.create(systemActor(), input), s.vault.collections.create(systemActor(), input)]);
    spy.mockRestore();
    const later = await s.vault.collections.create(systemActor(), input).then(() => null, (e: Error & { code: string }) => ({ code: e.code, message: e.message }));
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
    const folder = await s.vault.collections.create(systemActor(), { organisationId: org.id, parentId, name: 'Before', serviceArea: 'finance', classification: 'OFFICIAL' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let claimed!: () => void;
    const firstClaimed = new Promise<void>((resolve) => { claimed = resolve; });
    const first = s.vault.store.transaction(async (repos) => {
      expect(await repos.collections.claimName(org.id, parentId, 'After')).toBeUndefined();
      await repos.collections.place(folder.id, { ...folder, name: 'After' });
      claimed();
      await gate;
    });
    await firstClaimed;
    let secondSaw: string | null | undefined;
    const second = s.vault.store.transaction(async (repos) => {
      secondSaw = (await repos.collections.claimName(org.id, parentId, 'After'))?.id ?? null;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(secondSaw).toBeUndefined();
    release();
    await Promise.all([first, second]);
    expect(secondSaw).toBe(folder.id);
  });
});
