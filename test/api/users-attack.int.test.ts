// Attack review of /users (REST) and UsersAdminService: a request is authenticated as it begins, and the
// admin changes below act on the actor as it was then. An org admin switched off while their request is
// under way must not still act (switch their own account back on, switch the last other admin off), and
// decide()'s person.enable must never let anyone switch on their own account (its comment says "never its
// holder", relying on authentication alone). Repeated MFA resets must not spam the person with notices.
// The same holds for every admin change and everything made for a person (a role change, a password reset,
// an API token, app password or SCIM token): decided inside its transaction on the actor as they are then,
// their credential included (a session ended, a token revoked meanwhile), and two admins taking each other's
// org admin role at once leave one.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/access/policy.js';
import type { Actor } from '../../src/domain/types.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();
const apiRequest = { channel: 'api', clientAddress: '203.0.113.7', requestId: 'users-attack' } as const;
const webRequest = { channel: 'web', clientAddress: '203.0.113.8', requestId: 'users-attack' } as const;

it('decide() never lets an org admin switch on their own account (person.enable on themselves)', () => {
  const admin: Actor = {
    kind: 'user', userId: 'u-admin', organisationId: 'org-a', roles: ['member', 'org_admin'], teams: [], clearance: 'OFFICIAL',
    channel: 'api', clientAddress: null, requestId: null,
  };
  const self = { kind: 'person' as const, userId: 'u-admin', organisationId: 'org-a', disabledBy: 'admin' as const };
  const context = { now: new Date(), arrangements: [], holds: new Map() };
  expect(decide(admin, 'person.enable', self, context)).toEqual({ allow: false, reason: 'self', via: null });
  expect(decide(admin, 'person.reset-mfa', self, context)).toEqual({ allow: false, reason: 'self', via: null });
  expect(decide(admin, 'person.disable', { ...self, lastEnabledOrgAdmin: false }, context)).toEqual({ allow: false, reason: 'self', via: null });
  // The last enabled org admin of an organisation is switched off by nobody of theirs; the operator may.
  const other = { kind: 'person' as const, userId: 'u-other', organisationId: 'org-a' };
  expect(decide(admin, 'person.disable', { ...other, lastEnabledOrgAdmin: true }, context)).toEqual({ allow: false, reason: 'last_org_admin', via: null });
  expect(decide(admin, 'person.disable', other, context)).toEqual({ allow: false, reason: 'last_org_admin', via: null });
  expect(decide(admin, 'person.disable', { ...other, lastEnabledOrgAdmin: false }, context)).toEqual({ allow: true, reason: 'org_admin', via: null });
  expect(decide(systemActor(), 'person.disable', { ...other, lastEnabledOrgAdmin: true }, context)).toEqual({ allow: true, reason: 'system', via: null });
  // Taking the org admin role: never one's own, never from the last enabled org admin (not known counts as the last).
  expect(decide(admin, 'person.remove-org-admin', { ...self, lastEnabledOrgAdmin: false }, context)).toEqual({ allow: false, reason: 'self', via: null });
  expect(decide(admin, 'person.remove-org-admin', { ...other, lastEnabledOrgAdmin: true }, context)).toEqual({ allow: false, reason: 'last_org_admin', via: null });
  expect(decide(admin, 'person.remove-org-admin', other, context)).toEqual({ allow: false, reason: 'last_org_admin', via: null });
  expect(decide(admin, 'person.remove-org-admin', { ...other, lastEnabledOrgAdmin: false }, context)).toEqual({ allow: true, reason: 'org_admin', via: null });
  expect(decide(systemActor(), 'person.remove-org-admin', { ...other, lastEnabledOrgAdmin: true }, context)).toEqual({ allow: true, reason: 'system', via: null });
  // Another organisation's admin, and a colleague without the role, are refused each of them.
  for (const action of ['person.enable', 'person.disable', 'person.reset-mfa', 'person.remove-org-admin'] as const) {
    expect(decide({ ...admin, userId: 'u-b', organisationId: 'org-b' }, action, { ...other, lastEnabledOrgAdmin: false }, context)).toMatchObject({ allow: false, reason: 'other_person' });
    expect(decide({ ...admin, userId: 'u-m', roles: ['member', 'security_admin'] }, action, { ...other, lastEnabledOrgAdmin: false }, context)).toMatchObject({ allow: false, reason: 'role' });
  }
});

