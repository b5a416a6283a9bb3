// A folder moved into another is decided on the folder (manage, everything inside) and on the new parent (adding
// a folder there). Both must still hold when the move commits. A partner's staff, served by two arrangements of
// one host (two joint workspaces for payroll), move a folder from one workspace into the other, and the second
// arrangement is suspended (or ended) between the decisions and the move's transaction: nothing moves, the
// refusal is audited, on both dialects.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { ARRANGEMENT_STOPS, twoJointWorkspaces } from '../support/shared-service.js';
import { DIALECTS } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a folder moved into a joint workspace while its arrangement stops, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  async function world() {
    const { host, partner, second, firstWorkspace, secondWorkspace } = await twoJointWorkspaces(t.vault);
    const partnerStaff = await partner.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const made = await api(t.app, partnerStaff).post('collections', { parentId: firstWorkspace.id, name: 'March run', serviceArea: 'payroll', classification: 'OFFICIAL' });
    expect(made.statusCode, made.body).toBe(201);
    return { host, second, secondWorkspace, firstWorkspace, partnerStaff, folderId: made.json().id as string };
  }

  describe.each(ARRANGEMENT_STOPS)('the second arrangement %s', (_stop, stopIt) => {
    it('refuses the move (404, audited) and leaves the folder where it was', async () => {
      const { host, second, secondWorkspace, firstWorkspace, partnerStaff, folderId } = await world();
      const meanwhile = beforeNextTransaction(t.vault.store, () => stopIt(t.vault, second.id));
      const res = await api(t.app, partnerStaff).patch(`collections/${folderId}`, { parentId: secondWorkspace.id });
      expect(meanwhile.ran()).toBe(true);
      expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status: 404, detail: 'No collection with that id exists, or you do not have access to it.' });
      expect((await t.vault.store.repos.collections.byId(folderId))?.parentId).toBe(firstWorkspace.id);
      const denied = (await eventsOf(t.vault, partnerStaff.id, { deny: true })).map((e) => ({ action: e.action, reason: e.reason, organisationId: e.targetOrganisationId }));
      expect(denied).toEqual([{ action: 'collection.create', reason: 'no_arrangement', organisationId: host.id }]);
    });
  });
});
