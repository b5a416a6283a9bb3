// PROPPATCH (a WebDAV client's metadata on a file or folder) is decided as a write to it. The host's team
// serving a partner, patching a partner's document or folder when the arrangement is suspended or ended between
// that decision and the transaction that writes the properties: nothing is written, the refusal is audited, on
// both dialects.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { DavTarget } from '../../src/services/dav.service.js';
import { actorFor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { ARRANGEMENT_STOPS } from '../support/shared-service.js';
import { createPartnership, DIALECTS, upload } from '../support/vault.js';

const clamd = useClamd();
const NS = 'urn:example:props';

describe.each(DIALECTS)('a PROPPATCH while the arrangement that opens its target stops, on %s', (dialect) => {
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
    it.each(['document', 'collection'] as const)('writes no property on the partner’s %s, and audits the refusal', async (kind) => {
      const { partner, arrangement, hostStaff, actor, document, collection } = await world();
      const target: DavTarget = kind === 'document' ? { kind, document } : { kind, collection };
      const id = kind === 'document' ? document.id : collection.id;
      const meanwhile = beforeNextTransaction(t.vault.store, () => stopIt(t.vault, arrangement.id));
      const error = await t.vault.dav.patchProperties(actor, target, [{ op: 'set', namespace: NS, name: 'note', value: 'written after suspension' }]).then(() => null, (e: unknown) => e);
      expect(meanwhile.ran()).toBe(true);
      expect(error).toBeInstanceOf(DomainError);
      expect({ code: (error as DomainError).code, message: (error as DomainError).message })
        .toEqual({ code: 'NOT_FOUND', message: `No ${kind} with that id exists, or you do not have access to it.` });
      expect(await t.vault.store.repos.dav.properties(id)).toEqual([]);
      const denied = (await eventsOf(t.vault, hostStaff.id, { deny: true })).map((e) => ({ action: e.action, reason: e.reason, organisationId: e.targetOrganisationId }));
      expect(denied).toEqual([{ action: kind === 'document' ? 'document.version' : 'document.create', reason: 'no_arrangement', organisationId: partner.id }]);
    });
  });
});
