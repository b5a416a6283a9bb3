// Disposal end to end on both dialects: an HR-03 record whose process completed two years ago is
// proposed, approved and destroyed (crypto-shredded, blob deleted, stub kept, gone from every
// interface and listing); a hold placed between approval and execution wins; the bin is purged.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposalSweepJob } from '../../src/domain/jobs/kinds.js';
import { checkCertificate, describeCheck } from '../../src/domain/records/certificate.js';
import { ukDate } from '../../src/domain/records/retention.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { HR_03, fileCollectionUnder, type SeriesSpec, placeHold, recordEvent, releaseHold, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, createPartnership, realClockUnless, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';
import { unzip, zipEntryNames } from '../support/zip.js';
import { PROPFIND_ALL, dav, davUser, type DavUser } from '../webdav/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('disposal on %s', (dialect) => {
  // The real time, except where a test runs the bin purge some days later.
  const clock = realClockUnless();
  const t = useTestVault(dialect, clamd, { listen: true, clock });
  let base: string;
  let org: TestOrganisation;
  let manager: TestUser;
  let member: DavUser;
  let memberEmail: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  /** A fresh organisation whose hr collection is filed under HR-03, with a records manager and an hr member. */
  async function freshOrganisation() {
    org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    member = await davUser(t.vault, org, { teams: ['hr'] });
    memberEmail = (await addPerson(t.vault, org.slug, { teams: ['hr'] })).email;
  }

  /** An HR-03 document whose process completed `years` years ago. */
  async function applicationDocument(name: string, years = 2): Promise<string> {
    const res = await upload(t.app, member, org.collections.hr!, name, `application form ${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(years));
    return id;
  }

  async function sweep(): Promise<{ id: string; items: { documentId: string; excludedBy: { id: string; name: string }[]; decision: string; outcome: string | null }[] }> {
    const res = await api(t.app, manager).post('disposal/batches', {});
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  async function blobIdsOf(documentId: string): Promise<string[]> {
    return (await t.vault.store.repos.documents.versions(documentId)).map((v) => v.blobId);
  }

  /** The document's sequenced audit events (sequencing first). */
  async function auditOf(documentId: string) {
    await t.vault.audit.sequencer.flush();
    return t.vault.store.repos.audit.forDocument(documentId, 50);
  }

  async function storedBlobs(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const id of t.vault.blobStore.list()) out.add(id);
    return out;
  }

  it('proposes, approves and destroys an HR-03 record; afterwards it is gone from REST, web and WebDAV, its keys and blob with it', async () => {
    await freshOrganisation();
    const name = `applicant-${Date.now()}.txt`;
    const id = await applicationDocument(name);
    const recent = await applicationDocument(`recent-${Date.now()}.txt`, 0);
    const blobIds = await blobIdsOf(id);
    expect([...(await storedBlobs())]).toEqual(expect.arrayContaining(blobIds));

    const batch = await sweep();
    expect(batch.items.map((i) => i.documentId)).toEqual([id]);
    expect(batch.items[0]).toMatchObject({ decision: 'pending', excludedBy: [], outcome: null, seriesCode: 'HR-03', trigger: 'process_complete', name });
    expect(batch).toMatchObject({ status: 'review', organisationId: org.id, counts: { items: 1, pending: 1 } });
    // One notification to the records manager, naming the batch.
    const notes = await t.vault.store.repos.notifications.forUser(manager.id);
    expect(notes.filter((n) => n.kind === 'disposal.review')).toHaveLength(1);
    expect(notes[0]!.message).toContain(batch.id);
    // Nothing new: a second sweep makes no batch and no notification.
    const again = await api(t.app, manager).post('disposal/batches', {});
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ batch: null });
    expect((await t.vault.store.repos.notifications.forUser(manager.id)).filter((n) => n.kind === 'disposal.review')).toHaveLength(1);

    const approveEarly = expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`), 400);
    expect(approveEarly.detail).toContain('1 item still needs a decision');
    const decided = await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] });
    expect(decided.statusCode, decided.body).toBe(200);
    const approved = await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved', approvedBy: manager.id });
    expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] }), 409);
    // Approval queued the execution job (here run directly, as the worker would).
    const queued = await t.vault.store.db.selectFrom('jobs').select(['kind', 'payload', 'status']).where('kind', '=', 'dispose-batch').execute();
    expect(queued.filter((j) => JSON.parse(j.payload).batchId === batch.id)).toEqual([{ kind: 'dispose-batch', payload: JSON.stringify({ batchId: batch.id }), status: 'queued' }]);

    await t.vault.disposal.execute(batch.id);

    const executed = (await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json();
    expect(executed).toMatchObject({ status: 'executed', counts: { destroyed: 1 } });
    // Its certificate of destruction was issued with it, naming the record's name hash.
    expect(executed.certificateId).toEqual(expect.any(String));
    const certificate = await api(t.app, manager).get(`disposal/batches/${batch.id}/certificate`);
    expect(certificate.statusCode, certificate.body).toBe(200);
    expect(certificate.body).toContain(createHash('sha256').update(name).digest('hex'));
    expect(executed.items[0]).toMatchObject({ documentId: id, outcome: 'destroyed', name: null });
    // Crypto-shredding: no version keeps its wrapped key; no blob of it remains in the store.
    const versions = await t.vault.store.repos.documents.versions(id);
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) expect(v.wrappedKey.length).toBe(0);
    const remaining = await storedBlobs();
    for (const blobId of blobIds) expect(remaining.has(blobId)).toBe(false);
    expect(remaining.has((await blobIdsOf(recent))[0]!)).toBe(true);
    // The stub outlives the record: series, hash of the name, sizes, and the certificate that proves its destruction.
    const stub = await t.vault.store.repos.disposal.stub(id);
    expect(stub).toMatchObject({
      documentId: id, organisationId: org.id, seriesCode: 'HR-03', batchId: batch.id, certificateId: executed.certificateId, versionCount: 1,
      nameSha256: createHash('sha256').update(name).digest('hex'), totalBytes: Buffer.byteLength(`application form ${name}\n`),
    });
    const events = await auditOf(id);
    expect(events.find((e) => e.action === 'document.dispose')).toMatchObject({ decision: 'allow', targetIds: { documentId: id, batchId: batch.id, seriesCode: 'HR-03', nameSha256: stub!.nameSha256 } });

    // REST: 404 for the document, its content, and its collection listing no longer shows it.
    expectProblem(await api(t.app, member).get(`documents/${id}`), 404);
    expectProblem(await api(t.app, member).get(`documents/${id}/content`), 404);
    expectProblem(await api(t.app, manager).get(`documents/${id}`), 404);
    const listing = (await api(t.app, member).get(`collections/${org.collections.hr}?includeDeleted=true`)).json();
    expect(JSON.stringify(listing)).not.toContain(id);
    expect(JSON.stringify(listing)).toContain(recent);
    // WebDAV: 404 by its old name and by its new one, and absent from PROPFIND.
    expect((await dav(base, 'GET', `/dav/${org.slug}/hr/${encodeURIComponent(name)}`, { user: member })).status).toBe(404);
    expect((await dav(base, 'GET', `/dav/${org.slug}/hr/disposed-${id}`, { user: member })).status).toBe(404);
    const propfind = await dav(base, 'PROPFIND', `/dav/${org.slug}/hr/`, { user: member, headers: { depth: '1', 'content-type': 'application/xml' }, body: PROPFIND_ALL });
    expect(propfind.status).toBe(207);
    expect(propfind.body).not.toContain(encodeURIComponent(name));
    expect(propfind.body).not.toContain(`disposed-${id}`);
    // Web: 404 for the document page; absent from the collection page and recent documents.
    const client = new FormClient(base);
    await client.signIn(memberEmail);
    expect((await client.get(`/documents/${id}`)).status).toBe(404);
    const collectionPage = await client.get(`/collections/${org.collections.hr}?deleted=1`);
    expect(collectionPage.status).toBe(200);
    expect(collectionPage.text).not.toContain(name);
    expect(collectionPage.text).not.toContain(id);
    const home = await client.get('/');
    expect(home.text).not.toContain(name);

    // The audit log still verifies.
    await t.vault.audit.sequencer.flush();
    const verification = await t.vault.audit.verification.verify(systemActor());
    expect(verification.ok, JSON.stringify(verification)).toBe(true);
  });

  it('leaves no trace in its folder: a folder that held a disposed record can still be renamed and deleted over WebDAV', async () => {
    await freshOrganisation();
    const folder = (await api(t.app, member).post('collections', { name: `Campaign ${Date.now()}`, parentId: org.collections.hr, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' })).json();
    expect(folder.id).toBeTruthy();
    const res = await upload(t.app, member, folder.id, 'cv.txt', 'curriculum vitae\n');
    const id = res.json().id as string;
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(2));
    const batch = await sweep();
    await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] });
    await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`);
    await t.vault.disposal.execute(batch.id);
    const renamed = await api(t.app, member).patch(`collections/${folder.id}`, { name: 'Campaign closed' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect((await dav(base, 'DELETE', `/dav/${org.slug}/hr/${encodeURIComponent('Campaign closed')}`, { user: member })).status).toBe(204);
  });

  it('sweeps daily as the system at most once per organisation and day, and queues one sweep job per organisation and day', async () => {
    await freshOrganisation();
    const id = await applicationDocument(`daily-${Date.now()}.txt`);
    const today = ukDate(new Date());
    expect(await t.vault.disposal.dailySweep(org.id, today)).toBe('swept');
    expect(await t.vault.disposal.dailySweep(org.id, today)).toBe('already-swept');
    const batches = (await api(t.app, manager).get('disposal/batches')).json().batches;
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ createdBy: null, status: 'review', counts: { items: 1, pending: 1 } });
    expect((await api(t.app, manager).get(`disposal/batches/${batches[0].id}`)).json().items[0].documentId).toBe(id);
    expect((await t.vault.store.repos.notifications.forUser(manager.id)).filter((n) => n.kind === 'disposal.review')).toHaveLength(1);
    const now = new Date();
    expect(await t.vault.store.repos.jobs.enqueue(disposalSweepJob, { organisationId: org.id, date: today }, { now, organisationId: null })).toBe(true);
    expect(await t.vault.store.repos.jobs.enqueue(disposalSweepJob, { organisationId: org.id, date: today }, { now, organisationId: null })).toBe(false);
  });

  it('lets a hold placed between approval and execution win: outcome held, document and blob intact, refusal audited', async () => {
    await freshOrganisation();
    const id = await applicationDocument(`held-${Date.now()}.txt`);
    const batch = await sweep();
    await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] });
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    await placeHold(t.vault, org.id, { collectionId: org.collections.hr! });

    await t.vault.disposal.execute(batch.id);

    const executed = (await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json();
    expect(executed).toMatchObject({ status: 'executed', counts: { destroyed: 0, held: 1 } });
    expect(executed.items[0]).toMatchObject({ outcome: 'held' });
    const doc = await api(t.app, member).get(`documents/${id}/content`);
    expect(doc.statusCode).toBe(200);
    expect(doc.body).toContain('application form');
    for (const v of await t.vault.store.repos.documents.versions(id)) expect(v.wrappedKey.length).toBeGreaterThan(0);
    const blobs = await storedBlobs();
    for (const blobId of await blobIdsOf(id)) expect(blobs.has(blobId)).toBe(true);
    expect(await t.vault.store.repos.disposal.stub(id)).toBeUndefined();
    const refusal = (await auditOf(id)).find((e) => e.action === 'document.dispose');
    expect(refusal).toMatchObject({ decision: 'deny', reason: 'legal_hold' });
  });

  /** The refusals of `action` audited for the document, with their reason and ids. */
  async function refusalsOf(documentId: string, action: string) {
    await t.vault.audit.sequencer.flush();
    return (await t.vault.store.repos.audit.forOrganisation(org.id))
      .filter((e) => e.action === action && e.decision === 'deny' && e.targetIds.documentId === documentId)
      .map((e) => ({ reason: e.reason, ids: e.targetIds }));
  }

  it('lists a held record as excluded, naming the hold, and refuses to destroy or transfer it (409 naming the hold, audited as legal_hold)', async () => {
    await freshOrganisation();
    const id = await applicationDocument(`excluded-${Date.now()}.txt`);
    const holdId = await placeHold(t.vault, org.id, { documentId: id }, 'Employment tribunal 2026/114');
    const batch = await sweep();
    expect(batch.items[0]).toMatchObject({ documentId: id, excludedBy: [{ id: holdId, name: 'Employment tribunal 2026/114' }], decision: 'pending' });
    for (const decision of ['destroy', 'transfer']) {
      const refused = expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision }] }), 409);
      expect(refused.detail).toBe(`This document is under legal hold “Employment tribunal 2026/114” (hold ${holdId}); it cannot be deleted, changed or disposed of until the hold is released.`);
      expect(refused.holdId).toBe(holdId);
    }
    // Each refusal is decide()'s, audited like every other hold refusal: reason legal_hold, the hold's id in the ids.
    expect(await refusalsOf(id, 'records.dispose')).toEqual([1, 2].map(() => ({ reason: 'legal_hold', ids: { batchId: batch.id, documentId: id, holdId } })));
    // Nothing pending but the held item: the batch can be approved, and the held item is kept.
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    await t.vault.disposal.execute(batch.id);
    expect((await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().items[0]).toMatchObject({ outcome: 'excluded' });
    expect((await api(t.app, member).get(`documents/${id}`)).statusCode).toBe(200);
    // Shown once: the next sweep has nothing new (the same hold), so no daily batch of it.
    expect((await api(t.app, manager).post('disposal/batches', {})).json()).toEqual({ batch: null });
  });

  it('refuses destroying a record held after it was proposed (409, audited); once released, a record excluded when proposed still waits for the next batch (400)', async () => {
    await freshOrganisation();
    const id = await applicationDocument(`held-later-${Date.now()}.txt`);
    const batch = await sweep();
    expect(batch.items[0]).toMatchObject({ documentId: id, excludedBy: [] });
    // All or nothing: a held record among the decisions refuses them all.
    const other = await applicationDocument(`other-${Date.now()}.txt`);
    const holdId = await placeHold(t.vault, org.id, { documentId: id }, 'Subject access request 2026/07');
    const decisions = { items: [{ documentId: id, decision: 'destroy' }] };
    expect(expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, decisions), 409).holdId).toBe(holdId);
    expect((await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().items[0]).toMatchObject({ decision: 'pending' });
    expect(await refusalsOf(id, 'records.dispose')).toEqual([{ reason: 'legal_hold', ids: { batchId: batch.id, documentId: id, holdId } }]);
    // Keeping it longer is still open under a hold.
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'extend', extendTo: '2031-03-31', reason: 'Subject access request open' }] })).statusCode).toBe(200);

    // Held when the next batch is proposed, released since: excluded from that batch, not decided destroy in it.
    const next = await sweep();
    expect(next.items.map((i) => i.documentId)).toEqual([other]);
    const heldThen = await applicationDocument(`held-then-${Date.now()}.txt`);
    const laterHold = await placeHold(t.vault, org.id, { documentId: heldThen }, 'Inquiry 2026/3');
    const third = await sweep();
    expect(third.items.find((i) => i.documentId === heldThen)).toMatchObject({ excludedBy: [{ id: laterHold }] });
    await releaseHold(t.vault, laterHold);
    const refused = expectProblem(await api(t.app, manager).post(`disposal/batches/${third.id}/decisions`, { items: [{ documentId: heldThen, decision: 'destroy' }] }), 400);
    expect(refused.detail).toBe(`Document ${heldThen} was under legal hold (Inquiry 2026/3) when this batch was proposed: it cannot be destroyed or transferred in this batch.`);
  });

  it('extends with a future date and a reason only, and the new due date takes effect on approval', async () => {
    await freshOrganisation();
    const id = await applicationDocument(`extend-${Date.now()}.txt`);
    const batch = await sweep();
    const decide = (item: Record<string, unknown>) => api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, ...item }] });
    expect(expectProblem(await decide({ decision: 'extend', reason: 'Appeal pending' }), 400).detail).toContain('new due date');
    expect(expectProblem(await decide({ decision: 'extend', extendTo: '2020-01-01', reason: 'Appeal pending' }), 400).detail).toContain('after today');
    expect(expectProblem(await decide({ decision: 'extend', extendTo: '2031-02-30', reason: 'Appeal pending' }), 400).detail).toContain('YYYY-MM-DD');
    expect(expectProblem(await decide({ decision: 'extend', extendTo: '2031-03-31' }), 400).detail).toContain('reason');
    expect(expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: 'nope', decision: 'destroy' }] }), 400).detail).toContain('not in this batch');
    expect((await decide({ decision: 'extend', extendTo: '2031-03-31', reason: 'Appeal pending' })).statusCode).toBe(200);
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    const [placement] = await t.vault.store.repos.retention.placements([id]);
    expect(placement!.retainUntil).toBe('2031-03-31');
    await t.vault.disposal.execute(batch.id);
    expect((await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().items[0]).toMatchObject({ outcome: 'extended' });
    expect((await api(t.app, member).get(`documents/${id}`)).statusCode).toBe(200);
  });

  it('requires the transfer package after the last decision, streams it as a zip with metadata, then destroys', async () => {
    await freshOrganisation();
    const name = `transfer-${Date.now()}.txt`;
    const id = await applicationDocument(name);
    const batch = await sweep();
    await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'transfer' }] });
    expect(expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`), 400).detail).toBe('Download the transfer package before approving.');
    const zip = await api(t.app, manager).get(`disposal/batches/${batch.id}/transfer`);
    expect(zip.statusCode).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    const entries = await unzip(zip.rawPayload);
    expect([...entries.keys()].sort()).toEqual([`${id}/content/${name}`, `${id}/metadata.json`]);
    expect(entries.get(`${id}/content/${name}`)!.toString()).toBe(`application form ${name}\n`);
    const metadata = JSON.parse(entries.get(`${id}/metadata.json`)!.toString());
    expect(metadata).toMatchObject({
      id, name, batchId: batch.id, classification: 'OFFICIAL-SENSITIVE', series: { code: 'HR-03', trigger: 'process_complete', action: 'destroy' },
      sha256: createHash('sha256').update(`application form ${name}\n`).digest('hex'), versions: [{ number: 1 }],
    });
    await t.vault.audit.sequencer.flush();
    expect((await t.vault.store.repos.audit.forOrganisation(org.id)).some((e) => e.action === 'disposal.transfer-export' && e.targetIds.batchId === batch.id)).toBe(true);
    // A member may not download it.
    expectProblem(await api(t.app, member).get(`disposal/batches/${batch.id}/transfer`), 404);
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    await t.vault.disposal.execute(batch.id);
    expect((await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().items[0]).toMatchObject({ outcome: 'transferred' });
    expectProblem(await api(t.app, member).get(`documents/${id}`), 404);
  });

  it('keeps a record named like the package\'s own metadata.json apart from it: its bytes cannot stand in for what the package says of it', async () => {
    await freshOrganisation();
    // An uploader's file whose name, in any case, is the package's own file beside it, holding metadata of the uploader's choosing
    // (two spellings, in two folders: one folder holds one of them, capital letters apart).
    const forged = `${JSON.stringify({ reason: 'forged', sha256: '0'.repeat(64) })}\n`;
    const subfolder = (await api(t.app, member).post('collections', { name: `Forms ${Date.now()}`, parentId: org.collections.hr, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' })).json();
    const ids: string[] = [];
    for (const [name, folderId] of [['metadata.json', org.collections.hr!], ['METADATA.JSON', subfolder.id as string]] as const) {
      const res = await upload(t.app, member, folderId, name, forged);
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id as string);
      await recordEvent(t.vault, org.id, ids.at(-1)!, 'process_complete', yearsAgo(2));
    }
    const batch = await sweep();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: ids.map((documentId) => ({ documentId, decision: 'transfer' })) })).statusCode).toBe(200);
    const zip = await api(t.app, manager).get(`disposal/batches/${batch.id}/transfer`);
    expect(zip.statusCode).toBe(200);
    const names = await zipEntryNames(zip.rawPayload);
    expect([...names].sort()).toEqual([`${ids[0]}/metadata.json`, `${ids[0]}/content/metadata.json`, `${ids[1]}/metadata.json`, `${ids[1]}/content/METADATA.JSON`].sort());
    const entries = await unzip(zip.rawPayload);
    for (const [index, id] of ids.entries()) {
      const metadata = JSON.parse(entries.get(`${id}/metadata.json`)!.toString());
      expect(metadata).toMatchObject({ id, name: index === 0 ? 'metadata.json' : 'METADATA.JSON', content: `${id}/content/${index === 0 ? 'metadata.json' : 'METADATA.JSON'}` });
      expect(entries.get(metadata.content)!.toString()).toBe(forged);
    }
  });

  /** A batch with `id` decided transfer, and the metadata.json its package holds for it. */
  async function decidedTransfer(id: string) {
    const batch = await sweep();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'transfer' }] })).statusCode).toBe(200);
    return { batch, download: () => downloadPackage(batch.id, id) };
  }

  async function downloadPackage(batchId: string, id: string) {
    const zip = await api(t.app, manager).get(`disposal/batches/${batchId}/transfer`);
    expect(zip.statusCode).toBe(200);
    return JSON.parse((await unzip(zip.rawPayload)).get(`${id}/metadata.json`)!.toString());
  }

  const STALE = 'changed after the transfer package was downloaded (a new version, name or other details the package holds). Download the transfer package again before approving.';

  it('refuses approval on a transfer package older than a new version or a rename of its record; a fresh package is approved and certified as transferred', async () => {
    await freshOrganisation();
    const name = `case-file-${Date.now()}.txt`;
    const id = await applicationDocument(name);
    const { batch, download } = await decidedTransfer(id);
    expect((await download()).versions).toHaveLength(1);

    // After the download, an ordinary member saves a new version: the package no longer holds the record.
    expect((await api(t.app, member).put(`documents/${id}/content`, 'version two: the content that matters\n')).statusCode).toBe(200);
    expect(expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`), 400).detail).toBe(`1 record to transfer ${STALE}`);
    expect((await download()).versions).toHaveLength(2);
    // A rename is a change of what the package holds too.
    expect((await api(t.app, member).patch(`documents/${id}`, { name: `renamed-${name}` })).statusCode).toBe(200);
    expect(expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`), 400).detail).toBe(`1 record to transfer ${STALE}`);
    expect((await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().status).toBe('review');

    const exported = await download();
    expect(exported).toMatchObject({ name: `renamed-${name}`, versions: [{ number: 1 }, { number: 2 }] });
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    await t.vault.disposal.execute(batch.id);
    const cert = (await api(t.app, manager).get(`disposal/batches/${batch.id}/certificate`)).json();
    expect(cert.documents).toEqual([expect.objectContaining({ documentId: id, outcome: 'transferred', versionCount: exported.versions.length })]);
    expect(checkCertificate(cert, t.vault.audit.proofs.verifierKey)).toMatchObject({ ok: true, destroyed: 1 });
  });

  it('keeps a record to transfer that changed between approval and execution (outcome changed, refusal audited), and certifies it as kept', async () => {
    await freshOrganisation();
    const id = await applicationDocument(`late-change-${Date.now()}.txt`);
    const { batch, download } = await decidedTransfer(id);
    await download();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    // Approved, not yet carried out: a new version arrives. Execution checks again in its destroying transaction.
    expect((await api(t.app, member).put(`documents/${id}/content`, 'saved after approval\n')).statusCode).toBe(200);
    await t.vault.disposal.execute(batch.id);

    expect((await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().items[0]).toMatchObject({ documentId: id, outcome: 'changed' });
    const kept = await api(t.app, member).get(`documents/${id}/content`);
    expect(kept.statusCode).toBe(200);
    expect(kept.body).toBe('saved after approval\n');
    expect(await t.vault.store.repos.disposal.stub(id)).toBeUndefined();
    expect((await auditOf(id)).filter((e) => e.action === 'document.dispose').map((e) => ({ decision: e.decision, reason: e.reason })))
      .toEqual([{ decision: 'deny', reason: 'transfer_changed' }]);
    const cert = (await api(t.app, manager).get(`disposal/batches/${batch.id}/certificate`)).json();
    expect(cert.documents).toEqual([]);
    expect(cert.counts).toMatchObject({ proposed: 1, destroyed: 0, transferred: 0, changedSinceTransfer: 1 });
    expect(checkCertificate(cert, t.vault.audit.proofs.verifierKey)).toMatchObject({ ok: true, destroyed: 0 });
    // Kept, not forgotten: the next sweep proposes it again.
    expect((await sweep()).items.map((i) => i.documentId)).toEqual([id]);
  });

  it('refuses approval on a transfer package that left out a record\'s content (current version not yet found clean)', async () => {
    await freshOrganisation();
    const id = await applicationDocument(`pending-${Date.now()}.txt`);
    const { batch, download } = await decidedTransfer(id);
    const current = (await t.vault.store.repos.documents.byId(id))!.currentVersionId;
    const scan = (status: 'pending' | 'clean') => t.vault.store.repos.documents.updateVersionScan(current, { status, detail: null, engine: 'ClamAV', at: new Date().toISOString() });
    // Its current version is being scanned again (a rescan): the package holds its metadata but not its bytes.
    await scan('pending');
    expect(await download()).toMatchObject({ content: null, contentOmitted: expect.any(String) });
    expect(expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`), 400).detail).toBe(
      'The transfer package left out the content of 1 record (the current version had not been found clean by the malware scan), so the archive would not receive it. '
      + 'Wait for the scan (or decide otherwise), then download the transfer package again before approving.');
    await scan('clean');
    expect(await download()).toMatchObject({ content: expect.stringMatching(new RegExp(`^${id}/`)) });
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
  });

  it('purges a document deleted longer ago than the bin period, unless it is held', async () => {
    await freshOrganisation();
    const payrollMember = await org.user({ teams: ['payroll'] });
    const old = (await upload(t.app, payrollMember, org.collections.payroll!, `old-${Date.now()}.txt`, 'old payslip\n')).json().id as string;
    const held = (await upload(t.app, payrollMember, org.collections.payroll!, `held-${Date.now()}.txt`, 'held payslip\n')).json().id as string;
    const fresh = (await upload(t.app, payrollMember, org.collections.payroll!, `fresh-${Date.now()}.txt`, 'fresh payslip\n')).json().id as string;
    for (const id of [old, held]) expect((await api(t.app, payrollMember).delete(`documents/${id}`)).statusCode).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await api(t.app, payrollMember).delete(`documents/${fresh}`)).statusCode).toBe(204);
    await placeHold(t.vault, org.id, { documentId: held });
    const oldBlobs = await blobIdsOf(old);

    // The purge runs 30 days after the fresh one was deleted, less 10 ms: the other two have been in the bin longer.
    const freshDeletedAt = (await t.vault.store.repos.documents.byId(fresh))!.deletedAt!;
    clock.set(new Date(Date.parse(freshDeletedAt) + 30 * 24 * 3600 * 1000 - 10).toISOString());
    const result = await t.vault.disposal.purgeBin(org.id).finally(() => clock.set(null));
    expect(result).toEqual({ purged: [old], held: [held], refused: [] });
    for (const v of await t.vault.store.repos.documents.versions(old)) expect(v.wrappedKey.length).toBe(0);
    const blobs = await storedBlobs();
    for (const blobId of oldBlobs) expect(blobs.has(blobId)).toBe(false);
    expect(await t.vault.store.repos.disposal.stub(old)).toMatchObject({ batchId: null, versionCount: 1 });
    expect((await auditOf(old)).find((e) => e.action === 'document.purge')).toMatchObject({ decision: 'allow' });
    expect((await auditOf(held)).find((e) => e.action === 'document.purge')).toMatchObject({ decision: 'deny', reason: 'legal_hold' });
    // The held one and the recent one are still in the bin, restorable.
    expect((await t.vault.store.repos.documents.byId(held))!.status).not.toBe('disposed');
    expect((await t.vault.store.repos.documents.byId(fresh))!.status).not.toBe('disposed');
    expect((await api(t.app, payrollMember).post(`documents/${held}/restore`)).statusCode).toBe(200);
  });

  /** Payslips: kept six years from creation. */
  const PAY_06: SeriesSpec = { code: 'PAY-06', trigger: 'created', retainYears: 6, action: 'destroy', serviceArea: 'payroll' };
  const DAY_MS = 24 * 3600 * 1000;
  const NOT_FOUND = 'No document with that id exists, or you do not have access to it.';
  const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

  /** A payslip filed under PAY-06 (six years), uploaded and deleted by its payroll team: in the bin. */
  async function binnedPayslip(payrollMember: TestUser, name = `payslip-${Math.random().toString(36).slice(2, 8)}.txt`): Promise<string> {
    const res = await upload(t.app, payrollMember, org.collections.payroll!, name, `payslip ${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    expect((await api(t.app, payrollMember).delete(`documents/${id}`)).statusCode).toBe(204);
    return id;
  }

  /** Another records manager of the organisation: an early batch is approved by someone other than its proposer. */
  async function secondManager(): Promise<TestUser> {
    return org.user({ roles: ['records_manager'], teams: ['payroll'] });
  }

  async function refusalsBy(userId: string) {
    await t.vault.audit.sequencer.flush();
    return t.vault.store.db.selectFrom('audit_events').select(['action', 'reason', 'document_id']).where('decision', '=', 'deny').where('actor_user_id', '=', userId).orderBy('seq').execute();
  }

  it('keeps in the bin a record its file plan keeps six years, deleted by its team, after the bin period; purges an unfiled one and a filed one already due', async () => {
    await freshOrganisation();
    await fileCollectionUnder(t.vault, org.id, org.collections.payroll!, PAY_06);
    const payrollMember = await org.user({ teams: ['payroll'] });
    const financeMember = await org.user({ teams: ['finance'] });
    const filed = await binnedPayslip(payrollMember);
    const unfiled = (await upload(t.app, financeMember, org.collections.finance!, `invoice-${Date.now()}.txt`, 'invoice\n')).json().id as string;
    expect((await api(t.app, financeMember).delete(`documents/${unfiled}`)).statusCode).toBe(204);
    const due = await applicationDocument(`application-${Date.now()}.txt`);
    expect((await api(t.app, member).delete(`documents/${due}`)).statusCode).toBe(204);

    const lastDeletedAt = (await t.vault.store.repos.documents.byId(due))!.deletedAt!;
    clock.set(new Date(Date.parse(lastDeletedAt) + 31 * DAY_MS).toISOString());
    const result = await t.vault.disposal.purgeBin(org.id).finally(() => clock.set(null));
    expect({ ...result, purged: [...result.purged].sort() }).toEqual({ purged: [unfiled, due].sort(), held: [], refused: [] });
    expect((await t.vault.store.repos.documents.byId(unfiled))!.status).toBe('disposed');
    expect((await t.vault.store.repos.documents.byId(due))!.status).toBe('disposed');
    // The six-year record stays in the bin, unpurged and unaudited by the purge, and can be restored.
    expect((await t.vault.store.repos.documents.byId(filed))).toMatchObject({ status: 'available', deletedAt: expect.any(String) });
    expect((await auditOf(filed)).filter((e) => e.action === 'document.purge')).toEqual([]);
    expect((await api(t.app, payrollMember).post(`documents/${filed}/restore`)).statusCode).toBe(200);
  });

  it('lets a records manager destroy a binned record early, with a reason: destroyed by the job, on a certificate that verifies and names the reason\'s hash', async () => {
    await freshOrganisation();
    await fileCollectionUnder(t.vault, org.id, org.collections.payroll!, PAY_06);
    const payrollMember = await org.user({ teams: ['payroll'] });
    const id = await binnedPayslip(payrollMember);
    const blobs = await blobIdsOf(id);
    const reason = 'Payslip of another council uploaded in error: data breach DB-2026-41';

    const proposed = await api(t.app, manager).post('disposal/early', { documentIds: [id], reason });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const batch = proposed.json();
    expect(batch).toMatchObject({ kind: 'early', status: 'review', items: [{ documentId: id, seriesCode: 'PAY-06', decision: 'pending' }] });
    // Early items are destroyed or not at all: nothing to extend or transfer.
    const extend = expectProblem(await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'extend', extendTo: '2040-01-01', reason: 'keep it longer' }] }), 400);
    expect(extend.detail).toBe(`Document ${id} is proposed for early destruction: it can only be decided "destroy". To keep it, restore it from the bin; the batch then keeps it.`);
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(t.app, await secondManager()).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    await t.vault.disposal.execute(batch.id);

    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('disposed');
    for (const v of await t.vault.store.repos.documents.versions(id)) expect(v.wrappedKey.length).toBe(0);
    const stored = await storedBlobs();
    for (const blobId of blobs) expect(stored.has(blobId)).toBe(false);
    const cert = (await api(t.app, manager).get(`disposal/batches/${batch.id}/certificate`)).json();
    expect(cert.early).toEqual({ reasonSha256: sha256(reason), documentIds: [id], proposedBy: { userId: manager.id, name: expect.any(String), at: expect.any(String) } });
    const check = checkCertificate(cert, t.vault.audit.proofs.verifierKey);
    expect(check).toMatchObject({ ok: true, destroyed: 1, early: { documents: 1, reasonSha256: sha256(reason) } });
    expect(describeCheck(check)).toContain(`Destroyed before their retention ended (early destruction): 1, reason SHA-256 ${sha256(reason)}.`);
    // A certificate that hides the early destruction fails the check.
    const { early: _early, ...hidden } = cert;
    expect(checkCertificate(hidden, t.vault.audit.proofs.verifierKey)).toMatchObject({ ok: false });
    // The log holds the reason's hash, never its text.
    const proposal = (await auditOf(id)).find((e) => e.action === 'disposal.propose-early');
    expect(proposal).toMatchObject({ decision: 'allow', actorUserId: manager.id, targetIds: { batchId: batch.id, documentId: id, reasonSha256: sha256(reason) } });
    const texts = await t.vault.store.db.selectFrom('audit_events').select('target_ids').where('target_ids', 'like', '%DB-2026-41%').execute();
    expect(texts).toEqual([]);
  });

  it('refuses an early destruction of a held record (409 naming the hold, audited) and of a live one (409)', async () => {
    await freshOrganisation();
    await fileCollectionUnder(t.vault, org.id, org.collections.payroll!, PAY_06);
    const payrollMember = await org.user({ teams: ['payroll'] });
    const held = await binnedPayslip(payrollMember);
    const holdId = await placeHold(t.vault, org.id, { documentId: held });
    const refused = expectProblem(await api(t.app, manager).post('disposal/early', { documentIds: [held], reason: 'Uploaded in error' }), 409);
    expect(refused.detail).toContain(`(hold ${holdId})`);
    expect((await refusalsBy(manager.id)).at(-1)).toEqual({ action: 'records.dispose', reason: 'legal_hold', document_id: held });

    const live = (await upload(t.app, payrollMember, org.collections.payroll!, `live-${Date.now()}.txt`, 'live payslip\n')).json().id as string;
    const notBinned = expectProblem(await api(t.app, manager).post('disposal/early', { documentIds: [live], reason: 'Uploaded in error' }), 409);
    expect(notBinned.detail).toBe(`Document ${live} is not in the bin: only a document somebody has deleted can be destroyed before its retention ends. Delete it first, then propose it again.`);
    expect(await t.vault.store.repos.disposal.batches(org.id)).toEqual([]);
  });

  it('keeps an early-proposed record held after approval (outcome held) and one restored from the bin (kept, audited not_in_bin)', async () => {
    await freshOrganisation();
    await fileCollectionUnder(t.vault, org.id, org.collections.payroll!, PAY_06);
    const payrollMember = await org.user({ teams: ['payroll'] });
    const held = await binnedPayslip(payrollMember);
    const restored = await binnedPayslip(payrollMember);
    const batch = (await api(t.app, manager).post('disposal/early', { documentIds: [held, restored], reason: 'Uploaded in error' })).json();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [held, restored].map((documentId) => ({ documentId, decision: 'destroy' })) })).statusCode).toBe(200);
    expect((await api(t.app, await secondManager()).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    await placeHold(t.vault, org.id, { documentId: held });
    expect((await api(t.app, payrollMember).post(`documents/${restored}/restore`)).statusCode).toBe(200);
    await t.vault.disposal.execute(batch.id);
    const items = (await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().items as { documentId: string; outcome: string }[];
    expect(Object.fromEntries(items.map((i) => [i.documentId, i.outcome]))).toEqual({ [held]: 'held', [restored]: 'not_due' });
    for (const id of [held, restored]) expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('available');
    expect((await auditOf(restored)).find((e) => e.action === 'document.dispose')).toMatchObject({ decision: 'deny', reason: 'not_in_bin' });
  });

  it('keeps an early-proposed record restored from the bin and deleted again since (not_in_bin): the proposal was of the record as it was binned then', async () => {
    await freshOrganisation();
    await fileCollectionUnder(t.vault, org.id, org.collections.payroll!, PAY_06);
    const payrollMember = await org.user({ teams: ['payroll'] });
    const id = await binnedPayslip(payrollMember);
    const batch = (await api(t.app, manager).post('disposal/early', { documentIds: [id], reason: 'Uploaded in error' })).json();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(t.app, await secondManager()).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    // Its team wanted it after all, and later deleted it again (an ordinary deletion: the bin keeps a filed record).
    expect((await api(t.app, payrollMember).post(`documents/${id}/restore`)).statusCode).toBe(200);
    expect((await api(t.app, payrollMember).delete(`documents/${id}`)).statusCode).toBe(204);
    await t.vault.disposal.execute(batch.id);
    const items = (await api(t.app, manager).get(`disposal/batches/${batch.id}`)).json().items as { documentId: string; outcome: string }[];
    expect(items.map((i) => i.outcome)).toEqual(['not_due']);
    expect((await t.vault.store.repos.documents.byId(id))).toMatchObject({ status: 'available', deletedAt: expect.any(String) });
    expect((await auditOf(id)).find((e) => e.action === 'document.dispose')).toMatchObject({ decision: 'deny', reason: 'not_in_bin' });
    expect(await t.vault.audit.alarm.currentAlarm()).toBeNull();
  });

  it('refuses early destruction to a partner\'s records manager, a host team managing the record, and a member of the owning organisation (404, audited)', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const owner = await partner.user({ teams: ['payroll'] });
    const id = (await upload(t.app, owner, partner.collections.payroll!, 'payslip.txt', 'payslip\n')).json().id as string;
    expect((await api(t.app, owner).delete(`documents/${id}`)).statusCode).toBe(204);
    const hostManager = await host.user({ roles: ['records_manager'], teams: ['payroll'] });
    const serving = await host.user({ teams: ['payroll'] });
    const colleague = await partner.user({ teams: ['payroll'] });
    for (const user of [hostManager, serving, colleague]) {
      const problem = expectProblem(await api(t.app, user).post('disposal/early', { documentIds: [id], reason: 'Uploaded in error' }), 404);
      expect(problem.detail).toBe(NOT_FOUND);
      expect(await refusalsBy(user.id)).toEqual([{ action: 'records.dispose', reason: expect.any(String), document_id: id }]);
    }
    expect(await t.vault.store.repos.disposal.batches(partner.id)).toEqual([]);
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('available');
  });

  // Last: it raises the integrity alarm, which stops this vault's signer.
  it('refuses to carry out a batch written as early in the database (not_vouched_for): the job does not skip the due check on a row\'s word', async () => {
    await freshOrganisation();
    // An honest batch of a record due, decided and approved; a database administrator then marks it early (as if a
    // records manager had proposed its records with a reason), so that the job would ask no due date of them.
    const due = await applicationDocument(`application-${Date.now()}.txt`);
    const batch = await sweep();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: due, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    const db = t.vault.store.db;
    await db.updateTable('disposal_batches').set({ kind: 'early', early_reason: 'Uploaded in error' }).where('id', '=', batch.id).execute();
    await expect(t.vault.disposal.execute(batch.id)).rejects.toThrow(`Document ${due} of disposal batch ${batch.id} is to be destroyed before its retention ends, but no records manager's proposal of it in this batch, with the reason the batch gives, is recorded`);
    expect((await t.vault.store.repos.documents.byId(due))!.status).toBe('available');
    expect(await t.vault.audit.alarm.currentAlarm()).toMatchObject({ source: 'disposal' });
    await t.vault.audit.sequencer.flush();
    const refusal = await db.selectFrom('audit_events').select(['action', 'reason']).where('decision', '=', 'deny').where('action', '=', 'disposal.execute').where('target_ids', 'like', `%${batch.id}%`).execute();
    expect(refusal).toEqual([{ action: 'disposal.execute', reason: 'not_vouched_for' }]);
  });
  // After the test above (it raises the integrity alarm too).
  it('refuses to destroy early a record restored and deleted again whose deleted_at is written back to before the proposal (not_vouched_for)', async () => {
    await freshOrganisation();
    await fileCollectionUnder(t.vault, org.id, org.collections.payroll!, PAY_06);
    const payrollMember = await org.user({ teams: ['payroll'] });
    const id = await binnedPayslip(payrollMember);
    const binnedAt = (await t.vault.store.repos.documents.byId(id))!.deletedAt!;
    const batch = (await api(t.app, manager).post('disposal/early', { documentIds: [id], reason: 'Uploaded in error' })).json();
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(t.app, await secondManager()).post(`disposal/batches/${batch.id}/approve`)).statusCode).toBe(200);
    expect((await api(t.app, payrollMember).post(`documents/${id}/restore`)).statusCode).toBe(200);
    expect((await api(t.app, payrollMember).delete(`documents/${id}`)).statusCode).toBe(204);
    // A database administrator writes the first deletion's instant back, as if it had been in the bin since.
    await t.vault.store.db.updateTable('documents').set({ deleted_at: binnedAt }).where('id', '=', id).execute();
    await expect(t.vault.disposal.execute(batch.id)).rejects.toThrow(`since it was proposed for early destruction, but its row says it has`);
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('available');
    for (const v of await t.vault.store.repos.documents.versions(id)) expect(v.wrappedKey.length).toBeGreaterThan(0);
  });
});
