// People administration over REST (/users): an org admin lists and reads their organisation's people, switches
// an account off and on and resets its two-step verification, through the same UsersAdminService calls as the
// admin pages, so with the same answers and the same audit events. A switched-off person's token and session stop
// working; switching on lets them sign in again and tells them once. Everyone else is answered as for an id that
// does not exist (404, the same body), as the web pages answer them, and their refusals are audited.
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/domain/audit/event.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { eventsOf } from '../support/audit-log.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';

const clamd = useClamd();
const signInRequest = { channel: 'web', clientAddress: '203.0.113.9', requestId: 'users-api' } as const;
const PERSON_FIELDS = ['id', 'email', 'name', 'organisationId', 'roles', 'teams', 'clearance', 'mfaEnabled', 'disabled', 'disabledBy', 'createdAt'].sort();

describe.each(DIALECTS)('people administration over REST on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  /** A browser signed in to the web pages as `user` (an org admin: with their second factor). */
  const signedInBrowser = async (user: TestUser) => {
    const address = t.app.server.address();
    const browser = new FormClient(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    await browser.signIn(user.email, TEST_PASSWORD, await enrolTotp(t.vault, user.id));
    return browser;
  };

  /** The security notices queued for this person about their account being switched on. */
  const enabledNotices = async (userId: string) => (await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute())
    .filter((j) => j.payload.includes(userId) && j.payload.includes('"change":"account-enabled"'));
  const eventsAbout = async (actor: TestUser, userId: string): Promise<Partial<AuditEvent>[]> => (await eventsOf(t.vault, actor.id))
    .filter((e) => e.targetIds.userId === userId)
    .map((e) => ({ action: e.action, decision: e.decision, reason: e.reason, channel: e.channel, targetOrganisationId: e.targetOrganisationId }));

  it('lists and reads the people of the admin\'s own organisation only, with no secret of theirs', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const member = await org.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const stranger = await (await createOrganisation(t.vault)).user({});

    const listed = await api(t.app, admin).get('users');
    expect(listed.statusCode, listed.body).toBe(200);
    const people = listed.json().users as Record<string, unknown>[];
    expect(people.map((p) => p.id).sort()).toEqual([admin.id, member.id].sort());
    for (const person of people) expect(Object.keys(person).sort()).toEqual(PERSON_FIELDS);

    const read = await api(t.app, admin).get(`users/${member.id}`);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toEqual({
      id: member.id, email: member.email, name: 'Test User', organisationId: org.id, roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL',
      mfaEnabled: false, disabled: false, disabledBy: null, createdAt: expect.any(String),
    });
    expect(people.find((p) => p.id === member.id)).toEqual(read.json());
    expect(read.body).not.toMatch(/password|secret|hash|recovery/i);
    expect(listed.body).not.toContain(stranger.id);
  });

  it('is described in the OpenAPI document, tagged users, a person with exactly its public fields', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, { content?: Record<string, { schema: { properties: Record<string, unknown> } }> }> }>>;
    };
    const operations = [['/api/v1/users', 'get'], ['/api/v1/users/{id}', 'get'], ['/api/v1/users/{id}/disable', 'post'], ['/api/v1/users/{id}/enable', 'post'], ['/api/v1/users/{id}/reset-mfa', 'post']] as const;
    for (const [path, method] of operations) expect(doc.paths[path]?.[method]?.tags, `${method} ${path}`).toEqual(['users']);
    const person = doc.paths['/api/v1/users/{id}']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(Object.keys(person.properties).sort()).toEqual(PERSON_FIELDS);
  });

  it('switches an account off (token and session stop working) and on (sign-in again, one notice), audited', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const member = await org.user({ teams: ['hr'] });
    const { sessionId } = await t.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, signInRequest);
    expect((await api(t.app, member).get('me')).statusCode).toBe(200);
    expect(await t.vault.sessions.resolve(sessionId)).not.toBeNull();

    const off = await api(t.app, admin).post(`users/${member.id}/disable`);
    expect(off.statusCode, off.body).toBe(204);
    expect(off.body).toBe('');
    expectProblem(await api(t.app, member).get('me'), 401);
    expect(await t.vault.sessions.resolve(sessionId)).toBeNull();
    await expect(t.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, signInRequest)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await api(t.app, admin).get(`users/${member.id}`)).json()).toMatchObject({ disabled: true, disabledBy: 'admin' });
    expect(await enabledNotices(member.id)).toHaveLength(0); // switching off tells nobody

    const on = await api(t.app, admin).post(`users/${member.id}/enable`);
    expect(on.statusCode, on.body).toBe(204);
    expect((await api(t.app, admin).get(`users/${member.id}`)).json()).toMatchObject({ disabled: false, disabledBy: null });
    expect((await t.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, signInRequest)).user.id).toBe(member.id);
    // The token revoked by the switching off stays revoked.
    expectProblem(await api(t.app, member).get('me'), 401);
    // Enabling an account already on changes nothing and tells nobody again.
    expect((await api(t.app, admin).post(`users/${member.id}/enable`)).statusCode).toBe(204);
    const notices = await enabledNotices(member.id);
    expect(notices).toHaveLength(1);
    expect(JSON.parse(notices[0]!.payload)).toMatchObject({ userId: member.id, message: { kind: 'account-change', change: 'account-enabled', by: 'administrator', address: member.email } });

    const change = { decision: 'allow', reason: 'org_admin', channel: 'api', targetOrganisationId: org.id };
    expect((await eventsAbout(admin, member.id)).filter((e) => e.action?.startsWith('user.'))).toEqual([
      { action: 'user.disable', ...change }, { action: 'user.enable', ...change }, { action: 'user.enable', ...change },
    ]);
  });

  it('resets two-step verification as the admin page does: MFA off, sessions ended, notice queued, audited', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const colleague = await org.user({ roles: ['member', 'security_admin'] });
    expect((await api(t.app, admin).get(`users/${colleague.id}`)).json()).toMatchObject({ mfaEnabled: true });
    const reset = await api(t.app, admin).post(`users/${colleague.id}/reset-mfa`);
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await api(t.app, admin).get(`users/${colleague.id}`)).json()).toMatchObject({ mfaEnabled: false, disabled: false });
    const jobs = await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute();
    expect(jobs.filter((j) => j.payload.includes(colleague.id) && j.payload.includes('"change":"mfa-reset"'))).toHaveLength(1);
    expect(await eventsAbout(admin, colleague.id)).toEqual([{ action: 'user.mfa-reset', decision: 'allow', reason: 'org_admin', channel: 'api', targetOrganisationId: org.id }]);
  });

  it('refuses an admin switching their own account off, changing nothing', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const refused = expectProblem(await api(t.app, admin).post(`users/${admin.id}/disable`), 400);
    expect(refused.detail).toBe('You cannot disable your own account.');
    const me = await api(t.app, admin).get(`users/${admin.id}`);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ disabled: false });
  });

  it('answers a plain member, and another organisation\'s admin, as for an id that does not exist; audits each refusal', async () => {
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['payroll'] });
    const colleague = await org.user({ teams: ['payroll'] });
    const otherAdmin = await (await createOrganisation(t.vault)).user({ roles: ['member', 'org_admin'] });
    await t.vault.passwordSignIn.signIn(colleague.email, TEST_PASSWORD, signInRequest);

    const unknown = expectProblem(await api(t.app, otherAdmin).get('users/no-such-person'), 404);
    const { requestId: _r, ...absent } = unknown;
    expect(absent).toEqual({ type: 'https://strongroom.local/problems/not_found', title: 'Not found', status: 404, detail: 'No user with that id exists, or you do not have access to it.' });
    for (const [who, user] of [['member', member], ['other organisation\'s admin', otherAdmin]] as const) {
      for (const [method, path] of [['get', `users/${colleague.id}`], ['post', `users/${colleague.id}/disable`], ['post', `users/${colleague.id}/enable`],
        ['post', `users/${colleague.id}/reset-mfa`], ['post', 'users/no-such-person/disable']] as const) {
        const { requestId: _id, ...body } = expectProblem(await api(t.app, user)[method](path), 404);
        expect(body, `${who}: ${method} ${path}`).toEqual(absent);
      }
    }
    // The list of people is the org admins' alone: a member is answered as the web page answers them.
    expect(expectProblem(await api(t.app, member).get('users'), 404).detail).toBe('No resource with that id exists, or you do not have access to it.');
    // The other organisation's admin lists their own people only.
    expect((await api(t.app, otherAdmin).get('users')).json().users.map((p: { id: string }) => p.id)).toEqual([otherAdmin.id]);

    // Nothing changed: the colleague still signs in, untold.
    expect((await t.vault.passwordSignIn.signIn(colleague.email, TEST_PASSWORD, signInRequest)).user.id).toBe(colleague.id);
    expect((await api(t.app, colleague).get('me')).statusCode).toBe(200);
    expect(await enabledNotices(colleague.id)).toHaveLength(0);
    // Each refusal of a real person is audited, decided on the person's organisation (the unknown id has nothing to decide on).
    // Reading the person is asked as a read (organisation.read-users), the three changes as organisation.manage-users.
    const refusal = (reason: string, action = 'organisation.manage-users') => ({ action, decision: 'deny', reason, channel: 'api', targetOrganisationId: org.id });
    const refusals = (reason: string) => [refusal(reason, 'organisation.read-users'), ...Array(3).fill(refusal(reason))];
    expect(await eventsAbout(member, colleague.id)).toEqual(refusals('role'));
    expect(await eventsAbout(otherAdmin, colleague.id)).toEqual(refusals('other_organisation'));
  });

  it('writes the events the admin pages write, for a change and for a refusal, with its own channel', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const otherAdmin = await (await createOrganisation(t.vault)).user({ roles: ['member', 'org_admin'] });
    const [byPage, byApi] = [await org.user({}), await org.user({})];
    const adminBrowser = await signedInBrowser(admin);
    const otherBrowser = await signedInBrowser(otherAdmin);
    for (const step of ['disable', 'enable']) {
      const page = await adminBrowser.get(`/admin/users/${byPage.id}`);
      expect((await adminBrowser.post(`/admin/users/${byPage.id}/${step}`, { _csrf: FormClient.csrf(page.text) })).status).toBe(303);
      expect((await api(t.app, admin).post(`users/${byApi.id}/${step}`)).statusCode).toBe(204);
    }
    const home = await otherBrowser.get('/');
    expect((await otherBrowser.post(`/admin/users/${byPage.id}/disable`, { _csrf: FormClient.csrf(home.text) })).status).toBe(404);
    expectProblem(await api(t.app, otherAdmin).post(`users/${byApi.id}/disable`), 404);

    const written = async (actor: TestUser, userId: string) => (await eventsOf(t.vault, actor.id)).filter((e) => e.targetIds.userId === userId)
      .map((e) => ({ ...e, seq: 0, time: '', requestId: null, clientAddress: null, targetIds: Object.keys(e.targetIds).sort() }));
    const asApi = (events: Awaited<ReturnType<typeof written>>) => events.map((e) => ({ ...e, channel: 'api' }));
    expect((await written(admin, byApi.id)).map((e) => e.action)).toEqual(['user.disable', 'credential.revoke', 'user.enable']);
    expect(await written(admin, byApi.id)).toEqual(asApi(await written(admin, byPage.id)));
    expect((await written(otherAdmin, byApi.id)).map((e) => [e.action, e.decision, e.reason])).toEqual([['organisation.manage-users', 'deny', 'other_organisation']]);
    expect(await written(otherAdmin, byApi.id)).toEqual(asApi(await written(otherAdmin, byPage.id)));
    expect(await enabledNotices(byApi.id)).toHaveLength(1);
    expect(await enabledNotices(byPage.id)).toHaveLength(1);
  });
});
