// The directory cannot lock its council out (attack review of identity, 6 December 2026). An org admin may not
// switch off the organisation's last enabled org admin, nor take their role; the directory (a SCIM token, which
// anyone holding it can use) could do both: PATCH or PUT active=false, or DELETE, switched the only org admin
// off (and so revoked the SCIM token they had made too), leaving nobody to manage the council's people,
// identity settings or provisioning until the operator stepped in. decide() now refuses the directory's
// switching off of the last enabled org admin (409, audited `user.disable`, reason `last_org_admin`, nothing
// of the request kept), while a person who is not the last still goes; and leaving the directory's admin group
// no longer takes the last enabled org admin's role (their other access follows their groups; the refusal is
// audited `user.update`, reason `last_org_admin`), nor does signing in through a provider whose groups claim
// no longer maps to it. On both dialects, over real HTTP.
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { insertJustInTimeProvider } from './support.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation, type TestUser } from '../support/vault.js';
import { scimRequester } from './support.js';
import { ERROR, GROUP, PATCH, USER } from '../support/scim-schemas.js';

const clamd = useClamd();
const REFUSAL = 'This is the only enabled org admin of the organisation: switching it off would leave nobody to manage its people. Give someone else the org admin role first (or ask the operator: strongroom user disable).';

describe.each(DIALECTS)('the directory and the last org admin on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let org: TestOrganisation;
  let admin: TestUser;
  let token: string;
  let tokenId: string;
  beforeEach(async () => {
    org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    admin = await org.user({ roles: ['org_admin'] });
    const made = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID');
    token = made.secret;
    tokenId = made.token.id;
  });

  const scim = scimRequester(() => t.app, () => token);
  const switchOff = (id: string) => scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { active: 'False', displayName: 'Renamed' } }] });
  const state = async (id: string) => {
    const u = (await t.vault.store.repos.users.byId(id))!;
    return { disabled: u.disabled, roles: u.roles, name: u.name };
  };
  /** The user.disable events about one person: [decision, reason, SCIM token id]. */
  const disables = async (userId: string) => (await t.vault.store.db.selectFrom('audit_events').selectAll()
    .where('target_organisation_id', '=', org.id).where('action', '=', 'user.disable').orderBy('id').execute())
    .filter((e) => JSON.parse(e.target_ids).userId === userId)
    .map((e) => [e.decision, e.reason, JSON.parse(e.target_ids).scimTokenId ?? null]);

  it('PATCH, PUT and DELETE of the only enabled org admin are refused 409; the admin, their name and the token stay', async () => {
    const refusal = (res: { statusCode: number; json: () => unknown }) => {
      expect(res.statusCode).toBe(409);
      expect(res.json()).toEqual({ schemas: [ERROR], status: '409', detail: REFUSAL });
    };
    refusal(await switchOff(admin.id));
    refusal(await scim('PUT', `/Users/${admin.id}`, { schemas: [USER], userName: admin.email, displayName: 'Renamed', active: false }));
    refusal(await scim('DELETE', `/Users/${admin.id}`));
    expect(await state(admin.id)).toEqual({ disabled: false, roles: ['org_admin'], name: 'Test User' });
    expect(await disables(admin.id)).toEqual(Array(3).fill(['deny', 'last_org_admin', tokenId]));
    // Still in SCIM, and the directory still works.
    expect((await scim('GET', `/Users/${admin.id}`)).json()).toMatchObject({ id: admin.id, active: true });
  });

  it('with a second enabled org admin, the directory switches the first off as before', async () => {
    const second = await org.user({ roles: ['org_admin'] });
    const res = await switchOff(admin.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ active: false, displayName: 'Renamed' });
    expect(await state(admin.id)).toEqual({ disabled: true, roles: ['org_admin'], name: 'Renamed' });
    expect(await disables(admin.id)).toEqual([['allow', 'directory', tokenId]]);
    // The second is now the last.
    const last = await scim('DELETE', `/Users/${second.id}`);
    expect(last.statusCode).toBe(409);
    expect((await state(second.id)).disabled).toBe(false);
  });

  it('two admins switched off at once (Entra sends requests in parallel): one goes, the other is refused as the last', async () => {
    const second = await org.user({ roles: ['org_admin'] });
    const answers = await Promise.all([scim('DELETE', `/Users/${admin.id}`), switchOff(second.id)]);
    expect([[204, 409], [409, 200]]).toContainEqual(answers.map((a) => a.statusCode));
    const enabled = [await state(admin.id), await state(second.id)].filter((s) => !s.disabled);
    expect(enabled).toHaveLength(1);
  });

  it('a person who is not an org admin is switched off and removed as before', async () => {
    const made = await scim('POST', '/Users', { schemas: [USER], userName: `${randomUUID().slice(0, 8)}@${org.slug}.gov.uk`, active: true });
    const id = (made.json() as { id: string }).id;
    expect((await switchOff(id)).statusCode).toBe(200);
    expect((await state(id)).disabled).toBe(true);
    expect((await scim('DELETE', `/Users/${id}`)).statusCode).toBe(204);
  });

  it("leaving the admin group, or the group's deletion, does not take the last enabled org admin's role; with another admin it does", async () => {
    await t.vault.store.repos.federation.replaceGroupMappings(org.id, [
      { organisationId: org.id, group: 'SR Admins', roles: ['org_admin'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const made = await scim('POST', '/Users', { schemas: [USER], userName: `${randomUUID().slice(0, 8)}@${org.slug}.gov.uk`, active: true });
    const id = (made.json() as { id: string }).id;
    const group = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Admins', members: [{ value: id }] })).json() as { id: string };
    const access = async () => {
      const u = (await t.vault.store.repos.users.byId(id))!;
      return [[...u.roles].sort(), u.teams, u.clearance];
    };
    expect(await access()).toEqual([['org_admin'], ['hr'], 'OFFICIAL-SENSITIVE']);
    // The hand-added admin leaves (the operator may): the directory's admin is now the only one.
    await t.vault.people.setDisabled(systemActor(), admin.id, true);
    const left = await scim('PATCH', `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${id}"]` }] });
    expect(left.statusCode, left.body).toBe(204);
    expect(await access()).toEqual([['member', 'org_admin'], [], 'OFFICIAL']);
    expect((await scim('DELETE', `/Groups/${group.id}`)).statusCode).toBe(204);
    expect(await access()).toEqual([['member', 'org_admin'], [], 'OFFICIAL']);
    const refusals = (await t.vault.store.db.selectFrom('audit_events').selectAll().where('target_organisation_id', '=', org.id)
      .where('action', '=', 'user.update').where('decision', '=', 'deny').execute()).filter((e) => JSON.parse(e.target_ids).userId === id);
    expect(refusals.map((e) => [e.reason, JSON.parse(e.target_ids).scimTokenId])).toEqual([['last_org_admin', tokenId]]);
    // Another enabled org admin: the directory's groups take the role as before.
    await t.vault.people.setDisabled(systemActor(), admin.id, false);
    const again = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Admins', members: [{ value: id }] })).json() as { id: string };
    expect(await access()).toEqual([['org_admin'], ['hr'], 'OFFICIAL-SENSITIVE']);
    await scim('PATCH', `/Groups/${again.id}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${id}"]` }] });
    expect(await access()).toEqual([['member'], [], 'OFFICIAL']);
  });

  it("a sign-in whose groups no longer map to the org admin role keeps the last enabled org admin's role; with another admin it goes", async () => {
    await t.vault.store.repos.federation.replaceGroupMappings(org.id, [
      { organisationId: org.id, group: 'SR Admins', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL-SENSITIVE' },
      { organisationId: org.id, group: 'SR Staff', roles: ['member'], teams: ['hr'], clearance: null },
    ]);
    const provider = await insertJustInTimeProvider(t.vault, org.id);
    await t.vault.store.repos.federation.updateProvider({ ...provider, groupsClaim: 'groups' }, null);
    const request = { channel: 'web' as const, clientAddress: '198.51.100.9', requestId: null };
    const who = { providerId: provider.id, subject: randomUUID(), email: admin.email, emailVerified: true, name: 'Test User', groups: ['SR Staff'], amr: ['mfa'], acr: null };
    const access = async (id: string) => {
      const u = (await t.vault.store.repos.users.byId(id))!;
      return [[...u.roles].sort(), u.teams, u.clearance];
    };
    expect((await t.vault.federatedSignIn.complete(who, request)).user.id).toBe(admin.id);
    expect(await access(admin.id)).toEqual([['member', 'org_admin'], ['hr'], 'OFFICIAL']);
    const refusals = (await t.vault.store.db.selectFrom('audit_events').selectAll().where('target_organisation_id', '=', org.id)
      .where('action', '=', 'user.update').where('decision', '=', 'deny').execute()).filter((e) => JSON.parse(e.target_ids).userId === admin.id);
    expect(refusals.map((e) => e.reason)).toEqual(['last_org_admin']);
    // Another enabled org admin: the next sign-in takes it, as the groups say.
    await org.user({ roles: ['org_admin'] });
    await t.vault.federatedSignIn.complete(who, request);
    expect(await access(admin.id)).toEqual([['member'], ['hr'], 'OFFICIAL']);
  });
});
