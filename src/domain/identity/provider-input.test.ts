// The provider and group-mapping checks: what an admin may type, and each refusal's field and message.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.js';
import { checkGroupMappings, checkProvider, checkProviderUrl, isProviderAddress } from './provider-input.js';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return [(error as DomainError).details?.field, (error as DomainError).message];
  }
  throw new Error('not refused');
};

describe('identity provider settings', () => {
  const oidc = { kind: 'oidc', name: 'North', issuer: 'https://login.microsoftonline.com/t/v2.0', clientId: 'abc' };

  it('accepts https anywhere and plain http only on loopback', () => {
    expect(checkProviderUrl('https://idp.example/realms/x', 'issuer', 'issuer URL')).toBe('https://idp.example/realms/x');
    for (const ok of ['http://127.0.0.1:8080', 'http://localhost/x', 'http://[::1]:9000']) expect(checkProviderUrl(ok, 'issuer', 'issuer URL')).toBe(ok);
    for (const bad of ['http://127.0.0.2.example.com', 'http://10.0.0.1', 'ftp://idp.example', 'javascript:alert(1)']) {
      expect(refusal(() => checkProviderUrl(bad, 'issuer', 'issuer URL'))[0]).toBe('issuer');
    }
    expect(refusal(() => checkProviderUrl('https://u:p@idp.example', 'issuer', 'issuer URL'))).toEqual(['issuer', 'The issuer URL must not contain a user name or password']);
  });

  it('sends a browser only to an https (or loopback) address a provider names, never javascript: or data:', () => {
    expect(isProviderAddress('https://login.example.test/logout')).toBe(true);
    expect(isProviderAddress('http://127.0.0.1:4000/session/end')).toBe(true);
    for (const bad of ['javascript:alert(1)', 'data:text/html,hi', 'http://login.example.test/logout', 'https://user:pw@login.example.test/', 'not a url']) {
      expect(isProviderAddress(bad), bad).toBe(false);
    }
  });

  it('refuses control and text-direction characters in every text an admin types, which pages, mails and the CLI show', () => {
    for (const name of ['North\u001b[2J', 'North\r\nShire', 'North\u202eerihS', 'North\u0085', 'North\u200bShire']) {
      expect(refusal(() => checkProvider({ ...oidc, name })), JSON.stringify(name)).toEqual(['name', 'The name cannot contain control or text-direction characters']);
    }
    for (const issuer of ['https://idp.example/\u001b[31m', 'https://idp.example/\nx', 'https://idp.example/\tx', ' https://idp.example/a b']) {
      expect(refusal(() => checkProvider({ ...oidc, issuer })), JSON.stringify(issuer)).toEqual(['issuer', 'The issuer URL must not contain spaces, control or text-direction characters']);
    }
    const saml = { kind: 'saml', name: 'North', entryPoint: 'https://login.example/saml2', idpEntityId: 'https://sts.example/t/', idpCertificates: ['A'.repeat(300)] };
    expect(refusal(() => checkProvider({ ...saml, entryPoint: 'https://login.example/\u0007saml2' }))).toEqual(['entryPoint', 'The single sign-on URL must not contain spaces, control or text-direction characters']);
    for (const idpEntityId of ['https://sts.example/\u001b]52;c;eA==\u0007', 'https://sts.example/ t', 'urn:x\u202e']) {
      expect(refusal(() => checkProvider({ ...saml, idpEntityId })), JSON.stringify(idpEntityId)).toEqual(['idpEntityId', 'The entity id must not contain spaces, control or text-direction characters']);
    }
    expect(refusal(() => checkProvider({ ...oidc, clientId: 'abc\u001b' }))).toEqual(['clientId', 'The client id must be at most 200 characters, without spaces or control characters']);
    expect(refusal(() => checkGroupMappings('org', [{ group: 'staff\u001b[8m', roles: ['member'] }], []))).toEqual(['group-0', 'Row 1: the group cannot contain control or text-direction characters']);
    expect(checkProvider({ ...oidc, name: '  North Shire Council (Entra ID) — staff  ' }).name).toBe('North Shire Council (Entra ID) — staff');
  });

  it('always asks for openid, defaulting to openid email profile', () => {
    expect(checkProvider(oidc).oidc!.scopes).toEqual(['openid', 'email', 'profile']);
    expect(checkProvider({ ...oidc, scopes: ['email, groups'] }).oidc!.scopes).toEqual(['openid', 'email', 'groups']);
    expect(refusal(() => checkProvider({ ...oidc, scopes: ['a"b'] }))).toEqual(['scopes', 'Scopes are words separated by spaces, like "openid email profile"']);
  });

  it('refuses an unknown kind, a missing name and a SAML provider without a certificate', () => {
    expect(refusal(() => checkProvider({ ...oidc, kind: 'ldap' }))).toEqual(['kind', 'Choose OpenID Connect or SAML 2.0']);
    expect(refusal(() => checkProvider({ ...oidc, name: 'x'.repeat(101) }))).toEqual(['name', 'The name must be 100 characters or fewer']);
    const saml = { kind: 'saml', name: 'N', entryPoint: 'https://login.example/saml2', idpEntityId: 'https://sts.example/' };
    expect(refusal(() => checkProvider(saml))).toEqual(['idpCertificates', 'Add the identity provider\'s signing certificate (Base64 or PEM)']);
    expect(refusal(() => checkProvider({ ...saml, idpCertificates: ['not base64!'] }))[0]).toBe('idpCertificates');
    const body = 'A'.repeat(300);
    expect(checkProvider({ ...saml, idpCertificates: [body] }).saml!.idpCertificates[0]).toMatch(/^-----BEGIN CERTIFICATE-----\nA{64}\n[\s\S]*\n-----END CERTIFICATE-----$/);
  });

  it('trusts as MFA only values that say a second factor was used, never a password or other single factor', () => {
    expect(checkProvider({ ...oidc, mfaAmrValues: ['mfa', 'hwk'] }).mfaAmrValues).toEqual(['mfa', 'hwk']);
    for (const value of ['pwd', 'PIN', 'kba']) {
      expect(refusal(() => checkProvider({ ...oidc, mfaAmrValues: ['mfa', value] }))).toEqual(['mfaAmrValues',
        `“${value}” says how a password (or another single factor) was given, not that a second factor was: list only values your provider sends after multi-factor sign-in, such as “mfa”`]);
    }
    expect(refusal(() => checkProvider({ ...oidc, mfaAcrValues: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'] }))[0]).toBe('mfaAcrValues');
  });
});

describe('group mapping rows', () => {
  const areas = ['payroll', 'hr'];
  it('skips empty rows, refuses duplicates and unknown roles, teams and clearances', () => {
    expect(checkGroupMappings('o', [{ group: ' g1 ', roles: ['member'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' }, { group: '' }], areas))
      .toEqual([{ organisationId: 'o', group: 'g1', roles: ['member'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' }]);
    expect(refusal(() => checkGroupMappings('o', [{ group: 'g' }, { group: 'g' }], areas))).toEqual(['group-1', 'The group "g" is mapped twice: give each group one row']);
    expect(refusal(() => checkGroupMappings('o', [{ group: '', teams: ['hr'] }], areas))).toEqual(['group-0', 'Row 1: enter the directory group\'s id or name']);
    expect(refusal(() => checkGroupMappings('o', [{ group: 'g', clearance: 'TOP' }], areas))).toEqual(['group-0', 'Row 1: clearance must be one of OFFICIAL, OFFICIAL-SENSITIVE']);
  });
});
