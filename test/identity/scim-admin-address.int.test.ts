// The directory cannot change an org admin's e-mail address (identity review, 6 December 2026). A SCIM token, in
// whoever's hands, rewrote any person's address in its organisation, hand-added admins included: the address is
// what a first sign-in through the provider matches, and where invitations, reset links and security notices go.
// decide()'s `person.change-email` now refuses the directory an org admin's address (switched on or off,
// hand-added or provisioned): PATCH and PUT answer 403 with a SCIM Error, nothing of the request is kept, and the
// refusal is audited (`user.update`, reason `org_admin_email`, with the token's id). Other people's addresses
// still change; another organisation's token still finds nobody. On both dialects, over real HTTP.
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ORG_ADMIN_ADDRESS_REFUSED } from '../../src/services/scim-users.service.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation, type TestUser } from '../support/vault.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { scimRequester } from './support.js';
import { ERROR, GROUP, PATCH, USER } from '../support/scim-schemas.js';

const clamd = useClamd();

describe.each(DIALECTS)("the directory and an org admin's e-mail address on %s", (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let org: TestOrganisation;
  let admin: TestUser;
  let token: string;
  let tokenId: string;
  beforeEach(async () => {
    org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    admin = await org.user({ roles: ['org_admin'] });
    await org.user({ roles: ['org_admin'] });
    const made = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID');
    token = made.secret;
    tokenId = made.token.id;
  });

  const scim = scimRequester(() => t.app, () => token);
  const address = () => `${randomUUID().slice(0, 8)}@${org.slug}.gov.uk`;
  const rename = (id: string, userName: string) => scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { userName, displayName: 'Renamed' } }] });
  const replace = (id: string, userName: string) => scim('PUT', `/Users/${id}`, { schemas: [USER], userName, displayName: 'Renamed', active: true });
  const person = async (id: string) => {
    const u = (await t.vault.store.repos.users.byId(id))!;
    return { email: u.email, name: u.name, roles: [...u.roles].sort(), disabled: u.disabled };
  };
  /** The user.update events about one person: [decision, reason, SCIM token id]. */
  const updates = async (userId: string) => (await t.vault.store.db.selectFrom('audit_events').selectAll()
    .where('target_organisation_id', '=', org.id).where('action', '=', 'user.update').orderBy('id').execute())
    .filter((e) => JSON.parse(e.target_ids).userId === userId)
    .map((e) => [e.decision, e.reason, JSON.parse(e.target_ids).scimTokenId ?? null]);
  const mails = async (userId: string) => (await t.vault.store.db.selectFrom('jobs').select('id').where('kind', '=', 'send-email').where('payload', 'like', `%${userId}%`).execute()).length;
  const refused = (res: { statusCode: number; json: () => unknown }) => {
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ schemas: [ERROR], status: '403', detail: ORG_ADMIN_ADDRESS_REFUSED });
  };

  it("refuses PATCH and PUT of a hand-added org admin's address 403; nothing changes, each refusal audited with the token", async () => {
    const before = await person(admin.id);
    refused(await rename(admin.id, address()));
    refused(await replace(admin.id, address()));
    expect(await person(admin.id)).toEqual(before);
    expect(await updates(admin.id)).toEqual([['deny', 'org_admin_email', tokenId], ['deny', 'org_admin_email', tokenId]]);
    expect(await mails(admin.id)).toBe(0);
    expect((await t.vault.store.repos.scim.person(admin.id)) ?? null).toBeNull();
    // The same address (any case), renamed only: no address changes, so it is the directory's to do.
    const same = await scim('PATCH', `/Users/${admin.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { userName: admin.email.toUpperCase(), displayName: 'Renamed' } }] });
    expect(same.statusCode).toBe(200);
    expect(await person(admin.id)).toEqual({ ...before, name: 'Renamed' });
  });

  it("refuses a switched-off org admin's address, and a provisioned person's once their group makes them org admin", async () => {
    await t.vault.store.repos.users.update(admin.id, { disabled: true, disabledBy: 'admin' });
    const off = await person(admin.id);
    refused(await replace(admin.id, address()));
    expect(await person(admin.id)).toEqual(off);
    expect(await updates(admin.id)).toEqual([['deny', 'org_admin_email', tokenId]]);

    await t.vault.store.repos.federation.replaceGroupMappings(org.id, [{ organisationId: org.id, group: 'SR Admins', roles: ['org_admin'], teams: [], clearance: null }]);
    const made = await scim('POST', '/Users', { schemas: [USER], userName: address(), active: true });
    expect(made.statusCode).toBe(201);
    const { id } = made.json() as { id: string };
    // A member yet: the directory changes their address.
    const moved = address();
    expect((await rename(id, moved)).statusCode).toBe(200);
    expect((await person(id)).email).toBe(moved);
    expect((await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Admins', members: [{ value: id }] })).statusCode).toBe(201);
    const promoted = await person(id);
    expect(promoted.roles).toEqual(['org_admin']);
    refused(await rename(id, address()));
    expect(await person(id)).toEqual(promoted);
    expect((await updates(id)).filter(([decision]) => decision === 'deny')).toEqual([['deny', 'org_admin_email', tokenId]]);
  });

  it("refuses a change judged on the address read before the person was given the org admin role meanwhile", async () => {
    // The directory's PUT reads the person (a member, at `first`); before its transaction the directory's other
    // request moves them to `second` and an org admin makes them an org admin. The PUT's userName is `first`, which
    // the row it read had: judged as keeping the address, it wrote `first` over the org admin's address unasked.
    const first = address();
    const made = await scim('POST', '/Users', { schemas: [USER], userName: first, active: true });
    expect(made.statusCode).toBe(201);
    const { id } = made.json() as { id: string };
    const second = address();
    const meanwhile = beforeNextTransaction(t.vault.store, async () => {
      expect((await rename(id, second)).statusCode).toBe(200);
      await t.vault.people.update(actorFor((await t.vault.store.repos.users.byId(admin.id))!, { channel: 'web', clientAddress: null, requestId: null }), id, { roles: ['org_admin'] });
    });
    refused(await replace(id, first));
    expect(meanwhile.ran()).toBe(true);
    expect(await person(id)).toEqual({ email: second, name: 'Renamed', roles: ['org_admin'], disabled: false });
    expect((await updates(id)).at(-1)).toEqual(['deny', 'org_admin_email', tokenId]);
  });

  it("another organisation's token finds no one: 404, the admin's address unchanged", async () => {
    const other = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), other.slug, { add: [`${other.slug}.gov.uk`] });
    const theirs = (await t.vault.scim.tokens.create(systemActor(), other.id, 'Entra ID')).secret;
    const before = await person(admin.id);
    const asOther = scimRequester(() => t.app, () => theirs);
    for (const res of [
      await asOther('PATCH', `/Users/${admin.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { userName: `x@${other.slug}.gov.uk` } }] }),
      await asOther('PUT', `/Users/${admin.id}`, { schemas: [USER], userName: `x@${other.slug}.gov.uk`, active: true }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect((res.json() as { schemas: string[] }).schemas).toEqual([ERROR]);
    }
    expect(await person(admin.id)).toEqual(before);
    expect(await updates(admin.id)).toEqual([]);
  });
});
