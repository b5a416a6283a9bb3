// A certificate of destruction names the holds that kept its records at execution from the disposal job's own
// refusals (`document.dispose`, denied, `legal_hold`; certificate-holds.int.test.ts). Those refusals were read as
// the rows stood, seal or none, in the tree or not: a database administrator (any row, but neither the master key
// nor the signing key) who rewrote a signed refusal's hold, or inserted a refusal of their own with a seq outside
// the tree, had the certificate, under the log's signature, say a record was kept by a hold of their choosing:
// another council's, whose name it then showed this council's records staff (attack review of 7 December,
// evening). A refusal now names a hold only under its seal and in the tree, and only a hold of the batch's own
// organisation. On both dialects.
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { HR_03, fileCollectionUnder, placeHold, uploadDueRecords } from '../support/records.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();
const OTHER_HOLD = 'Other council: covert investigation 2026/17';

describe.each(DIALECTS)('a certificate whose refusals were rewritten in the database, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** A batch executed with one record kept by a hold, its certificate not yet issued; the refusal signed; another council's hold. */
  async function executedWithAHold() {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const ids = await uploadDueRecords(t, org.id, org.collections.hr!, member, [`kept-${Date.now()}.txt`, `destroyed-${Date.now()}.txt`]);
    const [kept] = ids as [string, string];
    const batchId = (await api(t.app, manager).post('disposal/batches', {})).json().id as string;
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/decisions`, { items: ids.map((documentId) => ({ documentId, decision: 'destroy' })) })).statusCode).toBe(200);
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/approve`)).statusCode).toBe(200);
    const tribunal = await placeHold(t.vault, org.id, { documentId: kept }, 'Tribunal claim 2026/88');
    const issue = vi.spyOn(t.vault.certificates, 'issue').mockRejectedValueOnce(new Error('The audit log has not yet signed a checkpoint'));
    await expect(t.vault.disposal.execute(batchId)).rejects.toThrow('not yet signed');
    issue.mockRestore();
    // The refusal sequenced and signed: the signer checks only the tail past its newest checkpoint.
    await t.vault.audit.sequencer.flush();
    const other = await createOrganisation(t.vault);
    const otherHold = await placeHold(t.vault, other.id, {}, OTHER_HOLD);
    const refusal = await t.vault.store.db.selectFrom('audit_events').select(['id', 'target_ids'])
      .where('action', '=', 'document.dispose').where('decision', '=', 'deny').where('document_id', '=', kept).executeTakeFirstOrThrow();
    return { org, manager, batchId, kept, tribunal, otherHold, refusal };
  }

  const certificateOf = async (w: Awaited<ReturnType<typeof executedWithAHold>>) => {
    const res = await api(t.app, w.manager).get(`disposal/batches/${w.batchId}/certificate`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).not.toContain(OTHER_HOLD);
    return res.json().holdCheck.heldAtExecution as unknown[];
  };

  it("names no hold for a signed refusal rewritten to name another council's hold", async () => {
    const w = await executedWithAHold();
    const ids = JSON.parse(w.refusal.target_ids) as Record<string, string>;
    expect(ids.holdId).toBe(w.tribunal);
    await t.vault.store.db.updateTable('audit_events').set({ target_ids: JSON.stringify({ ...ids, holdId: w.otherHold }) }).where('id', '=', w.refusal.id).execute();

    expect(await certificateOf(w)).toEqual([{ documentId: w.kept, holds: [] }]);
  });

  it("takes no refusal written into the database with a seq outside the tree, naming another council's hold", async () => {
    const w = await executedWithAHold();
    const ids = JSON.parse(w.refusal.target_ids) as Record<string, string>;
    await sql`insert into audit_events (seq, time, actor_user_id, actor_organisation_id, action, target_organisation_id, target_ids, document_id, decision, reason, arrangement_id, channel, client_address, request_id, seal)
      select ${1_000_000_000}, time, actor_user_id, actor_organisation_id, action, target_organisation_id, ${JSON.stringify({ ...ids, holdId: w.otherHold })}, document_id, decision, reason, arrangement_id, channel, client_address, request_id, null
      from audit_events where id = ${w.refusal.id}`.execute(t.vault.store.db);

    expect(await certificateOf(w)).toEqual([{ documentId: w.kept, holds: [{ id: w.tribunal, name: 'Tribunal claim 2026/88' }] }]);
  });
});
