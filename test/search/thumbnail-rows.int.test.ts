// A thumbnail is bound, like a version's content, to the document it is asked for. A database
// administrator who points a readable document's current version at another document's version (of
// another council, or above the reader's clearance) must not get that document's first page shown to
// the readable document's readers: the thumbnail opens only under the binding of the document decided on.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { png } from '../support/samples.js';
import { createOrganisation, upload } from '../support/vault.js';
import { drainJobs } from './support.js';

const clamd = useClamd();

describe.each(['sqlite', 'postgres'] as const)('thumbnail rows on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it("does not show another council's first page through a document whose current version row was pointed at it", async () => {
    const victimOrg = await createOrganisation(t.vault);
    const victim = await victimOrg.user({ teams: ['payroll'] });
    const secret = (await upload(t.app, victim, victimOrg.collections.payroll!, 'tribunal.png', png())).json();
    const readerOrg = await createOrganisation(t.vault);
    const reader = await readerOrg.user({ teams: ['payroll'] });
    const own = (await upload(t.app, reader, readerOrg.collections.payroll!, 'rota.png', png())).json();
    await drainJobs(t.vault);
    expect((await api(t.app, victim).get(`documents/${secret.id}/thumbnail`)).statusCode).toBe(200);
    expect((await api(t.app, reader).get(`documents/${own.id}/thumbnail`)).statusCode).toBe(200);

    const secretVersion = (await t.vault.store.repos.documents.byId(secret.id))!.currentVersionId;
    await t.vault.store.db.updateTable('documents').set({ current_version_id: secretVersion }).where('id', '=', own.id).execute();

    const res = await api(t.app, reader).get(`documents/${own.id}/thumbnail`);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).not.toBe('image/png');
    expect(await t.vault.search.hasThumbnail(await actorOf(reader.id), own.id)).toBe(false);
  });

  async function actorOf(userId: string) {
    const { actorFor } = await import('../../src/services/identity.service.js');
    return actorFor((await t.vault.store.repos.users.byId(userId))!, { channel: 'web', clientAddress: null, requestId: null });
  }
});
