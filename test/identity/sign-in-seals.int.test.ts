// A database administrator (any row, but neither the master key nor the signing key) signs in as someone
// else for a moment and covers their tracks: a password hash of their own over an org admin's, put back
// after; MFA written off, recovery codes or an authenticator secret of their choosing; an API token or app
// password row inserted for an org admin, or re-pointed at one, deleted after. `audit verify` compares rows
// as they are, so none of it would be named afterwards. What sign-in trusts is sealed under a key of the
// master key (domain/identity/sign-in-seals.ts): none of these rows signs anyone in, each refusal answered
// like a wrong password or unknown token and audited as `secrets_not_sealed` (SCIM token rows likewise:
// test/audit/identity-rows*).
import { createHash, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { generateSecret } from 'otplib';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { Argon2PasswordHasher } from '../../src/integrations/argon2.password-hasher.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { SIGN_IN_SEALS_MIGRATION } from '../../src/db/migrations/202612150000_sign_in_seals.js';
import type { Schema } from '../../src/db/schema.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, type TestVault } from '../support/vault.js';
import { addPerson, enrolTotp, totp } from '../ui/support.js';
import { openReopenableVault, type ReopenableVault } from './support.js';

const clamd = useClamd();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const DBA_PASSWORD = 'the administrator knows this one';
const DBA_SECRET = 'srt_chosen-by-the-database-administrator';
const from = (n: number) => ({ channel: 'web', clientAddress: `198.51.100.${n}`, requestId: `seals-${n}` } as const);

/** What a refused call threw, as a person or client is told it. */
async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await work.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DomainError);
  return { code: (err as DomainError).code, message: (err as DomainError).message };
}

async function refusals(v: TestVault['vault'], action: string, userId: string): Promise<string[]> {
  const rows = await v.store.db.selectFrom('audit_events').select(['reason', 'target_ids']).where('action', '=', action).where('decision', '=', 'deny').execute();
  return rows.filter((r) => (JSON.parse(r.target_ids) as Record<string, string>).userId === userId).map((r) => r.reason);
}

