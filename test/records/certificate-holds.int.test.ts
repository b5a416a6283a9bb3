// A certificate of destruction says which legal holds kept its records at execution (`holdCheck`, "checked at"
// the batch's execution). When the certificate is issued later than the execution (the audit log had not yet
// signed a checkpoint covering it: signing stopped, or another node's signer had not yet published), it read
// the register as it stood then: a hold released since left a held record kept by no hold, and one placed since
// was certified as having kept it, under the log's signature (attack review of 7 December). The holds are now
// those the disposal job's own refusals recorded at execution (`document.dispose`, denied, `legal_hold`).
import { describe, expect, it, vi } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { HR_03, fileCollectionUnder, placeHold, releaseHold, uploadDueRecords } from '../support/records.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a certificate issued after its batch was executed on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('names the holds that kept its records when the batch was executed, not those in force when it was issued', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const ids = await uploadDueRecords(t, org.id, org.collections.hr!, member, [`kept-${Date.now()}.txt`, `destroyed-${Date.now()}.txt`]);
    const [kept, destroyed] = ids as [string, string];
    const swept = await api(t.app, manager).post('disposal/batches', {});
    expect(swept.statusCode, swept.body).toBe(201);
    const batchId = swept.json().id as string;
    const decided = await api(t.app, manager).post(`disposal/batches/${batchId}/decisions`, { items: ids.map((documentId) => ({ documentId, decision: 'destroy' })) });
    expect(decided.statusCode, decided.body).toBe(200);
    expect((await api(t.app, manager).post(`disposal/batches/${batchId}/approve`)).statusCode).toBe(200);
    // A hold placed after approval keeps one record at execution.
    const tribunal = await placeHold(t.vault, org.id, { documentId: kept }, 'Tribunal claim 2026/88');

    // Executed, but the certificate not issued with it (as when no signed checkpoint covers the execution yet).
    const issue = vi.spyOn(t.vault.certificates, 'issue').mockRejectedValueOnce(new Error('The audit log has not yet signed a checkpoint'));
    await expect(t.vault.disposal.execute(batchId)).rejects.toThrow('not yet signed');
    issue.mockRestore();
    expect((await api(t.app, manager).get(`disposal/batches/${batchId}`)).json()).toMatchObject({ status: 'executed', certificateId: null, counts: { destroyed: 1, held: 1 } });

    // Meanwhile the hold that kept it is released, and another placed.
    await releaseHold(t.vault, tribunal);
    await placeHold(t.vault, org.id, { documentId: kept }, 'Later inquiry');

    const res = await api(t.app, manager).get(`disposal/batches/${batchId}/certificate`);
    expect(res.statusCode, res.body).toBe(200);
    const certificate = res.json();
    expect(certificate.documents.map((d: { documentId: string }) => d.documentId)).toEqual([destroyed]);
    expect(certificate.holdCheck.heldAtExecution).toEqual([{ documentId: kept, holds: [{ id: tribunal, name: 'Tribunal claim 2026/88' }] }]);
  });
});
