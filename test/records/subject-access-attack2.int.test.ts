// Attacks on subject access requests, second review: what a DPO below a record's clearance takes away in
// the response package, and a reference naming the person without a word of their name standing alone.
// Each test is one finding.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { openSubjectAccess, subjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, createOrganisation, createPartnership, upload } from '../support/vault.js';
import { unzip } from '../support/zip.js';

const clamd = useClamd();

describe.each(DIALECTS)('subject access requests attacked again on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function world() {
    const w = await subjectAccessWorld(t);
    const request = await openSubjectAccess(t, w);
    expect((await api(t.app, w.hostDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.held] })).statusCode).toBe(200);
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/items`, { documentIds: [w.own] })).statusCode).toBe(200);
    return { ...w, request };
  }

  it('gives a DPO below their own council’s record’s clearance neither its bytes nor its name in the response package', async () => {
    const w = await world();
    // Payroll records are OFFICIAL-SENSITIVE; this DPO of the requesting council is cleared to OFFICIAL only.
    const lowDpo = await w.partner.user({ roles: ['dpo'], teams: ['payroll'], clearance: 'OFFICIAL' });
    const pack = await api(t.app, lowDpo).get(`subject-access/${w.request.id}/package`);
    expect(pack.statusCode).toBe(200);
    const files = await unzip(pack.rawPayload);
    const index = JSON.parse(files.get('index.json')!.toString('utf8'));
    expect(index.records.map((r: { document: string | null; withheld: string | null }) => [r.document, r.withheld])).toEqual([
      ['overtime-claims.txt', null],
      [null, 'You may not read this record of your own organisation (above your clearance or outside your teams), so it is not sent to you: a data protection officer who may read it can download the package.'],
    ]);
    expect([...files.keys()].some((name) => name.includes('payslip-march'))).toBe(false);
    expect(files.get('index.csv')!.toString('utf8')).not.toContain('payslip-march');
    expect([...files.values()].some((b) => b.toString('utf8').includes('Payslip for Sam Smith'))).toBe(false);
    // Their colleague cleared to read it takes it.
    const full = await unzip((await api(t.app, w.dpo).get(`subject-access/${w.request.id}/package`)).rawPayload);
    expect([...full.keys()].some((name) => name.includes('payslip-march'))).toBe(true);
  });

  it('refuses a reference that runs the person’s name into other letters or digits, as it names them to the partner as plainly', async () => {
    const { partner, host } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const dpo = await partner.user({ roles: ['dpo'], teams: ['payroll'] });
    const hostDpo = await host.user({ roles: ['dpo'], teams: ['payroll'] });
    for (const reference of ['SAR-SamSmith', 'SMITH4411', 'SAMSMITH-2026', 'HR/2026/smithS']) {
      const refused = expectProblem(await api(t.app, dpo).post('subject-access', { reference, subjectName: 'Sam Smith', receivedOn: '2026-10-31', partners: [host.slug] }), 400);
      expect(refused.detail, reference).toBe('Leave the person’s name out of the reference: it goes in e-mails and notifications to partners and names the legal holds staff are told of.');
    }
    const notes = await t.vault.store.db.selectFrom('notifications').select('message').where('kind', '=', 'subject-access.asked').where('user_id', '=', hostDpo.id).execute();
    expect(notes).toEqual([]);
    // A reference that shares no part of the name is fine.
    const ok = await api(t.app, dpo).post('subject-access', { reference: 'SAR-2026-0042', subjectName: 'Sam Smith', receivedOn: '2026-10-31', partners: [host.slug] });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('names to the requester no partner record whose inclusion the audit log does not record, though an item row says it is in', async () => {
    const w = await world();
    const hostStaff = await w.host.user({ teams: ['payroll'] });
    const secret = (await upload(t.app, hostStaff, w.host.collections.payroll!, 'grievance-notes.txt', 'Grievance notes\n')).json().id as string;
    const document = (await t.vault.store.repos.documents.byId(secret))!;
    await t.vault.store.repos.subjectAccess.insertItem({
      id: randomUUID(), requestId: w.request.id, organisationId: w.host.id, documentId: secret, versionId: document.currentVersionId!,
      addedBy: w.hostDpo.id, addedAt: new Date().toISOString(), removedBy: null, removedAt: null,
    });
    for (const user of [w.dpo, w.hostDpo]) {
      const seen = (await api(t.app, user).get(`subject-access/${w.request.id}`)).json();
      expect(JSON.stringify(seen)).not.toContain('grievance-notes');
      expect(seen.items.map((i: { documentId: string }) => i.documentId)).not.toContain(secret);
    }
    const parts = (await api(t.app, w.dpo).get(`subject-access/${w.request.id}`)).json().parts;
    expect(parts.map((p: { items: number }) => p.items)).toEqual([1, 1]);
  });

  it('lets no council ask another that is only a fellow partner of a third council’s arrangement, with no service between them', async () => {
    // A third council hosts payroll for both: it holds each one's data, neither holds the other's.
    const [host, a, b] = [await createOrganisation(t.vault), await createOrganisation(t.vault), await createOrganisation(t.vault)];
    await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [a.id, b.id], serviceArea: 'payroll', purpose: 'Shared payroll',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE',
    }, { approve: true });
    const aDpo = await a.user({ roles: ['dpo'], teams: ['payroll'] });
    const bDpo = await b.user({ roles: ['dpo'], teams: ['payroll'] });
    const bName = `Test ${b.slug}`;
    const refused = expectProblem(await api(t.app, aDpo).post('subject-access', { subjectName: 'Sam Smith', subjectDetails: 'Payroll number 4411', receivedOn: '2026-10-31', partners: [b.slug] }), 400);
    expect(refused.detail).toBe(`${bName} shares no arrangement in force with your organisation, so it cannot be asked to search its records for you.`);
    expect((await api(t.app, bDpo).get('subject-access')).json().requests).toEqual([]);
    // The host, which does hold A's data, can be asked.
    const ok = await api(t.app, aDpo).post('subject-access', { subjectName: 'Sam Smith', receivedOn: '2026-10-31', partners: [host.slug] });
    expect(ok.statusCode, ok.body).toBe(201);
  });
});