describe.each(DIALECTS)('people administration attacked on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  /** The actor a request with this person's API token is, as bearerActor makes it when the request begins. */
  const actorAtRequestStart = async (user: TestUser): Promise<Actor> => {
    const { user: holder, credential } = await t.vault.identity.authenticateSecret(user.token, ['api_token']);
    return actorFor(holder, apiRequest, credential);
  };
  const isEnabled = async (id: string) => !(await t.vault.store.repos.users.byId(id))!.disabled;
  /** The reasons of the refused `action` events this person's requests left. */
  const refusals = async (actorUserId: string, action: string) => {
    await t.vault.store.repos.audit.drained();
    return (await t.vault.store.db.selectFrom('audit_events').select('reason').where('actor_user_id', '=', actorUserId).where('action', '=', action).where('decision', '=', 'deny').execute()).map((e) => e.reason);
  };

  /** An org admin whose request has been authenticated when another admin switches them off (over REST): what that request acts as. */
  const switchedOffMidRequest = async () => {
    const org = await createOrganisation(t.vault);
    const rogue = await org.user({ roles: ['member', 'org_admin'] });
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const inFlight = await actorAtRequestStart(rogue);
    expect((await api(t.app, admin).post(`users/${rogue.id}/disable`)).statusCode).toBe(204);
    return { org, rogue, admin, inFlight };
  };

  it('an org admin switched off while their request is under way cannot switch their own account back on', async () => {
    const org = await createOrganisation(t.vault);
    const rogue = await org.user({ roles: ['member', 'org_admin'] });
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    // The rogue admin's request ("enable me") has been authenticated ...
    const inFlight = await actorAtRequestStart(rogue);
    // ... when the other admin switches them off.
    expect((await api(t.app, admin).post(`users/${rogue.id}/disable`)).statusCode).toBe(204);
    expect(await isEnabled(rogue.id)).toBe(false);

    // Refused as a request whose person was switched off meanwhile (read again inside the change's transaction), and audited.
    await expect(t.vault.people.setDisabled(inFlight, rogue.id, false)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await isEnabled(rogue.id)).toBe(false);
    expect(await refusals(rogue.id, 'user.enable')).toEqual(['account_disabled']);
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
    expect(await refusals(second.id, 'user.disable')).toEqual(['account_disabled']);
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
    await expect(t.vault.credentials.createCredential(inFlight, leaver.id, 'api_token', 'made meanwhile')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(t.vault.credentials.createCredential(inFlight, leaver.id, 'app_password', 'made meanwhile')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await refusals(leaver.id, 'token.create')).toEqual(['account_disabled']);
    expect(await refusals(leaver.id, 'app-password.create')).toEqual(['account_disabled']);
    // Switched on later ("tokens revoked by the switching off stay revoked"): nothing was made meanwhile.
    expect((await api(t.app, admin).post(`users/${leaver.id}/enable`)).statusCode).toBe(204);
    expect((await t.vault.store.repos.users.listCredentials(leaver.id)).filter((c) => c.name === 'made meanwhile')).toEqual([]);
  });

  it('a token being made by a web session its owner ended meanwhile (by changing their password) is refused, audited, and nothing is made', async () => {
    const org = await createOrganisation(t.vault);
    const owner = await org.user({});
    const hijacker = await t.vault.passwordSignIn.signIn(owner.email, TEST_PASSWORD, { ...webRequest, clientAddress: '192.0.2.66' });
    const own = await t.vault.passwordSignIn.signIn(owner.email, TEST_PASSWORD, webRequest);
    // The hijacked session's "new API token" request has been authenticated (the actor as the web pages make it) ...
    const hijacked = (await t.vault.sessions.resolve(hijacker.sessionId))!;
    const inFlight = actorFor(hijacked.user, { ...webRequest, clientAddress: '192.0.2.66' }, { kind: 'session', id: hijacked.idHash, scope: 'full' });
    // ... when the owner changes their password, which ends every other session of theirs.
    await t.vault.passwordChange.changePassword((await t.vault.sessions.resolve(own.sessionId))!, TEST_PASSWORD, 'a new pass phrase the hijacker never saw', webRequest);
    expect(await t.vault.sessions.resolve(hijacker.sessionId)).toBeNull();

    const refused = await t.vault.credentials.createCredential(inFlight, owner.id, 'api_token', 'made meanwhile').then(() => null, (e: unknown) => e);
    expect(refused).toMatchObject({ code: 'UNAUTHENTICATED', message: 'You were signed out while this was being sent, so nothing was saved. Sign in and send it again.' });
    expect(await refusals(owner.id, 'token.create')).toEqual(['session_ended']);
    expect((await t.vault.store.repos.users.listCredentials(owner.id)).filter((c) => c.name === 'made meanwhile')).toEqual([]);
  });

  it('an app password being made with an API token revoked meanwhile is refused, audited, and nothing is made', async () => {
    const org = await createOrganisation(t.vault);
    const person = await org.user({});
    const inFlight = await actorAtRequestStart(person);
    await t.vault.credentials.revokeCredential(inFlight, inFlight.credential!.id);
    await expect(t.vault.credentials.createCredential(inFlight, person.id, 'app_password', 'made meanwhile')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED', message: 'The API token this was sent with was revoked while it was being sent, so nothing was saved.',
    });
    expect(await refusals(person.id, 'app-password.create')).toEqual(['credential_revoked']);
    expect((await t.vault.store.repos.users.listCredentials(person.id)).filter((c) => c.name === 'made meanwhile')).toEqual([]);
  });

  it('an org admin switched off while their password reset is under way is refused, audited, and no link is made', async () => {
    const { org, rogue, inFlight } = await switchedOffMidRequest();
    const member = await org.user({});

    await expect(t.vault.people.resetPassword(inFlight, member.id)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await refusals(rogue.id, 'person.reset-password')).toEqual(['account_disabled']);
    // Their password stands (a reset would have left none), and no reset was recorded.
    expect((await t.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, webRequest)).stage).toBe('active');
    const resets = await t.vault.store.db.selectFrom('audit_events').select('decision').where('action', '=', 'user.password-reset').where('target_organisation_id', '=', org.id).execute();
    expect(resets).toEqual([]);
  });

  it('an org admin switched off while their role change is under way is refused, audited, and changes nothing', async () => {
    const { org, rogue, admin, inFlight } = await switchedOffMidRequest();
    const member = await org.user({ teams: ['hr'] });

    await expect(t.vault.people.update(inFlight, member.id, { roles: ['member', 'records_manager'], teams: ['payroll'] })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(t.vault.people.update(inFlight, admin.id, { roles: ['member'] })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await refusals(rogue.id, 'user.update')).toEqual(['account_disabled', 'account_disabled']);
    expect(await t.vault.store.repos.users.byId(member.id)).toMatchObject({ roles: ['member'], teams: ['hr'] });
    expect(await t.vault.store.repos.users.byId(admin.id)).toMatchObject({ roles: ['member', 'org_admin'] });
  });

  it('a change of teams is made to the person as they are then: a role another admin gave them meanwhile stays', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const other = await org.user({ roles: ['member', 'org_admin'] });
    const member = await org.user({ teams: ['hr'] });
    // The other admin's change commits after this one read the person, before its transaction begins.
    const store = t.vault.store;
    const original = store.transaction;
    store.transaction = (async (work: Parameters<typeof original>[0], options?: Parameters<typeof original>[1]) => {
      store.transaction = original;
      await t.vault.people.update(await actorAtRequestStart(other), member.id, { roles: ['member', 'auditor'] });
      return original.call(store, work, options);
    }) as typeof original;
    await t.vault.people.update(await actorAtRequestStart(admin), member.id, { teams: ['payroll'] });
    expect(await t.vault.store.repos.users.byId(member.id)).toMatchObject({ roles: ['member', 'auditor'], teams: ['payroll'] });
  });

  it('two org admins taking each other\'s org admin role at once leave one; nobody takes their own (audited)', async () => {
    const org = await createOrganisation(t.vault);
    const first = await org.user({ roles: ['member', 'org_admin'] });
    const second = await org.user({ roles: ['member', 'org_admin'] });
    const [firstInFlight, secondInFlight] = [await actorAtRequestStart(first), await actorAtRequestStart(second)];
    const outcomes = await Promise.allSettled([
      t.vault.people.update(firstInFlight, second.id, { roles: ['member'] }),
      t.vault.people.update(secondInFlight, first.id, { roles: ['member'] }),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'NOT_FOUND' } });
    const admins = [await t.vault.store.repos.users.byId(first.id), await t.vault.store.repos.users.byId(second.id)].filter((u) => u!.roles.includes('org_admin'));
    expect(admins).toHaveLength(1);
    const left = admins[0]!;
    const demoted = left.id === first.id ? second : first;
    expect(await refusals(demoted.id, 'user.update')).toEqual(['role']);
    // The one left cannot take their own role, which would leave the organisation with no org admin.
    const own = await t.vault.people.update(actorFor(left, apiRequest), left.id, { roles: ['member'] }).then(() => null, (e: unknown) => e);
    expect(own).toMatchObject({ code: 'INVALID', message: 'You cannot remove your own org admin role; ask another org admin.' });
    expect(await refusals(left.id, 'user.update')).toEqual(['self']);
    expect((await t.vault.store.repos.users.byId(left.id))!.roles).toContain('org_admin');
  });

  it('a SCIM token being made by an org admin switched off meanwhile is refused, audited, and nothing is made', async () => {
    // The rogue admin's "new SCIM token" request has been authenticated when the other admin switches them off
    // (every SCIM token they made revoked).
    const { org, rogue, inFlight } = await switchedOffMidRequest();
    await expect(t.vault.scim.tokens.create(inFlight, org.id, 'made meanwhile')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await refusals(rogue.id, 'scim-token.create')).toEqual(['account_disabled']);
    expect((await t.vault.store.repos.scim.tokens(org.id)).filter((token) => token.createdBy === rogue.id)).toEqual([]);
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
    expect(await notices()).toHaveLength(0);
    // Someone whose two-step verification is on: the first reset clears it, is recorded and tells them; a repeat does neither.
    const security = await org.user({ roles: ['member', 'security_admin'] });
    const told = async () => (await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute())
      .filter((j) => j.payload.includes(security.id) && j.payload.includes('"change":"mfa-reset"'));
    for (let i = 0; i < 3; i++) expect((await api(t.app, admin).post(`users/${security.id}/reset-mfa`)).statusCode).toBe(204);
    expect(await told()).toHaveLength(1);
    await t.vault.store.repos.audit.drained();
    const resets = await t.vault.store.db.selectFrom('audit_events').select('decision').where('action', '=', 'user.mfa-reset').where('target_organisation_id', '=', org.id).execute();
    expect(resets).toEqual([{ decision: 'allow' }]);
  });

  it('a reset of two-step verification that clears nothing but ends sessions records that it ended them, and tells nobody', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    const member = await org.user({});
    await t.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, webRequest);
    await t.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, { ...webRequest, clientAddress: '192.0.2.80' });
    // The first reset ends both sessions; the second finds none to end, and records nothing.
    for (let i = 0; i < 2; i++) expect((await api(t.app, admin).post(`users/${member.id}/reset-mfa`)).statusCode).toBe(204);
    await t.vault.store.repos.audit.drained();
    const events = await t.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'reason', 'actor_user_id', 'target_ids'])
      .where('action', 'in', ['user.sessions-ended', 'user.mfa-reset']).where('target_organisation_id', '=', org.id).execute();
    expect(events.map((e) => ({ ...e, target_ids: JSON.parse(e.target_ids) as unknown }))).toEqual([
      { action: 'user.sessions-ended', decision: 'allow', reason: 'org_admin', actor_user_id: admin.id, target_ids: { userId: member.id, sessions: '2', by: 'mfa-reset' } },
    ]);
    const notices = (await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute()).filter((j) => j.payload.includes(member.id));
    expect(notices).toEqual([]);
  });

  it('an org admin is refused their own account and two-step verification (decide()\'s self), audited; the operator may switch off the last enabled org admin', async () => {
    const org = await createOrganisation(t.vault);
    const first = await org.user({ roles: ['member', 'org_admin'] });
    const second = await org.user({ roles: ['member', 'org_admin'] });
    expect((await api(t.app, first).post(`users/${second.id}/disable`)).statusCode).toBe(204);
    expect(expectProblem(await api(t.app, first).post(`users/${first.id}/disable`), 400).detail).toBe('You cannot disable your own account.');
    expect(await refusals(first.id, 'user.disable')).toEqual(['self']);
    expect(await isEnabled(first.id)).toBe(true);
    // The operator (strongroom user disable) may: the organisation is then managed from the CLI until it switches someone on.
    await t.vault.people.setDisabled(systemActor(), first.id, true);
    expect(await isEnabled(first.id)).toBe(false);
  });

  it('an API token alone cannot reset its own holder\'s two-step verification (a leaked token plus the password would take the account)', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'] });
    expect((await api(t.app, admin).get(`users/${admin.id}`)).json()).toMatchObject({ mfaEnabled: true });
    // Whoever holds the admin's token (a script's secret, a CI log) resets the admin's own second factor ...
    const reset = await api(t.app, admin).post(`users/${admin.id}/reset-mfa`);
    expect(expectProblem(reset, 400).detail).toBe('You cannot reset your own two-step verification: ask another org admin of your organisation.');
    expect(await refusals(admin.id, 'user.mfa-reset')).toEqual(['self']);
    // ... which would let them, knowing the password, sign in and set up an authenticator of their own,
    // locking the admin out: the sign-in would ask for a second factor to be set up, not for the admin's.
    const { stage } = await t.vault.passwordSignIn.signIn(admin.email, TEST_PASSWORD, { ...apiRequest, channel: 'web' });
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
