import { describe, expect, it } from 'vitest';
import { isEmailAddress, mapGroups, providerDidMfa, type GroupMapping } from './federation.js';

const mapping = (group: string, patch: Partial<GroupMapping> = {}): GroupMapping => ({
  organisationId: 'org-a', group, roles: [], teams: [], clearance: null, ...patch,
});

describe('mapGroups', () => {
  const mappings = [
    mapping('payroll-officers', { teams: ['payroll'] }),
    mapping('hr-sensitive', { teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' }),
    mapping('vault-admins', { roles: ['org_admin', 'member'] }),
  ];

  it('grants nothing when no group matches, so no account is created from an unmapped directory group', () => {
    expect(mapGroups(mappings, ['everyone', 'Payroll-Officers'])).toBeNull();
    expect(mapGroups(mappings, [])).toBeNull();
    expect(mapGroups([], ['payroll-officers'])).toBeNull();
  });

  it('is the union of roles and teams and the highest clearance of the matched groups', () => {
    expect(mapGroups(mappings, ['payroll-officers', 'hr-sensitive', 'vault-admins', 'unmapped'])).toEqual({
      roles: ['member', 'org_admin'], teams: ['hr', 'payroll'], clearance: 'OFFICIAL-SENSITIVE',
    });
  });

  it('makes a matched group with no roles a member at OFFICIAL', () => {
    expect(mapGroups(mappings, ['payroll-officers'])).toEqual({ roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL' });
  });
});

describe('providerDidMfa', () => {
  const provider = { mfaAmrValues: ['mfa'], mfaAcrValues: ['possessionorinherence'] };
  it('trusts only the configured amr and acr values', () => {
    expect(providerDidMfa(provider, { amr: ['pwd', 'mfa'] })).toBe(true);
    // A provider saved (before 5 December 2026) trusting a single-factor value: never taken as MFA.
    const loose = { mfaAmrValues: ['pwd', 'mfa'], mfaAcrValues: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'] };
    expect(providerDidMfa(loose, { amr: ['pwd'] })).toBe(false);
    expect(providerDidMfa(loose, { acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport' })).toBe(false);
    expect(providerDidMfa(loose, { amr: ['pwd', 'mfa'] })).toBe(true);
    expect(providerDidMfa(provider, { acr: 'possessionorinherence' })).toBe(true);
    expect(providerDidMfa(provider, { amr: ['pwd'], acr: 'urn:password' })).toBe(false);
    expect(providerDidMfa(provider, {})).toBe(false);
    expect(providerDidMfa({ mfaAmrValues: [], mfaAcrValues: [] }, { amr: ['mfa'], acr: 'x' })).toBe(false);
  });
});

describe('isEmailAddress', () => {
  it('accepts one address, and nothing that is a list, has spaces or controls, or a quoted or empty part', () => {
    for (const ok of ['robin.hale@north.gov.uk', "o'brien+strongroom@mail.north.gov.uk", 'x@n.test']) expect(isEmailAddress(ok), ok).toBe(true);
    for (const bad of ['a@south.gov.uk,x@north.gov.uk', 'a@south.gov.uk <x@north.gov.uk>', '"a@south.gov.uk"@north.gov.uk', 'a b@north.gov.uk', '@north.gov.uk',
      'a@north', 'a@north.gov.uk\r\nBcc: b@evil.test', 'a\u001b[2J@north.gov.uk', 'a\u0085@north.gov.uk', 'a;b@north.gov.uk']) {
      expect(isEmailAddress(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
