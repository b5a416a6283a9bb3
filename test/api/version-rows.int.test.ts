// A version is opened under the binding of the document it was decided on, never the one its own row
// names. A database administrator who points a readable document's current version at another
// document's version (another council's, or above the reader's clearance) must not let the reader copy
// that document's content into a folder of their own: the copy is refused and nothing is stored.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(['sqlite', 'postgres'] as const)('version rows on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it("does not copy another council's content through a document whose current version row was pointed at it", async () => {
    const victimOrg = await createOrganisation(t.vault);
    const victim = await victimOrg.user({ teams: ['payroll'] });
    const secret = (await upload(t.app, victim, victimOrg.collections.payroll!, 'tribunal.txt', 'SECRET-TRIBUNAL-EVIDENCE\n')).json();
    const readerOrg = await createOrganisation(t.vault);
    const reader = await readerOrg.user({ teams: ['payroll'] });
    const own = (await upload(t.app, reader, readerOrg.collections.payroll!, 'rota.txt', 'rota\n')).json();

    const secretVersion = (await t.vault.store.repos.documents.byId(secret.id))!.currentVersionId;
    await t.vault.store.db.updateTable('documents').set({ current_version_id: secretVersion }).where('id', '=', own.id).execute();

    const copy = await api(t.app, reader).post(`documents/${own.id}/copy`, { collectionId: readerOrg.collections.payroll!, name: 'copy.txt' });
    expect(copy.statusCode).toBe(404);
    expect(await t.vault.store.repos.documents.byName(readerOrg.collections.payroll!, 'copy.txt')).toBeUndefined();
    // Nothing of the other council's content reaches the reader by any route.
    const download = await api(t.app, reader).get(`documents/${own.id}/content`);
    expect(download.body).not.toContain('SECRET-TRIBUNAL-EVIDENCE');
  });
});
