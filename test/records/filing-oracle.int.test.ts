// Creating a collection filed under a series (`POST /api/v1/collections` with `series`) asked the parent's
// organisation's file plan before the parent was decided, so a records manager naming another council's
// collection as the parent was told "no file plan" where an id that names nothing gets "no collection": an
// oracle of which collection ids exist. Both now get the parent's own 404, audited, and nothing is created.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('filing a new collection under another council’s folder on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('answers another council’s collection as it answers one that does not exist', async () => {
    const ours = await createOrganisation(t.vault);
    const theirs = await createOrganisation(t.vault);
    const manager = await ours.user({ roles: ['records_manager'], teams: ['hr'] });
    const create = (parentId: string) => api(t.app, manager).post('collections', { name: `Leavers ${randomUUID().slice(0, 6)}`, parentId, serviceArea: 'hr', classification: 'OFFICIAL', series: 'HR-01' });
    const unknown = expectProblem(await create(randomUUID()), 404);
    const foreign = expectProblem(await create(theirs.collections.hr!), 404);
    expect(foreign.detail).toBe(unknown.detail);
    expect(foreign.detail).toBe('No collection with that id exists, or you do not have access to it.');
    expect(await t.vault.store.repos.collections.children(theirs.id, theirs.collections.hr!)).toEqual([]);
    // Its own folder is filed as asked.
    const filed = await create(ours.collections.hr!);
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json().series).toBe('HR-01');
  });
});
