// The SCIM repository's contract on both dialects: tokens found by hash and revoked once, what the
// directory says about a person saved and replaced, groups queried by each field, members added twice
// without harm, removed, and a removed group taking its memberships with it.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repos } from '../../src/db/store.js';
import type { ScimGroup } from '../../src/domain/identity/scim-repositories.js';
import { openTestStore, type TestStore } from '../support/store.js';
import { DIALECTS } from '../support/vault.js';

const T0 = '2026-12-04T09:00:00.000Z';
const T1 = '2026-12-04T10:00:00.000Z';

describe.each(DIALECTS)('SCIM repository on %s', (dialect) => {
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

  it('finds a token by its hash, lists it, touches it and revokes it once', async () => {
    const org = await organisation();
    const token = { id: randomUUID(), organisationId: org, name: 'Entra', createdAt: T0, createdBy: null, lastUsedAt: null, revokedAt: null };
    const secretHash = randomBytes(32).toString('hex');
    await repos.scim.insertToken({ ...token, secretHash });
    expect(await repos.scim.tokenBySecretHash(secretHash)).toEqual({ ...token, sealed: true });
    expect(await repos.scim.tokenBySecretHash(randomBytes(32).toString('hex'))).toBeUndefined();
    expect((await repos.scim.usableTokens()).find((u) => u.id === token.id)).toEqual({ ...token, secretHash });
    await repos.scim.touchToken(token.id, T1);
    expect((await repos.scim.token(token.id))!.lastUsedAt).toBe(T1);
    expect(await repos.scim.revokeToken(token.id, T1)).toBe(true);
    expect(await repos.scim.revokeToken(token.id, T1)).toBe(false);
    expect((await repos.scim.usableTokens()).find((u) => u.id === token.id)).toBeUndefined();
    expect(await repos.scim.tokens(org)).toEqual([{ ...token, lastUsedAt: T1, revokedAt: T1 }]);
    expect(await repos.scim.tokens(await organisation())).toEqual([]);
  });

  it('saves and replaces what the directory says about a person, found by externalId; removed people listed apart', async () => {
    const org = await organisation();
    const id = await user(org);
    const person = { userId: id, organisationId: org, externalId: 'ext-1', givenName: 'Pat', familyName: 'Lee', updatedAt: T0, removedAt: null };
    await repos.scim.savePerson(person);
    expect(await repos.scim.person(id)).toEqual(person);
    expect(await repos.scim.peopleByExternalId(org, 'ext-1')).toEqual([person]);
    expect(await repos.scim.peopleByExternalId(await organisation(), 'ext-1')).toEqual([]);
    await repos.scim.savePerson({ ...person, externalId: null, updatedAt: T1, removedAt: T1 });
    expect(await repos.scim.peopleByExternalId(org, 'ext-1')).toEqual([]);
    expect(await repos.scim.removedUserIds(org)).toEqual([id]);
  });

  it('queries groups by each field, keeps members once, and removes a group with its memberships', async () => {
    const org = await organisation();
    const [a, b] = [await user(org), await user(org)];
    const group = (name: string, externalId: string | null): ScimGroup => ({ id: randomUUID(), organisationId: org, displayName: name, externalId, createdAt: T0, updatedAt: T0 });
    const payroll = group('Payroll', 'obj-1');
    const hr = group('HR', null);
    await repos.scim.insertGroup(payroll);
    await repos.scim.insertGroup(hr);
    expect((await repos.scim.groups(org)).map((g) => g.displayName)).toEqual(['HR', 'Payroll']);
    expect(await repos.scim.groups(org, { displayName: 'Payroll' })).toEqual([payroll]);
    expect(await repos.scim.groups(org, { externalId: 'obj-1' })).toEqual([payroll]);
    expect(await repos.scim.groups(org, { id: hr.id })).toEqual([hr]);
    expect(await repos.scim.groups(org, { displayName: 'payroll' })).toEqual([]);
    expect(await repos.scim.groups(await organisation(), { id: hr.id })).toEqual([]);

    await repos.scim.addMembers(payroll.id, [a, b, a]);
    await repos.scim.addMembers(payroll.id, [a]);
    await repos.scim.addMembers(hr.id, [a]);
    expect(await repos.scim.members(payroll.id)).toEqual([a, b].sort());
    expect((await repos.scim.groupsOf(a)).map((g) => g.id)).toEqual([hr.id, payroll.id]);
    await repos.scim.removeMembers(payroll.id, [a]);
    expect(await repos.scim.members(payroll.id)).toEqual([b]);
    await repos.scim.updateGroup({ ...payroll, displayName: 'Payroll team', updatedAt: T1 });
    expect((await repos.scim.group(payroll.id))!.displayName).toBe('Payroll team');
    await repos.scim.removeGroup(payroll.id);
    expect(await repos.scim.group(payroll.id)).toBeUndefined();
    expect(await repos.scim.groupsOf(b)).toEqual([]);
  });
});
