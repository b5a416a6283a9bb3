// SCIM 2.0 as Entra ID's provisioning service uses it, on both dialects: the request shapes from Microsoft's
// "Develop a SCIM endpoint" examples, tokens per organisation, filters, pages, and SCIM error bodies.
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { ENTERPRISE_USER, ERROR, GROUP, LIST, PATCH, USER } from '../support/scim-schemas.js';

const clamd = useClamd();

describe.each(DIALECTS)('SCIM provisioning on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let north: TestOrganisation;
  let south: TestOrganisation;
  let northToken: string;
  let southToken: string;
  beforeAll(async () => {
    north = await createOrganisation(t.vault);
    south = await createOrganisation(t.vault);
    // A directory provisions only addresses in its organisation's own e-mail domains (docs/identity.md#adding-people).
    await t.vault.organisations.changeEmailDomains(systemActor(), north.slug, { add: [`${north.slug}.gov.uk`] });
    await t.vault.organisations.changeEmailDomains(systemActor(), south.slug, { add: [`${south.slug}.gov.uk`] });
    northToken = (await t.vault.scim.tokens.create(systemActor(), north.id, 'Entra ID provisioning')).secret;
    southToken = (await t.vault.scim.tokens.create(systemActor(), south.id, 'Entra ID provisioning')).secret;
  });

  const scim = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = northToken) => t.app.inject({
    method, url: `/scim/v2${url}`,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  const expectScimError = (res: LightMyRequestResponse, status: number, scimType?: string) => {
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toBe('application/scim+json; charset=utf-8');
    const body = res.json();
    expect(body.schemas).toEqual([ERROR]);
    expect(body.status).toBe(String(status));
    expect(body.scimType).toBe(scimType);
    return body.detail as string;
  };
  /** Entra ID's "Create User" request. */
  const entraUser = (userName: string, extra: Record<string, unknown> = {}) => ({
    schemas: [USER, ENTERPRISE_USER],
    externalId: randomUUID(), userName, active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [], ...extra,
  });
  const address = (org: TestOrganisation) => `${randomUUID().slice(0, 8)}@${org.slug}.gov.uk`;
  const createUser = async (userName = address(north), token = northToken) => {
    const res = await scim('POST', '/Users', entraUser(userName), token);
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; userName: string; externalId: string; active: boolean };
  };

  it('creates a user as Entra ID does: 201, the resource back, no password, the access floor, audited', async () => {
    const userName = `Sam.Jones-${randomUUID().slice(0, 6)}@${north.slug}.gov.uk`;
    const body = entraUser(userName);
    const res = await scim('POST', '/Users', body);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['content-type']).toBe('application/scim+json; charset=utf-8');
    const created = res.json();
    expect(res.headers.location).toBe(`http://localhost:80/scim/v2/Users/${created.id}`);
    expect(created).toMatchObject({
      schemas: [USER], userName: userName.toLowerCase(), externalId: body.externalId, active: true,
      name: { formatted: 'givenName familyName', givenName: 'givenName', familyName: 'familyName' },
      emails: [{ value: userName.toLowerCase(), type: 'work', primary: true }],
      meta: { resourceType: 'User', location: `http://localhost:80/scim/v2/Users/${created.id}` },
    });
    const user = (await t.vault.store.repos.users.byId(created.id))!;
    expect([user.organisationId, user.roles, user.teams, user.clearance, user.disabled]).toEqual([north.id, ['member'], [], 'OFFICIAL', false]);
    expect((await t.vault.store.repos.users.signInState(created.id))!.password_hash).toBeNull();
    const events = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'user.create').where('target_organisation_id', '=', north.id).execute();
    const event = events.find((e) => e.target_ids.includes(created.id))!;
    expect([event.decision, event.reason, event.actor_user_id]).toEqual(['allow', 'directory', null]);
  });

  it('finds users by userName (any case), externalId and work e-mail; an unknown one is an empty list', async () => {
    const created = await createUser();
    const byName = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${created.userName.toUpperCase()}"`)}`);
    expect(byName.statusCode, byName.body).toBe(200);
    expect(byName.json()).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [{ id: created.id }] });
    const byExternal = (await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${created.externalId}"`)}`)).json();
    expect(byExternal.Resources.map((r: { id: string }) => r.id)).toEqual([created.id]);
    const byEmail = (await scim('GET', `/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${created.userName}"`)}`)).json();
    expect(byEmail.Resources.map((r: { id: string }) => r.id)).toEqual([created.id]);
    const none = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody@nowhere.test"')}`);
    expect(none.json()).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  it('pages with startIndex and count', async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    const token = (await t.vault.scim.tokens.create(systemActor(), org.id, 'paging')).secret;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createUser(address(org), token)).id);
    const page = async (query: string) => (await scim('GET', `/Users?${query}`, undefined, token)).json();
    const first = await page('startIndex=1&count=2');
    expect([first.totalResults, first.startIndex, first.itemsPerPage]).toEqual([5, 1, 2]);
    const second = await page('startIndex=3&count=2');
    const third = await page('startIndex=5&count=2');
    expect([...first.Resources, ...second.Resources, ...third.Resources].map((r: { id: string }) => r.id).sort()).toEqual([...ids].sort());
    expect((await page('startIndex=0&count=1')).startIndex).toBe(1);
    expect((await page('count=0')).Resources).toEqual([]);
    expect((await page('count=0')).totalResults).toBe(5);
    expect(expectScimError(await scim('GET', '/Users?count=ten', undefined, token), 400, 'invalidValue')).toBe('count must be a whole number.');
  });

  it('refuses a malformed or unsupported filter with 400 invalidFilter', async () => {
    expect(expectScimError(await scim('GET', `/Users?filter=${encodeURIComponent('userName sw "a"')}`), 400, 'invalidFilter'))
      .toBe('The operator "sw" is not supported. Strongroom supports only userName eq "…", externalId eq "…", id eq "…", emails[type eq "work"].value eq "…" for Users.');
    expectScimError(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "a" or 1 eq 1')}`), 400, 'invalidFilter');
    expectScimError(await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq Payroll')}`), 400, 'invalidFilter');
    expect(expectScimError(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "a@b.test"')}&filter=${encodeURIComponent('id eq "x"')}`), 400, 'invalidFilter'))
      .toBe('Give filter once; it was given 2 times.');
    expectScimError(await scim('GET', '/Users?count=1&count=2'), 400, 'invalidValue');
  });

  it('updates with Entra ID\'s PATCH shapes: userName, name parts, and Replace with no path', async () => {
    const created = await createUser();
    const renamed = address(north);
    const res = await scim('PATCH', `/Users/${created.id}`, { schemas: [PATCH], Operations: [
      { op: 'Replace', path: 'userName', value: renamed },
      { op: 'Replace', path: 'emails[type eq "work"].value', value: renamed },
      { op: 'Replace', path: 'name.familyName', value: 'Smith' },
    ] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: created.id, userName: renamed, name: { givenName: 'givenName', familyName: 'Smith', formatted: 'givenName Smith' }, active: true });
    const noPath = await scim('PATCH', `/Users/${created.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { displayName: 'Sam Smith', externalId: 'ext-1' } }] });
    expect(noPath.json()).toMatchObject({ displayName: 'Sam Smith', externalId: 'ext-1' });
    expect((await t.vault.store.repos.users.byId(created.id))!.email).toBe(renamed);
  });

  it('deactivates with active "False" (Entra\'s string) and reactivates with true; a disabled user is still listed, inactive', async () => {
    const created = await createUser();
    const off = await scim('PATCH', `/Users/${created.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { active: 'False' } }] });
    expect(off.json().active).toBe(false);
    expect((await t.vault.store.repos.users.byId(created.id))!.disabled).toBe(true);
    const listed = (await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${created.userName}"`)}`)).json();
    expect(listed.Resources[0].active).toBe(false);
    const on = await scim('PATCH', `/Users/${created.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: true }] });
    expect(on.json().active).toBe(true);
    expect((await t.vault.store.repos.users.byId(created.id))!.disabled).toBe(false);
    const actions = (await t.vault.store.db.selectFrom('audit_events').select(['action', 'target_ids']).where('target_organisation_id', '=', north.id).orderBy('id').execute())
      .filter((e) => e.target_ids.includes(created.id)).map((e) => e.action);
    expect(actions).toEqual(['user.create', 'user.disable', 'user.enable']);
  });

  it('replaces with PUT, and refuses a userName taken here (409 uniqueness) or outside its own domains (400, whether or not another organisation holds it)', async () => {
    const created = await createUser();
    const put = await scim('PUT', `/Users/${created.id}`, { schemas: [USER], userName: created.userName, name: { givenName: 'Alex', familyName: 'Khan' }, active: true });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ displayName: 'Alex Khan', active: true });
    expect(put.json().externalId).toBeUndefined();
    expect(expectScimError(await scim('POST', '/Users', entraUser(created.userName)), 409, 'uniqueness'))
      .toBe(`A person with userName ${created.userName} already exists in this organisation (id ${created.id}).`);
    // Another organisation's person, and an address nobody holds in the same domain: one answer, so the directory
    // (or whoever holds its token) cannot probe which addresses have accounts elsewhere.
    const theirs = await createUser(address(south), southToken);
    const nobodys = address(south);
    const outside = `You can add only addresses in your organisation's e-mail domains (${north.slug}.gov.uk). The Strongroom operator adds anyone else (strongroom user add).`;
    for (const userName of [theirs.userName, nobodys]) {
      expect(expectScimError(await scim('POST', '/Users', entraUser(userName)), 400, 'invalidValue')).toBe(`The userName ${userName} cannot be provisioned here. ${outside}`);
      expect(expectScimError(await scim('PATCH', `/Users/${created.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'userName', value: userName }] }), 400, 'invalidValue'))
        .toBe(`The userName ${userName} cannot be provisioned here. ${outside}`);
    }
    expect(await t.vault.store.repos.users.byEmail(nobodys)).toBeUndefined();
    // Inside its own domain, an address another organisation's account holds (the operator made it) is the organisation's to know of.
    const stray = `stray-${randomUUID().slice(0, 6)}@${north.slug}.gov.uk`;
    await t.vault.userCreation.addUser(systemActor(), { organisationSlug: south.slug, email: stray, name: 'Stray', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    expect(expectScimError(await scim('POST', '/Users', entraUser(stray)), 409, 'uniqueness'))
      .toBe(`The address ${stray} is in your organisation's e-mail domain, but an account of another organisation in this Strongroom holds it. Ask the Strongroom operator.`);
    expect(expectScimError(await scim('POST', '/Users', entraUser('Test_User_ab6490ee')), 400, 'invalidValue'))
      .toBe('userName "Test_User_ab6490ee" is not an e-mail address. Strongroom uses the e-mail address as userName: map userPrincipalName (or mail) to userName.');
  });

  it('two creates of one userName racing: one 201, the other 409 uniqueness (never a 500)', async () => {
    const userName = address(north);
    const answers = await Promise.all([scim('POST', '/Users', entraUser(userName)), scim('POST', '/Users', entraUser(userName)), scim('POST', '/Users', entraUser(userName))]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 409, 409]);
    for (const res of answers.filter((r) => r.statusCode === 409)) expectScimError(res, 409, 'uniqueness');
  });

  it('DELETE switches the person off and takes them out of SCIM; POSTing them again brings them back', async () => {
    const created = await createUser();
    expect((await scim('DELETE', `/Users/${created.id}`)).statusCode).toBe(204);
    expect((await t.vault.store.repos.users.byId(created.id))!.disabled).toBe(true);
    expectScimError(await scim('GET', `/Users/${created.id}`), 404);
    expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${created.userName}"`)}`)).json().totalResults).toBe(0);
    const again = await scim('POST', '/Users', entraUser(created.userName));
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json()).toMatchObject({ id: created.id, active: true });
  });

  it('a token sees and touches only its own organisation (404, not listed), and a bad or revoked token is 401', async () => {
    const mine = await createUser();
    const theirs = await createUser(address(south), southToken);
    expectScimError(await scim('GET', `/Users/${theirs.id}`), 404);
    expectScimError(await scim('PATCH', `/Users/${theirs.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: false }] }), 404);
    expectScimError(await scim('PUT', `/Users/${theirs.id}`, { schemas: [USER], userName: theirs.userName }), 404);
    expectScimError(await scim('DELETE', `/Users/${theirs.id}`), 404);
    expect((await t.vault.store.repos.users.byId(theirs.id))!.disabled).toBe(false);
    const listed = (await scim('GET', '/Users?count=200')).json().Resources.map((r: { id: string }) => r.id);
    expect(listed).toContain(mine.id);
    expect(listed).not.toContain(theirs.id);
    expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${theirs.userName}"`)}`)).json().totalResults).toBe(0);
    // A person of the other organisation cannot be made a member of one's own group either.
    const group = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: `g-${randomUUID()}` })).json();
    expect(expectScimError(await scim('PATCH', `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'members', value: [{ value: theirs.id }] }] }), 400, 'invalidValue'))
      .toBe(`No person with id ${theirs.id} is provisioned in this organisation, so they cannot be a member.`);
    const theirGroup = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'theirs' }, southToken)).json();
    expectScimError(await scim('GET', `/Groups/${theirGroup.id}`), 404);
    expectScimError(await scim('DELETE', `/Groups/${theirGroup.id}`), 404);

    const refusedWith = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers });
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer srscim_not-a-token' }, { authorization: `Basic ${northToken}` }, { authorization: `Bearer ${north.collections.hr}` }]) {
      const res = await refusedWith(headers);
      expectScimError(res, 401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="strongroom-scim"');
    }
    // A person's API token is not a SCIM token.
    expectScimError(await refusedWith({ authorization: `Bearer ${(await north.user({ roles: ['org_admin'] })).token}` }), 401);

    const { token, secret } = await t.vault.scim.tokens.create(systemActor(), north.id, 'to revoke');
    expect((await scim('GET', '/Users?count=1', undefined, secret)).statusCode).toBe(200);
    expect((await t.vault.store.repos.scim.token(token.id))!.lastUsedAt).not.toBeNull();
    await t.vault.scim.tokens.revoke(systemActor(), north.id, token.id);
    expect(expectScimError(await scim('GET', '/Users', undefined, secret), 401)).toMatch(/^A valid SCIM bearer token is required/);
  });

  it('groups: Entra ID\'s create, filter by displayName without members, add and remove members, rename, delete', async () => {
    const a = await createUser();
    const b = await createUser();
    const name = `Payroll ${randomUUID().slice(0, 6)}`;
    const created = await scim('POST', '/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: randomUUID(), displayName: name, meta: { resourceType: 'Group' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const group = created.json();
    expect(group).toMatchObject({ schemas: [GROUP], displayName: name, members: [], meta: { resourceType: 'Group' } });
    const found = (await scim('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name}"`)}`)).json();
    expect(found.totalResults).toBe(1);
    expect(found.Resources[0].id).toBe(group.id);
    expect(found.Resources[0].members).toBeUndefined();
    // A directory may hold two groups of one name; they stay apart by id.
    const twin = await scim('POST', '/Groups', { schemas: [GROUP], displayName: name });
    expect(twin.statusCode, twin.body).toBe(201);
    expect(twin.json().id).not.toBe(group.id);
    expect((await scim('DELETE', `/Groups/${twin.json().id}`)).statusCode).toBe(204);

    const add = await scim('PATCH', `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: a.id }, { $ref: null, value: b.id }] }] });
    expect(add.statusCode, add.body).toBe(204);
    expect((await scim('GET', `/Groups/${group.id}`)).json().members.map((m: { value: string }) => m.value).sort()).toEqual([a.id, b.id].sort());
    expect((await scim('GET', `/Groups/${group.id}?excludedAttributes=members`)).json().members).toBeUndefined();
    await scim('PATCH', `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: a.id }] }] });
    await scim('PATCH', `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'displayName', value: `${name} renamed` }] });
    const after = (await scim('GET', `/Groups/${group.id}`)).json();
    expect([after.displayName, after.members.map((m: { value: string }) => m.value)]).toEqual([`${name} renamed`, [b.id]]);
    expect((await scim('DELETE', `/Groups/${group.id}`)).statusCode).toBe(204);
    expectScimError(await scim('GET', `/Groups/${group.id}`), 404);
  });

  it('group membership sets roles, teams and clearance from the group mapping; leaving the last mapped group drops to the floor', async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    const token = (await t.vault.scim.tokens.create(systemActor(), org.id, 'groups')).secret;
    const objectId = randomUUID();
    await t.vault.store.repos.federation.replaceGroupMappings(org.id, [
      { organisationId: org.id, group: 'SR Payroll', roles: [], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' },
      // Entra sends the group's object id as externalId: the same value its OIDC and SAML group claims carry.
      { organisationId: org.id, group: objectId, roles: ['records_manager'], teams: ['hr'], clearance: null },
    ]);
    const person = await createUser(address(org), token);
    const payroll = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Payroll', members: [{ value: person.id }] }, token)).json();
    const access = async () => {
      const u = (await t.vault.store.repos.users.byId(person.id))!;
      return [u.roles, u.teams, u.clearance];
    };
    expect(await access()).toEqual([['member'], ['payroll'], 'OFFICIAL-SENSITIVE']);
    const records = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Records team', externalId: objectId }, token)).json();
    await scim('PATCH', `/Groups/${records.id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'members', value: [{ value: person.id }] }] }, token);
    expect(await access()).toEqual([['records_manager'], ['hr', 'payroll'], 'OFFICIAL-SENSITIVE']);
    await scim('PATCH', `/Groups/${payroll.id}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${person.id}"]` }] }, token);
    expect(await access()).toEqual([['records_manager'], ['hr'], 'OFFICIAL']);
    await scim('DELETE', `/Groups/${records.id}`, undefined, token);
    expect(await access()).toEqual([['member'], [], 'OFFICIAL']);
    const updates = (await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'user.update').where('target_organisation_id', '=', org.id).execute())
      .filter((e) => e.target_ids.includes(person.id));
    expect(updates.map((e) => [e.decision, e.reason])).toEqual(Array(4).fill(['allow', 'directory']));
  });

  it('DELETE takes the person out of their groups and down to the floor, so an admin switching them on again gives back no role', async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    const token = (await t.vault.scim.tokens.create(systemActor(), org.id, 'groups')).secret;
    await t.vault.store.repos.federation.replaceGroupMappings(org.id, [
      { organisationId: org.id, group: 'SR Records', roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const person = await createUser(address(org), token);
    await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Records', members: [{ value: person.id }] }, token);
    expect((await t.vault.store.repos.users.byId(person.id))!.roles).toEqual(['records_manager']);
    expect((await scim('DELETE', `/Users/${person.id}`, undefined, token)).statusCode).toBe(204);
    const removed = (await t.vault.store.repos.users.byId(person.id))!;
    expect([removed.disabled, removed.roles, removed.teams, removed.clearance]).toEqual([true, ['member'], [], 'OFFICIAL']);
    expect(await t.vault.store.repos.scim.groupsOf(person.id)).toEqual([]);
    await t.vault.people.setDisabled(systemActor(), person.id, false);
    const back = (await t.vault.store.repos.users.byId(person.id))!;
    expect([back.disabled, back.roles, back.teams, back.clearance]).toEqual([false, ['member'], [], 'OFFICIAL']);
  });

  it('serves ServiceProviderConfig, ResourceTypes and Schemas, and refuses a body that is not JSON', async () => {
    const config = await scim('GET', '/ServiceProviderConfig');
    expect(config.json()).toMatchObject({ patch: { supported: true }, bulk: { supported: false }, filter: { supported: true, maxResults: 200 }, sort: { supported: false } });
    expect((await scim('GET', '/ResourceTypes')).json().Resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
    expect((await scim('GET', '/Schemas')).json().Resources.map((r: { id: string }) => r.id)).toEqual([USER, GROUP]);
    expect((await scim('GET', `/Schemas/${USER}`)).json().name).toBe('User');
    const bad = await t.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${northToken}`, 'content-type': 'application/scim+json' }, payload: '{"userName":' });
    expect(expectScimError(bad, 400, 'invalidSyntax')).toBe('The request body is not valid JSON.');
    expect(expectScimError(await scim('POST', '/Users', { userName: 'x@y.test' }), 400, 'invalidSyntax')).toBe(`The body must list the schema ${USER}.`);
    for (const type of ['application/scim+json; charset=utf-8', 'application/json']) {
      const res = await t.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${northToken}`, 'content-type': type }, payload: JSON.stringify(entraUser(address(north))) });
      expect(res.statusCode, `${type}: ${res.body}`).toBe(201);
    }
    const xml = await t.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${northToken}`, 'content-type': 'application/xml' }, payload: '<User/>' });
    expect(expectScimError(xml, 415)).toBe('Send SCIM requests as application/scim+json (or application/json).');
    expect(expectScimError(await scim('GET', '/Nothing'), 404)).toMatch(/^Nothing at GET \/scim\/v2\/Nothing/);
  });
});
