// The disposal job does not destroy on the strength of a stale batch row: a record whose retention changed
// after the sweep proposed it (its series given a longer period, the record filed under another series, a
// later event recorded) is not due on the day the batch is carried out, so it is kept (outcome not_due,
// the refusal audited as document.dispose with reason retention_changed), counted on the certificate, and
// proposed again once due. A run of the job that stops right after destroying a record has recorded its
// outcome with the destruction, so the retry does not count it as already gone (which left the batch with no
// certificate that could verify). A sweep cannot look past today either (a later dueBy would propose records not
// yet due for destruction). And a document's access history does not tell whoever manages it through an
// arrangement (or a member) what the owning organisation's records management decided about it.
import { describe, expect, it } from 'vitest';
import { checkCertificate } from '../../src/domain/records/certificate.js';
import { addYears, ukDate } from '../../src/domain/records/retention.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, createPartnership, upload, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('disposal against stale rows on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function council() {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    return { org, manager, member };
  }

  /** An HR-03 record (1 year after the process completes) whose process completed `years` years ago. */
  async function application(org: TestOrganisation, member: TestUser, years = 2): Promise<string> {
    const res = await upload(t.app, member, org.collections.hr!, `applicant-${Math.random().toString(36).slice(2, 8)}.txt`, 'application\n');
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(years));
    return id;
  }

  /** Sweeps, decides destroy for every item, and approves: the batch as the job then finds it. */
  async function approvedBatch(manager: TestUser, meanwhile: () => Promise<void> = async () => {}): Promise<string> {
    const swept = await api(t.app, manager).post('disposal/batches', {});
    expect(swept.statusCode, swept.body).toBe(201);
    const batch = swept.json() as { id: string; items: { documentId: string }[] };
    await meanwhile();
    const decided = await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: batch.items.map((i) => ({ documentId: i.documentId, decision: 'destroy' })) });
    expect(decided.statusCode, decided.body).toBe(200);
    const approved = await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    return batch.id;
  }

  async function refusals(organisationId: string, documentId: string) {
    await t.vault.audit.sequencer.flush();
    return (await t.vault.store.repos.audit.forOrganisation(organisationId))
      .filter((e) => e.action === 'document.dispose' && e.targetIds.documentId === documentId)
      .map((e) => ({ decision: e.decision, reason: e.reason }));
  }

  it('refuses a sweep for a date after today (400), proposing nothing; today and earlier are fine', async () => {
    const { org, manager, member } = await council();
    // Its process completed today: due in a year, so a sweep a year and a day ahead would have proposed it.
    await application(org, member, 0);
    const today = ukDate(new Date());
    for (const dueBy of [addYears(today, 1), addYears(today, 5)]) {
      const refused = expectProblem(await api(t.app, manager).post('disposal/batches', { dueBy }), 400);
      expect(refused.detail).toBe(`${dueBy} is after today (${today}): a disposal batch proposes only records already due, so give today's date or an earlier one.`);
    }
    expect(await t.vault.store.repos.disposal.batches(org.id)).toEqual([]);
    const now = await api(t.app, manager).post('disposal/batches', { dueBy: today });
    expect(now.statusCode, now.body).toBe(200);
    expect(now.json()).toEqual({ batch: null });
  });

  it('keeps a record whose series was given a longer period after the sweep (not_due, audited), and its certificate says so', async () => {
    const { org, manager, member } = await council();
    const kept = await application(org, member);
    const batchId = await approvedBatch(manager, async () => {
      // The statute changed: ten years now. Not shorter, so no confirmation is needed.
      const changed = await api(t.app, manager).patch('series/HR-03', { retainYears: 10, reason: 'The statutory period changed' });
      expect(changed.statusCode, changed.body).toBe(200);
    });
    await t.vault.disposal.execute(batchId);
    expect(await t.vault.store.repos.documents.byId(kept)).toMatchObject({ status: 'available' });
    const batch = (await api(t.app, manager).get(`disposal/batches/${batchId}`)).json();
    expect(batch).toMatchObject({ status: 'executed', counts: { destroyed: 0, notDue: 1 } });
    expect(batch.items).toEqual([expect.objectContaining({ documentId: kept, decision: 'destroy', outcome: 'not_due' })]);
    expect(await refusals(org.id, kept)).toEqual([{ decision: 'deny', reason: 'retention_changed' }]);
    const certificate = await api(t.app, manager).get(`disposal/batches/${batchId}/certificate`);
    expect(certificate.statusCode, certificate.body).toBe(200);
    const body = JSON.parse(certificate.body);
    expect(body.counts).toMatchObject({ proposed: 1, destroyed: 0, notDueAtExecution: 1 });
    expect(body.documents).toEqual([]);
    expect(checkCertificate(body, t.vault.audit.proofs.verifierKey)).toMatchObject({ ok: true, destroyed: 0 });
  });

  it('an extension is a minimum: one decided before its series was lengthened leaves the longer rule, and a series shortened after cannot bring the record before it', async () => {
    const { org, manager, member } = await council();
    const overtaken = await application(org, member);
    const beyond = await application(org, member);
    const swept = await api(t.app, manager).post('disposal/batches', {});
    expect(swept.statusCode, swept.body).toBe(201);
    const batchId = swept.json().id as string;
    const today = ukDate(new Date());
    const decided = await api(t.app, manager).post(`disposal/batches/${batchId}/decisions`, { items: [
      { documentId: overtaken, decision: 'extend', extendTo: addYears(today, 1), reason: 'Tribunal still pending' },
      { documentId: beyond, decision: 'extend', extendTo: addYears(today, 20), reason: 'Historic abuse inquiry' },
    ] });
    expect(decided.statusCode, decided.body).toBe(200);
    // Before approval the statute changes: ten years from the process's completion, two years ago.
    const changed = await api(t.app, manager).patch('series/HR-03', { retainYears: 10, reason: 'The statutory period changed' });
    expect(changed.statusCode, changed.body).toBe(200);
    const approved = await api(t.app, manager).post(`disposal/batches/${batchId}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    const retention = async (id: string) => (await api(t.app, manager).get(`documents/${id}`)).json().retention as { dueAt: string; extended: boolean };
    expect(await retention(overtaken)).toMatchObject({ dueAt: addYears(yearsAgo(2), 10), extended: false });
    expect(await retention(beyond)).toMatchObject({ dueAt: addYears(today, 20), extended: true });
    // Nor does anything later bring either before the extension: the series shortened again, confirmed.
    const shortened = await api(t.app, manager).patch('series/HR-03', { retainYears: 1, reason: 'The statutory period was cut', confirmShorter: true });
    expect(shortened.statusCode, shortened.body).toBe(200);
    expect(await retention(overtaken)).toMatchObject({ dueAt: addYears(today, 1), extended: true });
    expect(await retention(beyond)).toMatchObject({ dueAt: addYears(today, 20), extended: true });
  });

  it('keeps a record filed under another series, or given a later event, after the sweep; destroys the one still due', async () => {
    const { org, manager, member } = await council();
    const refiled = await application(org, member);
    const later = await application(org, member);
    const still = await application(org, member);
    const batchId = await approvedBatch(manager, async () => {
      // Filed under a series of its own, with the same period but sent to an archive: still due, but not under the rule it was proposed under.
      const created = await api(t.app, manager).post('series', {
        code: 'HR-OTHER', title: 'Other applications', serviceArea: 'hr', trigger: 'process_complete', retainYears: 1, action: 'transfer', authority: 'Test schedule',
      });
      expect(created.statusCode, created.body).toBe(201);
      const filed = await api(t.app, manager).patch(`documents/${refiled}`, { series: 'HR-OTHER' });
      expect(filed.statusCode, filed.body).toBe(200);
      // The process was reopened and completed again last month: due next year.
      await recordEvent(t.vault, org.id, later, 'process_complete', ukDate(new Date(Date.now() - 30 * 86_400_000)));
    });
    await t.vault.disposal.execute(batchId);
    const outcomes = Object.fromEntries((await t.vault.store.repos.disposal.items(batchId)).map((i) => [i.documentId, i.outcome]));
    expect(outcomes).toEqual({ [refiled]: 'not_due', [later]: 'not_due', [still]: 'destroyed' });
    expect(await t.vault.store.repos.documents.byId(refiled)).toMatchObject({ status: 'available' });
    expect(await t.vault.store.repos.documents.byId(later)).toMatchObject({ status: 'available' });
    expect(await t.vault.store.repos.documents.byId(still)).toMatchObject({ status: 'disposed' });
    // Due again under its new series, the refiled one is proposed afresh by the next sweep (the first batch is carried out).
    const again = await api(t.app, manager).post('disposal/batches', {});
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json().items).toEqual([expect.objectContaining({ documentId: refiled, seriesCode: 'HR-OTHER' })]);
  });

  it('a run that stops right after destroying a record leaves its outcome recorded: the retry finishes the batch and issues its certificate', async () => {
    const { org, manager, member } = await council();
    const id = await application(org, member);
    const batchId = await approvedBatch(manager);
    // The job's own blob service: deleting the blobs comes straight after the destroying transaction commits.
    const blobs = (t.vault.disposal as unknown as { execution: { o: { blobs: { delete: (id: string) => Promise<void> } } } }).execution.o.blobs;
    const original = blobs.delete;
    blobs.delete = () => {
      blobs.delete = original;
      throw new Error('the worker process died');
    };
    await expect(t.vault.disposal.execute(batchId)).rejects.toThrow('the worker process died');
    expect(await t.vault.store.repos.documents.byId(id)).toMatchObject({ status: 'disposed' });
    expect((await t.vault.store.repos.disposal.items(batchId)).map((i) => i.outcome)).toEqual(['destroyed']);
    // The job's retry: nothing left to destroy, the batch carried out, and a certificate that lists the record.
    await t.vault.disposal.execute(batchId);
    const batch = (await t.vault.store.repos.disposal.batch(batchId))!;
    expect(batch).toMatchObject({ status: 'executed', certificateId: expect.any(String) });
    const certificate = JSON.parse((await api(t.app, manager).get(`disposal/batches/${batchId}/certificate`)).body);
    expect(certificate.documents.map((d: { documentId: string }) => d.documentId)).toEqual([id]);
    expect(checkCertificate(certificate, t.vault.audit.proofs.verifierKey)).toMatchObject({ ok: true, destroyed: 1 });
  });

  it('shows the owner\'s disposal decisions and holds in a document\'s access history only to its records readers, not to a host team managing it', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'hr' });
    await fileCollectionUnder(t.vault, partner.id, partner.collections.hr!, HR_03);
    const manager = await partner.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await partner.user({ teams: ['hr'] });
    const serving = await host.user({ teams: ['hr'] });
    const id = await application(partner, member);
    const swept = (await api(t.app, manager).post('disposal/batches', {})).json();
    expect((await api(t.app, manager).post(`disposal/batches/${swept.id}/decisions`, { items: [{ documentId: id, decision: 'extend', extendTo: addYears(ukDate(new Date()), 3), reason: 'Tribunal still pending' }] })).statusCode).toBe(200);
    const hold = (await api(t.app, manager).post('holds', { name: 'Smith v Council', reason: 'Employment tribunal claim' })).json();
    expect((await api(t.app, manager).post(`holds/${hold.id}/items`, { documentIds: [id] })).statusCode).toBe(200);
    // Refused by the hold: a refusal naming the batch.
    expectProblem(await api(t.app, manager).post(`disposal/batches/${swept.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] }), 409);
    // Someone's use of the document, for contrast.
    expect((await api(t.app, serving).get(`documents/${id}/content`)).statusCode).toBe(200);
    const history = async (user: TestUser) => {
      const res = await api(t.app, user).get(`documents/${id}/access-history`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json().events as { action: string; targetIds: Record<string, string> }[];
    };
    const management = ['records.dispose', 'records.hold.add', 'disposal.decide'];
    for (const user of [serving, member]) {
      const events = await history(user);
      expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['document.download', 'document.upload']));
      expect(events.filter((e) => management.includes(e.action) || e.action.startsWith('records.') || e.targetIds.batchId !== undefined)).toEqual([]);
      expect(JSON.stringify(events)).not.toContain(swept.id);
    }
    // The owner's records manager (records.read) sees them all.
    expect((await history(manager)).map((e) => e.action)).toEqual(expect.arrayContaining([...management, 'document.download']));
  });
});
