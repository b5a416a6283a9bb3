// The organisation's last enabled org admin whose groups claim maps to no group (identity review, 6 December
// 2026). The last-admin rule kept their org admin role (decide()'s person.remove-org-admin, refused to the
// directory), yet their sign-in through the provider was refused `no_mapped_group`: the council's only admin was
// locked out of federated sign-in. Now they are let in with the role the rule keeps (the floor plus org admin,
// as SCIM's groups leave them), the sign-in audited as such; everyone else whose groups map to nothing is still
// refused `no_mapped_group`, nothing linked or changed: a member, one of several admins, a switched-off last
// admin, another organisation's admin. The admin's "Test sign-in" says the same. On both dialects; the OIDC and
// SAML adapters both end in FederatedSignInService.complete, which these call.
import { randomUUID } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import { FEDERATED_REFUSALS, FederatedSignInRefused, type VerifiedExternalIdentity } from '../../src/services/federated-sign-in.service.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { changePerson } from '../support/meanwhile.js';
import { DIALECTS, createOrganisation, type TestOrganisation, type TestUser } from '../support/vault.js';
import { ENTRA_EMAIL, ENTRA_GROUPS, makeIdp, signedResponse, type TestIdp } from './saml-idp.js';
import { SAML_ENV, expectRefused, postResponse, samlProvider, spOf, startSignIn } from './saml-flow.js';

const clamd = useClamd();
const REQUEST = { channel: 'web' as const, clientAddress: '198.51.100.20', requestId: null };
let idp: TestIdp;
beforeAll(() => {
  idp = makeIdp('last-admin');
});

