// Dates people type and times they read are the UK's (Europe/London), as the retention rules and e-mails count
// them: an arrangement starting on 1 July opens at midnight BST, not an hour later; one ending on 1 October opens
// nothing from midnight BST; the audit page's "From" and "To" days are UK days. Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createOrganisation, DIALECTS, openTestVault, realClockUnless, upload, type TestVault } from '../support/vault.js';
import { addPerson, FormClient } from '../ui/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('UK dates and times on %s', (dialect) => {
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

  it('takes an arrangement\'s start and end dates as UK days, on the API and in access itself', async () => {
    clock.set('2027-06-30T22:00:00.000Z');
    const host = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const partner = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const hostAdmin = await host.user({ roles: ['org_admin'], teams: ['payroll'] });
    const terms = {
      partners: [partner.slug], serviceArea: 'payroll', purpose: 'Shared payroll', lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    };
    const proposed = await api(t.app, hostAdmin).post('arrangements', { ...terms, startsAt: '2027-07-01', endsAt: '2027-10-01' });
    expect(proposed.statusCode, proposed.body).toBe(201);
    // Midnight BST at the start of each day.
    expect(proposed.json()).toMatchObject({ startsAt: '2027-06-30T23:00:00.000Z', endsAt: '2027-09-30T23:00:00.000Z' });
    const winter = await api(t.app, hostAdmin).post('arrangements', { ...terms, startsAt: '2027-12-01', endsAt: '2028-01-01' });
    expect(winter.json()).toMatchObject({ startsAt: '2027-12-01T00:00:00.000Z', endsAt: '2028-01-01T00:00:00.000Z' });
    expect((await api(t.app, hostAdmin).post('arrangements', { ...terms, startsAt: '2027-07-01T09:00:00.000+01:00' })).json()).toMatchObject({ startsAt: '2027-07-01T08:00:00.000Z' });

    // A time with no offset would mean whatever the server's zone made of it; words are not dates.
    for (const startsAt of ['2027-07-01T09:00:00', '1 July 2027', '2027-02-29']) {
      const refused = await api(t.app, hostAdmin).post('arrangements', { ...terms, startsAt });
      expect(refused.statusCode, startsAt).toBe(400);
      expect(refused.json().detail).toContain(`the start date "${startsAt}" is not a date (use YYYY-MM-DD, or a date and time with its offset`);
    }

    // In access: the host's payroll team reads the partner's payroll from 00:30 BST on 1 July, and not from 00:30 BST on 1 October.
    const { id } = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Shared payroll, agreed',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: '2027-07-01', endsAt: '2027-10-01',
    }, { approve: true });
    const hostStaff = await host.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const partnerStaff = await partner.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const uploaded = await upload(t.app, partnerStaff, partner.collections.payroll!, 'payslips.txt', 'July payslips\n');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const read = async () => (await api(t.app, hostStaff).get(`documents/${uploaded.json().id}`)).statusCode;
    const standing = async () => (await api(t.app, hostAdmin).get(`arrangements/${id}`)).json().arrangement.standing;
    clock.set('2027-06-30T22:30:00.000Z'); // 23:30 BST on 30 June
    expect([await standing(), await read()]).toEqual(['scheduled', 404]);
    clock.set('2027-06-30T23:30:00.000Z'); // 00:30 BST on 1 July
    expect([await standing(), await read()]).toEqual(['in-force', 200]);
    clock.set('2027-09-30T22:30:00.000Z'); // 23:30 BST on 30 September
    expect([await standing(), await read()]).toEqual(['in-force', 200]);
    clock.set('2027-09-30T23:30:00.000Z'); // 00:30 BST on 1 October
    expect([await standing(), await read()]).toEqual(['expired', 404]);
  });

  it('searches the audit log by UK days, on the API and on the audit page, and says so when a date is not one', async () => {
    clock.set('2027-06-30T23:30:00.000Z'); // 00:30 BST on 1 July
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const staff = await org.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const auditor = await org.user({ roles: ['auditor'] });
    const uploaded = await upload(t.app, staff, org.collections.payroll!, 'late.txt', 'Filed after midnight\n');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const documentId = uploaded.json().id as string;
    const found = async (window: string) => {
      const res = await api(t.app, auditor).get(`audit/events?document=${documentId}&${window}`);
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().events as { action: string }[]).map((e) => e.action);
    };
    // `to` is exclusive: the 1st of July, UK time, is from=2027-07-01&to=2027-07-02.
    expect(await found('from=2027-07-01&to=2027-07-02')).toContain('document.upload');
    expect(await found('from=2027-06-30&to=2027-07-01')).toEqual([]);
    expect(await found('from=2027-06-30T23:00:00Z&to=2027-07-01T00:00:00%2B01:00')).toEqual([]);
    for (const window of ['from=not-a-date', 'to=2027-07-01T00:00:00', 'from=2027-02-30']) {
      const refused = await api(t.app, auditor).get(`audit/events?${window}`);
      expect(refused.statusCode, window).toBe(400);
      expect(refused.json().detail).toMatch(/is not a date for "(from|to)": give a date \(YYYY-MM-DD, a UK day\)/);
    }

    // The page's "To" day is the last day shown, and its times are UK time.
    const person = await addPerson(t.vault, org.slug, { roles: ['auditor'] });
    const client = new FormClient(base);
    await client.signIn(person.email);
    const onThe1st = (await client.get(`/audit?document=${documentId}&from=2027-07-01&to=2027-07-01`)).text;
    expect(onThe1st).toContain('1 July 2027 at 00:30');
    expect(onThe1st).not.toContain('UTC');
    const onThe30th = (await client.get(`/audit?document=${documentId}&from=2027-06-30&to=2027-06-30`)).text;
    expect(onThe30th).not.toContain('1 July 2027 at 00:30');
    expect(onThe30th).not.toContain('30 June 2027 at 23:30');
  });
});
