// A document moved between folders of one organisation is decided on the document (rename, at the level an
// arrangement gives) and on the destination (adding there). Both must still hold when the move commits: the
// host's team serving a partner through two arrangements (payroll and finance) moves a finance record into
// the partner's payroll folder, and the payroll arrangement is suspended (or ended) between the decisions
// and the move's transaction. Nothing moves, the refusal is audited, on both dialects and through REST.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { ARRANGEMENT_STOPS } from '../support/shared-service.js';
import { createOrganisation, DIALECTS, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a move into a partner’s folder while the arrangement that opens it stops, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  async function world() {
    const areas = { payroll: 'OFFICIAL', finance: 'OFFICIAL' } as const;
    const host = await createOrganisation(t.vault, { areas });
    const partner = await createOrganisation(t.vault, { areas });
    const arrange = (serviceArea: string) => t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea, purpose: `Shared ${serviceArea}`,
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'manage', ceiling: 'OFFICIAL',
    }, { approve: true });
    const payroll = await arrange('payroll');
    await arrange('finance');
    const hostStaff = await host.user({ teams: ['payroll', 'finance'], clearance: 'OFFICIAL' });
    const partnerStaff = await partner.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const uploaded = await upload(t.app, partnerStaff, partner.collections.finance!, 'invoices.txt', 'partner finance\n');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    return { partner, payroll, hostStaff, documentId: uploaded.json().id as string };
  }

  describe.each(ARRANGEMENT_STOPS)('the payroll arrangement %s', (_stop, stopIt) => {
    it('refuses the move (404, audited) and leaves the record where it was', async () => {
      const { partner, payroll, hostStaff, documentId } = await world();
      const meanwhile = beforeNextTransaction(t.vault.store, () => stopIt(t.vault, payroll.id));
      const res = await api(t.app, hostStaff).patch(`documents/${documentId}`, { collectionId: partner.collections.payroll! });
      expect(meanwhile.ran()).toBe(true);
      expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status: 404, detail: 'No collection with that id exists, or you do not have access to it.' });
      expect((await t.vault.store.repos.documents.byId(documentId))?.collectionId).toBe(partner.collections.finance);
      const denied = (await eventsOf(t.vault, hostStaff.id, { deny: true })).map((e) => ({ action: e.action, reason: e.reason, organisationId: e.targetOrganisationId }));
      expect(denied).toEqual([{ action: 'document.create', reason: 'no_arrangement', organisationId: partner.id }]);
    });
  });
});
