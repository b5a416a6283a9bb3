// A shared-service arrangement in force between two test organisations (a host whose team serves a partner,
// approved as the operator approves one), and the ways it stops that a test makes happen while something is
// under way: suspended (it may be resumed) or ended.
import type { Vault } from '../../src/main.js';
import type { Arrangement } from '../../src/domain/types.js';
import { systemActor } from '../../src/services/identity.service.js';
import { createOrganisation, type TestOrganisation } from './vault.js';

export async function sharedService(vault: Vault, serviceArea = 'finance'): Promise<{ host: TestOrganisation; partner: TestOrganisation; arrangement: Arrangement }> {
  const host = await createOrganisation(vault, { areas: { [serviceArea]: 'OFFICIAL' } });
  const partner = await createOrganisation(vault, { areas: { [serviceArea]: 'OFFICIAL' } });
  const arrangement = await vault.arrangements.propose(systemActor(), {
    hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea, purpose: `Shared ${serviceArea}`,
    lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'manage', ceiling: 'OFFICIAL',
  }, { approve: true });
  return { host, partner, arrangement };
}

/** An arrangement stopping, as its host's admin or the operator stops it. */
export const ARRANGEMENT_STOPS = [
  ['suspended', (vault: Vault, id: string) => vault.arrangements.suspend(systemActor(), id)],
  ['ended', (vault: Vault, id: string) => vault.arrangements.end(systemActor(), id)],
] as const;
