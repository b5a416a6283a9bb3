// A database administrator signs in as an org admin through a federated sign-in of their own making: an
// identity_providers row inserted for the organisation (their own SAML certificate, an MFA context the row
// says to trust), an existing provider's certificate swapped for a moment, or a link of a subject pointed at
// the org admin; then the row put back or deleted, so `audit verify` finds nothing afterwards. Provider and
// link rows are sealed (domain/identity/sign-in-seals.ts): none of these signs anyone in, each refusal
// audited as `secrets_not_sealed` and logged. Started from the attacker's test (finding F2).
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import { systemActor } from '../../src/services/identity.service.js';
import { FederatedSignInRefused, type VerifiedExternalIdentity } from '../../src/services/federated-sign-in.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';
import { ENTRA_MFA, makeIdp, signedResponse, type TestIdp } from './saml-idp.js';
import { SAML_ENV, postResponse, samlProvider, spOf, startSignIn } from './saml-flow.js';
import { addPerson, enrolTotp } from '../ui/support.js';

const clamd = useClamd();
let dbaIdp: TestIdp;
let councilIdp: TestIdp;
beforeAll(() => {
  dbaIdp = makeIdp('dba');
  councilIdp = makeIdp('council');
});
const acs = (providerId: string) => ({ acsUrl: spOf(providerId).acsUrl, audience: spOf(providerId).entityId });
const REQUEST = { channel: 'web' as const, clientAddress: '203.0.113.9', requestId: null };

