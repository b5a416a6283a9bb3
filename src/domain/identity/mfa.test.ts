import { describe, expect, it } from 'vitest';
import type { Role } from '../types.js';
import { credentialsUsable, mfaRequired } from './mfa.js';

describe('mfaRequired and credentialsUsable', () => {
  it.each<[Role[], boolean]>([
    [['member'], false],
    [['auditor', 'dpo'], false],
    [['org_admin'], true],
    [['security_admin'], true],
    [['member', 'records_manager'], true],
  ])('roles %j need a second factor: %s', (roles, needed) => {
    expect(mfaRequired(roles)).toBe(needed);
    expect(credentialsUsable({ roles, mfaEnabled: false })).toBe(!needed);
    expect(credentialsUsable({ roles, mfaEnabled: true })).toBe(true);
  });
});

describe('who needs a second factor, for every combination of roles', () => {
  // The rule, written out plainly: people who can change who sees what (users and their roles,
  // the file plan, quarantine releases) must use a second factor; members, auditors and DPOs need not.
  const CHANGES_WHO_SEES_WHAT: readonly Role[] = ['org_admin', 'security_admin', 'records_manager'];
  const ALL: readonly Role[] = ['member', 'records_manager', 'org_admin', 'security_admin', 'auditor', 'dpo'];
  const subsets = Array.from({ length: 1 << ALL.length }, (_, mask) => ALL.filter((_, i) => mask & (1 << i)));

  it('asks it of exactly those roles, and lets their tokens work only once it is set up', () => {
    for (const roles of subsets) {
      const needed = roles.some((r) => CHANGES_WHO_SEES_WHAT.includes(r));
      expect(mfaRequired(roles), roles.join('+')).toBe(needed);
      expect(credentialsUsable({ roles, mfaEnabled: false }), roles.join('+')).toBe(!needed);
      expect(credentialsUsable({ roles, mfaEnabled: true }), roles.join('+')).toBe(true);
    }
  });
});
