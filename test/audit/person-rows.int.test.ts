// A database administrator changes what the policy reads of a person: their roles (an org admin
// made), teams, clearance, organisation, e-mail address (sign-in finds people by it), or switches a
// disabled account back on. Each gives real access; what must not happen is that it leaves no trace:
// `audit verify` names the person, as it names a credential row written directly (credential-rows).
// Every way Strongroom itself changes people (admin, SCIM users and groups, federated sign-in)
// records the state it left, so verify stays content with them.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { auditEvent } from '../../src/services/audit-events.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';
import { GROUP, PATCH, USER } from '../support/scim-schemas.js';

const clamd = useClamd();
const CLI = { channel: 'cli' as const, clientAddress: null, requestId: null };

describe.each(DIALECTS)('people changed in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({ teams: ['hr'], clearance: 'OFFICIAL' });
    await t.vault.audit.sequencer.flush();
    expect(await problem(t)).toBe('');
    return { t, org, admin, member };
  }
  const problem = async (v: TestVault) => {
    await v.vault.audit.sequencer.flush();
    const check = await v.vault.audit.verification.verify(systemActor());
    return check.ok ? '' : check.problem;
  };
  const changedDirectly = (id: string, organisationId: string) =>
    `Person ${id} (organisation ${organisationId}) differs from their latest recorded change (organisation, e-mail address, roles, teams, clearance or disabled): they were changed in the database directly, not by Strongroom.`;
  const whoAmI = (v: TestVault, token: string) => v.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });

  it('a member made org admin in the database gets the role, and verify names them; put back, verify is content', async () => {
    const s = await setting();
    await s.t.vault.store.db.updateTable('users').set({ roles: '["org_admin"]' }).where('id', '=', s.member.id).execute();
    // The role applies: it asks for a second factor, which they have not set up, before their token works.
    expect((await whoAmI(s.t, s.member.token)).statusCode).toBe(403);
    // With it marked as set up by hand as well, the token is no token (the MFA state's seal: test/identity/sign-in-seals*);
    // verify names the role first, and the MFA state after it (person-secrets-rows), so both are put back below.
    await s.t.vault.store.db.updateTable('users').set({ mfa_enabled: 1 }).where('id', '=', s.member.id).execute();
    expect((await whoAmI(s.t, s.member.token)).statusCode).toBe(401);
    expect(await problem(s.t)).toBe(changedDirectly(s.member.id, s.org.id));
    // The same roles in another order are the same state.
    await s.t.vault.store.db.updateTable('users').set({ roles: '["member"]', mfa_enabled: 0 }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe('');
  });

  it('a team added, or clearance raised, in the database is named by verify', async () => {
    const s = await setting();
    await s.t.vault.store.db.updateTable('users').set({ teams: '["hr","payroll"]' }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(s.member.id, s.org.id));
    await s.t.vault.store.db.updateTable('users').set({ teams: '["hr"]', clearance: 'OFFICIAL-SENSITIVE' }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(s.member.id, s.org.id));
  });

  it('a disabled account switched back on in the database is named, though it was once recorded enabled', async () => {
    const s = await setting();
    const adminActor = actorFor((await s.t.vault.store.repos.users.byId(s.admin.id))!, CLI);
    await s.t.vault.people.setDisabled(adminActor, s.member.id, true);
    expect(await problem(s.t)).toBe('');
    await s.t.vault.store.db.updateTable('users').set({ disabled: 0 }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(s.member.id, s.org.id));
  });

  it('a person moved to another organisation, or given another address, in the database is named', async () => {
    const s = await setting();
    const other = await createOrganisation(s.t.vault);
    await s.t.vault.store.db.updateTable('users').set({ organisation_id: other.id }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(s.member.id, other.id));
    await s.t.vault.store.db.updateTable('users').set({ organisation_id: s.org.id, email: `dba-${randomUUID().slice(0, 8)}@example.test` }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(s.member.id, s.org.id));
  });

  it('a person row inserted in the database (an org admin with a known password) is named', async () => {
    const s = await setting();
    const row = await s.t.vault.store.db.selectFrom('users').selectAll().where('id', '=', s.admin.id).executeTakeFirstOrThrow();
    const id = randomUUID();
    await s.t.vault.store.db.insertInto('users').values({ ...row, id, email: `dba-${id.slice(0, 8)}@example.test` }).execute();
    expect(await problem(s.t)).toBe(`Person ${id} (organisation ${s.org.id}) has no creation in the audit log: it was written into the database directly, not by Strongroom.`);
  });

  it('roles or teams that are not JSON are named, not a crash', async () => {
    const s = await setting();
    await s.t.vault.store.db.updateTable('users').set({ teams: 'hr,payroll' }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe(`Person ${s.member.id}'s roles or teams cannot be read: they were written into the database directly, not by Strongroom.`);
  });

  it("an admin's changes, disabling, enabling and MFA reset leave verify content", async () => {
    const s = await setting();
    const adminActor = actorFor((await s.t.vault.store.repos.users.byId(s.admin.id))!, CLI);
    await s.t.vault.people.update(adminActor, s.member.id, { roles: ['records_manager', 'member'], teams: ['hr', 'payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    await s.t.vault.people.setDisabled(adminActor, s.member.id, true);
    await s.t.vault.people.setDisabled(adminActor, s.member.id, false);
    await s.t.vault.people.resetMfa(adminActor, s.member.id);
    await s.t.vault.people.update(systemActor(), s.member.id, { teams: [] });
    expect(await problem(s.t)).toBe('');
    expect(await s.t.vault.store.repos.users.byId(s.member.id)).toMatchObject({ roles: ['records_manager', 'member'], teams: [], clearance: 'OFFICIAL-SENSITIVE', disabled: false });
    await s.t.vault.store.db.updateTable('users').set({ clearance: 'OFFICIAL' }).where('id', '=', s.member.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(s.member.id, s.org.id));
  });

  it("SCIM's create, replace, patch of name, address and active, groups, and delete leave verify content; a SCIM person changed directly is named", async () => {
    const s = await setting();
    await s.t.vault.organisations.changeEmailDomains(systemActor(), s.org.slug, { add: [`${s.org.slug}.gov.uk`] });
    const adminActor = actorFor((await s.t.vault.store.repos.users.byId(s.admin.id))!, CLI);
    await s.t.vault.identityProviders.setGroupMappings(adminActor, s.org.id, [
      { group: 'SR Admins', roles: ['org_admin'] }, { group: 'SR Payroll', roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const { secret } = await s.t.vault.scim.tokens.create(adminActor, s.org.id, 'Entra ID provisioning');
    const scim = async (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) => {
      const res = await s.t.app.inject({
        method, url: `/scim/v2${url}`, headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.statusCode === 204 ? null : res.json();
    };
    const userName = `${randomUUID().slice(0, 8)}@${s.org.slug}.gov.uk`;
    const person = await scim('POST', '/Users', { schemas: [USER], userName, active: false, externalId: randomUUID(), name: { givenName: 'Sam', familyName: 'Jones' } });
    await scim('PATCH', `/Users/${person.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] });
    await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Payroll', members: [{ value: person.id }] });
    const admins = await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Admins' });
    await scim('PATCH', `/Groups/${admins.id}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: person.id }] }] });
    expect(await s.t.vault.store.repos.users.byId(person.id)).toMatchObject({ roles: expect.arrayContaining(['org_admin', 'member']), teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE', disabled: false });
    await scim('PATCH', `/Groups/${admins.id}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${person.id}"]` }] });
    const renamed = `${randomUUID().slice(0, 8)}@${s.org.slug}.gov.uk`;
    await scim('PATCH', `/Users/${person.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { userName: renamed, active: false } }] });
    await scim('PUT', `/Users/${person.id}`, { schemas: [USER], userName: renamed, active: true, externalId: person.externalId, name: { givenName: 'Samantha', familyName: 'Jones' } });
    expect(await problem(s.t)).toBe('');
    // Made an admin directly, with the directory's groups saying otherwise: named.
    await s.t.vault.store.db.updateTable('users').set({ roles: '["org_admin","member"]' }).where('id', '=', person.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(person.id, s.org.id));
    await s.t.vault.store.db.updateTable('users').set({ roles: '["member"]' }).where('id', '=', person.id).execute();
    expect(await problem(s.t)).toBe('');
    await scim('DELETE', `/Users/${person.id}`);
    expect(await s.t.vault.store.repos.users.byId(person.id)).toMatchObject({ email: renamed, disabled: true });
    expect(await problem(s.t)).toBe('');
    // Switched back on directly after the directory removed them: named.
    await s.t.vault.store.db.updateTable('users').set({ disabled: 0 }).where('id', '=', person.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(person.id, s.org.id));
  });

  it("a federated sign-in's just-in-time account and its group claims leave verify content", async () => {
    const s = await setting();
    await s.t.vault.organisations.changeEmailDomains(systemActor(), s.org.slug, { add: [`${s.org.slug}.gov.uk`] });
    const adminActor = actorFor((await s.t.vault.store.repos.users.byId(s.admin.id))!, CLI);
    await s.t.vault.identityProviders.setGroupMappings(adminActor, s.org.id, [
      { group: 'sr-hr', roles: ['member'], teams: ['hr'] }, { group: 'sr-records', roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const provider = await s.t.vault.identityProviders.add(adminActor, s.org.id, {
      kind: 'oidc', name: 'Entra ID', issuer: 'https://login.example.test/tenant/v2.0', clientId: 'strongroom', clientSecret: 'secret-from-entra', scopes: ['openid', 'email'],
      createAccounts: true, groupsClaim: 'groups', mfaAmrValues: ['mfa'],
    });
    const who = { providerId: provider.id, subject: randomUUID(), email: `${randomUUID().slice(0, 8)}@${s.org.slug}.gov.uk`, emailVerified: true, name: 'Sam Jones', groups: ['sr-hr'], amr: ['mfa'], acr: null };
    const first = await s.t.vault.federatedSignIn.complete(who, CLI);
    expect(first.user).toMatchObject({ roles: ['member'], teams: ['hr'], clearance: 'OFFICIAL' });
    expect(await problem(s.t)).toBe('');
    const again = await s.t.vault.federatedSignIn.complete({ ...who, groups: ['sr-records'] }, CLI);
    expect(again.user).toMatchObject({ roles: ['records_manager'], clearance: 'OFFICIAL-SENSITIVE' });
    expect(await problem(s.t)).toBe('');
    await s.t.vault.store.db.updateTable('users').set({ clearance: 'OFFICIAL-SENSITIVE', roles: '["member"]' }).where('id', '=', first.user.id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(first.user.id, s.org.id));
  });

  it('people last changed before bindings pass verify until the baseline records them; then they are checked like anyone', async () => {
    const s = await setting();
    // As an older build made them: the row, and a sealed creation event with no binding.
    const id = randomUUID();
    const now = new Date();
    await s.t.vault.store.transaction(async (repos) => {
      await repos.users.insert({
        id, organisationId: s.org.id, email: `old-${id.slice(0, 8)}@example.test`, name: 'Old Timer', roles: ['member'], teams: ['hr'], clearance: 'OFFICIAL',
        mfaEnabled: false, disabled: false, disabledBy: null, createdAt: now.toISOString(), passwordHash: null,
      });
      await repos.audit.insert([auditEvent(systemActor(), 'user.create', { organisationId: s.org.id, ids: { userId: id } }, { allow: true, reason: 'system', via: null }, now)]);
    });
    expect(await problem(s.t)).toBe('');
    // Their creation still vouches for their organisation.
    const other = await createOrganisation(s.t.vault);
    await s.t.vault.store.db.updateTable('users').set({ organisation_id: other.id }).where('id', '=', id).execute();
    expect(await problem(s.t)).toBe(`Person ${id} (organisation ${other.id}) was created in another organisation, as the audit log records it: it was written into the database directly, not by Strongroom.`);
    await s.t.vault.store.db.updateTable('users').set({ organisation_id: s.org.id }).where('id', '=', id).execute();
    expect(await problem(s.t)).toBe('');

    await expect(s.t.vault.audit.verification.baselinePeople(actorFor((await s.t.vault.store.repos.users.byId(s.admin.id))!, CLI))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await s.t.vault.audit.verification.baselinePeople(systemActor())).toBe(1);
    expect(await problem(s.t)).toBe('');
    await s.t.vault.store.db.updateTable('users').set({ roles: '["org_admin"]' }).where('id', '=', id).execute();
    expect(await problem(s.t)).toBe(changedDirectly(id, s.org.id));
    // Taken again, the baseline records nothing: it cannot vouch for the change.
    expect(await s.t.vault.audit.verification.baselinePeople(systemActor())).toBe(0);
    expect(await problem(s.t)).toBe(changedDirectly(id, s.org.id));
  });
});
