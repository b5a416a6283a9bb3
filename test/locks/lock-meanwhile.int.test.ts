// A WebDAV LOCK is decided as a write to what it locks. The host's team serving a partner locks the partner's
// document or folder, and the arrangement is suspended (or ended) between that decision and the transaction that
// stores the lock: no lock is stored, and the refusal is audited in place of a `dav.lock` allowed after the
// arrangement stopped. Both dialects.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { ARRANGEMENT_STOPS } from '../support/shared-service.js';
import { createPartnership, DIALECTS, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a LOCK while the arrangement that opens its target stops, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  async function world() {
    const { partner, host, arrangement } = await createPartnership(t.vault, { accessLevel: 'contribute', ceiling: 'OFFICIAL-SENSITIVE' });
    const hostStaff = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const uploaded = await upload(t.app, partnerStaff, partner.collections.payroll!, 'payslips.txt', 'partner payroll\n');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const actor = actorFor((await t.vault.identity.userById(hostStaff.id))!, { channel: 'webdav', clientAddress: null, requestId: null });
    const document = (await t.vault.store.repos.documents.byId(uploaded.json().id as string))!;
    const collection = (await t.vault.store.repos.collections.byId(partner.collections.payroll!))!;
    return { partner, arrangement, hostStaff, actor, document, collection };
  }

  describe.each(ARRANGEMENT_STOPS)('the arrangement %s', (_stop, stopIt) => {
    it.each(['document', 'collection'] as const)('stores no lock on the partner’s %s, and audits the refusal', async (kind) => {
      const { partner, arrangement, hostStaff, actor, document, collection } = await world();
      const target = kind === 'document' ? { kind, document } : { kind, collection };
      const meanwhile = beforeNextTransaction(t.vault.store, () => stopIt(t.vault, arrangement.id));
      const error = await t.vault.locks.take(actor, target, { scope: 'exclusive', depth: '0', owner: null, timeoutSeconds: 600, rootPath: `/dav/${partner.slug}/payroll` })
        .then(() => null, (e: unknown) => e);
      expect(meanwhile.ran()).toBe(true);
      expect(error).toBeInstanceOf(DomainError);
      expect({ code: (error as DomainError).code, message: (error as DomainError).message })
        .toEqual({ code: 'NOT_FOUND', message: `No ${kind} with that id exists, or you do not have access to it.` });
      expect(await t.vault.store.repos.locks.liveInOrganisation(partner.id, new Date().toISOString())).toEqual([]);
      const events = (await eventsOf(t.vault, hostStaff.id)).filter((e) => e.action.startsWith('dav.lock') || e.decision === 'deny')
        .map((e) => ({ action: e.action, decision: e.decision, reason: e.reason, organisationId: e.targetOrganisationId }));
      expect(events).toEqual([{ action: kind === 'document' ? 'document.version' : 'document.create', decision: 'deny', reason: 'no_arrangement', organisationId: partner.id }]);
    });
  });
});