describe.each(DIALECTS)('signing in as the last org admin with no mapped group on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { env: SAML_ENV });
  let org: TestOrganisation;
  let admin: TestUser;
  let provider: IdentityProvider;
  beforeEach(async () => {
    org = await createOrganisation(t.vault);
    admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    await t.vault.store.repos.federation.replaceGroupMappings(org.id, [
      { organisationId: org.id, group: 'SR Admins', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL-SENSITIVE' },
      { organisationId: org.id, group: 'SR Staff', roles: ['member'], teams: ['hr'], clearance: null },
    ]);
    provider = await insertProvider(org);
  });

  async function insertProvider(of: TestOrganisation): Promise<IdentityProvider> {
    const now = new Date().toISOString();
    const p: IdentityProvider = {
      id: randomUUID(), organisationId: of.id, kind: 'oidc', name: 'Entra ID', enabled: true,
      oidc: { issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'] }, saml: null,
      createAccounts: false, groupsClaim: 'groups', mfaAmrValues: ['mfa'], mfaAcrValues: [], createdAt: now, updatedAt: now,
    };
    await t.vault.store.repos.federation.insertProvider(p, null);
    return p;
  }
  const identity = (email: string, patch: Partial<VerifiedExternalIdentity> = {}): VerifiedExternalIdentity => ({
    providerId: provider.id, subject: randomUUID(), email, emailVerified: true, name: 'Sam Jones', groups: ['Payroll Readers'], amr: ['mfa'], acr: null, ...patch,
  });
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(FederatedSignInRefused);
    return (error as FederatedSignInRefused).reason;
  };
  const access = async (id: string) => {
    const u = (await t.vault.store.repos.users.byId(id))!;
    return [[...u.roles].sort(), u.teams, u.clearance, u.disabled];
  };
  /** Events of one organisation about one person: [action, decision, reason, provider id]. */
  const events = async (organisationId: string, userId: string) => (await t.vault.store.db.selectFrom('audit_events').selectAll()
    .where('target_organisation_id', '=', organisationId).where('action', 'in', ['auth.sign-in', 'auth.federated', 'user.update', 'identity.link']).orderBy('id').execute())
    .filter((e) => JSON.parse(e.target_ids).userId === userId)
    .map((e) => [e.action, e.decision, e.reason, JSON.parse(e.target_ids).providerId ?? null]);
  const links = async (userId: string) => (await t.vault.store.db.selectFrom('external_identities').select('subject').where('user_id', '=', userId).execute()).length;

  it('lets the last enabled org admin in with the role the last-admin rule keeps, audited, at the first sign-in and after', async () => {
    const who = identity(admin.email);
    const first = await t.vault.federatedSignIn.complete(who, REQUEST);
    expect(first.user.id).toBe(admin.id);
    expect(first.stage).toBe('active');
    expect((await t.vault.sessions.resolve(first.sessionId))?.user.id).toBe(admin.id);
    // The floor (no team, OFFICIAL) with the org admin role the directory cannot take.
    expect(await access(admin.id)).toEqual([['member', 'org_admin'], [], 'OFFICIAL', false]);
    const how = `oidc:${provider.id}`;
    expect(await events(org.id, admin.id)).toEqual([
      ['user.update', 'deny', 'last_org_admin', provider.id],
      ['identity.link', 'allow', `${how};verified_email`, provider.id],
      ['user.update', 'allow', `directory;${how}`, null],
      ['auth.sign-in', 'allow', `${how};no_mapped_group;last_org_admin+provider_mfa`, null],
    ]);
    // Signing in again by the linked subject: let in again, the rule asked (and its refusal audited) again.
    const again = await t.vault.federatedSignIn.complete({ ...who, email: null }, REQUEST);
    expect(again.user.id).toBe(admin.id);
    expect((await events(org.id, admin.id)).slice(4)).toEqual([
      ['user.update', 'deny', 'last_org_admin', provider.id],
      ['auth.sign-in', 'allow', `${how};no_mapped_group;last_org_admin+provider_mfa`, null],
    ]);
    // The admin's Test sign-in tells the same: no refusal, the kept access.
    const preview = await t.vault.identityProviders.preview(actorFor((await t.vault.store.repos.users.byId(admin.id))!, REQUEST), who);
    expect(preview.refusal).toBeNull();
    expect(preview.mapped).toEqual({ roles: ['member', 'org_admin'], teams: [], clearance: 'OFFICIAL' });
    expect(preview.match?.user.id).toBe(admin.id);
  });

  it('still refuses a person who is not an admin, or one of several admins, no_mapped_group: nothing linked or changed', async () => {
    const member = await org.user({ roles: ['member'], teams: ['hr'] });
    expect(await refusal(t.vault.federatedSignIn.complete(identity(member.email), REQUEST))).toBe('no_mapped_group');
    expect(await access(member.id)).toEqual([['member'], ['hr'], 'OFFICIAL-SENSITIVE', false]);
    expect(await links(member.id)).toBe(0);
    expect(await events(org.id, member.id)).toEqual([]);
    // A second enabled org admin: neither is the last, so the admin's groups mapping to nothing refuses them.
    const other = await org.user({ roles: ['org_admin'] });
    for (const who of [admin, other]) {
      expect(await refusal(t.vault.federatedSignIn.complete(identity(who.email), REQUEST))).toBe('no_mapped_group');
      expect(await access(who.id)).toEqual([['org_admin'], who === admin ? ['hr'] : [], 'OFFICIAL-SENSITIVE', false]);
      expect(await links(who.id)).toBe(0);
      expect(await events(org.id, who.id)).toEqual([]);
    }
    // The admin's Test sign-in says the same of the member.
    const preview = await t.vault.identityProviders.preview(actorFor((await t.vault.store.repos.users.byId(admin.id))!, REQUEST), identity(member.email));
    expect(preview.refusal?.reason).toBe('no_mapped_group');
    expect(preview.mapped).toBeNull();
  });

  it('refuses a switched-off last admin, and a linked admin since switched off, no_mapped_group', async () => {
    const who = identity(admin.email);
    await t.vault.federatedSignIn.complete(who, REQUEST);
    expect(await links(admin.id)).toBe(1);
    await t.vault.store.repos.users.update(admin.id, { disabled: true, disabledBy: 'admin' });
    const before = (await events(org.id, admin.id)).length;
    expect(await refusal(t.vault.federatedSignIn.complete({ ...who, email: null }, REQUEST))).toBe('no_mapped_group');
    // By address too (a first sign-in through another subject): still refused, nothing linked.
    expect(await refusal(t.vault.federatedSignIn.complete(identity(admin.email), REQUEST))).toBe('no_mapped_group');
    expect(await links(admin.id)).toBe(1);
    expect((await events(org.id, admin.id)).slice(before)).toEqual([
      ['auth.sign-in', 'deny', `oidc:${provider.id};no_mapped_group`, null],
    ]);
    expect(await access(admin.id)).toEqual([['member', 'org_admin'], [], 'OFFICIAL', true]);
  });

  it('refuses, and gives no role back to, a last admin demoted while their sign-in is under way (the rule asked before)', async () => {
    // The rule is asked (the admin is the last) and its transaction commits; before the next transaction another
    // org admin is switched on and takes the admin's role. The sign-in must not write the org admin role back.
    const transaction = t.vault.store.transaction.bind(t.vault.store);
    let calls = 0;
    const spy = vi.spyOn(t.vault.store, 'transaction').mockImplementation(async (work) => {
      calls += 1;
      if (calls === 2) {
        const second = await org.user({ roles: ['org_admin'] });
        await changePerson(t.vault, second.id, admin.id, 'role removed');
      }
      return transaction(work);
    });
    try {
      expect(await refusal(t.vault.federatedSignIn.complete(identity(admin.email), REQUEST))).toBe('no_mapped_group');
    } finally {
      spy.mockRestore();
    }
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(await access(admin.id)).toEqual([['member'], ['hr'], 'OFFICIAL-SENSITIVE', false]);
    const how = `oidc:${provider.id}`;
    // The link to their own account by their verified address (made before the rule was asked again) stays: it
    // signs them in only as the rules then allow.
    expect(await events(org.id, admin.id)).toEqual([
      ['user.update', 'deny', 'last_org_admin', provider.id],
      ['user.update', 'allow', 'org_admin', null],
      ['identity.link', 'allow', `${how};verified_email`, provider.id],
      ['auth.sign-in', 'deny', `${how};no_mapped_group`, null],
    ]);
  });

  it('over SAML too: the last admin whose groups attribute maps to nothing is signed in; a member is refused no_mapped_group', async () => {
    const p = await samlProvider(t.vault, org.id, idp, { groupsClaim: ENTRA_GROUPS });
    const signIn = async (email: string) => {
      const started = await startSignIn(t.app, p.id);
      return postResponse(t.app, p.id, signedResponse(idp, {
        inResponseTo: started.requestId, acsUrl: spOf(p.id).acsUrl, audience: spOf(p.id).entityId, nameId: email,
        attributes: { [ENTRA_EMAIL]: [email], [ENTRA_GROUPS]: ['unmapped-group'] },
      }), started.cookies);
    };
    const done = await signIn(admin.email);
    expect(done.statusCode, done.body).toBe(303);
    expect(done.cookies.find((c) => c.name === 'strongroom-session')).toBeDefined();
    expect(await access(admin.id)).toEqual([['member', 'org_admin'], [], 'OFFICIAL', false]);
    expect((await events(org.id, admin.id))[0]).toEqual(['user.update', 'deny', 'last_org_admin', p.id]);
    // Their own second factor next (this provider's MFA is not trusted): the half-way sign-in says why they got in.
    expect((await events(org.id, admin.id)).at(-1)?.slice(0, 3)).toEqual(['auth.federated', 'allow', `saml:${p.id};no_mapped_group;last_org_admin;mfa`]);
    const member = await org.user({ roles: ['member'], teams: ['hr'] });
    expect(await expectRefused(t.vault, await signIn(member.email), FEDERATED_REFUSALS.no_mapped_group, org.id)).toBe(`saml:${p.id};no_mapped_group`);
    expect(await access(member.id)).toEqual([['member'], ['hr'], 'OFFICIAL-SENSITIVE', false]);
    expect(await links(member.id)).toBe(0);
  });

  it("refuses another organisation's last admin through this organisation's provider, even with an address in its domains", async () => {
    const other = await createOrganisation(t.vault);
    const theirs = await other.user({ roles: ['org_admin'] });
    // This organisation's domains cover the other's admin's address: matched, so answered as another organisation's.
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${other.slug}.test`] });
    expect(await refusal(t.vault.federatedSignIn.complete(identity(theirs.email), REQUEST))).toBe('no_mapped_group');
    expect(await access(theirs.id)).toEqual([['org_admin'], [], 'OFFICIAL-SENSITIVE', false]);
    expect(await links(theirs.id)).toBe(0);
    expect(await events(other.id, theirs.id)).toEqual([]);
    expect(await events(org.id, theirs.id)).toEqual([]);
    // Their own organisation's provider (groups claim, nothing mapped there) lets them in: they are its last admin.
    provider = await insertProvider(other);
    expect((await t.vault.federatedSignIn.complete(identity(theirs.email), REQUEST)).user.id).toBe(theirs.id);
  });
});
