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
import { enrolTotp, FormClient } from '../ui/support.js';
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

  it('is shown as what it means now: not started, in force, then past its end date, on the register, the home page, and the report', async () => {
    clock.set(null);
    const start = Date.now();
    const region = `Region ${canaryWord()}`;
    const host = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' }, region });
    const partner = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const purpose = `Shared finance ${canaryWord()}`;
    const proposed = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'finance', purpose, lawfulBasis: 'Local Government Act 1972 s.101',
      accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: new Date(start + HOUR).toISOString(), endsAt: new Date(start + 2 * HOUR).toISOString(), annualSavingPounds: 12_000,
    }, { approve: true });
    expect(proposed).toMatchObject({ status: 'active', standing: 'scheduled' });
    const partnerStaff = await partner.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const asPartner = api(t.app, partnerStaff);
    // Signed in afresh at each moment: an hour on, the session from before has timed out.
    let web = new FormClient(base);
    const hostRegion = async () => ((await asPartner.get('arrangements/report')).json().byRegion as { key: string; annualSavingPounds: number }[]).find((r) => r.key === region) ?? null;
    const shown = async () => {
      web = new FormClient(base);
      await web.signIn(partnerStaff.email);
      const listed = (await asPartner.get(`arrangements?organisation=${partner.slug}`)).json().arrangements as { id: string; status: string; standing: string }[];
      const register = (await web.get(`/arrangements?serviceArea=finance&region=${encodeURIComponent(region)}`)).text;
      return {
        api: listed.map((a) => `${a.status}/${a.standing}`),
        detail: (await asPartner.get(`arrangements/${proposed.id}`)).json().arrangement.standing as string,
        register: /<strong class="govuk-tag[^"]*">\s*([^<]+?)\s*<\/strong>/.exec(register.slice(register.indexOf(purpose)))?.[1],
        page: /id="terms"[\s\S]*?<strong class="govuk-tag[^"]*">\s*([^<]+?)\s*<\/strong>/.exec((await web.get(`/arrangements/${proposed.id}`)).text)?.[1],
        home: (await web.get('/')).text.includes(`href="/arrangements/${proposed.id}"`),
        saving: (await hostRegion())?.annualSavingPounds ?? null,
      };
    };

    expect(await shown()).toEqual({ api: ['active/scheduled'], detail: 'scheduled', register: 'Not started yet', page: 'Not started yet', home: false, saving: null });
    clock.set(new Date(start + HOUR + 60_000).toISOString());
    expect(await shown()).toEqual({ api: ['active/in-force'], detail: 'in-force', register: 'In force', page: 'In force', home: true, saving: 12_000 });
    clock.set(new Date(start + 2 * HOUR + 60_000).toISOString());
    expect(await shown()).toEqual({ api: ['active/expired'], detail: 'expired', register: 'Past its end date', page: 'Past its end date', home: false, saving: null });

    // Either filter: the stored lifecycle status, or what it means now.
    const ids = async (query: string) => ((await asPartner.get(`arrangements?organisation=${partner.slug}&${query}`)).json().arrangements as { id: string }[]).map((a) => a.id);
    expect(await ids('status=active')).toEqual([proposed.id]);
    expect(await ids('standing=in-force')).toEqual([]);
    expect(await ids('standing=expired')).toEqual([proposed.id]);
    expect((await web.get('/arrangements?standing=expired')).text).toContain(purpose);
    expect((await web.get('/arrangements?standing=in-force')).text).not.toContain(purpose);
    const refused = await asPartner.get('arrangements?standing=lapsed');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().detail).toBe('Standing must be one of draft, scheduled, in-force, expired, suspended, ended.');
    // The report counts it again only when asked for active arrangements whatever their dates.
    expect(((await asPartner.get('arrangements/report?status=active')).json().byRegion as { key: string }[]).map((r) => r.key)).toContain(region);
  });

  it('is pointed out to either party\'s org admins on their home page in its last 30 days, and to nobody else', async () => {
    clock.set(null);
    const start = Date.now();
    const DAY = 24 * HOUR;
    const host = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const partner = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const bystander = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const purpose = `Shared HR ${canaryWord()}`;
    const { id } = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'hr', purpose, lawfulBasis: 'Local Government Act 1972 s.101',
      accessLevel: 'read', ceiling: 'OFFICIAL', endsAt: new Date(start + 60 * DAY).toISOString(),
    }, { approve: true });
    const admin = async (org: typeof host) => {
      const user = await org.user({ roles: ['org_admin'], teams: ['hr'] });
      return { email: user.email, secret: await enrolTotp(t.vault, user.id) };
    };
    const people = { hostAdmin: await admin(host), partnerAdmin: await admin(partner), bystanderAdmin: await admin(bystander), partnerMember: await partner.user({ teams: ['hr'] }) };
    const told = async () => {
      const seen: Record<string, string | null> = {};
      for (const [who, person] of Object.entries(people)) {
        const home = await new FormClient(base).signIn(person.email, undefined, 'secret' in person ? person.secret : undefined, clock.now().getTime());
        seen[who] = /<ul class="govuk-list" id="ending-soon">([\s\S]*?)<\/ul>/.exec(home)?.[1]?.replace(/<[^>]+>/g, '').trim() ?? null;
      }
      return seen;
    };
    const nobody = { hostAdmin: null, partnerAdmin: null, bystanderAdmin: null, partnerMember: null };

    clock.set(new Date(start + 29 * DAY).toISOString());
    expect(await told()).toEqual(nobody);
    clock.set(new Date(start + 31 * DAY).toISOString());
    const notice = `${purpose} ends on ${new Date(start + 60 * DAY).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })}`;
    expect(await told()).toEqual({ ...nobody, hostAdmin: notice, partnerAdmin: notice });
    // Suspended, it opens nothing already: nothing is about to stop.
    await t.vault.arrangements.suspend(systemActor(), id);
    clock.set(new Date(start + 31 * DAY + 60_000).toISOString()); // a code step on: each code is taken once
    expect(await told()).toEqual(nobody);
  });

  async function actorOf(userId: string) {
    const { actorFor } = await import('../../src/services/identity.service.js');
    return actorFor((await t.vault.identity.userById(userId))!, { channel: 'web', clientAddress: null, requestId: null });
  }
});
