// Who finds what, through REST on both dialects: each hit appears exactly when decide() lets the person
// read the document (GET /documents/{id} answers 200) and the document is searchable (available, not in
// the bin). Own team, other team, a partner's serving team through an arrangement, after suspension,
// above clearance, pending scan, quarantined, in the bin.
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { api } from '../support/http.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { createPartnership, DIALECTS, upload, type TestUser } from '../support/vault.js';
import { canaryWord, drainJobs, foundIds, searchAs } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('search visibility on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '4096' } });

  async function world() {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'payroll' });
    const people = {
      partnerOwnTeam: await partner.user({ teams: ['payroll'] }),
      partnerOtherTeam: await partner.user({ teams: ['hr'] }),
      hostServingTeam: await host.user({ teams: ['payroll'] }),
      hostOtherTeam: await host.user({ teams: ['hr'] }),
      hostBelowClearance: await host.user({ teams: ['payroll'], clearance: 'OFFICIAL' }),
    };
    const word = canaryWord();
    const uploaded = await upload(t.app, people.partnerOwnTeam, partner.collections.payroll!, `payslips ${word}.txt`, `Payslip run for March: ${word} and the pension deductions.\n`);
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const documentId = uploaded.json().id as string;
    await drainJobs(t.vault);
    return { host, partner, arrangement, people, word, documentId };
  }

  /** Every person finds the document exactly when they may read it, and it is searchable. */
  async function expectMatrix(people: Record<string, TestUser>, word: string, documentId: string, searchable: boolean): Promise<Record<string, boolean>> {
    const seen: Record<string, boolean> = {};
    for (const [who, user] of Object.entries(people)) {
      const found = (await foundIds(t.app, user, word)).includes(documentId);
      const readable = (await api(t.app, user).get(`documents/${documentId}`)).statusCode === 200;
      expect(found, `${who}: found ${found}, may read ${readable}, searchable ${searchable}`).toBe(readable && searchable);
      seen[who] = found;
    }
    return seen;
  }

  it('finds a document for its own team and the partner\'s serving team only, and a suspension counts at the next search', async () => {
    const { people, word, documentId, arrangement } = await world();
    expect(await expectMatrix(people, word, documentId, true)).toEqual({
      partnerOwnTeam: true, partnerOtherTeam: false, hostServingTeam: true, hostOtherTeam: false, hostBelowClearance: false,
    });
    await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    expect(await expectMatrix(people, word, documentId, true)).toEqual({
      partnerOwnTeam: true, partnerOtherTeam: false, hostServingTeam: false, hostOtherTeam: false, hostBelowClearance: false,
    });
    // Totals and facets count the same set: nothing about the hidden document leaks through them.
    const body = (await searchAs(t.app, people.hostServingTeam, { q: word })).json();
    expect(body).toMatchObject({ total: 0, hits: [] });
    expect(body.facets.organisation).toEqual([]);
  });

  it('hides a document at once while a new version waits for its scan, while it is quarantined, and while it is in the bin', async () => {
    const { people, word, documentId } = await world();
    const owner = people.partnerOwnTeam;

    // A new version too large to scan inline: the document is pending_scan until the scan job runs.
    const put = await api(t.app, owner).put(`documents/${documentId}/content`, `${'Revised payslip text. '.repeat(400)}${word}\n`);
    expect(put.statusCode, put.body).toBe(200);
    expect((await t.vault.store.repos.documents.byId(documentId))!.status).toBe('pending_scan');
    await expectMatrix(people, word, documentId, false);
    await drainJobs(t.vault);
    expect(await expectMatrix(people, word, documentId, true)).toMatchObject({ partnerOwnTeam: true, hostServingTeam: true });

    // A rescan after a signature update quarantines a current version this way (quarantine.service rescanSince).
    await t.vault.store.repos.documents.update(documentId, { status: 'quarantined' }, new Date().toISOString());
    await expectMatrix(people, word, documentId, false);
    await t.vault.store.repos.documents.update(documentId, { status: 'available' }, new Date().toISOString());

    expect((await api(t.app, owner).delete(`documents/${documentId}`)).statusCode).toBe(204);
    for (const user of Object.values(people)) expect(await foundIds(t.app, user, word)).toEqual([]);
    expect((await api(t.app, owner).post(`documents/${documentId}/restore`)).statusCode).toBe(200);
    expect(await expectMatrix(people, word, documentId, true)).toMatchObject({ partnerOwnTeam: true, hostServingTeam: true });
  });

  it('a filter naming a collection or organisation the person cannot see yields nothing, exactly like one that does not exist', async () => {
    const { people, word, partner } = await world();
    const outsider = people.hostOtherTeam;
    const hidden = await searchAs(t.app, outsider, { q: word, collection: partner.collections.payroll! });
    const missing = await searchAs(t.app, outsider, { q: word, collection: '00000000-0000-4000-8000-000000000000' });
    expect(hidden.statusCode).toBe(200);
    expect(missing.statusCode).toBe(200);
    const strip = (b: { q: string }) => ({ ...b, q: '' });
    expect(strip(hidden.json())).toEqual(strip(missing.json()));
    expect(hidden.json()).toMatchObject({ total: 0, hits: [] });
  });

  it('names a hit\'s folder only to whoever may open it: a partner\'s hidden sub-folder is neither the hit\'s folder name nor a facet label', async () => {
    // The attack review (4 December): a partner's staff lowered a note's classification below its
    // folder's, so the host's serving team could read the note but not open the folder, yet search
    // gave them the folder's name.
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL', serviceArea: 'payroll' });
    const SECRET_FOLDER = 'Chief Executive exit settlement 2027';
    const hidden = await t.vault.collectionCreation.create(systemActor(), { organisationId: partner.id, parentId: partner.collections.payroll!, name: SECRET_FOLDER, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' });
    const partnerStaff = await partner.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const hostStaff = await host.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const word = canaryWord();
    const note = await upload(t.app, partnerStaff, hidden.id, `covering note ${word}.txt`, `Covering note ${word}.\n`);
    expect(note.statusCode, note.body).toBe(201);
    const documentId = note.json().id as string;
    const lowered = await api(t.app, partnerStaff).post(`documents/${documentId}/classification`, { classification: 'OFFICIAL', reason: 'the note itself is not sensitive' });
    expect(lowered.statusCode, lowered.body).toBe(200);
    await drainJobs(t.vault);
    expect((await api(t.app, hostStaff).get(`documents/${documentId}`)).statusCode).toBe(200);
    expect((await api(t.app, hostStaff).get(`collections/${hidden.id}`)).statusCode).toBe(404);

    const asHost = (await searchAs(t.app, hostStaff, { q: word })).json();
    expect(asHost.hits.map((h: { documentId: string; collection: unknown }) => [h.documentId, h.collection])).toEqual([[documentId, { id: hidden.id, name: null }]]);
    expect(asHost.facets.collection).toEqual([{ value: hidden.id, count: 1 }]);
    // The partner's own staff, who may open the folder, see its name.
    const asPartner = (await searchAs(t.app, partnerStaff, { q: word })).json();
    expect(asPartner.hits[0].collection).toEqual({ id: hidden.id, name: SECRET_FOLDER });
    expect(asPartner.facets.collection).toEqual([{ value: hidden.id, count: 1, label: SECRET_FOLDER }]);
  });
});