describe.each(DIALECTS)('identity provider and link rows written by hand on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { env: SAML_ENV });

  const denials = async (organisationId: string): Promise<string[]> => (await t.vault.store.db.selectFrom('audit_events').select('reason')
    .where('action', '=', 'auth.sign-in').where('decision', '=', 'deny').where('target_organisation_id', '=', organisationId).execute()).map((e) => e.reason as string);

  /** The SAML sign-in an attacker's IdP makes for `email`, with the MFA context; the session cookie if any. */
  async function samlSignIn(providerId: string, idp: TestIdp, email: string): Promise<{ location: unknown; session: string | undefined }> {
    const started = await startSignIn(t.app, providerId);
    const res = await postResponse(t.app, providerId, signedResponse(idp, { inResponseTo: started.requestId, ...acs(providerId), nameId: email, authnContext: ENTRA_MFA }), started.cookies);
    return { location: res.headers.location, session: res.cookies.find((c) => c.name === 'strongroom-session')?.value };
  }

  it('a provider row inserted by hand signs nobody in, not an org admin past password and MFA', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await addPerson(v, org.slug, { roles: ['org_admin'] });
    await enrolTotp(v, admin.id);
    // What an INSERT INTO identity_providers writes: the row with no seal.
    const p = await samlProvider(v, org.id, dbaIdp, { mfaAcrValues: [ENTRA_MFA] });
    await v.store.db.updateTable('identity_providers').set({ seal: null }).where('id', '=', p.id).execute();
    const { location, session } = await samlSignIn(p.id, dbaIdp, admin.email);
    expect(session).toBeUndefined();
    expect(location).not.toBe('/upload');
    expect(await denials(org.id)).toEqual([`saml:${p.id};secrets_not_sealed`]);
  });

  it('a provider\'s certificate swapped by hand for a moment signs nobody in; put back, the real one does', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await addPerson(v, org.slug, { roles: ['org_admin'] });
    await enrolTotp(v, admin.id);
    const p = await samlProvider(v, org.id, councilIdp, { mfaAcrValues: [ENTRA_MFA] });
    const row = await v.store.db.selectFrom('identity_providers').select('settings').where('id', '=', p.id).executeTakeFirstOrThrow();
    await v.store.db.updateTable('identity_providers').set({ settings: JSON.stringify({ ...p.saml, idpEntityId: dbaIdp.entityId, idpCertificates: [dbaIdp.cert] }) }).where('id', '=', p.id).execute();
    expect((await samlSignIn(p.id, dbaIdp, admin.email)).session).toBeUndefined();
    expect(await denials(org.id)).toEqual([`saml:${p.id};secrets_not_sealed`]);
    // An org admin saving it meanwhile (the form shows the settings as found) seals nothing: refused, unchanged.
    const orgAdmin = { kind: 'user' as const, userId: admin.id, organisationId: org.id, roles: ['org_admin' as const], teams: [], clearance: 'OFFICIAL' as const, channel: 'web' as const, clientAddress: null, requestId: null };
    const saved = await v.identityProviders.update(orgAdmin, p.id, { kind: 'saml', name: 'Renamed', idpEntityId: dbaIdp.entityId, entryPoint: p.saml!.entryPoint, idpCertificates: [dbaIdp.cert], mfaAcrValues: [ENTRA_MFA] }).then(() => null, (e: unknown) => e);
    expect(saved).toMatchObject({ code: 'CONFLICT', message: 'This provider\'s settings were changed outside Strongroom, so it cannot be saved: remove it and add it again.' });
    expect((await v.store.repos.federation.signInProvider(p.id))).toMatchObject({ name: p.name, sealed: false });
    expect((await samlSignIn(p.id, dbaIdp, admin.email)).session).toBeUndefined();
    await v.store.db.updateTable('identity_providers').set({ settings: row.settings }).where('id', '=', p.id).execute();
    const honest = await samlSignIn(p.id, councilIdp, admin.email);
    expect(honest.location).toBe('/upload');
    expect((await v.sessions.resolve(honest.session!))?.user.id).toBe(admin.id);
  });

  it('a link row inserted for an org admin, or an existing one re-pointed at them, signs nobody in', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({ roles: ['member'] });
    const now = new Date().toISOString();
    const p: IdentityProvider = {
      id: randomUUID(), organisationId: org.id, kind: 'oidc', name: 'Entra ID', enabled: true,
      oidc: { issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'] }, saml: null,
      createAccounts: false, groupsClaim: null, mfaAmrValues: ['mfa'], mfaAcrValues: [], createdAt: now, updatedAt: now,
    };
    await v.store.repos.federation.insertProvider(p, null);
    const who = (subject: string, email: string | null = null): VerifiedExternalIdentity => ({ providerId: p.id, subject, email, emailVerified: true, name: null, groups: [], amr: ['pwd', 'mfa'], acr: null });
    const refusal = async (work: Promise<unknown>) => {
      const error = await work.then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(FederatedSignInRefused);
      return (error as FederatedSignInRefused).reason;
    };
    await v.store.db.insertInto('external_identities').values({ provider_id: p.id, subject: 'dba-subject', user_id: admin.id, linked_at: now, seal: null }).execute();
    expect(await refusal(v.federatedSignIn.complete(who('dba-subject'), REQUEST))).toBe('secrets_not_sealed');
    // The member's own link, made at their first sign-in, re-pointed at the org admin.
    expect((await v.federatedSignIn.complete(who('member-subject', member.email), REQUEST)).user.id).toBe(member.id);
    await v.store.db.updateTable('external_identities').set({ user_id: admin.id }).where('subject', '=', 'member-subject').execute();
    expect(await refusal(v.federatedSignIn.complete(who('member-subject'), REQUEST))).toBe('secrets_not_sealed');
    // Put back, it signs the member in again.
    await v.store.db.updateTable('external_identities').set({ user_id: member.id }).where('subject', '=', 'member-subject').execute();
    expect((await v.federatedSignIn.complete(who('member-subject'), REQUEST)).user.id).toBe(member.id);
    expect((await denials(org.id)).filter((r) => r.endsWith('secrets_not_sealed'))).toHaveLength(2);
  });

  it('a provider an org admin adds, updates, switches off and on signs people in: first sign-in creates them, later ones find them', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    await v.organisations.changeEmailDomains(systemActor(), org.slug, { add: ['provider-seals.test'] });
    const admin = await org.user({ roles: ['org_admin'] });
    const orgAdmin = { kind: 'user' as const, userId: admin.id, organisationId: org.id, roles: ['org_admin' as const], teams: [], clearance: 'OFFICIAL-SENSITIVE' as const, channel: 'api' as const, clientAddress: null, requestId: null };
    const settings = { kind: 'oidc' as const, name: 'Entra ID', issuer: 'https://login.example.test/v2.0', clientId: 'c', clientSecret: 's3cret', scopes: ['openid', 'email'], mfaAmrValues: ['mfa'], createAccounts: true };
    const added = await v.identityProviders.add(orgAdmin, org.id, settings);
    await v.identityProviders.update(orgAdmin, added.id, { ...settings, clientSecret: '', name: 'Entra ID (council)' });
    await v.identityProviders.update(orgAdmin, added.id, { ...settings, clientSecret: '', enabled: false });
    await v.identityProviders.update(orgAdmin, added.id, { ...settings, clientSecret: 'rotated', enabled: true });
    const who: VerifiedExternalIdentity = { providerId: added.id, subject: randomUUID(), email: 'new.starter@provider-seals.test', emailVerified: true, name: 'New Starter', groups: [], amr: ['pwd', 'mfa'], acr: null };
    const first = await v.federatedSignIn.complete(who, REQUEST);
    expect(first).toMatchObject({ stage: 'active', user: { email: 'new.starter@provider-seals.test' } });
    const later = await v.federatedSignIn.complete({ ...who, email: null }, REQUEST);
    expect(later.user.id).toBe(first.user.id);
    // The admin's test sign-in sees the same.
    expect((await v.identityProviders.preview(orgAdmin, who)).refusal).toBeNull();
    expect(await denials(org.id)).toEqual([]);
  });

  it('the admin\'s test sign-in finds an unsealed provider refused', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'] });
    const orgAdmin = { kind: 'user' as const, userId: admin.id, organisationId: org.id, roles: ['org_admin' as const], teams: [], clearance: 'OFFICIAL-SENSITIVE' as const, channel: 'api' as const, clientAddress: null, requestId: null };
    const p = await samlProvider(v, org.id, dbaIdp, { mfaAcrValues: [ENTRA_MFA] });
    await v.store.db.updateTable('identity_providers').set({ seal: null }).where('id', '=', p.id).execute();
    const preview = await v.identityProviders.preview(orgAdmin, { providerId: p.id, subject: admin.email, email: admin.email, emailVerified: true, name: null, groups: [], amr: [], acr: ENTRA_MFA });
    expect(preview.refusal?.reason).toBe('secrets_not_sealed');
  });
});
