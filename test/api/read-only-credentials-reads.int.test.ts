// Reads that sit beside a change the same people may make: one's own API tokens and app passwords, the
// organisation's people, its identity providers and group mapping, subject access requests (as the requester's
// DPO and as an asked partner's). Each is asked of decide() with a read action whose rule is the change's, so a
// read-only credential of someone allowed gets exactly what their full one gets; someone without the role is
// refused as before; and the change beside each is still refused to the read-only credential, 403
// `credential_scope`, audited once.
import { describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { openSubjectAccess, subjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, createOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('reads beside changes with a read-only credential on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** A read-only API token for the person, made as the CLI makes one. */
  async function readToken(user: TestUser): Promise<TestUser> {
    const { secret } = await t.vault.credentials.createCredential(systemActor(), user.id, 'api_token', 'reporting', 'read');
    return { ...user, token: secret };
  }

  /** The same GET by the full and the read-only token: both 200, the same body. */
  async function sameAsFull(full: TestUser, reader: TestUser, url: string, mask: (body: unknown) => unknown = (b) => b): Promise<unknown> {
    const byFull = await api(t.app, full).get(url);
    expect(byFull.statusCode, `${url}: ${byFull.body}`).toBe(200);
    const byReader = await api(t.app, reader).get(url);
    expect(byReader.statusCode, `${url}: ${byReader.body}`).toBe(200);
    expect(mask(byReader.json()), url).toEqual(mask(byFull.json()));
    return byReader.json();
  }

  function refusedForScope(res: { statusCode: number; json(): unknown; body: string }): void {
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json()).toMatchObject({
      type: 'https://strongroom.local/problems/forbidden', reason: 'credential_scope',
      detail: 'This API token can only read: it cannot make changes. Use one made with full access, or the web interface.',
    });
  }

  /** A refusal's problem, without the request id (each request has its own). */
  const problem = (res: { json(): unknown }) => {
    const { requestId: _r, ...rest } = res.json() as Record<string, unknown>;
    return rest;
  };

  /** The person's refusals written since `before` (a count of all their events). */
  async function refusals(userId: string, before: number) {
    return (await eventsOf(t.vault, userId)).slice(before).filter((e) => e.decision === 'deny').map((e) => [e.action, e.reason]);
  }

  it('lists one\'s own API tokens and app passwords; making or revoking one stays refused', async () => {
    const org = await createOrganisation(t.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const reader = await readToken(staff);
    // When each was last used moves as each token is used; everything else is the same.
    const withoutUse = (body: unknown) => (body as { credentials: { lastUsedAt: string | null }[] }).credentials.map(({ lastUsedAt: _l, ...c }) => c);
    const listed = await sameAsFull(staff, reader, 'me/credentials', withoutUse) as { credentials: { id: string; name: string; scope: string }[] };
    expect(listed.credentials.map((c) => [c.name, c.scope])).toEqual([['test', 'full'], ['reporting', 'read']]);

    const before = (await eventsOf(t.vault, staff.id)).length;
    refusedForScope(await api(t.app, reader).post('me/tokens', { name: 'another', scope: 'read' }));
    refusedForScope(await api(t.app, reader).delete(`me/credentials/${listed.credentials[0]!.id}`));
    expect(await refusals(staff.id, before)).toEqual([['person.manage-credentials', 'credential_scope'], ['person.manage-credentials', 'credential_scope']]);
    expect((await t.vault.credentials.listCredentials(systemActor(), staff.id)).map((c) => [c.name, c.revokedAt])).toEqual([['test', null], ['reporting', null]]);
  });

  it('an org admin\'s read token lists the organisation\'s people and reads one; a member\'s is refused as before; changing one stays refused', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'], teams: ['payroll'] });
    const colleague = await org.user({ teams: ['payroll'] });
    const member = await org.user({ teams: ['payroll'] });
    const [adminReader, memberReader] = [await readToken(admin), await readToken(member)];

    const people = await sameAsFull(admin, adminReader, 'users') as { users: { id: string }[] };
    expect(people.users.map((u) => u.id).sort()).toEqual([admin.id, colleague.id, member.id].sort());
    expect(await sameAsFull(admin, adminReader, `users/${colleague.id}`)).toMatchObject({ id: colleague.id, disabled: false });

    const memberBefore = (await eventsOf(t.vault, member.id)).length;
    for (const [url, what] of [['users', 'resource'], [`users/${colleague.id}`, 'user']]) {
      const [byFull, byReader] = [await api(t.app, member).get(url!), await api(t.app, memberReader).get(url!)];
      expect(byReader.statusCode, url).toBe(404);
      expect(problem(byReader), url).toEqual(problem(byFull));
      expect(problem(byReader), url).toEqual({ type: 'https://strongroom.local/problems/not_found', title: 'Not found', status: 404, detail: `No ${what} with that id exists, or you do not have access to it.` });
    }
    expect(await refusals(member.id, memberBefore)).toEqual(Array(4).fill(['organisation.read-users', 'role']));

    const adminBefore = (await eventsOf(t.vault, admin.id)).length;
    refusedForScope(await api(t.app, adminReader).post(`users/${colleague.id}/disable`));
    refusedForScope(await api(t.app, adminReader).post(`users/${colleague.id}/reset-mfa`));
    expect(await refusals(admin.id, adminBefore)).toEqual([['organisation.manage-users', 'credential_scope'], ['organisation.manage-users', 'credential_scope']]);
    expect(await t.vault.identity.userById(colleague.id)).toMatchObject({ disabled: false, teams: ['payroll'] });
  });

  it('an org admin\'s read token reads the identity providers and the group mapping; a member\'s is refused as before; setting the mapping stays refused', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const member = await org.user({});
    const [adminReader, memberReader] = [await readToken(admin), await readToken(member)];
    await t.vault.identityProviders.add(systemActor(), org.id, {
      kind: 'oidc', name: 'Council Entra ID', issuer: 'https://login.example.test/v2.0', clientId: 'c', clientSecret: 's', scopes: ['openid', 'email'],
    });
    const mapping = [{ group: 'grp-payroll', roles: [], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' }];
    const saved = await t.app.inject({ method: 'PUT', url: `/api/v1/organisations/${org.slug}/group-mappings`, headers: { authorization: `Bearer ${admin.token}` }, payload: { mappings: mapping } });
    expect(saved.statusCode, saved.body).toBe(200);

    const providers = await sameAsFull(admin, adminReader, `organisations/${org.slug}/identity-providers`);
    expect(providers).toMatchObject({ providers: [{ kind: 'oidc', name: 'Council Entra ID', hasClientSecret: true }] });
    expect(await sameAsFull(admin, adminReader, `organisations/${org.slug}/group-mappings`)).toEqual({ mappings: mapping });

    const memberBefore = (await eventsOf(t.vault, member.id)).length;
    for (const path of ['identity-providers', 'group-mappings']) {
      const url = `organisations/${org.slug}/${path}`;
      const [byFull, byReader] = [await api(t.app, member).get(url), await api(t.app, memberReader).get(url)];
      expect(byReader.statusCode, url).toBe(403);
      expect(problem(byReader), url).toEqual(problem(byFull));
      expect(problem(byReader), url).toEqual({ type: 'https://strongroom.local/problems/forbidden', title: 'Forbidden', status: 403, detail: 'Only an org admin of this organisation can configure how its people sign in.' });
    }
    expect(await refusals(member.id, memberBefore)).toEqual(Array(4).fill(['organisation.read-identity', 'role']));

    const adminBefore = (await eventsOf(t.vault, admin.id)).length;
    refusedForScope(await t.app.inject({ method: 'PUT', url: `/api/v1/organisations/${org.slug}/group-mappings`, headers: { authorization: `Bearer ${adminReader.token}` }, payload: { mappings: [] } }));
    expect(await refusals(admin.id, adminBefore)).toEqual([['organisation.identity', 'credential_scope']]);
    expect((await api(t.app, admin).get(`organisations/${org.slug}/group-mappings`)).json()).toEqual({ mappings: mapping });
  });

  it('a DPO\'s read token lists and views subject access requests, as the requester\'s and as an asked partner\'s; staff are refused as before; acting on one stays refused', async () => {
    const w = await subjectAccessWorld(t);
    const request = await openSubjectAccess(t, w) as { id: string };
    // The asked partner puts a record in, so the requester's view shows what a partner sent (read-received).
    expect((await api(t.app, w.hostDpo).post(`subject-access/${request.id}/items`, { documentIds: [w.held] })).statusCode).toBe(200);
    expect((await api(t.app, w.dpo).post(`subject-access/${request.id}/items`, { documentIds: [w.own] })).statusCode).toBe(200);
    const [dpoReader, hostDpoReader, staffReader] = [await readToken(w.dpo), await readToken(w.hostDpo), await readToken(w.partnerStaff)];

    const asRequester = await sameAsFull(w.dpo, dpoReader, `subject-access/${request.id}`) as { role: string; items: { documentId: string }[] };
    expect(asRequester.role).toBe('requester');
    expect(asRequester.items.map((i) => i.documentId).sort()).toEqual([w.own, w.held].sort());
    expect(await sameAsFull(w.dpo, dpoReader, 'subject-access')).toMatchObject({ requests: [{ id: request.id, role: 'requester' }] });
    const asPartner = await sameAsFull(w.hostDpo, hostDpoReader, `subject-access/${request.id}`) as { role: string; items: { documentId: string }[] };
    expect([asPartner.role, asPartner.items.map((i) => i.documentId)]).toEqual(['partner', [w.held]]);
    expect(await sameAsFull(w.hostDpo, hostDpoReader, 'subject-access')).toMatchObject({ requests: [{ id: request.id, role: 'partner' }] });

    const staffBefore = (await eventsOf(t.vault, w.partnerStaff.id)).length;
    for (const [url, what] of [['subject-access', 'organisation'], [`subject-access/${request.id}`, 'subject access request']]) {
      const [byFull, byReader] = [await api(t.app, w.partnerStaff).get(url!), await api(t.app, staffReader).get(url!)];
      expect(byReader.statusCode, url).toBe(404);
      expect(problem(byReader), url).toEqual(problem(byFull));
      expect(problem(byReader), url).toEqual({ type: 'https://strongroom.local/problems/not_found', title: 'Not found', status: 404, detail: `No ${what} with that id exists, or you do not have access to it.` });
    }
    expect(await refusals(w.partnerStaff.id, staffBefore)).toEqual(Array(4).fill(['subject-access.read', 'role']));

    const [dpoBefore, hostBefore] = [(await eventsOf(t.vault, w.dpo.id)).length, (await eventsOf(t.vault, w.hostDpo.id)).length];
    refusedForScope(await api(t.app, dpoReader).post(`subject-access/${request.id}/extend`, { reason: 'Records held by two councils in several systems' }));
    refusedForScope(await api(t.app, dpoReader).get(`subject-access/${request.id}/package`));
    refusedForScope(await api(t.app, hostDpoReader).post(`subject-access/${request.id}/searched`, {}));
    expect(await refusals(w.dpo.id, dpoBefore)).toEqual([['subject-access.manage', 'credential_scope'], ['subject-access.manage', 'credential_scope']]);
    expect(await refusals(w.hostDpo.id, hostBefore)).toEqual([['subject-access.respond', 'credential_scope']]);
    const after = (await api(t.app, w.dpo).get(`subject-access/${request.id}`)).json() as { extendedDueOn: string | null; parts: { searchedAt: string | null }[] };
    expect([after.extendedDueOn, after.parts.map((p) => p.searchedAt)]).toEqual([null, [null, null]]);
  });

  // Attack review: a read-only credential whose holder lost what allowed them (the arrangement suspended, the role
  // taken away, the account switched off), or of another council, is refused exactly as a full one would be.
  it('an asked partner\'s DPO, once the arrangement is suspended, neither lists nor views the request with a read token, as with a full one', async () => {
    const w = await subjectAccessWorld(t);
    const request = await openSubjectAccess(t, w) as { id: string };
    const hostDpoReader = await readToken(w.hostDpo);
    expect((await api(t.app, hostDpoReader).get(`subject-access/${request.id}`)).statusCode).toBe(200);
    await t.vault.arrangements.suspend(systemActor(), w.arrangement.id);

    const before = (await eventsOf(t.vault, w.hostDpo.id)).length;
    const [byFull, byReader] = [await api(t.app, w.hostDpo).get(`subject-access/${request.id}`), await api(t.app, hostDpoReader).get(`subject-access/${request.id}`)];
    expect(byReader.statusCode).toBe(404);
    expect(problem(byReader)).toEqual(problem(byFull));
    expect((await api(t.app, hostDpoReader).get('subject-access')).json()).toEqual({ requests: [] });
    expect(await refusals(w.hostDpo.id, before)).toEqual(Array(2).fill(['subject-access.read-part', 'no_arrangement']));
  });

  it('an org admin\'s read token, once the org admin role is taken away, lists and reads nobody (404, audited as organisation.read-users, role)', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'], teams: ['payroll'] });
    await org.user({ roles: ['member', 'org_admin'], teams: ['payroll'] });
    const colleague = await org.user({ teams: ['payroll'] });
    const reader = await readToken(admin);
    expect((await api(t.app, reader).get('users')).statusCode).toBe(200);
    await t.vault.people.update(systemActor(), admin.id, { roles: ['member'] });

    const before = (await eventsOf(t.vault, admin.id)).length;
    for (const url of ['users', `users/${colleague.id}`, `organisations/${org.slug}/identity-providers`, `organisations/${org.slug}/group-mappings`]) {
      const res = await api(t.app, reader).get(url);
      expect(res.statusCode, url).toBe(url.startsWith('users') ? 404 : 403);
    }
    expect(await refusals(admin.id, before)).toEqual([
      ['organisation.read-users', 'role'], ['organisation.read-users', 'role'], ['organisation.read-identity', 'role'], ['organisation.read-identity', 'role'],
    ]);
  });

  it('a read token whose holder was switched off reads nothing, not even its own credentials (401)', async () => {
    const org = await createOrganisation(t.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const reader = await readToken(staff);
    expect((await api(t.app, reader).get('me/credentials')).statusCode).toBe(200);
    await t.vault.people.setDisabled(systemActor(), staff.id, true);
    expect((await api(t.app, reader).get('me/credentials')).statusCode).toBe(401);
  });

  it('another council\'s org admin and DPO, with read tokens, reach none of this council\'s people, sign-in settings or requests', async () => {
    const w = await subjectAccessWorld(t);
    const request = await openSubjectAccess(t, w) as { id: string };
    const other = await createOrganisation(t.vault);
    const otherAdmin = await readToken(await other.user({ roles: ['member', 'org_admin', 'dpo'] }));

    const before = (await eventsOf(t.vault, otherAdmin.id)).length;
    expect((await api(t.app, otherAdmin).get(`users/${w.partnerStaff.id}`)).statusCode).toBe(404);
    expect((await api(t.app, otherAdmin).get(`organisations/${w.partner.slug}/identity-providers`)).statusCode).toBe(403);
    expect((await api(t.app, otherAdmin).get(`organisations/${w.partner.slug}/group-mappings`)).statusCode).toBe(403);
    expect((await api(t.app, otherAdmin).get(`subject-access/${request.id}`)).statusCode).toBe(404);
    expect((await api(t.app, otherAdmin).get('subject-access')).json()).toEqual({ requests: [] });
    expect(await refusals(otherAdmin.id, before)).toEqual([
      ['organisation.read-users', 'other_organisation'], ['organisation.read-identity', 'other_organisation'], ['organisation.read-identity', 'other_organisation'],
      ['subject-access.read-part', 'not_asked'],
    ]);
  });

  it('a request\'s view says what its viewer may do as decide() answers it: nothing, to a read-only credential that reached it with the read action', async () => {
    const w = await subjectAccessWorld(t);
    const request = await openSubjectAccess(t, w) as { id: string };
    const as = async (user: TestUser, scope?: 'full' | 'read') => actorFor((await t.vault.identity.userById(user.id))!, { channel: 'api', clientAddress: null, requestId: null },
      scope ? { kind: 'api_token', id: 'token', scope } : undefined);
    const can = async (user: TestUser, scope?: 'full' | 'read') => (await t.vault.subjectAccess.views.get(await as(user, scope), request.id)).can;
    // The requester's DPO and the asked partner's, as the page (a session) and a full token see it: what they may do.
    expect(await can(w.dpo)).toEqual({ manage: true, respond: true });
    expect(await can(w.dpo, 'full')).toEqual({ manage: true, respond: true });
    expect(await can(w.hostDpo, 'full')).toEqual({ manage: false, respond: true });
    // A read-only credential reads the same request and may do none of it (every change is refused credential_scope).
    expect(await can(w.dpo, 'read')).toEqual({ manage: false, respond: false });
    expect(await can(w.hostDpo, 'read')).toEqual({ manage: false, respond: false });
  });
});
