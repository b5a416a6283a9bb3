// The placement migration repairs facts left stale by moves made before they were recomputed: a
// collection moved out of a joint workspace, and the documents in it, lose the binding.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { repairPlacement } from '../../src/db/migrations/202611300101_placement.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('placement repair on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('unbinds a collection left under an internal folder with a workspace binding, and everything in it', async () => {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const workspace = await t.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint');
    const hostStaff = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const bids = (await api(t.app, hostStaff).post('collections', { name: 'Bids', parentId: workspace.id, serviceArea: 'payroll', classification: 'OFFICIAL' })).json();
    const doc = (await upload(t.app, hostStaff, bids.id, 'bid.txt', 'bid\n')).json();
    // What the old MOVE did: reparent the row and nothing else.
    await t.vault.store.db.updateTable('collections').set({ parent_id: host.collections.payroll! }).where('id', '=', bids.id).execute();
    expect((await api(t.app, partnerStaff).get(`documents/${doc.id}`)).statusCode).toBe(200);

    await repairPlacement(t.vault.store.db);

    expectProblem(await api(t.app, partnerStaff).get(`documents/${doc.id}`), 404);
    expectProblem(await api(t.app, partnerStaff).get(`collections/${bids.id}`), 404);
    expect((await api(t.app, hostStaff).get(`documents/${doc.id}`)).json().classification).toBe('OFFICIAL-SENSITIVE');
    expect((await api(t.app, hostStaff).get(`collections/${workspace.id}`)).json().arrangementId).toBe(arrangement.id);
  });
});
