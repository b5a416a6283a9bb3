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
