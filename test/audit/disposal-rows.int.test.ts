// A database administrator (any row, but neither the master key nor the signing key) frees a held record
// and has the system destroy it by writing rows: a hold's released_at, or the deletion of the row that puts
// the record under it; an item's decision; a batch's approval in a records manager's name. The disposal job
// must not take those rows' word for it: it destroys nothing, audits the refusal and raises the integrity
// alarm; and `audit verify` names each such row, as it does arrangement and credential rows.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IntegrityError } from '../../src/domain/errors.js';
import { checkCertificate } from '../../src/domain/records/certificate.js';
import { ukDate } from '../../src/domain/records/retention.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('legal hold and disposal rows written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await t?.close();
    t = undefined;
  });

  /**
   * An HR record past its due date under a hold a records manager placed properly (audited); the log
   * verifies. The hold is on the record itself, or (`holdOver: 'folder'`) on the folder "Tribunal" under
   * HR, whose sub-folder "Evidence" holds the record. `beforeHold` runs once the record is uploaded.
   */
  async function setting(options: { holdOver?: 'document' | 'folder'; beforeHold?: (w: { app: TestVault['app']; member: { token: string }; hr: string; documentId: string; tribunal: string; evidence: string }) => Promise<void> } = {}) {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const v = t;
    const org = await createOrganisation(v.vault);
    await fileCollectionUnder(v.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const folder = async (name: string, parentId: string) => (await v.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId, name, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' })).id;
    const tribunal = await folder('Tribunal', org.collections.hr!);
    const evidence = await folder('Evidence', tribunal);
    const up = await upload(v.app, member, options.holdOver === 'folder' ? evidence : org.collections.hr!, 'tribunal-evidence.txt', 'evidence for the tribunal\n');
    expect(up.statusCode, up.body).toBe(201);
    const documentId = up.json().id as string;
    await recordEvent(v.vault, org.id, documentId, 'process_complete', yearsAgo(2));
    await options.beforeHold?.({ app: v.app, member, hr: org.collections.hr!, documentId, tribunal, evidence });
    const hold = (await api(v.app, manager).post('holds', { name: 'Smith v Council', reason: 'Employment tribunal claim 2401' })).json() as { id: string };
    const over = options.holdOver === 'folder' ? { collectionIds: [tribunal] } : { documentIds: [documentId] };
    expect((await api(v.app, manager).post(`holds/${hold.id}/items`, over)).statusCode).toBe(200);
    await v.vault.audit.sequencer.flush();
    expect(await v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    const db = v.vault.store.db;
    /** Today's sweep, as the daily job runs it; the batch it proposed. */
    const sweep = async () => {
      expect(await v.vault.disposal.dailySweep(org.id, ukDate(new Date()))).toBe('swept');
      return db.selectFrom('disposal_batches').select('id').where('organisation_id', '=', org.id).executeTakeFirstOrThrow();
    };
    /** Runs the dispose-batch job and expects it to refuse: nothing destroyed, the refusal audited, the alarm raised. */
    const expectRefused = async (batchId: string, problem: string, opening = `The disposal job refused to carry out batch ${batchId}; nothing was destroyed.`) => {
      const run = v.vault.disposal.execute(batchId);
      await expect(run).rejects.toBeInstanceOf(IntegrityError);
      await expect(run).rejects.toThrow(problem);
      expect((await v.vault.store.repos.documents.byId(documentId))!.status).toBe('available');
      expect((await v.vault.store.repos.disposal.batch(batchId))!.status).toBe('approved');
      expect(await v.vault.store.repos.disposal.stub(documentId)).toBeUndefined();
      expect(await v.vault.audit.alarm.currentAlarm()).toMatchObject({ source: 'disposal' });
      expect((await v.vault.audit.alarm.currentAlarm())!.problem).toContain(opening);
      await v.vault.audit.sequencer.flush();
      const refusals = (await v.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'disposal.execute');
      expect(refusals.map((e) => ({ decision: e.decision, reason: e.reason, batchId: e.targetIds.batchId }))).toEqual([{ decision: 'deny', reason: 'not_vouched_for', batchId }]);
    };
    const expectVerifyNames = async (...words: string[]) => {
      const check = await v.vault.audit.verification.verify(systemActor());
      expect(check.ok).toBe(false);
      for (const w of words) expect(check.ok ? '' : check.problem).toContain(w);
    };
    /** The record decided destroyed and the batch approved, honestly, by the records manager. */
    const decideAndApprove = async (batchId: string) => {
      const decided = await api(v.app, manager).post(`disposal/batches/${batchId}/decisions`, { items: [{ documentId, decision: 'destroy' }] });
      expect(decided.statusCode, decided.body).toBe(200);
      expect((await api(v.app, manager).post(`disposal/batches/${batchId}/approve`, {})).statusCode).toBe(200);
    };
    /**
     * `change` runs once the job has checked the batch against the log and before it destroys the record
     * (when it reads the record to carry out its item): a database administrator racing the job.
     */
    const between = (change: () => Promise<unknown>) => {
      const documents = v.vault.store.repos.documents;
      const byId = documents.byId.bind(documents);
      let done = false;
      vi.spyOn(documents, 'byId').mockImplementation(async (id) => {
        if (id === documentId && !done) {
          done = true;
          await change();
        }
        return byId(id);
      });
    };
    return { v, db, org, manager, member, documentId, tribunal, evidence, hold, sweep, decideAndApprove, between, expectRefused, expectVerifyNames };
  }

  it('an honest release, decision and approval: the record is destroyed, verify passes and the certificate checks', async () => {
    const s = await setting();
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
    await s.v.vault.disposal.execute(batch.id);
    expect((await s.v.vault.store.repos.documents.byId(s.documentId))!.status).toBe('disposed');
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
    await s.v.vault.audit.sequencer.flush();
    expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    const cert = (await api(s.v.app, s.manager).get(`disposal/batches/${batch.id}/certificate`)).json();
    expect(checkCertificate(cert, s.v.vault.audit.proofs.verifierKey)).toMatchObject({ ok: true, destroyed: 1, unproven: [] });
    // The certificate proves who authorised it: the decision and the approval are in its proof.
    expect(cert.authorisedBy).toMatchObject({ userId: s.manager.id });
    const proven = (cert.proof.events as { event: { action: string; actorUserId: string | null } }[]).map((e) => [e.event.action, e.event.actorUserId]);
    expect(proven).toEqual([['disposal.decide', s.manager.id], ['disposal.approve', s.manager.id], ['document.dispose', null], ['disposal.execute', null]]);
  });

  it('a certificate issued after approved_by was rewritten names the person the log says approved, not the row', async () => {
    const s = await setting();
    const other = await s.org.user({ roles: ['records_manager'], teams: ['hr'] });
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
    await s.v.vault.disposal.execute(batch.id);
    // The DBA removes the issued certificate and names another records manager as the approver; the next
    // request for the certificate issues it again (as after an issue that failed).
    await s.db.updateTable('disposal_batches').set({ certificate_id: null, approved_by: other.id }).where('id', '=', batch.id).execute();
    await s.db.updateTable('disposal_stubs').set({ certificate_id: null }).where('batch_id', '=', batch.id).execute();
    await s.db.deleteFrom('disposal_certificates').where('batch_id', '=', batch.id).execute();
    const cert = (await api(s.v.app, s.manager).get(`disposal/batches/${batch.id}/certificate`)).json();
    expect(cert.authorisedBy).toMatchObject({ userId: s.manager.id });
    expect(checkCertificate(cert, s.v.vault.audit.proofs.verifierKey)).toMatchObject({ ok: true, destroyed: 1, unproven: [] });
    await s.expectVerifyNames(`Disposal batch ${batch.id} is marked approved by person ${other.id}, but its recorded approval is by person ${s.manager.id}`);
  });

  it('a hold released and a batch decided and approved by SQL alone: the job destroys nothing and raises the alarm; verify names the hold', async () => {
    const s = await setting();
    await s.db.updateTable('legal_holds').set({ released_at: new Date().toISOString(), released_by: s.manager.id, release_reason: 'Claim settled out of court' }).where('id', '=', s.hold.id).execute();
    const batch = await s.sweep();
    const at = new Date().toISOString();
    await s.db.updateTable('disposal_items').set({ decision: 'destroy', decided_by: s.manager.id, decided_at: at }).where('batch_id', '=', batch.id).execute();
    await s.db.updateTable('disposal_batches').set({ status: 'approved', approved_by: s.manager.id, approved_at: at }).where('id', '=', batch.id).execute();
    await s.expectRefused(batch.id, `Document ${s.documentId} of disposal batch ${batch.id} is decided "destroy" by person ${s.manager.id}, but no decision on it is recorded`);
    await s.expectVerifyNames(`Legal hold ${s.hold.id} is marked released by person ${s.manager.id}, which no audit event records`);
    // With the hold's row put back, verify reaches the decision and approval rows, and names them.
    await s.db.updateTable('legal_holds').set({ released_at: null, released_by: null, release_reason: null }).where('id', '=', s.hold.id).execute();
    await s.expectVerifyNames(`Document ${s.documentId} of disposal batch ${batch.id} is decided "destroy" by person ${s.manager.id}, but no decision on it is recorded`);
    await s.db.updateTable('disposal_items').set({ decision: 'pending', decided_by: null, decided_at: null }).where('batch_id', '=', batch.id).execute();
    await s.expectVerifyNames(`Disposal batch ${batch.id} is marked approved by person ${s.manager.id}, but no approval of it is recorded`);
  });

  it('a hold item deleted by SQL, then decided and approved honestly by a records manager who no longer sees the hold: the job refuses; verify names the item', async () => {
    const s = await setting();
    await s.db.deleteFrom('legal_hold_items').where('hold_id', '=', s.hold.id).execute();
    const batch = await s.sweep();
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
    await s.expectRefused(batch.id, `Document ${s.documentId} of disposal batch ${batch.id} is under legal hold ${s.hold.id} by the audit log, which records no release, but the hold's rows no longer hold it`);
    await s.expectVerifyNames(`The audit log records document ${s.documentId} added to legal hold ${s.hold.id}, but no hold item says so`);
  });

  it('a decision to keep, changed to destroy by SQL after an honest approval: the job refuses; verify names the item', async () => {
    const s = await setting();
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    const decided = await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'extend', extendTo: `${new Date().getUTCFullYear() + 3}-03-31`, reason: 'Appeal possible' }] });
    expect(decided.statusCode, decided.body).toBe(200);
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
    await s.db.updateTable('disposal_items').set({ decision: 'destroy', extend_to: null }).where('batch_id', '=', batch.id).execute();
    const problem = `Document ${s.documentId} of disposal batch ${batch.id} is decided "destroy" by person ${s.manager.id}, but its latest recorded decision is "extend" by person ${s.manager.id}`;
    await s.expectRefused(batch.id, problem);
    await s.expectVerifyNames(problem);
  });

  it('an approval written in another records manager\'s name: the job refuses; verify names the batch', async () => {
    const s = await setting();
    const other = await s.org.user({ roles: ['records_manager'], teams: ['hr'] });
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'destroy' }] })).statusCode).toBe(200);
    await s.db.updateTable('disposal_batches').set({ status: 'approved', approved_by: other.id, approved_at: new Date().toISOString() }).where('id', '=', batch.id).execute();
    const problem = `Disposal batch ${batch.id} is marked approved by person ${other.id}, but no approval of it is recorded`;
    await s.expectRefused(batch.id, problem);
    await s.expectVerifyNames(problem);
  });

  it('a held record\'s row moved out of its held folder by SQL, then decided and approved honestly: the job refuses; verify names the row', async () => {
    const s = await setting({ holdOver: 'folder' });
    await s.db.updateTable('documents').set({ collection_id: s.org.collections.hr! }).where('id', '=', s.documentId).execute();
    // The rows no longer hold it: the sweep proposes it and the records manager may decide to destroy it.
    const batch = await s.sweep();
    await s.decideAndApprove(batch.id);
    await s.expectRefused(batch.id, `Document ${s.documentId} of disposal batch ${batch.id} is in collection ${s.org.collections.hr!}, but the audit log last placed it in collection ${s.evidence}`);
    await s.expectVerifyNames(`Document ${s.documentId} is in collection ${s.org.collections.hr!}, but the audit log last placed it in collection ${s.evidence}`);
  });

  it('the held folder\'s sub-folder re-parented by SQL, then decided and approved honestly: the job refuses; verify names the folder', async () => {
    const s = await setting({ holdOver: 'folder' });
    await s.db.updateTable('collections').set({ parent_id: s.org.collections.hr! }).where('id', '=', s.evidence).execute();
    const batch = await s.sweep();
    await s.decideAndApprove(batch.id);
    await s.expectRefused(batch.id, `Collection ${s.evidence}, above document ${s.documentId} of disposal batch ${batch.id}, is under collection ${s.org.collections.hr!}, but the audit log last placed it under collection ${s.tribunal}`);
    await s.expectVerifyNames(`Collection ${s.evidence} is under collection ${s.org.collections.hr!}, but the audit log last placed it under collection ${s.tribunal}`);
  });

  it('a folder lifted to the top level by SQL: verify names it', async () => {
    const s = await setting({ holdOver: 'folder' });
    await s.db.updateTable('collections').set({ parent_id: null }).where('id', '=', s.tribunal).execute();
    await s.expectVerifyNames(`Collection ${s.tribunal} is at the top level, but the audit log last placed it under collection ${s.org.collections.hr!}`);
  });

  it('honest moves, before a folder was put under a hold, out from under it: the record is destroyed, no alarm, verify passes', async () => {
    const s = await setting({
      holdOver: 'folder',
      beforeHold: async (w) => {
        // The folder out from under "Tribunal" (to HR), then the record out of it and back: all through the service.
        expect((await api(w.app, w.member).patch(`collections/${w.evidence}`, { parentId: w.hr })).statusCode).toBe(200);
        expect((await api(w.app, w.member).patch(`documents/${w.documentId}`, { collectionId: w.tribunal })).statusCode).toBe(200);
        expect((await api(w.app, w.member).patch(`documents/${w.documentId}`, { collectionId: w.evidence })).statusCode).toBe(200);
      },
    });
    const batch = await s.sweep();
    await s.decideAndApprove(batch.id);
    await s.v.vault.disposal.execute(batch.id);
    expect((await s.v.vault.store.repos.documents.byId(s.documentId))!.status).toBe('disposed');
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
    await s.v.vault.audit.sequencer.flush();
    expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('an extension\'s new due date and reason rewritten by SQL before approval: the approval is refused, no date applied, alarm; verify names the item', async () => {
    const s = await setting();
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    const year = new Date().getUTCFullYear();
    const decided = await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'extend', extendTo: `${year + 5}-03-31`, reason: 'Appeal possible' }] });
    expect(decided.statusCode, decided.body).toBe(200);
    // The records manager decided five more years; the row now says one, with another reason.
    await s.db.updateTable('disposal_items').set({ extend_to: `${year + 1}-03-31`, reason: 'Appeal dismissed' }).where('batch_id', '=', batch.id).execute();
    const problem = `Document ${s.documentId} of disposal batch ${batch.id} has the new due date ${year + 1}-03-31, but its latest recorded decision, by person ${s.manager.id}, sets ${year + 5}-03-31`;
    // Approval would make the rewritten date the record's due date: refused, nothing applied, the alarm raised.
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(500);
    expect((await s.v.vault.store.repos.disposal.batch(batch.id))!.status).toBe('review');
    expect((await s.v.vault.retention.retentionFacts([s.documentId])).get(s.documentId)).toMatchObject({ extended: false });
    expect((await s.v.vault.audit.alarm.currentAlarm())!.problem).toContain(`The approval of disposal batch ${batch.id} was refused; no extension took effect. ${problem}`);
    await s.v.vault.audit.sequencer.flush();
    expect((await s.v.vault.store.repos.audit.forOrganisation(s.org.id)).filter((e) => e.action === 'disposal.approve').map((e) => [e.decision, e.reason])).toEqual([['deny', 'not_vouched_for']]);
    await s.expectVerifyNames(problem);
    // The date put back, the reason is still not the one recorded.
    await s.db.updateTable('disposal_items').set({ extend_to: `${year + 5}-03-31` }).where('batch_id', '=', batch.id).execute();
    await s.expectVerifyNames(`Document ${s.documentId} of disposal batch ${batch.id} gives a reason for its decision other than the one its latest recorded decision, by person ${s.manager.id}, gave`);
  });

  it('an extension\'s new due date rewritten by SQL after an honest approval: the job refuses; verify names the item', async () => {
    const s = await setting();
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    const year = new Date().getUTCFullYear();
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'extend', extendTo: `${year + 5}-03-31`, reason: 'Appeal possible' }] })).statusCode).toBe(200);
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
    await s.db.updateTable('disposal_items').set({ extend_to: `${year + 1}-03-31` }).where('batch_id', '=', batch.id).execute();
    const problem = `Document ${s.documentId} of disposal batch ${batch.id} has the new due date ${year + 1}-03-31, but its latest recorded decision, by person ${s.manager.id}, sets ${year + 5}-03-31`;
    await s.expectRefused(batch.id, problem);
    await s.expectVerifyNames(problem);
  });

  it('an honest extension: the batch is carried out, no alarm, verify passes', async () => {
    const s = await setting();
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    const extendTo = `${new Date().getUTCFullYear() + 5}-03-31`;
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'extend', extendTo, reason: 'Appeal possible' }] })).statusCode).toBe(200);
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
    await s.v.vault.disposal.execute(batch.id);
    expect((await s.v.vault.store.repos.disposal.batch(batch.id))!.status).toBe('executed');
    expect((await s.v.vault.store.repos.disposal.items(batch.id)).map((i) => [i.outcome, i.extendTo])).toEqual([['extended', extendTo]]);
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
    await s.v.vault.audit.sequencer.flush();
    expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  /** Released, then decided, approved, and put under a new hold on its folder (all honestly): the job's first check passes, and the hold would keep it. */
  async function heldAfterApproval() {
    const s = await setting({ holdOver: 'folder' });
    expect((await api(s.v.app, s.manager).post(`holds/${s.hold.id}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    const batch = await s.sweep();
    await s.decideAndApprove(batch.id);
    const again = (await api(s.v.app, s.manager).post('holds', { name: 'Smith v Council (appeal)', reason: 'Appeal lodged at the tribunal' })).json() as { id: string };
    expect((await api(s.v.app, s.manager).post(`holds/${again.id}/items`, { collectionIds: [s.tribunal] })).statusCode).toBe(200);
    return { s, batch, again };
  }

  it('a hold placed after approval, honestly: the record is kept (held), no alarm', async () => {
    const { s, batch } = await heldAfterApproval();
    await s.v.vault.disposal.execute(batch.id);
    expect((await s.v.vault.store.repos.documents.byId(s.documentId))!.status).toBe('available');
    expect((await s.v.vault.store.repos.disposal.items(batch.id)).map((i) => i.outcome)).toEqual(['held']);
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
  });

  it('the held record\'s row moved out of its held folder by SQL after the job checked the batch and before it destroyed the record: nothing destroyed, alarm', async () => {
    const { s, batch } = await heldAfterApproval();
    s.between(() => s.db.updateTable('documents').set({ collection_id: s.org.collections.hr! }).where('id', '=', s.documentId).execute());
    const problem = `Document ${s.documentId} of disposal batch ${batch.id} is in collection ${s.org.collections.hr!}, but the audit log last placed it in collection ${s.evidence}`;
    await s.expectRefused(batch.id, problem, `The disposal job stopped carrying out batch ${batch.id} at document ${s.documentId}, which it did not destroy; nothing more was destroyed.`);
    await s.expectVerifyNames(`Document ${s.documentId} is in collection ${s.org.collections.hr!}, but the audit log last placed it in collection ${s.evidence}`);
  });

  it('the hold marked released by SQL after the job checked the batch and before it destroyed the record: nothing destroyed, alarm', async () => {
    const { s, batch, again } = await heldAfterApproval();
    s.between(() => s.db.updateTable('legal_holds').set({ released_at: new Date().toISOString(), released_by: s.manager.id, release_reason: 'Appeal withdrawn' }).where('id', '=', again.id).execute());
    const problem = `Document ${s.documentId} of disposal batch ${batch.id} is under legal hold ${again.id} by the audit log, which records no release, but the hold's rows no longer hold it`;
    await s.expectRefused(batch.id, problem, `The disposal job stopped carrying out batch ${batch.id} at document ${s.documentId}, which it did not destroy; nothing more was destroyed.`);
    await s.expectVerifyNames(`Legal hold ${again.id} is marked released by person ${s.manager.id}, which no audit event records`);
  });
});
