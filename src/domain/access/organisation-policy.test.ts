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
    case 'jobs.read':
    case 'storage.read-vault': return false;
    case 'organisation.manage-users':
    case 'organisation.read-users':
    case 'organisation.brand': return has('org_admin');
    case 'organisation.identity':
    case 'organisation.read-identity': return has('org_admin');
    case 'audit.read':
    case 'audit.export': return has('auditor') || has('dpo');
    case 'quarantine.identify':
    // Asked of the batch (it says who proposed it), never of the whole organisation.
    case 'records.approve-disposal': return false;
    case 'quarantine.list':
    case 'quarantine.release':
    case 'quarantine.destroy': return has('security_admin');
    case 'lock.list':
    case 'lock.break':
    // Its own organisation's storage counts; the whole vault's are the operator's (storage.read-vault, above).
    case 'storage.read': return has('org_admin') || has('security_admin');
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

  it('approves a disposal batch for its records managers; an early one never for the person who proposed it, nor for anyone while the log vouches for no proposer', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const rita = userOf('org-a', ['records_manager']);
    const other = { ...userOf('org-a', ['records_manager']), userId: 'user-other' };
    const due = { kind: 'disposal-batch' as const, id: 'batch-1', organisationId: 'org-a', early: null, due: { broughtForwardBy: [] } };
    const early = (proposedBy: string | null) => ({ ...due, early: { proposedBy }, due: null });
    // A due batch (the sweep's): whoever of its records managers, the one who decided it included.
    expect(decide(rita, 'records.approve-disposal', due, context)).toEqual({ allow: true, reason: 'records_manager', via: null });
    // An early batch: another records manager, never its proposer.
    expect(decide(rita, 'records.approve-disposal', early(rita.userId), context)).toEqual({ allow: false, reason: 'same_person_as_proposer', via: null });
    expect(decide(other, 'records.approve-disposal', early(rita.userId), context)).toEqual({ allow: true, reason: 'records_manager', via: null });
    // Who proposed it not vouched for: nobody (fail closed).
    for (const actor of [rita, other]) expect(decide(actor, 'records.approve-disposal', early(null), context)).toEqual({ allow: false, reason: 'not_vouched_for', via: null });
    // Only the organisation's own records managers are asked about the proposer at all.
    expect(decide(userOf('org-a', ['member', 'org_admin', 'auditor']), 'records.approve-disposal', early('someone'), context)).toMatchObject({ allow: false, reason: 'role' });
    expect(decide(userOf('org-b', ['records_manager']), 'records.approve-disposal', early('someone'), context)).toMatchObject({ allow: false, reason: 'other_organisation' });
    expect(decide({ ...other, credential: { kind: 'api_token', id: 'cred-1', scope: 'read' } }, 'records.approve-disposal', early(rita.userId), context)).toMatchObject({ allow: false, reason: 'credential_scope' });
  });

  it('approves a due batch for a records manager who brought forward none of its due dates; never for one who did, nor for anyone while the log cannot tell who did', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const rita = userOf('org-a', ['records_manager']);
    const other = { ...userOf('org-a', ['records_manager']), userId: 'user-other' };
    const due = (broughtForwardBy: readonly string[] | null) => ({ kind: 'disposal-batch' as const, id: 'batch-1', organisationId: 'org-a', early: null, due: { broughtForwardBy } });
    // Nobody brought anything forward: one records manager approves (a small council may have only one).
    expect(decide(rita, 'records.approve-disposal', due([]), context)).toEqual({ allow: true, reason: 'records_manager', via: null });
    // Rita shortened a series, refiled a record or recorded a trigger event that made some of its records due sooner: another records manager approves.
    expect(decide(rita, 'records.approve-disposal', due([rita.userId!]), context)).toEqual({ allow: false, reason: 'brought_due_date_forward', via: null });
    expect(decide(rita, 'records.approve-disposal', due(['user-x', rita.userId!]), context)).toEqual({ allow: false, reason: 'brought_due_date_forward', via: null });
    expect(decide(other, 'records.approve-disposal', due([rita.userId!]), context)).toEqual({ allow: true, reason: 'records_manager', via: null });
    // The log cannot tell who brought dates forward: nobody (fail closed); nor for a batch that says neither early nor due.
    for (const actor of [rita, other]) {
      expect(decide(actor, 'records.approve-disposal', due(null), context)).toEqual({ allow: false, reason: 'not_vouched_for', via: null });
      expect(decide(actor, 'records.approve-disposal', { ...due([]), due: null }, context)).toEqual({ allow: false, reason: 'not_vouched_for', via: null });
    }
    // The role and the organisation come first.
    expect(decide(userOf('org-a', ['member', 'org_admin', 'auditor']), 'records.approve-disposal', due([]), context)).toMatchObject({ allow: false, reason: 'role' });
    expect(decide(userOf('org-b', ['records_manager']), 'records.approve-disposal', due([]), context)).toMatchObject({ allow: false, reason: 'other_organisation' });
  });
});
