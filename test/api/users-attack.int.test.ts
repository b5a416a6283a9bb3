// Attack review of /users (REST) and UsersAdminService: a request is authenticated as it begins, and the
// admin changes below act on the actor as it was then. An org admin switched off while their request is
// under way must not still act (switch their own account back on, switch the last other admin off), and
// decide()'s person.enable must never let anyone switch on their own account (its comment says "never its
// holder", relying on authentication alone). Repeated MFA resets must not spam the person with notices.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/access/policy.js';
import type { Actor } from '../../src/domain/types.js';
import { actorFor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();
const apiRequest = { channel: 'api', clientAddress: '203.0.113.7', requestId: 'users-attack' } as const;

it('decide() never lets an org admin switch on their own account (person.enable on themselves)', () => {
  const admin: Actor = {
    kind: 'user', userId: 'u-admin', organisationId: 'org-a', roles: ['member', 'org_admin'], teams: [], clearance: 'OFFICIAL',
    channel: 'api', clientAddress: null, requestId: null,
  };
  const self = { kind: 'person' as const, userId: 'u-admin', organisationId: 'org-a', disabledBy: 'admin' as const };
  const decision = decide(admin, 'person.enable', self, { now: new Date(), arrangements: [], holds: new Map() });
  expect(decision.allow).toBe(false);
});

describe.each(DIALECTS)('people administration attacked on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** The actor a request with this person's API token is, as bearerActor makes it when the request begins. */
  const actorAtRequestStart = async (user: TestUser): Promise<Actor> => {
    const { user: holder, credential } = await t.vault.identity.authenticateSecret(user.token, ['api_token']);
    return actorFor(holder, apiRequest, credential);
  };
  const isEnabled = async (id: string) => !(await t.vault.store.repos.users.byId(id))!.disabled;

  it('an org admin switched off while their request is under way cannot switch their own account back on', async () => {
    const org = await createOrganisation(t.vault);
    const rogue = await org.user({ roles: ['member', 'org_admin'] });
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    // The rogue admin's request ("enable me") has been authenticated ...
    const inFlight = await actorAtRequestStart(rogue);
    // ... when the other admin switches them off.
    expect((await api(t.app, admin).post(`users/${rogue.id}/disable`)).statusCode).toBe(204);
    expect(await isEnabled(rogue.id)).toBe(false);

    // Refused (401 as a request whose person was switched off meanwhile, or 404 as decide()'s person.enable on oneself).
    await expect(t.vault.people.setDisabled(inFlight, rogue.id, false)).rejects.toMatchObject({ code: expect.stringMatching(/^(UNAUTHENTICATED|NOT_FOUND)$/) });
    expect(await isEnabled(rogue.id)).toBe(false);
  });

  it('an org admin switched off while their request is under way cannot switch the other admin off (no org left without an admin)', async () => {
    const org = await createOrganisation(t.vault);
    const first = await org.user({ roles: ['member', 'org_admin'] });
    const second = await org.user({ roles: ['member', 'org_admin'] });
    // Both admins ask at once to switch the other off: the second's request is authenticated first ...
    const secondInFlight = await actorAtRequestStart(second);
    expect((await api(t.app, first).post(`users/${second.id}/disable`)).statusCode).toBe(204);
    // ... and must not act once its admin is switched off.
    await expect(t.vault.people.setDisabled(secondInFlight, first.id, true)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await isEnabled(first.id)).toBe(true);
  });

  it('an org admin switched off while their request is under way cannot reset another person\'s two-step verification', async () => {
    const org = await createOrganisation(t.vault);
    const rogue = await org.user({ roles: ['member', 'org_admin'] });
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const security = await org.user({ roles: ['member', 'security_admin'] });
    const inFlight = await actorAtRequestStart(rogue);
    expect((await api(t.app, admin).post(`users/${rogue.id}/disable`)).statusCode).toBe(204);
    await expect(t.vault.people.resetMfa(inFlight, security.id)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await api(t.app, admin).get(`users/${security.id}`)).json()).toMatchObject({ mfaEnabled: true });
  });

  it('a token made by a request under way when the account is switched off does not outlive the switching off', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const leaver = await org.user({});
    // The leaver's POST /me/tokens has been authenticated ...
    const inFlight = await actorAtRequestStart(leaver);
    // ... when their admin switches them off over REST (every credential of theirs revoked).
    expect((await api(t.app, admin).post(`users/${leaver.id}/disable`)).statusCode).toBe(204);
    const made = await t.vault.identity.createCredential(inFlight, leaver.id, 'api_token', 'made meanwhile').catch(() => null);
    // Switched on later ("tokens revoked by the switching off stay revoked"): nothing made meanwhile works either.
    expect((await api(t.app, admin).post(`users/${leaver.id}/enable`)).statusCode).toBe(204);
    if (made) expectProblem(await api(t.app, { token: made.secret }).get('me'), 401);
  });

  it('the same two concurrent REST requests (each admin disabling the other) leave at least one enabled org admin', async () => {
    const org = await createOrganisation(t.vault);
    const first = await org.user({ roles: ['member', 'org_admin'] });
    const second = await org.user({ roles: ['member', 'org_admin'] });
    const answers = await Promise.all([api(t.app, first).post(`users/${second.id}/disable`), api(t.app, second).post(`users/${first.id}/disable`)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([204, 401]);
    expect([await isEnabled(first.id), await isEnabled(second.id)].filter(Boolean)).toHaveLength(1);
  });

  it('resetting two-step verification that is already reset changes nothing and tells the person nothing again', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const member = await org.user({});
    const notices = async () => (await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute())
      .filter((j) => j.payload.includes(member.id) && j.payload.includes('"change":"mfa-reset"'));
    // The member never set two-step verification up; an admin (or whoever holds their token) resets it ten times.
    expect((await api(t.app, admin).get(`users/${member.id}`)).json()).toMatchObject({ mfaEnabled: false });
    for (let i = 0; i < 10; i++) expect((await api(t.app, admin).post(`users/${member.id}/reset-mfa`)).statusCode).toBe(204);
    expect((await notices()).length).toBeLessThanOrEqual(1);
  });

  it('an API token alone cannot reset its own holder\'s two-step verification (a leaked token plus the password would take the account)', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    expect((await api(t.app, admin).get(`users/${admin.id}`)).json()).toMatchObject({ mfaEnabled: true });
    // Whoever holds the admin's token (a script's secret, a CI log) resets the admin's own second factor ...
    const reset = await api(t.app, admin).post(`users/${admin.id}/reset-mfa`);
    expectProblem(reset, 400);
    // ... which would let them, knowing the password, sign in and set up an authenticator of their own,
    // locking the admin out: the sign-in would ask for a second factor to be set up, not for the admin's.
    const { stage } = await t.vault.sessions.signIn(admin.email, TEST_PASSWORD, { ...apiRequest, channel: 'web' });
    expect(stage).toBe('mfa');
  });

  it('an app password (the WebDAV credential) of an org admin is not a bearer token for /users', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const member = await org.user({});
    const made = await api(t.app, admin).post('me/app-passwords', { name: 'dav' });
    expect(made.statusCode, made.body).toBe(201);
    const secret = (made.json() as { secret: string }).secret;
    for (const [method, url] of [['GET', '/api/v1/users'], ['POST', `/api/v1/users/${member.id}/disable`]] as const) {
      expectProblem(await t.app.inject({ method, url, headers: { authorization: `Bearer ${secret}` } }), 401);
    }
    expect(await isEnabled(member.id)).toBe(true);
  });
});
