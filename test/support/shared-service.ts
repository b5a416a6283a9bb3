// A shared-service arrangement in force between two test organisations (a host whose team serves a partner,
// approved as the operator approves one), and the ways it stops that a test makes happen while something is
// under way: suspended (it may be resumed) or ended.
import type { Vault } from '../../src/main.js';
import type { Arrangement, Collection } from '../../src/domain/types.js';
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

/**
 * Two payroll arrangements in force between the same host and partner (payroll and pensions, at manage), each with
 * a joint workspace: a partner's staff served by both, for the tests that move or copy from one into the other
 * while one of them stops.
 */
export async function twoJointWorkspaces(vault: Vault): Promise<{
  host: TestOrganisation; partner: TestOrganisation; first: Arrangement; second: Arrangement; firstWorkspace: Collection; secondWorkspace: Collection;
}> {
  const areas = { payroll: 'OFFICIAL' } as const;
  const host = await createOrganisation(vault, { areas });
  const partner = await createOrganisation(vault, { areas });
  const arrange = (purpose: string) => vault.arrangements.propose(systemActor(), {
    hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose,
    lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'manage', ceiling: 'OFFICIAL',
  }, { approve: true });
  const first = await arrange('Shared payroll');
  const second = await arrange('Shared pensions');
  const firstWorkspace = await vault.arrangements.createWorkspace(systemActor(), first.id, 'Joint payroll');
  const secondWorkspace = await vault.arrangements.createWorkspace(systemActor(), second.id, 'Joint pensions');
  return { host, partner, first, second, firstWorkspace, secondWorkspace };
}

/** An arrangement stopping, as its host's admin or the operator stops it. */
export const ARRANGEMENT_STOPS = [
  ['suspended', (vault: Vault, id: string) => vault.arrangements.suspend(systemActor(), id)],
  ['ended', (vault: Vault, id: string) => vault.arrangements.end(systemActor(), id)],
] as const;
