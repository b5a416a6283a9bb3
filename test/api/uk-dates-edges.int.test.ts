// Odd dates at the edges of what a person can type: the last day of year 9999 in a search or audit window,
// an instant whose offset carries it out of four-digit years, and a form field given twice. Each is an
// answer or a 400, never a 500 or a silently wrong window. Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createOrganisation, DIALECTS, openTestVault, upload, type TestVault } from '../support/vault.js';
import { addPerson, FormClient } from '../ui/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('dates at the edges on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a search or audit window that runs to 31 December 9999, and refuses an instant outside the four-digit years', async () => {
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const staff = await org.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const auditor = await org.user({ roles: ['auditor'] });
    const uploaded = await upload(t.app, staff, org.collections.payroll!, 'edge.txt', 'payslips at the edge\n');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const documentId = uploaded.json().id as string;

    // Search's "to" day is inclusive: the last day there is ends where no four-digit year begins. It was a 500.
    const unbounded = await api(t.app, staff).get('search?q=payslips');
    const toTheEnd = await api(t.app, staff).get('search?q=payslips&to=9999-12-31');
    expect(toTheEnd.statusCode, toTheEnd.body).toBe(200);
    expect(toTheEnd.json().results).toEqual(unbounded.json().results);
    expect((await api(t.app, staff).get('search?q=payslips&from=9999-12-31')).statusCode).toBe(200);

    // An offset that carries an instant past 9999 (or before 0000) would be stored as +010000-..., which sorts before
    // every other instant: "to" would silently find nothing. It is refused, as any other non-date is.
    for (const window of ['to=9999-12-31T23:00:00-05:00', 'from=0000-01-01T00:30:00%2B14:00']) {
      const refused = await api(t.app, auditor).get(`audit/events?document=${documentId}&${window}`);
      expect(refused.statusCode, window).toBe(400);
      expect(refused.json().detail).toMatch(/is not a date for "(from|to)"/);
    }
    const lastDay = await api(t.app, auditor).get(`audit/events?document=${documentId}&to=9999-12-31`);
    expect(lastDay.statusCode).toBe(200);
    expect(lastDay.json().events.map((e: { action: string }) => e.action)).toContain('document.upload');

    // The pages: "To" 31 December 9999 shows everything (it was a 400 naming "+010000-01"); search's page answers.
    const person = await addPerson(t.vault, org.slug, { roles: ['auditor'] });
    const client = new FormClient(base);
    await client.signIn(person.email);
    const page = await client.get(`/audit?document=${documentId}&to=9999-12-31`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('document.upload');
    expect((await client.get('/search?q=payslips&to=9999-12-31')).status).toBe(200);
  });

  it('reads the first of a field given twice on the audit page, instead of failing with a 500', async () => {
    const org = await createOrganisation(t.vault, { areas: { payroll: 'OFFICIAL' } });
    const staff = await org.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const uploaded = await upload(t.app, staff, org.collections.payroll!, 'twice.txt', 'given twice\n');
    const documentId = uploaded.json().id as string;
    const person = await addPerson(t.vault, org.slug, { roles: ['auditor'] });
    const client = new FormClient(base);
    await client.signIn(person.email);
    for (const twice of ['from=2000-01-01&from=9999-01-01', 'to=9999-01-01&to=2000-01-01', `document=${documentId}&document=x`, 'action=document.upload&action=x', `actor=${encodeURIComponent(staff.email)}&actor=x`]) {
      const page = await client.get(`/audit?document=${documentId}&${twice}`);
      expect(page.status, twice).toBe(200);
    }
    const first = await client.get(`/audit?document=${documentId}&from=2000-01-01&from=9999-01-01`);
    expect(first.text).toContain('document.upload');
    const refused = await client.get(`/audit?document=${documentId}&from=soon&from=2000-01-01`);
    expect(refused.status).toBe(400);
  });
});
