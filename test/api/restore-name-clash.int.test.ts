// Restoring a binned document whose name another document took meanwhile: the clash is told as an
// upload's is. A person who may read the document in the way is told it exists; one who may not
// (above their clearance) is told only that the name cannot be used, found before the transaction or
// inside it (a restore racing the upload that took the name), never that a document of it exists.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('restoring onto a name taken meanwhile, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** A binned OFFICIAL document of `low`'s and, of the same name, a live OFFICIAL-SENSITIVE one `low` may not see. */
  async function binnedUnderHiddenClash() {
    const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const low = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const high = await org.user({ teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const finance = org.collections.finance!;
    const put = (user: typeof low, query: string) => t.app.inject({ method: 'POST', url: `/api/v1/collections/${finance}/documents?${query}`, headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/octet-stream' }, payload: 'bytes\n' });
    const mine = await put(low, 'name=report.txt');
    expect(mine.statusCode, mine.body).toBe(201);
    const id = mine.json().id as string;
    expect((await api(t.app, low).delete(`documents/${id}`)).statusCode).toBe(204);
    const hidden = await put(high, 'name=report.txt&classification=OFFICIAL-SENSITIVE');
    expect(hidden.statusCode, hidden.body).toBe(201);
    expectProblem(await api(t.app, low).get(`documents/${hidden.json().id as string}`), 404);
    return { low, high, id, finance };
  }

  const unusable = 'The name "report.txt" cannot be used in this collection. Choose another name.';

  it('tells someone who may not see the document in the way only that the name cannot be used', async () => {
    const { low, high, id } = await binnedUnderHiddenClash();
    expect(expectProblem(await api(t.app, low).post(`documents/${id}/restore`), 409).detail).toBe(unusable);
    // Someone who may read it is told it is there.
    expect(expectProblem(await api(t.app, high).post(`documents/${id}/restore`), 409).detail).toBe('A document called "report.txt" now exists in that collection; rename it first.');
  });

  it('tells them the same when the name is found taken only inside the restore’s transaction', async () => {
    const { low, id } = await binnedUnderHiddenClash();
    // The check before the transaction finds the name free, as it would with the other upload not yet committed.
    const documents = t.vault.store.repos.documents;
    const holdersOfName = documents.holdersOfName.bind(documents);
    let skipped = false;
    documents.holdersOfName = async (collectionId, name) => {
      if (!skipped) { skipped = true; return []; }
      return holdersOfName(collectionId, name);
    };
    try {
      expect(expectProblem(await api(t.app, low).post(`documents/${id}/restore`), 409).detail).toBe(unusable);
    } finally {
      documents.holdersOfName = holdersOfName;
    }
    expect(skipped).toBe(true);
  });
});
