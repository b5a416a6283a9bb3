// Early destruction is two people's decision, on both dialects: the records manager who proposed an early batch
// cannot approve it (403, audited `disposal.approve` same_person_as_proposer, nothing approved or destroyed);
// another records manager can, and the certificate names both. A due batch is approved as before by whoever
// decided it. Who proposed is read from the batch's sealed propose-early events: rewritten in the database, they
// vouch for nobody and approval fails closed; and the disposal job destroys nothing of an early batch whose
// vouched approval is by its proposer.
import { describe, expect, it } from 'vitest';
import { checkCertificate, describeCheck } from '../../src/domain/records/certificate.js';
import { approvalEvents, approvedPastTheRule, expectKeysIntact, expectNobodyApproves } from '../support/disposal-batch.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { HR_03, councilOfTwoRecordsManagers, fileCollectionUnder, type SeriesSpec, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

const PAY_06: SeriesSpec = { code: 'PAY-06', trigger: 'created', retainYears: 6, action: 'destroy', serviceArea: 'payroll' };
const PROPOSER_REFUSED = 'You proposed this early destruction, so another records manager must approve it.';

describe.each(DIALECTS)('early destruction by two people on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** An organisation whose payroll folder is filed under PAY-06 (six years), with two records managers and a payroll member. */
  async function council(): Promise<{ org: TestOrganisation; proposer: TestUser; second: TestUser; payroll: TestUser }> {
    const { org, first, second, member } = await councilOfTwoRecordsManagers(t.vault, 'payroll', PAY_06);
    return { org, proposer: first, second, payroll: member };
  }

  /** A payslip uploaded and deleted by its payroll team (in the bin, its six years not ended), proposed for early destruction and decided destroy by `proposer`. */
  async function proposedEarly(org: TestOrganisation, proposer: TestUser, payroll: TestUser): Promise<{ id: string; batchId: string }> {
    const res = await upload(t.app, payroll, org.collections.payroll!, `payslip-${Math.random().toString(36).slice(2, 8)}.txt`, 'payslip of another council\n');
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    expect((await api(t.app, payroll).delete(`documents/${id}`)).statusCode).toBe(204);
    const proposed = await api(t.app, proposer).post('disposal/early', { documentIds: [id], reason: 'Payslip of another council uploaded in error' });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const batchId = proposed.json().id as string;
    expect((await api(t.app, proposer).post(`disposal/batches/${batchId}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] })).statusCode).toBe(200);
    return { id, batchId };
  }

  const approvals = (batchId: string) => approvalEvents(t.vault, batchId);

  /** The record is in the bin still, every version's key intact. */
  async function expectUndestroyed(id: string): Promise<void> {
    expect(await t.vault.store.repos.documents.byId(id)).toMatchObject({ status: 'available', deletedAt: expect.any(String) });
    await expectKeysIntact(t.vault, id);
  }

  it('refuses the proposer\'s approval (403, audited same_person_as_proposer, nothing approved or destroyed); another records manager approves, and the certificate names both', async () => {
    const { org, proposer, second, payroll } = await council();
    const { id, batchId } = await proposedEarly(org, proposer, payroll);

    const refused = expectProblem(await api(t.app, proposer).post(`disposal/batches/${batchId}/approve`), 403);
    expect(refused.detail).toBe(PROPOSER_REFUSED);
    expect(await approvals(batchId)).toEqual([{ actor_user_id: proposer.id, decision: 'deny', reason: 'same_person_as_proposer' }]);
    expect(await t.vault.store.repos.disposal.batch(batchId)).toMatchObject({ status: 'review', approvedBy: null, approvedAt: null });
    // Nothing was queued to carry it out; run anyway, the job leaves a batch under review alone.
    await t.vault.disposal.execute(batchId);
    await expectUndestroyed(id);

    const approved = await api(t.app, second).post(`disposal/batches/${batchId}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved', approvedBy: second.id });
    await t.vault.disposal.execute(batchId);
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('disposed');
    expect(await approvals(batchId)).toEqual([
      { actor_user_id: proposer.id, decision: 'deny', reason: 'same_person_as_proposer' },
      { actor_user_id: second.id, decision: 'allow', reason: 'records_manager' },
    ]);

    const cert = (await api(t.app, second).get(`disposal/batches/${batchId}/certificate`)).json();
    const proposal = (await t.vault.store.repos.audit.allowedEvents(['disposal.propose-early'], { documentIds: [id] }))[0]!;
    const nameOf = async (user: TestUser) => (await t.vault.store.repos.users.byId(user.id))!.name;
    expect(cert.early.proposedBy).toEqual({ userId: proposer.id, name: await nameOf(proposer), at: proposal.time });
    expect(cert.authorisedBy).toMatchObject({ userId: second.id, name: await nameOf(second) });
    const check = checkCertificate(cert, t.vault.audit.proofs.verifierKey);
    expect(check).toMatchObject({ ok: true, destroyed: 1, early: { documents: 1, proposedBy: proposer.id, approvedBy: second.id } });
    expect(describeCheck(check)).toContain(`Proposed by ${proposer.id}, approved by another, ${second.id}.`);
  });

  it('approves a due batch (the sweep\'s) for the records manager who ran the sweep and decided it, as before', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const staff = await org.user({ teams: ['hr'] });
    const id = (await upload(t.app, staff, org.collections.hr!, `application-${Date.now()}.txt`, 'application\n')).json().id as string;
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(2));
    const swept = await api(t.app, manager).post('disposal/batches', {});
    expect(swept.statusCode, swept.body).toBe(201);
    const batchId = swept.json().id as string;
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/approve`)).statusCode).toBe(200);
    await t.vault.disposal.execute(batchId);
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('disposed');
    expect(await approvals(batchId)).toEqual([{ actor_user_id: manager.id, decision: 'allow', reason: 'records_manager' }]);
  });

  // The two below raise the integrity alarm, which stops this vault's signer: last.
  it('refuses to carry out an early batch whose vouched approval is by its proposer (written past the approval\'s rule), and one whose approval was then rewritten to another person', async () => {
    const { org, proposer, second, payroll } = await council();
    const { id, batchId } = await proposedEarly(org, proposer, payroll);
    // The proposer's approval, written as the service writes one (sealed) but not through its approval.
    await approvedPastTheRule(t.vault, proposer, ['payroll'], batchId);
    await expect(t.vault.disposal.execute(batchId)).rejects.toThrow(
      `The disposal job refused to carry out batch ${batchId}; nothing was destroyed. Disposal batch ${batchId} destroys records before their retention ends, and its recorded approval is by person ${proposer.id}, who proposed it: `
      + 'early destruction must be approved by another records manager, and Strongroom does not let its proposer approve it.',
    );
    await expectUndestroyed(id);
    expect(await t.vault.audit.alarm.currentAlarm()).toMatchObject({ source: 'disposal' });
    await t.vault.audit.sequencer.flush();
    const refusals = () => t.vault.store.db.selectFrom('audit_events').select(['action', 'reason']).where('decision', '=', 'deny').where('action', '=', 'disposal.execute')
      .where('target_ids', 'like', `%${batchId}%`).execute();
    expect(await refusals()).toEqual([{ action: 'disposal.execute', reason: 'not_vouched_for' }]);

    // A database administrator then rewrites the approval, row and event, as the second records manager's: the event's seal breaks.
    const db = t.vault.store.db;
    await db.updateTable('disposal_batches').set({ approved_by: second.id }).where('id', '=', batchId).execute();
    await db.updateTable('audit_events').set({ actor_user_id: second.id }).where('action', '=', 'disposal.approve').where('target_ids', 'like', `%${batchId}%`).execute();
    await expect(t.vault.disposal.execute(batchId)).rejects.toThrow(`Disposal batch ${batchId} is marked approved by person ${second.id}, but no approval of it is recorded`);
    await expectUndestroyed(id);
    expect(await refusals()).toHaveLength(2);
  });

  it('fails closed when the proposal events are rewritten in the database to name another person: the real proposer still cannot approve, nor can anyone', async () => {
    const { org, proposer, second, payroll } = await council();
    const { id, batchId } = await proposedEarly(org, proposer, payroll);
    await t.vault.audit.sequencer.flush();
    // A database administrator makes the second records manager the proposer, in the log and in the batch's row.
    const db = t.vault.store.db;
    await db.updateTable('audit_events').set({ actor_user_id: second.id }).where('action', 'in', ['disposal.propose-early', 'disposal.propose']).where('target_ids', 'like', `%${batchId}%`).execute();
    await db.updateTable('disposal_batches').set({ created_by: second.id }).where('id', '=', batchId).execute();
    // The rewritten events' seals no longer match: they vouch for nobody.
    expect(await t.vault.store.repos.audit.allowedEvents(['disposal.propose-early'], { documentIds: [id] })).toEqual([]);

    await expectNobodyApproves(t, [proposer, second], batchId);
    await t.vault.disposal.execute(batchId);
    await expectUndestroyed(id);
  });
});
