// decide() on an organisation's own administration (organisation-policy.ts): every action, for every set of
// roles, in one's own organisation and another's, against the specification written out plainly below.
import { describe, expect, it } from 'vitest';
import type { Role } from '../types.js';
import { ORGANISATION_ACTIONS } from './actions.js';
import { decide } from './policy.js';
import { NO_HOLDS, NOW, ROLE_SETS, SERVICE_AREAS, userOf } from './policy-examples.test-support.js';

/** The specification for organisation actions; `undefined` where it says nothing (within the organisation). */
function expectedOrganisationDecision(action: (typeof ORGANISATION_ACTIONS)[number], roles: Role[], sameOrganisation: boolean): boolean | undefined {
  if (!sameOrganisation) return false;
  const has = (role: Role) => roles.includes(role);
  switch (action) {
    case 'organisation.create':
    case 'organisation.email-domains':
    case 'audit.verify':
    case 'jobs.manage':
    case 'jobs.read': return false;
    case 'organisation.manage-users':
    case 'organisation.read-users':
    case 'organisation.brand': return has('org_admin');
    case 'organisation.identity':
    case 'organisation.read-identity': return has('org_admin');
    case 'audit.read':
    case 'audit.export': return has('auditor') || has('dpo');
    case 'quarantine.identify': return false;
    case 'quarantine.list':
    case 'quarantine.release':
    case 'quarantine.destroy': return has('security_admin');
    case 'lock.list':
    case 'lock.break': return has('org_admin') || has('security_admin');
    case 'subject-access.manage':
    case 'subject-access.read': return has('dpo');
    default: return undefined;
  }
}

describe('organisation actions', () => {
  it('follow role and organisation for every combination of roles', () => {
    const mismatches: string[] = [];
    for (const action of ORGANISATION_ACTIONS) {
      for (const roles of ROLE_SETS) {
        for (const sameOrganisation of [true, false]) {
          const expected = expectedOrganisationDecision(action, roles, sameOrganisation);
          if (expected === undefined) continue;
          const actor = userOf('org-a', roles, SERVICE_AREAS, 'OFFICIAL-SENSITIVE');
          const got = decide(actor, action, { kind: 'organisation', organisationId: sameOrganisation ? 'org-a' : 'org-b' }, { now: NOW, arrangements: [], holds: NO_HOLDS });
          if (got.allow !== expected) mismatches.push(`${action} roles=[${roles.join(',')}] same=${sameOrganisation}: got ${got.allow}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('examples: an org admin of another organisation cannot manage users; a dpo reads the audit trail', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    expect(decide(userOf('org-b', ['org_admin']), 'organisation.manage-users', { kind: 'organisation', organisationId: 'org-a' }, context).allow).toBe(false);
    expect(decide(userOf('org-a', ['dpo']), 'audit.read', { kind: 'organisation', organisationId: 'org-a' }, context).allow).toBe(true);
    expect(decide(userOf('org-a', ['org_admin']), 'audit.read', { kind: 'organisation', organisationId: 'org-a' }, context).allow).toBe(false);
    expect(decide(userOf('org-a', ['org_admin']), 'organisation.brand', { kind: 'organisation', organisationId: 'org-a' }, context).allow).toBe(true);
    expect(decide(userOf('org-b', ['org_admin']), 'organisation.brand', { kind: 'organisation', organisationId: 'org-a' }, context).allow).toBe(false);
    expect(decide(userOf('org-a', ['member', 'records_manager', 'security_admin'], SERVICE_AREAS), 'organisation.brand', { kind: 'organisation', organisationId: 'org-a' }, context).allow).toBe(false);
    expect(decide(userOf('org-a', ['org_admin']), 'quarantine.release', { kind: 'organisation', organisationId: 'org-a' }, context).allow).toBe(false);
  });

  it('examples: the owning organisation’s admins break locks; members, records managers and other organisations’ admins do not', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const own = { kind: 'organisation' as const, organisationId: 'org-a' };
    expect(decide(userOf('org-a', ['org_admin']), 'lock.break', own, context).allow).toBe(true);
    expect(decide(userOf('org-a', ['security_admin']), 'lock.break', own, context).allow).toBe(true);
    expect(decide(userOf('org-a', ['member', 'records_manager'], SERVICE_AREAS), 'lock.break', own, context).allow).toBe(false);
    expect(decide(userOf('org-b', ['org_admin', 'security_admin']), 'lock.break', own, context).allow).toBe(false);
    expect(decide(userOf('org-b', ['org_admin']), 'lock.list', own, context).allow).toBe(false);
  });
});
