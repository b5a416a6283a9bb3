// An arrangement that reaches its end date stops with no event: nobody suspends or ends it, time passes. The host's
// team serving a partner keeps a token, an app password and links from before; once the end date passes, every
// interface answers as for an arrangement ended by hand: REST reads and downloads, a copy home, search, the
// partner's folder over WebDAV, recent documents. Refusals are audited with decide()'s reason. Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createOrganisation, DIALECTS, openTestVault, realClockUnless, upload, type TestVault } from '../support/vault.js';
import { canaryWord, drainJobs, foundIds } from '../search/support.js';
import { dav, davUser } from '../webdav/support.js';
import type { AddressInfo } from 'node:net';

const clamd = useClamd();
const HOUR = 3_600_000;

describe.each(DIALECTS)('an arrangement past its end date, on %s', (dialect) => {
  const clock = realClockUnless();
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true, clock });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    clock.set(null);
    await t?.close();
  });

  it('opens nothing once the end passes: REST, copy, search, WebDAV and recent documents all answer as if never shared', async () => {
    const start = Date.now();
    const host = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const partner = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Shared payroll',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL', endsAt: new Date(start + HOUR).toISOString(),
    }, { approve: true });
    const hostStaff = await davUser(t.vault, host, { teams: ['payroll'], clearance: 'OFFICIAL' });
    const partnerStaff = await partner.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const word = canaryWord();
    const uploaded = await upload(t.app, partnerStaff, partner.collections.payroll!, 'payslips.txt', `March payslips ${word}\n`);
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const documentId = uploaded.json().id as string;
    await drainJobs(t.vault);
    const asHost = api(t.app, hostStaff);
    const davPath = `/dav/${partner.slug}/payroll/payslips.txt`;
    const recent = async () => (await t.vault.people.recentDocuments(await actorOf(hostStaff.id), 10)).map((d) => d.id);

    // While it is in force, all of it is open.
    expect((await asHost.get(`documents/${documentId}`)).statusCode).toBe(200);
    expect((await asHost.get(`documents/${documentId}/content`)).statusCode).toBe(200);
    expect(await foundIds(t.app, hostStaff, word)).toEqual([documentId]);
    expect((await dav(base, 'GET', davPath, { user: hostStaff })).status).toBe(200);
    expect(await recent()).toContain(documentId);

    // A minute past its end: no event was written, nobody did anything.
    clock.set(new Date(start + HOUR + 60_000).toISOString());
    const before = (await eventsOf(t.vault, hostStaff.id, { deny: true })).length;
    expect((await asHost.get(`documents/${documentId}`)).statusCode).toBe(404);
    expect((await asHost.get(`documents/${documentId}/content`)).statusCode).toBe(404);
    expect((await asHost.post(`documents/${documentId}/copy`, { collectionId: host.collections.payroll! })).statusCode).toBe(404);
    expect(await foundIds(t.app, hostStaff, word)).toEqual([]);
    expect((await dav(base, 'GET', davPath, { user: hostStaff })).status).toBe(404);
    expect((await dav(base, 'PROPFIND', `/dav/${partner.slug}/`, { user: hostStaff, headers: { depth: '1' } })).status).toBe(404);
    expect(await recent()).not.toContain(documentId);
    const denied = (await eventsOf(t.vault, hostStaff.id, { deny: true })).slice(before).map((e) => `${e.action}:${e.reason}`);
    expect(denied).toEqual([
      'document.read:no_arrangement', 'document.download:no_arrangement', 'document.download:no_arrangement',
      // WebDAV: an organisation's folder the person reaches nothing in is refused as such, whatever the path names below it.
      'collection.list:no_visible_collection', 'collection.list:no_visible_collection',
    ]);
  });

  async function actorOf(userId: string) {
    const { actorFor } = await import('../../src/services/identity.service.js');
    return actorFor((await t.vault.identity.userById(userId))!, { channel: 'web', clientAddress: null, requestId: null });
  }
});
