// The federation repository's contract on both dialects: providers round-trip with the sealed secret kept
// apart, a subject links to one account only, group mappings are replaced whole, and a single-use value is
// accepted once until it expires (two racing sign-ins with the same SAML assertion: one wins).
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import type { Repos } from '../../src/db/store.js';
import { openTestStore, type TestStore } from '../support/store.js';
import { DIALECTS } from '../support/vault.js';

const T0 = '2026-11-01T09:00:00.000Z';

describe.each(DIALECTS)('federation repository on %s', (dialect) => {
  let t: TestStore;
  let repos: Repos;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    repos = t.store.repos;
  });
  afterAll(async () => {
    await t?.remove();
  });

  async function organisation(): Promise<string> {
    const id = randomUUID();
    await repos.organisations.insert({ id, slug: `org-${randomBytes(5).toString('hex')}`, name: 'Council', kind: 'council', region: 'North', createdAt: T0 });
    return id;
  }
  async function user(organisationId: string): Promise<string> {
    const id = randomUUID();
    await repos.users.insert({
      id, organisationId, email: `${randomBytes(5).toString('hex')}@example.test`, name: 'Pat', roles: ['member'], teams: [], clearance: 'OFFICIAL',
      mfaEnabled: false, disabled: false, disabledBy: null, createdAt: T0, passwordHash: null,
    });
    return id;
  }
  const oidc = (organisationId: string): IdentityProvider => ({
    id: randomUUID(), organisationId, kind: 'oidc', name: 'North Shire (Entra ID)', enabled: true,
    oidc: { issuer: 'https://login.example.test/tenant/v2.0', clientId: 'client-1', scopes: ['openid', 'email', 'profile'] }, saml: null,
    createAccounts: true, groupsClaim: 'groups', mfaAmrValues: ['mfa'], mfaAcrValues: [], createdAt: T0, updatedAt: T0,
  });

  it('round-trips OIDC and SAML providers, keeps the sealed secret apart, and updates without losing it', async () => {
    const org = await organisation();
    const p = oidc(org);
    await repos.federation.insertProvider(p, Buffer.from('sealed'));
    const saml: IdentityProvider = {
      ...p, id: randomUUID(), kind: 'saml', oidc: null, createdAt: '2026-11-02T09:00:00.000Z', updatedAt: '2026-11-02T09:00:00.000Z',
      saml: { entryPoint: 'https://idp.example.test/sso', idpEntityId: 'https://idp.example.test', idpCertificates: ['-----BEGIN CERTIFICATE-----'], emailAttribute: null },
    };
    await repos.federation.insertProvider(saml, null);
    expect(await repos.federation.provider(p.id)).toEqual(p);
    expect(await repos.federation.providers(org)).toEqual([p, saml]);
    expect(await repos.federation.providers(await organisation())).toEqual([]);
    await repos.federation.updateProvider({ ...p, enabled: false, name: 'Renamed' });
    expect((await repos.federation.provider(p.id))?.name).toBe('Renamed');
    expect(await repos.federation.sealedSecret(p.id)).toEqual(Buffer.from('sealed'));
    await repos.federation.updateProvider(p, null);
    expect(await repos.federation.sealedSecret(p.id)).toBeNull();
    // audit verify reads every organisation's providers with their sealed secrets.
    const every = await repos.federation.everyProvider();
    expect(every.find((e) => e.provider.id === p.id)).toEqual({ provider: p, sealedSecret: null });
    expect(every.find((e) => e.provider.id === saml.id)).toEqual({ provider: saml, sealedSecret: null });
    await repos.federation.updateProvider(p, Buffer.from('sealed again'));
    expect((await repos.federation.everyProvider()).find((e) => e.provider.id === p.id)?.sealedSecret).toEqual(Buffer.from('sealed again'));
  });

  it('links a subject to one account only, and forgets links when the provider goes', async () => {
    const org = await organisation();
    const p = oidc(org);
    await repos.federation.insertProvider(p, null);
    const [a, b] = [await user(org), await user(org)];
    expect(await repos.federation.link({ providerId: p.id, subject: 'sub-1', userId: a, linkedAt: T0 })).toBe(true);
    expect(await repos.federation.link({ providerId: p.id, subject: 'sub-1', userId: b, linkedAt: T0 })).toBe(false);
    expect(await repos.federation.identity(p.id, 'sub-1')).toEqual({ providerId: p.id, subject: 'sub-1', userId: a, linkedAt: T0 });
    expect(await repos.federation.identity(p.id, 'SUB-1')).toBeUndefined();
    expect(await repos.federation.identitiesOf(a)).toHaveLength(1);
    expect((await repos.federation.everyIdentity()).filter((i) => i.providerId === p.id)).toEqual([{ providerId: p.id, subject: 'sub-1', userId: a, linkedAt: T0 }]);
    await repos.federation.removeProvider(p.id);
    expect((await repos.federation.everyIdentity()).filter((i) => i.providerId === p.id)).toEqual([]);
    expect(await repos.federation.provider(p.id)).toBeUndefined();
    expect(await repos.federation.identity(p.id, 'sub-1')).toBeUndefined();
  });

  it('replaces an organisation\'s group mappings whole, leaving other organisations\' alone', async () => {
    const [org, other] = [await organisation(), await organisation()];
    await repos.federation.replaceGroupMappings(other, [{ organisationId: other, group: 'g', roles: ['member'], teams: [], clearance: null }]);
    await repos.federation.replaceGroupMappings(org, [
      { organisationId: org, group: 'payroll', roles: [], teams: ['payroll'], clearance: null },
      { organisationId: org, group: 'admins', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    expect((await repos.federation.groupMappings(org)).map((m) => m.group)).toEqual(['admins', 'payroll']);
    await repos.federation.replaceGroupMappings(org, []);
    expect(await repos.federation.groupMappings(org)).toEqual([]);
    expect(await repos.federation.groupMappings(other)).toHaveLength(1);
  });

  it('accepts a single-use value once until it expires, and once only when two race', async () => {
    const key = `saml:${randomUUID()}`;
    const now = '2026-11-01T09:00:00.000Z';
    const raced = await Promise.all([repos.federation.useOnce(key, '2026-11-01T09:05:00.000Z', now), repos.federation.useOnce(key, '2026-11-01T09:05:00.000Z', now)]);
    expect(raced.sort()).toEqual([false, true]);
    expect(await repos.federation.useOnce(key, '2026-11-01T09:10:00.000Z', '2026-11-01T09:04:59.000Z')).toBe(false);
    expect(await repos.federation.useOnce(key, '2026-11-01T09:10:00.000Z', '2026-11-01T09:05:00.000Z')).toBe(true);
  });
});
