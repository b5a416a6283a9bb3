// Records management attacked from outside: holes found in #12, each pinned by a test that failed before its fix.
// 1. The race between placing a hold and destroying a document: the hold check and the destroying
//    transaction were apart, so a hold committed between them did not stop the destruction. Now the
//    decision is made inside the destroying transaction after row locks that placing a hold also takes.
// 2. The transfer package streamed every record's name and bytes to any records manager, whatever their
//    clearance: an OFFICIAL-cleared records manager could read OFFICIAL-SENSITIVE records through the zip.
// 3. Recording a retention event answered with the document's name, so a records manager below its
//    classification learned the name of any record by guessing its id.
// 4. A period could be shortened silently by refiling: filing a collection or a document under a series with
//    a shorter period moved due dates earlier with no list and no confirmation (a series edit needs both).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('records attacked on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let org: TestOrganisation;
  let manager: TestUser;
  let member: TestUser;

  async function freshOrganisation() {
    org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    member = await org.user({ teams: ['hr'] });
  }

  /** An HR-03 document past due, in an approved batch ready to execute. */
  async function approvedForDestruction(): Promise<{ documentId: string; batchId: string }> {
    const res = await upload(t.app, member, org.collections.hr!, `race-${randomUUID()}.txt`, 'application form\n');
    expect(res.statusCode, res.body).toBe(201);
    const documentId = res.json().id as string;
    await recordEvent(t.vault, org.id, documentId, 'process_complete', yearsAgo(2));
    const swept = await api(t.app, manager).post('disposal/batches', {});
    expect(swept.statusCode, swept.body).toBe(201);
    const batchId = swept.json().id as string;
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/decisions`, { items: [{ documentId, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/approve`)).statusCode).toBe(200);
    return { documentId, batchId };
  }

  async function emptyHold(): Promise<string> {
    const id = randomUUID();
    const now = new Date().toISOString();
    await t.vault.store.repos.holds.insert({ id, organisationId: org.id, name: 'Smith v Council', reason: 'Litigation', reference: null, createdBy: null, createdAt: now, releasedAt: null, releasedBy: null, releaseReason: null });
    return id;
  }

  for (const over of ['document', 'collection'] as const) {
    it(`a hold on the ${over} committed while execution is under way wins: execution waits for it and keeps the document`, async () => {
      await freshOrganisation();
      const { documentId, batchId } = await approvedForDestruction();
      const holdId = await emptyHold();
      const place = over === 'document' ? { documentIds: [documentId], collectionIds: [] } : { documentIds: [], collectionIds: [org.collections.hr!] };
      let execution: Promise<void> | undefined;
      // Placing the hold as HoldsService does (locks, then the item), and execution starting before it commits.
      await t.vault.store.transaction(async (tx) => {
        await tx.holds.lockForPlacing(place);
        await tx.holds.addItem({
          id: randomUUID(), holdId, organisationId: org.id, documentId: place.documentIds[0] ?? null, collectionId: place.collectionIds[0] ?? null,
          addedBy: null, addedAt: new Date().toISOString(),
        });
        execution = t.vault.disposal.execute(batchId);
        await sleep(400);
      });
      await execution;

      const items = await t.vault.store.repos.disposal.items(batchId);
      expect(items.map((i) => i.outcome)).toEqual(['held']);
      expect(await t.vault.store.repos.disposal.stub(documentId)).toBeUndefined();
      expect((await t.vault.store.repos.documents.byId(documentId))?.status).not.toBe('disposed');
      for (const v of await t.vault.store.repos.documents.versions(documentId)) expect(v.wrappedKey.length).toBeGreaterThan(0);
      await t.vault.audit.sequencer.flush();
      const refusals = (await t.vault.store.repos.audit.forDocument(documentId, 50)).filter((e) => e.action === 'document.dispose');
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({ decision: 'deny', reason: 'legal_hold' });
    });
  }

  it('refuses the transfer package to a records manager below a record\'s classification (403, audited, nothing recorded)', async () => {
    await freshOrganisation();
    const low = await org.user({ roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL' });
    const res = await upload(t.app, member, org.collections.hr!, `sensitive-${randomUUID()}.txt`, 'OFFICIAL-SENSITIVE content\n');
    expect(res.statusCode, res.body).toBe(201);
    const documentId = res.json().id as string;
    await recordEvent(t.vault, org.id, documentId, 'process_complete', yearsAgo(2));
    const swept = await api(t.app, low).post('disposal/batches', {});
    expect(swept.statusCode, swept.body).toBe(201);
    const batchId = swept.json().id as string;
    // The batch never named it to them.
    expect(swept.json().items[0]).toMatchObject({ documentId, name: null });
    expect((await api(t.app, low).post(`disposal/batches/${batchId}/decisions`, { items: [{ documentId, decision: 'transfer' }] })).statusCode).toBe(200);

    const refused = expectProblem(await api(t.app, low).get(`disposal/batches/${batchId}/transfer`), 403);
    expect(refused.detail).toContain('1 record to transfer in this batch is above your clearance or outside your reach');
    expect(refused.detail).not.toContain('sensitive-');
    await t.vault.audit.sequencer.flush();
    const denial = (await t.vault.store.repos.audit.forDocument(documentId, 50)).find((e) => e.decision === 'deny' && e.action === 'document.read');
    expect(denial).toMatchObject({ reason: 'clearance' });
    // Nothing recorded: approval still waits for a package someone allowed has downloaded.
    expect(expectProblem(await api(t.app, low).post(`disposal/batches/${batchId}/approve`), 400).detail).toBe('Download the transfer package before approving.');
    // A records manager cleared for it gets it.
    const zip = await api(t.app, manager).get(`disposal/batches/${batchId}/transfer`);
    expect(zip.statusCode).toBe(200);
  });

  it('does not name a record above the records manager\'s clearance in a refused retention event', async () => {
    await freshOrganisation();
    const low = await org.user({ roles: ['records_manager'], teams: [], clearance: 'OFFICIAL' });
    const payroll = await org.user({ teams: ['payroll'] });
    const name = `Smith grievance ${randomUUID()}.txt`;
    const res = await upload(t.app, payroll, org.collections.payroll!, name, 'sensitive\n');
    expect(res.statusCode, res.body).toBe(201);
    const documentId = res.json().id as string;
    const refused = expectProblem(await api(t.app, low).post('retention-events', { kind: 'process_complete', date: '2025-01-01', documentIds: [documentId] }), 400);
    expect(refused.detail).toBe(`Document ${documentId} is not filed under a record series, so no event applies to it.`);
    // Someone cleared for it is told its name.
    const told = expectProblem(await api(t.app, manager).post('retention-events', { kind: 'process_complete', date: '2025-01-01', documentIds: [documentId] }), 400);
    expect(told.detail).toBe(`${name} is not filed under a record series, so no event applies to it.`);
  });

  it('refuses refiling a collection or document under a shorter series unless confirmed (409, nothing changed)', async () => {
    await freshOrganisation();
    // hr moves to a ten-year series; HR-03 (one year) stays in the plan.
    await fileCollectionUnder(t.vault, org.id, org.collections.finance!, HR_03);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, { code: 'HR-LONG', trigger: 'process_complete', retainYears: 10 });
    const res = await upload(t.app, member, org.collections.hr!, `refile-${randomUUID()}.txt`, 'application\n');
    expect(res.statusCode, res.body).toBe(201);
    const documentId = res.json().id as string;
    await recordEvent(t.vault, org.id, documentId, 'process_complete', yearsAgo(2));
    const dueBefore = (await api(t.app, manager).get(`documents/${documentId}`)).json().retention.dueAt as string;

    const collection = expectProblem(await api(t.app, manager).patch(`collections/${org.collections.hr}`, { series: 'HR-03' }), 409);
    expect(collection.detail).toContain('Filing it under this series brings the due date of 1 document earlier');
    const own = expectProblem(await api(t.app, manager).patch(`documents/${documentId}`, { series: 'HR-03' }), 409);
    expect(own.detail).toContain('brings the due date of 1 document earlier');
    expect(await t.vault.store.repos.retention.collectionSeries(org.collections.hr!)).toBe('HR-LONG');
    expect((await api(t.app, manager).get(`documents/${documentId}`)).json().retention).toMatchObject({ series: 'HR-LONG', dueAt: dueBefore });
    // A longer one needs no confirmation; a confirmed shorter one goes ahead, audited with how many moved.
    expect((await api(t.app, manager).patch(`documents/${documentId}`, { series: 'HR-LONG' })).statusCode).toBe(200);
    expect((await api(t.app, manager).patch(`collections/${org.collections.hr}`, { series: 'HR-03', confirmShorter: true })).statusCode).toBe(200);
    await t.vault.audit.sequencer.flush();
    const filed = (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'records.collection.series' && e.targetIds.collectionId === org.collections.hr);
    expect(filed.at(-1)?.targetIds).toMatchObject({ seriesCode: 'HR-03' });
  });

  it('refuses to place a hold over a document destroyed a moment ago (409), adding nothing', async () => {
    await freshOrganisation();
    const { documentId, batchId } = await approvedForDestruction();
    const created = await api(t.app, manager).post('holds', { name: 'Late hold', reason: 'Subject access request' });
    expect(created.statusCode, created.body).toBe(201);
    const holdId = created.json().id as string;
    // The hold's checks pass, then the document is destroyed before its transaction: simulated by executing
    // between HoldsService's reads and its transaction, through the lock it takes.
    const original = t.vault.store.transaction.bind(t.vault.store);
    let raced = false;
    t.vault.store.transaction = (async (work: Parameters<typeof original>[0]) => {
      if (!raced) {
        raced = true;
        t.vault.store.transaction = original;
        await t.vault.disposal.execute(batchId);
      }
      return original(work);
    }) as typeof original;
    try {
      const res = await api(t.app, manager).post(`holds/${holdId}/items`, { documentIds: [documentId] });
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json().detail).toContain('was destroyed a moment ago');
    } finally {
      t.vault.store.transaction = original;
    }
    expect(await t.vault.store.repos.holds.items(holdId)).toEqual([]);
  });
});