describe.each(DIALECTS)('sign-in secrets written in the database on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('a password hash of the administrator\'s own over an org admin\'s is answered like a wrong password, and the real one works once it is put back', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    const honest = (await v.store.db.selectFrom('users').select('password_hash').where('id', '=', admin.id).executeTakeFirstOrThrow()).password_hash;
    const wrong = await refusal(v.passwordSignIn.signIn(admin.email, 'not the password at all, no', from(1)));
    await v.store.db.updateTable('users').set({ password_hash: await new Argon2PasswordHasher('test-only-weak').hash(DBA_PASSWORD) }).where('id', '=', admin.id).execute();
    expect(await refusal(v.passwordSignIn.signIn(admin.email, DBA_PASSWORD, from(2)))).toEqual(wrong);
    expect(await refusals(v, 'auth.sign-in', admin.id)).toEqual(['bad_password', 'secrets_not_sealed']);
    // Nor does the password check of a signed-in person's own pages take it.
    expect(await v.identity.verifyPassword((await v.identity.userById(admin.id))!, DBA_PASSWORD)).toBe(false);
    await v.store.db.updateTable('users').set({ password_hash: honest }).where('id', '=', admin.id).execute();
    expect((await v.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(3))).stage).toBe('mfa');
  });

  it('MFA written off, recovery codes or an authenticator secret written by hand are no way past the second factor', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await addPerson(v, org.slug, { roles: ['org_admin'] });
    const secret = await enrolTotp(v, admin.id, [sha256('a1b2c3d4e5')]);
    const db = v.store.db;
    const row = () => db.selectFrom('users').select(['mfa_enabled', 'mfa_secret', 'recovery_codes']).where('id', '=', admin.id).executeTakeFirstOrThrow();
    const honest = await row();
    // Stored sealed: the secret is not in the row.
    expect(honest.mfa_secret).not.toContain(secret);
    const wrong = await refusal(v.passwordSignIn.signIn(admin.email, 'not the password at all, no', from(10)));

    // Written off: the password alone would be a full sign-in (or a set-up of the administrator's own authenticator).
    await db.updateTable('users').set({ mfa_enabled: 0 }).where('id', '=', admin.id).execute();
    expect(await refusal(v.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(11)))).toEqual(wrong);
    // Its secret in clear, as it was stored before seals.
    await db.updateTable('users').set({ mfa_enabled: 1, mfa_secret: secret }).where('id', '=', admin.id).execute();
    expect(await refusal(v.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(12)))).toEqual(wrong);
    expect(await refusals(v, 'auth.sign-in', admin.id)).toEqual(['bad_password', 'secrets_not_sealed', 'secrets_not_sealed']);
    await db.updateTable('users').set(honest).where('id', '=', admin.id).execute();

    // Written while a sign-in owes its second factor: a recovery code of the administrator's choosing, a secret they hold.
    const signedIn = await v.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(13));
    expect(signedIn.stage).toBe('mfa');
    const owing = (await v.sessions.resolve(signedIn.sessionId))!;
    const badCode = await refusal(v.secondFactor.verifySecondFactor(owing, '000000', from(13)));
    await db.updateTable('users').set({ recovery_codes: JSON.stringify([sha256('chosen-code')]) }).where('id', '=', admin.id).execute();
    expect(await refusal(v.secondFactor.verifySecondFactor(owing, 'chosen-code', from(13)))).toEqual(badCode);
    const chosen = generateSecret();
    await db.updateTable('users').set({ recovery_codes: honest.recovery_codes, mfa_secret: chosen }).where('id', '=', admin.id).execute();
    expect(await refusal(v.secondFactor.verifySecondFactor(owing, totp(chosen), from(13)))).toEqual(badCode);
    expect(await refusals(v, 'auth.mfa', admin.id)).toEqual(['bad_code', 'secrets_not_sealed', 'secrets_not_sealed']);
    // A session owing its second factor is no session while the MFA state is not Strongroom's.
    expect(await v.sessions.resolve(signedIn.sessionId)).toBeNull();

    // Put back, the person's own authenticator and recovery code work.
    await db.updateTable('users').set(honest).where('id', '=', admin.id).execute();
    const again = (await v.sessions.resolve((await v.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(14))).sessionId))!;
    await v.secondFactor.verifySecondFactor(again, totp(secret), from(14));
    const third = (await v.sessions.resolve((await v.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(15))).sessionId))!;
    await v.secondFactor.verifySecondFactor(third, 'a1b2c3d4e5', from(15));
    expect(JSON.parse((await row()).recovery_codes!)).toEqual([]);
  });

  it('a token or app password row inserted for an org admin, or re-pointed at one, is answered like an unknown one on REST and WebDAV', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const db = v.store.db;
    const rest = (secret: string) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${secret}` } });
    const dav = (secret: string) => t.app.inject({ method: 'PROPFIND' as 'GET', url: `/dav/${org.slug}/`, headers: { authorization: `Basic ${Buffer.from(`${admin.email}:${secret}`).toString('base64')}`, depth: '0' } });
    const answered = (r: Awaited<ReturnType<typeof rest>>) => ({ status: r.statusCode, authenticate: r.headers['www-authenticate'] });
    const unknownRest = answered(await rest('srt_never-issued-to-anyone'));
    const unknownDav = answered(await dav('srp_never-issued-to-anyone'));
    expect(unknownRest.status).toBe(401);
    expect(unknownDav.status).toBe(401);
    expect((await rest(admin.token)).statusCode).toBe(200);

    const now = new Date().toISOString();
    const token = { id: randomUUID(), user_id: admin.id, kind: 'api_token' as const, name: 'backup', secret_hash: sha256(DBA_SECRET), created_at: now, last_used_at: null, revoked_at: null, seal: null };
    const appPassword = { ...token, id: randomUUID(), kind: 'app_password' as const, secret_hash: sha256('srp_chosen-by-the-dba') };
    await db.insertInto('credentials').values([token, appPassword]).execute();
    expect(answered(await rest(DBA_SECRET))).toEqual(unknownRest);
    expect(answered(await dav('srp_chosen-by-the-dba'))).toEqual(unknownDav);
    // A seal copied from another row is no seal for this one.
    const [memberRow] = await db.selectFrom('credentials').select(['id', 'seal']).where('user_id', '=', member.id).execute();
    await db.updateTable('credentials').set({ seal: memberRow!.seal }).where('id', '=', token.id).execute();
    expect(answered(await rest(DBA_SECRET))).toEqual(unknownRest);

    // The member's own token pointed at the org admin.
    await db.updateTable('credentials').set({ user_id: admin.id }).where('id', '=', memberRow!.id).execute();
    expect(answered(await rest(member.token))).toEqual(unknownRest);
    await db.updateTable('credentials').set({ user_id: member.id }).where('id', '=', memberRow!.id).execute();
    expect((await rest(member.token)).statusCode).toBe(200);
    expect(await refusals(v, 'auth.credential', admin.id)).toEqual(['secrets_not_sealed', 'secrets_not_sealed', 'secrets_not_sealed', 'secrets_not_sealed']);

    // An org admin whose MFA is written on by hand, so that a token would skip a second factor never set up.
    const unset = await addPerson(v, org.slug, { roles: ['org_admin'] });
    const made = await v.credentials.createCredential(systemActor(), unset.id, 'api_token', 'cli');
    expect((await rest(made.secret)).statusCode).toBe(403);
    await db.updateTable('users').set({ mfa_enabled: 1 }).where('id', '=', unset.id).execute();
    expect(answered(await rest(made.secret))).toEqual(unknownRest);
  });

  it('MFA written on by hand while a token\'s request is under way does not keep it acting for an org admin who has none', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await addPerson(v, org.slug, { roles: ['org_admin'] });
    await enrolTotp(v, admin.id);
    const { secret } = await v.credentials.createCredential(systemActor(), admin.id, 'api_token', 'cli');
    const { user, credential } = await v.identity.authenticateSecret(secret, ['api_token']);
    const actor = actorFor(user, from(50), credential);
    const target = { organisationId: org.id, ids: { userId: admin.id } };
    await expect(v.identity.actorNow(actor, 'document.upload', target)).resolves.toMatchObject({ userId: admin.id });
    // Their MFA reset by an admin meanwhile (sealed: off), then written back on in the database.
    await v.people.resetMfa(systemActor(), admin.id);
    await v.store.db.updateTable('users').set({ mfa_enabled: 1 }).where('id', '=', admin.id).execute();
    expect((await refusal(v.identity.actorNow(actor, 'document.upload', target))).code).toBe('UNAUTHENTICATED');
    expect(await refusals(v, 'document.upload', admin.id)).toEqual(['secrets_not_sealed']);
  });

  it('a revoked token, app password or SCIM token written back to unrevoked is answered like an unknown one', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const member = await org.user({ teams: ['hr'] });
    const db = v.store.db;
    const rest = (secret: string) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${secret}` } });
    const dav = (secret: string) => t.app.inject({ method: 'PROPFIND' as 'GET', url: `/dav/${org.slug}/`, headers: { authorization: `Basic ${Buffer.from(`${member.email}:${secret}`).toString('base64')}`, depth: '0' } });
    const scim = (secret: string) => t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${secret}` } });
    const answered = (r: Awaited<ReturnType<typeof rest>>) => ({ status: r.statusCode, authenticate: r.headers['www-authenticate'] });
    const token = await v.credentials.createCredential(systemActor(), member.id, 'api_token', 'cli');
    const appPassword = await v.credentials.createCredential(systemActor(), member.id, 'app_password', 'laptop');
    const directory = await v.scim.tokens.create(systemActor(), org.id, 'Entra ID provisioning');
    expect((await rest(token.secret)).statusCode).toBe(200);
    expect((await dav(appPassword.secret)).statusCode).toBe(207);
    expect((await scim(directory.secret)).statusCode).toBe(200);
    const unknown = { rest: answered(await rest('srt_never-issued-to-anyone')), dav: answered(await dav('srp_never-issued-to-anyone')), scim: answered(await scim('scim_never-issued-to-anyone')) };
    const now = new Date().toISOString();
    await v.store.repos.users.revokeCredential(token.id, now);
    await v.store.repos.users.revokeCredential(appPassword.id, now);
    expect(await v.store.repos.scim.revokeToken(directory.token.id, now)).toBe(true);
    expect((await rest(token.secret)).statusCode).toBe(401);
    await db.updateTable('credentials').set({ revoked_at: null }).where('user_id', '=', member.id).execute();
    await db.updateTable('scim_tokens').set({ revoked_at: null }).where('organisation_id', '=', org.id).execute();
    expect(answered(await rest(token.secret))).toEqual(unknown.rest);
    expect(answered(await dav(appPassword.secret))).toEqual(unknown.dav);
    expect(answered(await scim(directory.secret))).toEqual(unknown.scim);
  });

  it('every way Strongroom writes them still signs in: set-up, a recovery code, a password change, an admin\'s reset, tokens', async () => {
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await addPerson(v, org.slug, { roles: ['org_admin'] });
    const first = await v.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(20));
    expect(first.stage).toBe('mfa_setup');
    const setUp = (await v.sessions.resolve(first.sessionId))!;
    const { secret } = await v.secondFactor.mfaEnrolment(setUp);
    const { sessionId, recoveryCodes } = await v.secondFactor.completeMfaEnrolment(setUp, totp(secret), from(20));
    const next = 'a different long passphrase 9';
    await v.passwordChange.changePassword((await v.sessions.resolve(sessionId))!, TEST_PASSWORD, next, from(20));
    const owing = (await v.sessions.resolve((await v.passwordSignIn.signIn(admin.email, next, from(21))).sessionId))!;
    const active = await v.secondFactor.verifySecondFactor(owing, recoveryCodes[0]!, from(21));
    expect((await v.sessions.resolve(active))!.stage).toBe('active');
    const { secret: token } = await v.credentials.createCredential(systemActor(), admin.id, 'api_token', 'cli');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    await v.people.resetMfa(systemActor(), admin.id);
    expect((await v.passwordSignIn.signIn(admin.email, next, from(22))).stage).toBe('mfa_setup');
    expect(await refusals(v, 'auth.sign-in', admin.id)).toEqual([]);
  });
});

/** The database as it was before seals: their columns dropped, their migration not applied. */
async function undoSealsMigration(db: Kysely<Schema>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('password_seal').execute();
  await db.schema.alterTable('users').dropColumn('mfa_seal').execute();
  await db.schema.alterTable('credentials').dropColumn('seal').execute();
  await db.schema.alterTable('scim_tokens').dropColumn('seal').execute();
  await db.schema.alterTable('identity_providers').dropColumn('seal').execute();
  await db.schema.alterTable('external_identities').dropColumn('seal').execute();
  await sql`delete from schema_migrations where name = ${SIGN_IN_SEALS_MIGRATION}`.execute(db);
}

describe.each(DIALECTS)('the upgrade to sign-in seals on %s', (dialect) => {
  /**
   * A vault whose people, MFA and tokens were made, then put back as the database before seals held them:
   * the seals' columns dropped, the migration not applied, TOTP secrets in clear. `before` runs on it then.
   */
  async function upgraded(before: (r: ReopenableVault, people: { admin: { id: string }; member: { id: string } }) => Promise<void> = async () => undefined) {
    const r = await openReopenableVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(r.vault);
    const admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    const secret = await enrolTotp(r.vault, admin.id);
    const member = await org.user({ teams: ['hr'] });
    const scim = (await r.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID provisioning')).secret;
    await r.vault.audit.sequencer.flush();
    const db = r.vault.store.db;
    for (const row of await db.selectFrom('users').select(['id', 'mfa_secret']).where('mfa_secret', 'is not', null).execute()) {
      await db.updateTable('users').set({ mfa_secret: r.vault.store.repos.users.openTotpSecret(row.id, row.mfa_secret!) }).where('id', '=', row.id).execute();
    }
    await before(r, { admin, member });
    await undoSealsMigration(db);
    await r.reopen();
    const sealings = async () => (await r.vault.store.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'auth.sign-in-seals').execute())
      .map((e) => JSON.parse(e.target_ids) as Record<string, string>);
    return { r, org, admin, member, secret, scim, sealings };
  }

  it('people still sign in and their tokens work, their authenticator secrets now encrypted, sealed once', async () => {
    const { r, admin, member, secret, scim, sealings } = await upgraded();
    try {
      const signedIn = await r.vault.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(30));
      expect(signedIn.stage).toBe('mfa');
      await r.vault.secondFactor.verifySecondFactor((await r.vault.sessions.resolve(signedIn.sessionId))!, totp(secret), from(30));
      for (const person of [admin, member]) {
        expect((await r.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${person.token}` } })).statusCode).toBe(200);
      }
      expect((await r.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${scim}` } })).statusCode).toBe(200);
      const stored = await r.vault.store.db.selectFrom('users').select('mfa_secret').where('id', '=', admin.id).executeTakeFirstOrThrow();
      expect(stored.mfa_secret).not.toContain(secret);
      expect(await sealings()).toEqual([expect.objectContaining({ passwordsLeft: '0', mfaLeft: '0', credentialsLeft: '0', credentialsSealed: '2', scimTokensSealed: '1', scimTokensLeft: '0' })]);
      await r.reopen();
      expect(await sealings()).toHaveLength(1);
      expect((await r.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, from(31))).stage).toBe('active');
      await r.vault.audit.sequencer.flush();
      expect(await r.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    } finally {
      await r.close();
    }
  });

  it('seals the identity providers and links their recorded changes vouch for, and leaves unsealed one written by hand', async () => {
    const ids = { vouched: '', handMade: '', subject: randomUUID(), handSubject: randomUUID() };
    const { r, member, sealings } = await upgraded(async (before, people) => {
      const { organisation_id: organisationId } = await before.vault.store.db.selectFrom('users').select('organisation_id').where('id', '=', people.admin.id).executeTakeFirstOrThrow();
      const orgAdmin = { kind: 'user' as const, userId: people.admin.id, organisationId, roles: ['org_admin' as const], teams: [], clearance: 'OFFICIAL-SENSITIVE' as const, channel: 'api' as const, clientAddress: null, requestId: null };
      const settings = { kind: 'oidc' as const, name: 'Entra ID', issuer: 'https://login.example.test/v2.0', clientId: 'c', clientSecret: 's3cret', scopes: ['openid', 'email'], mfaAmrValues: ['mfa'] };
      ids.vouched = (await before.vault.identityProviders.add(orgAdmin, organisationId, settings)).id;
      await before.vault.identityProviders.update(orgAdmin, ids.vouched, { ...settings, clientSecret: '', name: 'Entra ID (council)' });
      const memberEmail = (await before.vault.store.repos.users.byId(people.member.id))!.email;
      await before.vault.federatedSignIn.complete({ providerId: ids.vouched, subject: ids.subject, email: memberEmail, emailVerified: true, name: null, groups: [], amr: ['mfa'], acr: null }, from(50));
      // Written by hand: a provider (no event vouches for it), and a link of a subject to the org admin.
      ids.handMade = randomUUID();
      const row = await before.vault.store.db.selectFrom('identity_providers').selectAll().where('id', '=', ids.vouched).executeTakeFirstOrThrow();
      await before.vault.store.db.insertInto('identity_providers').values({ ...row, id: ids.handMade, sealed_secret: null }).execute();
      await before.vault.store.db.insertInto('external_identities').values({ provider_id: ids.vouched, subject: ids.handSubject, user_id: people.admin.id, linked_at: new Date().toISOString(), seal: null }).execute();
    });
    try {
      expect(await sealings()).toEqual([expect.objectContaining({ providersSealed: '1', providersLeft: '1', linksSealed: '1', linksLeft: '1' })]);
      const who = (providerId: string, subject: string) => ({ providerId, subject, email: null, emailVerified: true, name: null, groups: [], amr: ['mfa'], acr: null });
      expect((await r.vault.federatedSignIn.complete(who(ids.vouched, ids.subject), from(51))).user.id).toBe(member.id);
      await expect(r.vault.federatedSignIn.complete(who(ids.handMade, ids.subject), from(52))).rejects.toThrow(DomainError);
      await expect(r.vault.federatedSignIn.complete(who(ids.vouched, ids.handSubject), from(53))).rejects.toThrow(DomainError);
      const reasons = (await r.vault.store.db.selectFrom('audit_events').select('reason').where('action', '=', 'auth.sign-in').where('decision', '=', 'deny').execute()).map((e) => e.reason);
      expect(reasons).toEqual(expect.arrayContaining([`oidc:${ids.handMade};secrets_not_sealed`, `oidc:${ids.vouched};secrets_not_sealed`]));
    } finally {
      await r.close();
    }
  });

  it('seals a read-only token with the scope its creation recorded: one written up to full before it signs nobody in, one left alone still only reads', async () => {
    const secrets = { raised: '', kept: '' };
    const { r, admin, member } = await upgraded(async (before, people) => {
      secrets.raised = (await before.vault.credentials.createCredential(systemActor(), people.admin.id, 'api_token', 'reporting', 'read')).secret;
      secrets.kept = (await before.vault.credentials.createCredential(systemActor(), people.member.id, 'api_token', 'payroll export', 'read')).secret;
      // The database administrator writes the read-only token up to full, then undoes the seals' migration (as
      // upgraded() goes on to do) so that the next open seals the row as it finds it.
      await before.vault.store.db.updateTable('credentials').set({ scope: 'full' }).where('user_id', '=', people.admin.id).where('name', '=', 'reporting').execute();
    });
    try {
      const me = (secret: string) => r.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${secret}` } });
      expect((await me(secrets.raised)).statusCode).toBe(401);
      expect(await refusals(r.vault, 'auth.credential', admin.id)).toEqual(['secrets_not_sealed']);
      // Their own full tokens were sealed as before.
      expect((await me(admin.token)).statusCode).toBe(200);
      // The one left alone is what it was made as: it reads, and changes nothing.
      expect((await me(secrets.kept)).statusCode).toBe(200);
      const made = await r.app.inject({ method: 'POST', url: '/api/v1/me/tokens', headers: { authorization: `Bearer ${secrets.kept}` }, payload: { name: 'escalated', scope: 'full' } });
      expect([made.statusCode, made.json<{ reason?: string }>().reason]).toEqual([403, 'credential_scope']);
      expect((await r.vault.credentials.listCredentials(systemActor(), member.id)).map((c) => [c.name, c.scope])).toEqual([['test', 'full'], ['payroll export', 'read']]);
    } finally {
      await r.close();
    }
  });

  it('leaves unsealed a password, MFA state or token written by hand before it, and a second sealing is named by verify', async () => {
    const handMade = randomUUID();
    let honestHash: string | null = null;
    const { r, admin, member, sealings } = await upgraded(async (before, people) => {
      const db = before.vault.store.db;
      honestHash = (await db.selectFrom('users').select('password_hash').where('id', '=', people.member.id).executeTakeFirstOrThrow()).password_hash;
      await db.updateTable('users').set({ password_hash: await new Argon2PasswordHasher('test-only-weak').hash(DBA_PASSWORD) }).where('id', '=', people.member.id).execute();
      await db.updateTable('users').set({ mfa_enabled: 0, mfa_secret: null }).where('id', '=', people.admin.id).execute();
      await db.insertInto('credentials').values({ id: handMade, user_id: people.admin.id, kind: 'api_token', name: 'backup', secret_hash: sha256(DBA_SECRET), created_at: new Date().toISOString(), last_used_at: null, revoked_at: null, seal: null }).execute();
    });
    try {
      expect(await sealings()).toEqual([expect.objectContaining({ passwordsLeft: '1', mfaLeft: '1', credentialsLeft: '1' })]);
      await expect(r.vault.passwordSignIn.signIn(member.email, DBA_PASSWORD, from(40))).rejects.toThrow(DomainError);
      await expect(r.vault.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(41))).rejects.toThrow(DomainError);
      expect((await r.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${DBA_SECRET}` } })).statusCode).toBe(401);
      // Until an admin resets the MFA state: then the org admin signs in and sets it up again.
      await r.vault.people.resetMfa(systemActor(), admin.id);
      expect((await r.vault.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from(42))).stage).toBe('mfa_setup');
      // The seals' migration undone by hand (the tampering put back first, so verify has nothing else to name)
      // and applied again at a restart: verify names the second sealing.
      const db = r.vault.store.db;
      await db.deleteFrom('credentials').where('id', '=', handMade).execute();
      await db.updateTable('users').set({ password_hash: honestHash }).where('id', '=', member.id).execute();
      await undoSealsMigration(db);
      await r.reopen();
      expect(await sealings()).toHaveLength(2);
      await r.vault.audit.sequencer.flush();
      const check = await r.vault.audit.verification.verify(systemActor());
      expect(check.ok ? '' : check.problem).toMatch(/^Sign-in secrets found unsealed were sealed 2 times/);
    } finally {
      await r.close();
    }
  });
});
