// What an outsider's attack on the #11 changes left open, closed: service methods that trusted
// their caller or answered anyone. Each case checks that the door is shut and that the legitimate
// path still works. Every case runs on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createPartnership } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('hardening the #11 boundaries on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  const actorOf = async (userId: string) => actorFor((await t.vault.identity.userById(userId))!, { channel: 'api', clientAddress: '127.0.0.1', requestId: 'hardening' });

  // AccessService is handed to every interface (AppServices). arrangementsFor(actor, ids) answered
  // any organisation's arrangements, drafts included, to any actor, and context() the same inside a
  // DecisionContext: a partner's proposal still between its parties could be read by anyone.
  it('keeps the arrangements it reads for decide() to itself', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL', serviceArea: 'finance' });
    const access = t.vault.access as unknown as Record<string, unknown>;
    expect(access['arrangementsFor']).toBeUndefined();
    expect(access['context']).toBeUndefined();
    // decide() still reads them: the host's finance team serves the partner; a colleague outside it does not.
    const partnerFinance = { kind: 'collection', organisationId: partner.id, serviceArea: 'finance', classification: 'OFFICIAL', arrangementId: null } as const;
    const server = await actorOf((await host.user({ teams: ['finance'] })).id);
    expect(await t.vault.access.reachableOrganisations(server)).toEqual([partner.id]);
    expect(await t.vault.access.may(server, 'collection.list', partnerFinance)).toBe(true);
    const stranger = await actorOf((await host.user({ teams: [] })).id);
    expect(await t.vault.access.reachableOrganisations(stranger)).toEqual([]);
    expect(await t.vault.access.may(stranger, 'collection.list', partnerFinance)).toBe(false);
    expect(await t.vault.access.may(systemActor(), 'collection.list', partnerFinance)).toBe(true);
  });
});
