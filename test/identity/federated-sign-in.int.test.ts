// The end of every federated sign-in (OIDC and SAML alike), on both dialects: who a verified identity is,
// when an account is created just in time, how directory groups set access, and each refusal, audited.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { FEDERATED_REFUSALS, FederatedSignInRefused, type VerifiedExternalIdentity } from '../../src/services/federated-sign-in.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';

const clamd = useClamd();
const REQUEST = { channel: 'web' as const, clientAddress: '203.0.113.7', requestId: null };

describe.each(DIALECTS)('federated sign-in on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let north: TestOrganisation;
  let south: TestOrganisation;
  beforeAll(async () => {
    north = await createOrganisation(t.vault);
    south = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), north.slug, { add: ['North.test'] });
    await t.vault.organisations.changeEmailDomains(systemActor(), south.slug, { add: ['@south.test'] });
  });

  async function provider(org: TestOrganisation, patch: Partial<IdentityProvider> = {}): Promise<IdentityProvider> {
    const now = new Date().toISOString();
    const p: IdentityProvider = {
      id: randomUUID(), organisationId: org.id, kind: 'oidc', name: 'Entra ID', enabled: true,
      oidc: { issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'] }, saml: null,
      createAccounts: false, groupsClaim: null, mfaAmrValues: ['mfa'], mfaAcrValues: [], createdAt: now, updatedAt: now, ...patch,
    };
    await t.vault.store.repos.federation.insertProvider(p, null);
    return p;
  }
  const identity = (p: IdentityProvider, patch: Partial<VerifiedExternalIdentity> = {}): VerifiedExternalIdentity => ({
    providerId: p.id, subject: randomUUID(), email: null, emailVerified: true, name: 'Sam Jones', groups: [], amr: ['pwd'], acr: null, ...patch,
  });
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(FederatedSignInRefused);
    return (error as FederatedSignInRefused).reason;
  };
  const lastSignIn = async (organisationId: string) => {
    const events = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.sign-in')
      .where('target_organisation_id', '=', organisationId).orderBy('id', 'desc').limit(1).execute();
    return events[0]!;
  };

  it('links a verified e-mail of the provider\'s organisation once, then matches on the subject alone', async () => {
    const p = await provider(north);
    const person = await north.user({ roles: ['member'], teams: ['payroll'] });
    const who = identity(p, { email: person.email.toUpperCase() });
    const first = await t.vault.federatedSignIn.complete(who, REQUEST);
    expect(first.user.id).toBe(person.id);
    expect(first.stage).toBe('active');
    expect((await t.vault.sessions.resolve(first.sessionId))?.user.id).toBe(person.id);
    // The directory changed the address: the link still finds the person.
    const again = await t.vault.federatedSignIn.complete({ ...who, email: 'renamed@elsewhere.test' }, REQUEST);
    expect(again.user.id).toBe(person.id);
    expect((await lastSignIn(north.id)).reason).toBe(`oidc:${p.id}`);
  });

  it('refuses an unverified e-mail, another organisation\'s person, a disabled account and a switched-off provider', async () => {
    const p = await provider(north);
    const mine = await north.user({});
    // Another organisation's person at an address in this organisation's own domain (the operator put them there):
    // saying so tells this organisation nothing about an address it does not own.
    const theirs = await south.user({});
    theirs.email = `o-${randomUUID().slice(0, 6)}@north.test`;
    await t.vault.store.repos.users.update(theirs.id, { email: theirs.email });
    expect(await refusal(t.vault.federatedSignIn.complete(identity(p, { email: mine.email, emailVerified: false }), REQUEST))).toBe('email_unverified');
    expect(await refusal(t.vault.federatedSignIn.complete(identity(p, { email: theirs.email }), REQUEST))).toBe('other_organisation');
    const audited = await lastSignIn(north.id);
    expect([audited.decision, audited.reason]).toEqual(['deny', `oidc:${p.id};other_organisation`]);
    expect(await t.vault.store.repos.federation.identitiesOf(theirs.id)).toEqual([]);
    await t.vault.store.repos.users.update(mine.id, { disabled: true });
    expect(await refusal(t.vault.federatedSignIn.complete(identity(p, { email: mine.email }), REQUEST))).toBe('disabled');
    const off = await provider(north, { enabled: false });
    expect(await refusal(t.vault.federatedSignIn.complete(identity(off, { email: (await north.user({})).email }), REQUEST))).toBe('provider_disabled');
  });

  it('is no oracle of other councils\' accounts: another organisation\'s address is answered as nobody\'s, at sign-in and in the admin\'s test', async () => {
    // North's admins control what their own provider asserts, so they can make it vouch for any address.
    const closed = await provider(north);
    const open = await provider(north, { createAccounts: true });
    const theirs = await south.user({ roles: ['org_admin'] }); // a second factor set up, an admin's roles
    const nobody = `${randomUUID().slice(0, 8)}@${south.slug}.test`;
    for (const [p, reason] of [[closed, 'no_account'], [open, 'email_domain']] as const) {
      for (const email of [theirs.email, nobody]) {
        expect(await refusal(t.vault.federatedSignIn.complete(identity(p, { email }), REQUEST))).toBe(reason);
        const audited = await lastSignIn(north.id);
        expect([audited.actor_user_id, audited.reason, JSON.parse(audited.target_ids)]).toEqual([null, `oidc:${p.id};${reason}`, {}]);
      }
    }
    const admin = await t.vault.identity.userById((await north.user({ roles: ['org_admin'] })).id);
    const actor = actorFor(admin!, REQUEST);
    const seen = async (p: IdentityProvider, email: string) => {
      const { match, wouldCreate, mfa, refusal: refused } = await t.vault.identityProviders.preview(actor, identity(p, { email }));
      return { match, wouldCreate, mfa, refusal: refused };
    };
    expect(await seen(closed, theirs.email)).toEqual({ match: null, wouldCreate: false, mfa: 'none', refusal: { reason: 'no_account', message: FEDERATED_REFUSALS.no_account } });
    expect(await seen(closed, theirs.email)).toEqual(await seen(closed, nobody));
    expect(await seen(open, theirs.email)).toEqual({ match: null, wouldCreate: false, mfa: 'none', refusal: { reason: 'email_domain', message: FEDERATED_REFUSALS.email_domain } });
    expect(await seen(open, theirs.email)).toEqual(await seen(open, nobody));
    expect(await t.vault.store.repos.federation.identitiesOf(theirs.id)).toEqual([]);
  });

  it('the admin\'s test gives the verdict sign-in does for an MFA state written in the database: secrets_not_sealed', async () => {
    const p = await provider(north);
    const mine = await north.user({});
    await t.vault.store.db.updateTable('users').set({ mfa_enabled: 1 }).where('id', '=', mine.id).execute();
    expect(await refusal(t.vault.federatedSignIn.complete(identity(p, { email: mine.email }), REQUEST))).toBe('secrets_not_sealed');
    const admin = await t.vault.identity.userById((await north.user({ roles: ['org_admin'] })).id);
    const seen = await t.vault.identityProviders.preview(actorFor(admin!, REQUEST), identity(p, { email: mine.email }));
    expect(seen.refusal).toEqual({ reason: 'secrets_not_sealed', message: FEDERATED_REFUSALS.secrets_not_sealed });
  });

  it('creates no account unless the organisation allows it, and then with the access the groups map to', async () => {
    const closed = await provider(north);
    expect(await refusal(t.vault.federatedSignIn.complete(identity(closed, { email: `new-${randomUUID().slice(0, 6)}@north.test` }), REQUEST))).toBe('no_account');
    const open = await provider(north, { createAccounts: true, groupsClaim: 'groups' });
    await t.vault.store.repos.federation.replaceGroupMappings(north.id, [
      { organisationId: north.id, group: 'grp-payroll', roles: [], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const email = `new-${randomUUID().slice(0, 6)}@north.test`;
    expect(await refusal(t.vault.federatedSignIn.complete(identity(open, { email, groups: ['grp-other'] }), REQUEST))).toBe('no_mapped_group');
    expect(await t.vault.store.repos.users.byEmail(email)).toBeUndefined();
    const made = await t.vault.federatedSignIn.complete(identity(open, { email, groups: ['grp-payroll', 'grp-other'] }), REQUEST);
    expect(made.user).toMatchObject({ email, organisationId: north.id, roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    expect((await t.vault.store.repos.users.signInState(made.user.id))?.password_hash).toBeNull();
  });

  it('creates an account just in time only for an address in the provider\'s own organisation\'s e-mail domains', async () => {
    const open = await provider(north, { createAccounts: true });
    const make = (email: string) => t.vault.federatedSignIn.complete(identity(open, { email }), REQUEST);
    // Another council's provider (or a careless one) must not squat this council's addresses, nor any unassigned one.
    const southern = `s-${randomUUID().slice(0, 6)}@south.test`;
    expect(await refusal(make(southern))).toBe('email_domain');
    expect(await refusal(make(`x-${randomUUID().slice(0, 6)}@nowhere.test`))).toBe('email_domain');
    expect(await refusal(make(`x-${randomUUID().slice(0, 6)}@sub.north.test`))).toBe('email_domain');
    expect(await t.vault.store.repos.users.byEmail(southern)).toBeUndefined();
    expect((await lastSignIn(north.id)).reason).toBe(`oidc:${open.id};email_domain`);
    expect((await make(`n-${randomUUID().slice(0, 6)}@NORTH.test`)).user.organisationId).toBe(north.id);
    // An existing person of the organisation is linked whatever their domain: the rule is for new accounts.
    const elsewhere = await north.user({});
    expect((await make(elsewhere.email)).user.id).toBe(elsewhere.id);
  });

  it('assigns each e-mail domain to one organisation, by the operator alone', async () => {
    expect(await t.vault.organisations.emailDomains(north.slug)).toEqual(['north.test']);
    await expect(t.vault.organisations.changeEmailDomains(systemActor(), south.slug, { add: ['north.test'] }))
      .rejects.toThrow('The e-mail domain north.test is already assigned to another organisation. Withdraw it there first if it has moved.');
    await expect(t.vault.organisations.changeEmailDomains(systemActor(), south.slug, { add: ['not a domain'] }))
      .rejects.toThrow('"not a domain" is not an e-mail domain: write it like northshire.gov.uk.');
    const admin = await south.user({ roles: ['org_admin'] });
    const asAdmin = { kind: 'user' as const, userId: admin.id, organisationId: south.id, roles: ['org_admin' as const], teams: [], clearance: 'OFFICIAL' as const, channel: 'web' as const, clientAddress: null, requestId: null };
    await expect(t.vault.organisations.changeEmailDomains(asAdmin, south.slug, { add: ['grab.test'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const refused = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'organisation.email-domains').where('actor_user_id', '=', admin.id).execute();
    expect(refused.map((e) => [e.decision, e.reason])).toEqual([['deny', 'system_only']]);
    expect(await t.vault.organisations.changeEmailDomains(systemActor(), south.slug, { add: ['south2.test'], remove: ['south.test'] })).toEqual(['south2.test']);
    expect(await t.vault.organisations.changeEmailDomains(systemActor(), south.slug, { add: ['south.test'], remove: ['south2.test'] })).toEqual(['south.test']);
  });

  it('follows the directory at every sign-in when groups are read, and shuts out someone who left every mapped group', async () => {
    const p = await provider(north, { groupsClaim: 'groups' });
    await t.vault.store.repos.federation.replaceGroupMappings(north.id, [
      { organisationId: north.id, group: 'grp-hr', roles: [], teams: ['hr'], clearance: null },
    ]);
    const person = await north.user({ roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const who = identity(p, { email: person.email, groups: ['grp-hr'] });
    const signedIn = await t.vault.federatedSignIn.complete(who, REQUEST);
    expect(signedIn.user).toMatchObject({ teams: ['hr'], clearance: 'OFFICIAL' });
    expect(await t.vault.store.repos.users.byId(person.id)).toMatchObject({ teams: ['hr'], clearance: 'OFFICIAL' });
    expect(await refusal(t.vault.federatedSignIn.complete({ ...who, groups: [] }, REQUEST))).toBe('no_mapped_group');
  });

  // Attack: a directory (or whoever controls the provider) makes someone an org admin with a higher clearance at
  // sign-in, and links a password account to a provider subject: both are state changes, so both are audited.
  it('audits the access the directory gives at sign-in and the first link of an account to a provider subject', async () => {
    const p = await provider(north, { groupsClaim: 'groups' });
    await t.vault.store.repos.federation.replaceGroupMappings(north.id, [
      { organisationId: north.id, group: 'grp-admins', roles: ['org_admin'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
    ]);
    const person = await north.user({ roles: ['member'], teams: ['payroll'] });
    const subject = randomUUID();
    await t.vault.federatedSignIn.complete(identity(p, { subject, email: person.email, groups: ['grp-admins'] }), REQUEST);
    const events = async (action: string) => t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', action)
      .where('target_organisation_id', '=', north.id).orderBy('id', 'asc').execute()
      .then((rows) => rows.filter((e) => JSON.stringify(e).includes(person.id)));
    const linked = await events('identity.link');
    expect(linked.map((e) => [e.decision, e.reason])).toEqual([['allow', `oidc:${p.id};verified_email`]]);
    const updated = await events('user.update');
    expect(updated.map((e) => [e.decision, e.reason])).toEqual([['allow', `directory;oidc:${p.id}`]]);
    expect(JSON.parse(String(updated[0]!.target_ids))).toMatchObject({ userId: person.id, roles: 'org_admin', teams: 'hr', clearance: 'OFFICIAL-SENSITIVE' });
    // The same groups next time: nothing changes, nothing more is recorded.
    await t.vault.federatedSignIn.complete(identity(p, { subject, email: person.email, groups: ['grp-admins'] }), REQUEST);
    expect(await events('user.update')).toHaveLength(1);
    expect(await events('identity.link')).toHaveLength(1);
  });

  it('asks for the second factor unless the provider says, by a trusted value, that it did MFA', async () => {
    const p = await provider(north);
    const admin = await north.user({ roles: ['org_admin'] });
    expect((await t.vault.federatedSignIn.complete(identity(p, { email: admin.email }), REQUEST)).stage).toBe('mfa');
    const trusted = await t.vault.federatedSignIn.complete(identity(p, { email: admin.email, amr: ['pwd', 'mfa'] }), REQUEST);
    expect(trusted.stage).toBe('active');
    expect((await lastSignIn(north.id)).reason).toBe(`oidc:${p.id}+provider_mfa`);
    const fresh = await provider(north, { createAccounts: true });
    const newcomer = await t.vault.federatedSignIn.complete(identity(fresh, { email: `adm-${randomUUID().slice(0, 6)}@north.test` }), REQUEST);
    expect(newcomer.stage).toBe('active');
  });

  it('keeps a session whose provider did MFA signed in, without sending it to set up Strongroom’s own authenticator', async () => {
    const p = await provider(north);
    const admin = await north.user({ roles: ['org_admin'] });
    // Signs in only through the provider: no Strongroom authenticator of their own.
    await t.vault.store.repos.users.resetMfa(admin.id);
    const trusted = await t.vault.federatedSignIn.complete(identity(p, { email: admin.email, amr: ['pwd', 'mfa'] }), REQUEST);
    expect(trusted.stage).toBe('active');
    const session = await t.vault.sessions.resolve(trusted.sessionId);
    expect(session).toMatchObject({ stage: 'active', providerMfa: true });
    expect((await t.vault.sessions.resolve(trusted.sessionId))!.stage).toBe('active');
    // A request under way is not refused as owing a second factor either.
    const actor = { kind: 'user' as const, userId: admin.id, organisationId: north.id, roles: ['org_admin' as const], teams: [], clearance: 'OFFICIAL-SENSITIVE' as const, channel: 'web' as const, clientAddress: null, requestId: null, credential: { kind: 'session' as const, id: session!.idHash, scope: 'full' as const } };
    await expect(t.vault.identity.actorNow(actor, 'document.download', { organisationId: north.id, ids: {} }, 'download')).resolves.toMatchObject({ userId: admin.id });
    // Without the provider's MFA the same person is sent to set it up.
    const untrusted = await t.vault.federatedSignIn.complete(identity(p, { email: admin.email }), REQUEST);
    expect(untrusted.stage).toBe('mfa_setup');
    expect((await t.vault.sessions.resolve(untrusted.sessionId))).toMatchObject({ stage: 'mfa_setup', providerMfa: false });
  });

  it('ends the sessions a provider’s MFA signed in once it is trusted less (a value dropped, switched off, removed), and no others', async () => {
    const p = await provider(north);
    const admin = await north.user({ roles: ['org_admin'] });
    const orgAdmin = { kind: 'user' as const, userId: admin.id, organisationId: north.id, roles: ['org_admin' as const], teams: [], clearance: 'OFFICIAL-SENSITIVE' as const, channel: 'api' as const, clientAddress: null, requestId: null };
    const settings = { name: 'Entra ID', issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'], mfaAmrValues: ['mfa', 'hwk'] };
    await t.vault.identityProviders.update(orgAdmin, p.id, settings);
    const signIn = async () => (await t.vault.federatedSignIn.complete(identity(p, { email: admin.email, amr: ['pwd', 'mfa'] }), REQUEST)).sessionId;
    const byPassword = (await t.vault.federatedSignIn.complete(identity(p, { email: admin.email }), REQUEST)).sessionId;
    // A change that takes no trust away (a value added) leaves the sessions as they are.
    const first = await signIn();
    await t.vault.identityProviders.update(orgAdmin, p.id, { ...settings, mfaAmrValues: ['mfa', 'hwk', 'otp'] });
    expect(await t.vault.sessions.resolve(first)).toMatchObject({ stage: 'active', providerMfa: true });
    // A value dropped: the provider's MFA sessions end; a session that owed Strongroom's own second factor does not.
    await t.vault.identityProviders.update(orgAdmin, p.id, { ...settings, mfaAmrValues: ['mfa'] });
    expect(await t.vault.sessions.resolve(first)).toBeNull();
    expect(await t.vault.sessions.resolve(byPassword)).not.toBeNull();
    // Switched off, and removed.
    const second = await signIn();
    await t.vault.identityProviders.update(orgAdmin, p.id, { ...settings, mfaAmrValues: ['mfa'], enabled: false });
    expect(await t.vault.sessions.resolve(second)).toBeNull();
    await t.vault.identityProviders.update(orgAdmin, p.id, { ...settings, mfaAmrValues: ['mfa'], enabled: true });
    const third = await signIn();
    await t.vault.identityProviders.remove(orgAdmin, p.id);
    expect(await t.vault.sessions.resolve(third)).toBeNull();
  });
});
