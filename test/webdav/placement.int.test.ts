// WebDAV MOVE and COPY go through the same service operations as REST: a collection moved out of a
// joint workspace stops being shared with everything in it; a refused move across organisations
// leaves nothing behind; a rename cannot get around the file-type policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createPartnership } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer } from './support.js';
import { heldFragment, placeHold } from '../support/holds.js';

const clamd = useClamd();

describe.each(DIALECTS)('WebDAV MOVE and COPY keep derived facts on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  async function sharedService(level: 'read' | 'contribute' | 'manage') {
    const { host, partner, arrangement } = await createPartnership(s.vault, { accessLevel: level, ceiling: 'OFFICIAL', serviceArea: 'finance', areas: { finance: 'OFFICIAL' } });
    const hostStaff = await davUser(s.vault, host, { teams: ['finance'] });
    const partnerStaff = await davUser(s.vault, partner, { teams: ['finance'] });
    return { host, partner, arrangement, hostStaff, partnerStaff };
  }

  it('unshares a workspace sub-collection moved into an internal folder, by path and by id', async () => {
    const x = await sharedService('manage');
    await s.vault.arrangements.createWorkspace(systemActor(), x.arrangement.id, 'Joint');
    const joint = `/dav/${x.host.slug}/Joint`;
    expect((await dav(s.base, 'MKCOL', `${joint}/Bids`, { user: x.hostStaff })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${joint}/Bids/partner.txt`, { user: x.partnerStaff, body: 'partner bid' })).status).toBe(201);
    const collections = s.vault.store.repos.collections;
    const bids = await collections.childByName(x.host.id, (await collections.childByName(x.host.id, null, 'Joint'))!.id, 'Bids');
    const before = (await api(s.app, x.partnerStaff).get(`collections/${bids!.id}`)).json();
    const partnerDocId = before.documents[0].id as string;

    const moved = await dav(s.base, 'MOVE', `${joint}/Bids`, { user: x.hostStaff, headers: { destination: `${s.base}/dav/${x.host.slug}/finance/Bids` } });
    expect(moved.status, moved.body).toBe(201);
    expect((await dav(s.base, 'PUT', `/dav/${x.host.slug}/finance/Bids/internal.txt`, { user: x.hostStaff, body: 'internal only' })).status).toBe(201);
    const listing = (await api(s.app, x.hostStaff).get(`collections/${before.id}`)).json();
    expect(listing.arrangementId).toBeNull();
    const internalDocId = listing.documents.find((d: { name: string }) => d.name === 'internal.txt').id as string;

    const partnerApi = api(s.app, x.partnerStaff);
    expectProblem(await partnerApi.get(`collections/${before.id}`), 404);
    for (const id of [partnerDocId, internalDocId]) {
      expectProblem(await partnerApi.get(`documents/${id}/content`), 404);
      expectProblem(await partnerApi.put(`documents/${id}/content`, 'overwritten'), 404);
      expectProblem(await partnerApi.delete(`documents/${id}`), 404);
    }
    for (const path of [`/dav/${x.host.slug}/finance/Bids/internal.txt`, `/dav/${x.host.slug}/finance/Bids/partner.txt`, `${joint}/Bids/partner.txt`]) {
      expect((await dav(s.base, 'GET', path, { user: x.partnerStaff })).status).toBe(404);
      expect((await dav(s.base, 'DELETE', path, { user: x.partnerStaff })).status).toBe(404);
      expect((await dav(s.base, 'PUT', path, { user: x.partnerStaff, body: 'overwritten' })).status).toBe(409);
    }
    expect((await dav(s.base, 'GET', `/dav/${x.host.slug}/finance/Bids/internal.txt`, { user: x.hostStaff })).body).toBe('internal only');
    expect((await dav(s.base, 'GET', `/dav/${x.host.slug}/finance/Bids/partner.txt`, { user: x.hostStaff })).body).toBe('partner bid');
  });

  it('leaves nothing at the destination when a MOVE across organisations is refused', async () => {
    // The host's team may read and add to the partner's finance, but not delete there.
    const x = await sharedService('contribute');
    const source = `/dav/${x.partner.slug}/finance/ledger.txt`;
    expect((await dav(s.base, 'PUT', source, { user: x.partnerStaff, body: 'partner ledger' })).status).toBe(201);
    const res = await dav(s.base, 'MOVE', source, { user: x.hostStaff, headers: { destination: `${s.base}/dav/${x.host.slug}/finance/taken.txt` } });
    expect(res.status).toBe(403);
    expect((await dav(s.base, 'GET', `/dav/${x.host.slug}/finance/taken.txt`, { user: x.hostStaff })).status).toBe(404);
    expect(await s.vault.store.db.selectFrom('documents').select('id').where('organisation_id', '=', x.host.id).execute()).toEqual([]);
    expect((await dav(s.base, 'GET', source, { user: x.partnerStaff })).body).toBe('partner ledger');
  });

  it('leaves nothing at the destination when the source of a MOVE is on legal hold', async () => {
    const x = await sharedService('contribute');
    const source = `/dav/${x.host.slug}/finance/held.txt`;
    expect((await dav(s.base, 'PUT', source, { user: x.hostStaff, body: 'held' })).status).toBe(201);
    const held = (await s.vault.collections.get(systemActor(), x.host.collections.finance!)).documents[0]!;
    const hold = await placeHold(s.vault, x.host.id, { documentIds: [held.id] });
    const res = await dav(s.base, 'MOVE', source, { user: x.hostStaff, headers: { destination: `${s.base}/dav/${x.partner.slug}/finance/held.txt` } });
    // The hold refuses the deletion at the source that a move across organisations is, and says which hold.
    expect(res.status).toBe(409);
    expect(res.body).toContain(heldFragment(hold));
    expect(await s.vault.store.db.selectFrom('documents').select('id').where('organisation_id', '=', x.partner.id).execute()).toEqual([]);
    expect((await dav(s.base, 'GET', source, { user: x.hostStaff })).body).toBe('held');
  });

  it('records the provenance of a WebDAV COPY of a partner’s document', async () => {
    const x = await sharedService('read');
    expect((await dav(s.base, 'PUT', `/dav/${x.partner.slug}/finance/rates.txt`, { user: x.partnerStaff, body: 'rates' })).status).toBe(201);
    const res = await dav(s.base, 'COPY', `/dav/${x.partner.slug}/finance/rates.txt`, { user: x.hostStaff, headers: { destination: `${s.base}/dav/${x.host.slug}/finance/rates.txt` } });
    expect(res.status).toBe(201);
    const copy = (await s.vault.collections.get(systemActor(), x.host.collections.finance!)).documents[0]!;
    expect(copy).toMatchObject({ name: 'rates.txt', copiedViaArrangementId: x.arrangement.id });
    expect(copy.copiedFromDocumentId).not.toBeNull();
  });

  it('refuses a COPY of a partner’s folder into another organisation before writing anything', async () => {
    const x = await sharedService('read');
    expect((await dav(s.base, 'MKCOL', `/dav/${x.partner.slug}/finance/Rates`, { user: x.partnerStaff })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `/dav/${x.partner.slug}/finance/Rates/rates.txt`, { user: x.partnerStaff, body: 'rates' })).status).toBe(201);
    const res = await dav(s.base, 'COPY', `/dav/${x.partner.slug}/finance/Rates`, { user: x.hostStaff, headers: { destination: `${s.base}/dav/${x.host.slug}/finance/Rates` } });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/copy the documents/);
    const listing = await s.vault.collections.get(systemActor(), x.host.collections.finance!);
    expect(listing.children).toEqual([]);
    expect(listing.documents).toEqual([]);
  });

  it.each(['notes.bat', 'notes.vbs'])('refuses to MOVE (rename) notes.txt to %s with 403 and changes nothing', async (name) => {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const staff = await davUser(s.vault, org, { teams: ['finance'] });
    const base = `/dav/${org.slug}/finance`;
    expect((await dav(s.base, 'PUT', `${base}/notes.txt`, { user: staff, body: 'echo hello\r\n' })).status).toBe(201);
    const res = await dav(s.base, 'MOVE', `${base}/notes.txt`, { user: staff, headers: { destination: `${s.base}${base}/${name}` } });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/^Refused: /);
    expect((await dav(s.base, 'GET', `${base}/${name}`, { user: staff })).status).toBe(404);
    expect((await dav(s.base, 'GET', `${base}/notes.txt`, { user: staff })).body).toBe('echo hello\r\n');
    // COPY to the blocked name is refused the same way and stores nothing.
    const copy = await dav(s.base, 'COPY', `${base}/notes.txt`, { user: staff, headers: { destination: `${s.base}${base}/${name}` } });
    expect(copy.status).toBe(403);
    expect((await dav(s.base, 'GET', `${base}/${name}`, { user: staff })).status).toBe(404);
  });
});
