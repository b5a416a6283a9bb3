// A due batch is a second records manager's to approve when its would-be approver brought forward when any of its
// records fall due, on both dialects: one person shortening a series (to 0 years), refiling a record under a shorter
// period (confirmShorter) or recording a back-dated trigger event, then sweeping and approving alone, is refused
// (403, audited `disposal.approve` brought_due_date_forward, nothing approved or destroyed); another records manager
// approves. An ordinary due batch, whose dates nobody brought forward, is still one records manager's. Who brought
// dates forward is read from the acts' sealed events: rewritten in the database, approval fails closed; and the
// disposal job destroys nothing of a due batch whose vouched approval is by one who did.
import { describe, expect, it } from 'vitest';
import { approvalEvents, approvedPastTheRule, expectKeysIntact, expectNobodyApproves } from '../support/disposal-batch.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { HR_03, councilOfTwoRecordsManagers, fileCollectionUnder, type SeriesSpec, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

const HR_06: SeriesSpec = { code: 'HR-06', trigger: 'created', retainYears: 6, action: 'destroy', serviceArea: 'hr' };
const FORWARD_REFUSED = 'You brought forward when some of these records fall due, so another records manager must approve their destruction.';

describe.each(DIALECTS)('due destruction brought forward, by two people, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** An organisation whose HR folder is filed under HR-06 (six years from creation), with two records managers, an HR member and one record uploaded today. */
  async function council(): Promise<{ org: TestOrganisation; manager: TestUser; second: TestUser; id: string }> {
    const { org, first: manager, second, member: staff } = await councilOfTwoRecordsManagers(t.vault, 'hr', HR_06);
    const res = await upload(t.app, staff, org.collections.hr!, `personnel-file-${Math.random().toString(36).slice(2, 8)}.txt`, 'personnel file\n');
    expect(res.statusCode, res.body).toBe(201);
    return { org, manager, second, id: res.json().id as string };
  }

  /** Routes by which `manager` makes the record due now, each confirmed as the service asks. */
  const routes: Record<string, (c: { manager: TestUser; id: string }) => Promise<void>> = {
    'shortens its series to 0 years': async ({ manager }) => {
      const res = await api(t.app, manager).patch('series/HR-06', { retainYears: 0, reason: 'Shorter', confirmShorter: true });
      expect(res.statusCode, res.body).toBe(200);
    },
    'refiles it under a 0-year series (confirmShorter)': async ({ manager, id }) => {
      const created = await api(t.app, manager).post('series', { code: 'HR-00', title: 'Kept no time', serviceArea: 'hr', trigger: 'created', retainYears: 0, action: 'destroy', authority: 'None' });
      expect(created.statusCode, created.body).toBe(201);
      expect((await api(t.app, manager).patch(`documents/${id}`, { series: 'HR-00' })).statusCode).toBe(409);
      const refiled = await api(t.app, manager).patch(`documents/${id}`, { series: 'HR-00', confirmShorter: true });
      expect(refiled.statusCode, refiled.body).toBe(200);
    },
    'records its trigger date seven years back (confirmShorter)': async ({ manager, id }) => {
      const res = await api(t.app, manager).post('retention-events', { kind: 'created', date: yearsAgo(7), documentIds: [id], confirmShorter: true });
      expect(res.statusCode, res.body).toBe(201);
    },
  };

  /** `manager` sweeps (the record now due) and decides it destroy; returns the batch. */
  async function sweptAndDecided(manager: TestUser, id: string): Promise<string> {
    const swept = await api(t.app, manager).post('disposal/batches', {});
    expect(swept.statusCode, swept.body).toBe(201);
    const batchId = swept.json().id as string;
    const decided = await api(t.app, manager).post(`disposal/batches/${batchId}/decisions`, { items: [{ documentId: id, decision: 'destroy' }] });
    expect(decided.statusCode, decided.body).toBe(200);
    return batchId;
  }

  const approvals = (batchId: string) => approvalEvents(t.vault, batchId);

  /** The record is still there, every version's key intact. */
  async function expectUndestroyed(id: string): Promise<void> {
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('available');
    await expectKeysIntact(t.vault, id);
  }

  for (const [route, bringForward] of Object.entries(routes)) {
    it(`refuses the approval to the records manager who ${route} (403, audited brought_due_date_forward, nothing approved or destroyed); another records manager approves`, async () => {
      const { manager, second, id } = await council();
      await bringForward({ manager, id });
      const batchId = await sweptAndDecided(manager, id);

      const refused = expectProblem(await api(t.app, manager).post(`disposal/batches/${batchId}/approve`), 403);
      expect(refused.detail).toBe(FORWARD_REFUSED);
      expect(await approvals(batchId)).toEqual([{ actor_user_id: manager.id, decision: 'deny', reason: 'brought_due_date_forward' }]);
      expect(await t.vault.store.repos.disposal.batch(batchId)).toMatchObject({ status: 'review', approvedBy: null });
      await t.vault.disposal.execute(batchId);
      await expectUndestroyed(id);

      const approved = await api(t.app, second).post(`disposal/batches/${batchId}/approve`);
      expect(approved.statusCode, approved.body).toBe(200);
      expect(approved.json()).toMatchObject({ status: 'approved', approvedBy: second.id });
      await t.vault.disposal.execute(batchId);
      expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('disposed');
      expect(await approvals(batchId)).toEqual([
        { actor_user_id: manager.id, decision: 'deny', reason: 'brought_due_date_forward' },
        { actor_user_id: second.id, decision: 'allow', reason: 'records_manager' },
      ]);
    });
  }

  it('approves an ordinary due batch for the one records manager who recorded its trigger event, swept and decided it: nothing was brought forward', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const staff = await org.user({ teams: ['hr'] });
    const id = (await upload(t.app, staff, org.collections.hr!, `application-${Date.now()}.txt`, 'application\n')).json().id as string;
    // The record's first date (it awaited its event): how a record gets its due date, not a date brought forward.
    expect((await api(t.app, manager).post('retention-events', { kind: 'process_complete', date: yearsAgo(2), documentIds: [id] })).statusCode).toBe(201);
    const batchId = await sweptAndDecided(manager, id);
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/approve`)).statusCode).toBe(200);
    await t.vault.disposal.execute(batchId);
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('disposed');
    expect(await approvals(batchId)).toEqual([{ actor_user_id: manager.id, decision: 'allow', reason: 'records_manager' }]);
  });

  // The two below raise the integrity alarm, which stops this vault's signer: last.
  it('refuses to carry out a due batch whose vouched approval is by the records manager who brought its dates forward (written past the approval\'s rule)', async () => {
    const { manager, id } = await council();
    await routes['shortens its series to 0 years']!({ manager, id });
    const batchId = await sweptAndDecided(manager, id);
    await approvedPastTheRule(t.vault, manager, ['hr'], batchId);
    await expect(t.vault.disposal.execute(batchId)).rejects.toThrow(
      `The disposal job refused to carry out batch ${batchId}; nothing was destroyed. Disposal batch ${batchId}'s recorded approval is by person ${manager.id}, who brought forward when some of its records fall due: `
      + 'their destruction must be approved by another records manager, and Strongroom does not let them approve it.',
    );
    await expectUndestroyed(id);
    expect(await t.vault.audit.alarm.currentAlarm()).toMatchObject({ source: 'disposal' });
    await t.vault.audit.sequencer.flush();
    const refusals = await t.vault.store.db.selectFrom('audit_events').select(['action', 'reason']).where('decision', '=', 'deny').where('action', '=', 'disposal.execute')
      .where('target_ids', 'like', `%${batchId}%`).execute();
    expect(refusals).toEqual([{ action: 'disposal.execute', reason: 'not_vouched_for' }]);
  });

  it('fails closed when the series change that brought the dates forward is rewritten in the database to name another person: nobody can approve', async () => {
    const { manager, second, id } = await council();
    await routes['shortens its series to 0 years']!({ manager, id });
    const batchId = await sweptAndDecided(manager, id);
    await t.vault.audit.sequencer.flush();
    // A database administrator makes the second records manager the one who shortened the series: the event's seal breaks.
    await t.vault.store.db.updateTable('audit_events').set({ actor_user_id: second.id }).where('action', '=', 'records.series.update').where('target_ids', 'like', '%HR-06%').execute();
    await expectNobodyApproves(t, [manager, second], batchId);
    await t.vault.disposal.execute(batchId);
    await expectUndestroyed(id);
  });
});
