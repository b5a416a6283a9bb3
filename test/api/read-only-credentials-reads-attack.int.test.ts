// Attack review of the reads beside changes (person.read-credentials, organisation.read-users, organisation.read-identity,
// subject-access.read, .read-part, .read-received): a read-only credential whose holder lost what allowed them (the
// arrangement suspended, the role taken away, the account switched off), or who belongs to another council, gets
// exactly what a full credential of theirs would: refused the same way, audited once with the read action.
import { describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { openSubjectAccess, subjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, createOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('reads beside changes, attacked with read-only credentials, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function readToken(user: TestUser): Promise<TestUser> {
    const { secret } = await t.vault.identity.createCredential(systemActor(), user.id, 'api_token', 'reporting', 'read');
    return { ...user, token: secret };
  }

  const problem = (res: { json(): unknown }) => {
    const { requestId: _r, ...rest } = res.json() as Record<string, unknown>;
    return rest;
  };

  async function refusals(userId: string, before: number) {
    return (await eventsOf(t.vault, userId)).slice(before).filter((e) => e.decision === 'deny').map((e) => [e.action, e.reason]);
  }

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
    const can = async (user: TestUser, scope?: 'full' | 'read') => (await t.vault.subjectAccess.get(await as(user, scope), request.id)).can;
    // The requester's DPO and the asked partner's, as the page (a session) and a full token see it: what they may do.
    expect(await can(w.dpo)).toEqual({ manage: true, respond: true });
    expect(await can(w.dpo, 'full')).toEqual({ manage: true, respond: true });
    expect(await can(w.hostDpo, 'full')).toEqual({ manage: false, respond: true });
    // A read-only credential reads the same request and may do none of it (every change is refused credential_scope).
    expect(await can(w.dpo, 'read')).toEqual({ manage: false, respond: false });
    expect(await can(w.hostDpo, 'read')).toEqual({ manage: false, respond: false });
  });
});
