// What the policy tests build their examples from: the moment they are decided at, the service areas and roles,
// an actor of each kind, an arrangement with sensible terms. policy.test.ts and each family's tests share them.
import type { Actor, Arrangement, Classification, Role } from '../types.js';
import type { HoldRef } from '../records/holds.js';

export const NOW = new Date('2025-06-01T12:00:00.000Z');
export const DAY = 86_400_000;
export const SERVICE_AREAS = ['hr', 'payroll', 'finance', 'procurement'];
export const ALL_ROLES: Role[] = ['member', 'records_manager', 'org_admin', 'security_admin', 'auditor', 'dpo'];
export const NO_HOLDS: ReadonlyMap<string, readonly HoldRef[]> = new Map();

export function userOf(organisationId: string | null, roles: Role[] = ['member'], teams: string[] = [], clearance: Classification = 'OFFICIAL'): Actor {
  return { kind: 'user', userId: 'user-1', organisationId, roles, teams, clearance, channel: 'api', clientAddress: null, requestId: null };
}

export const SYSTEM: Actor = { kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL', channel: 'job', clientAddress: null, requestId: null };

export function arrangementOf(fields: Partial<Arrangement> & Pick<Arrangement, 'id' | 'hostOrganisationId' | 'partnerOrganisationIds'>): Arrangement {
  const { id, hostOrganisationId, partnerOrganisationIds, ...terms } = fields;
  return {
    id,
    hostOrganisationId,
    partnerOrganisationIds,
    serviceArea: 'payroll',
    purpose: 'shared payroll service',
    lawfulBasis: 'public task',
    agreementReference: null,
    accessLevel: 'manage',
    ceiling: 'OFFICIAL-SENSITIVE',
    startsAt: new Date(NOW.getTime() - DAY).toISOString(),
    endsAt: null,
    annualSavingPounds: 0,
    status: 'active',
    acceptedBy: [...partnerOrganisationIds],
    revision: 1,
    termsRevision: 1,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    ...terms,
  };
}

/** Every subset of the roles. */
export const ROLE_SETS: Role[][] = Array.from({ length: 1 << ALL_ROLES.length }, (_, mask) => ALL_ROLES.filter((_, i) => mask & (1 << i)));
