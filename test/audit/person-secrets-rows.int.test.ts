// A database administrator (any row, but neither the master key nor the signing key) writes a person's
// sign-in secrets: a hash of a password they know into `users.password_hash`, an authenticator secret they
// hold into `users.mfa_secret`, or MFA switched off, and signs in as that person (an org admin, say).
// `audit verify` must name a password hash or MFA state that is not what the person's latest recorded
// write of it left (domain/audit/person-secrets-record.ts), and not name what Strongroom itself wrote.
import { randomUUID } from 'node:crypto';
import { generateSecret } from 'otplib';
import { afterEach, describe, expect, it } from 'vitest';
import { Argon2PasswordHasher } from '../../src/integrations/argon2.password-hasher.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';
import { PASSWORD, addPerson, totp } from '../ui/support.js';
import { USER } from '../support/scim-schemas.js';

const clamd = useClamd();
const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'person-secrets-rows' } as const;
const NEXT_PASSWORD = 'a different long passphrase 7';

describe.each(DIALECTS)('audit verify and passwords or MFA written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** An org admin who set up MFA through the set-up step and then changed their password, and a member. */
  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const v = t.vault;
    const org = await createOrganisation(v);
    const admin = await addPerson(v, org.slug, { roles: ['member', 'org_admin'] });
    const member = await addPerson(v, org.slug, {});
    const signedIn = await v.passwordSignIn.signIn(admin.email, PASSWORD, request);
    expect(signedIn.stage).toBe('mfa_setup');
    const setUp = (await v.sessions.resolve(signedIn.sessionId))!;
    const { secret } = await v.secondFactor.mfaEnrolment(setUp);
    const { sessionId } = await v.secondFactor.completeMfaEnrolment(setUp, totp(secret), request);
    await v.passwordChange.changePassword((await v.sessions.resolve(sessionId))!, PASSWORD, NEXT_PASSWORD, request);
    const db = v.store.db;
    const row = async (id: string) => db.selectFrom('users').select(['password_hash', 'mfa_secret', 'mfa_enabled']).where('id', '=', id).executeTakeFirstOrThrow();
    const verify = () => v.audit.verification.verify(systemActor());
    const expectNamed = async (sentence: string) => {
      const check = await verify();
      expect(check.ok).toBe(false);
      expect(check.ok ? '' : check.problem).toBe(sentence);
    };
    return { v, db, org, admin, member, secret, row, verify, expectNamed };
  }

  const passwordSentence = (p: { id: string; organisationId: string }) =>
    `Person ${p.id} (organisation ${p.organisationId})'s password hash is not what their latest recorded password change set: it was written into the database directly, not by Strongroom.`;
  const mfaSentence = (p: { id: string; organisationId: string }) =>
    `Person ${p.id} (organisation ${p.organisationId})'s two-factor authentication (on or off, or its secret) is not what their latest recorded set-up or reset left: it was written into the database directly, not by Strongroom.`;

  it('vouches for passwords and MFA set by creation, MFA set-up, a password change and an MFA reset', async () => {
    const s = await setting();
    // Stored sealed (storage/sign-in-seals.ts); the binding covers the secret it opens to.
    expect((await s.row(s.admin.id)).mfa_secret).not.toContain(s.secret);
    expect(await s.verify()).toMatchObject({ ok: true });
    // Signing in with the new password and the authenticator works, and changes nothing verify checks.
    const again = await s.v.passwordSignIn.signIn(s.admin.email, NEXT_PASSWORD, request);
    expect(again.stage).toBe('mfa');
    await s.v.people.resetMfa(systemActor(), s.admin.id);
    expect(await s.row(s.admin.id)).toMatchObject({ mfa_secret: null });
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names MFA set up over an earlier "off" state put back whole, seal and all, which sign-in takes', async () => {
    const s = await setting();
    const admin = await addPerson(s.v, s.org.slug, { roles: ['member', 'org_admin'] });
    const mfaColumns = ['mfa_secret', 'mfa_enabled', 'recovery_codes', 'mfa_seal'] as const;
    const off = await s.db.selectFrom('users').select(mfaColumns).where('id', '=', admin.id).executeTakeFirstOrThrow();
    const setUp = async (step: number) => {
      const signedIn = await s.v.passwordSignIn.signIn(admin.email, PASSWORD, request);
      expect(signedIn.stage).toBe('mfa_setup');
      const session = (await s.v.sessions.resolve(signedIn.sessionId))!;
      const { secret } = await s.v.secondFactor.mfaEnrolment(session);
      return s.v.secondFactor.completeMfaEnrolment(session, totp(secret, step), request);
    };
    await setUp(0);
    expect(await s.verify()).toMatchObject({ ok: true });
    // The state from before set-up, with its seal: Strongroom wrote it, so sign-in takes it, and set-up
    // gives whoever holds the password an authenticator of their own; each write then matches the row.
    await s.db.updateTable('users').set(off).where('id', '=', admin.id).execute();
    await setUp(1);
    await s.expectNamed(`Person ${admin.id} set up two-factor authentication while it was on: their row was put back to a state with it off, in the database directly, not by Strongroom.`);
  });

  it('names a password hash of a password the administrator knows, and passes once it is put back', async () => {
    const s = await setting();
    const honest = (await s.row(s.admin.id)).password_hash;
    const known = await new Argon2PasswordHasher('test-only-weak').hash('the administrator knows this one');
    await s.db.updateTable('users').set({ password_hash: known }).where('id', '=', s.admin.id).execute();
    await s.expectNamed(passwordSentence(s.admin));
    await s.db.updateTable('users').set({ password_hash: honest }).where('id', '=', s.admin.id).execute();
    expect(await s.verify()).toMatchObject({ ok: true });
    // The member's, set only at creation, and a password taken away.
    await s.db.updateTable('users').set({ password_hash: known }).where('id', '=', s.member.id).execute();
    await s.expectNamed(passwordSentence(s.member));
    await s.db.updateTable('users').set({ password_hash: null }).where('id', '=', s.member.id).execute();
    await s.expectNamed(passwordSentence(s.member));
  });

  it('names another authenticator secret, MFA switched off, and MFA switched on after a reset', async () => {
    const s = await setting();
    const stored = (await s.row(s.admin.id)).mfa_secret;
    await s.db.updateTable('users').set({ mfa_secret: generateSecret() }).where('id', '=', s.admin.id).execute();
    await s.expectNamed(mfaSentence(s.admin));
    // Its own secret in clear is not what set-up stored either.
    await s.db.updateTable('users').set({ mfa_secret: s.secret }).where('id', '=', s.admin.id).execute();
    await s.expectNamed(mfaSentence(s.admin));
    await s.db.updateTable('users').set({ mfa_secret: stored }).where('id', '=', s.admin.id).execute();
    expect(await s.verify()).toMatchObject({ ok: true });

    await s.db.updateTable('users').set({ mfa_enabled: 0 }).where('id', '=', s.admin.id).execute();
    await s.expectNamed(mfaSentence(s.admin));
    await s.db.updateTable('users').set({ mfa_enabled: 1 }).where('id', '=', s.admin.id).execute();
    expect(await s.verify()).toMatchObject({ ok: true });

    await s.v.people.resetMfa(systemActor(), s.admin.id);
    await s.db.updateTable('users').set({ mfa_enabled: 1, mfa_secret: generateSecret() }).where('id', '=', s.admin.id).execute();
    await s.expectNamed(mfaSentence(s.admin));
    await s.db.updateTable('users').set({ mfa_enabled: 0, mfa_secret: null }).where('id', '=', s.admin.id).execute();
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a password given by hand to someone the directory created without one', async () => {
    const s = await setting();
    await s.v.organisations.changeEmailDomains(systemActor(), s.org.slug, { add: [`${s.org.slug}.gov.uk`] });
    const token = (await s.v.scim.tokens.create(systemActor(), s.org.id, 'Entra ID provisioning')).secret;
    const userName = `${randomUUID().slice(0, 8)}@${s.org.slug}.gov.uk`;
    const res = await t!.app.inject({
      method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      payload: { schemas: [USER], externalId: randomUUID(), userName, active: true, emails: [{ primary: true, value: userName }] },
    });
    expect(res.statusCode, res.body).toBe(201);
    const person = { id: (res.json() as { id: string }).id, organisationId: s.org.id };
    expect((await s.row(person.id)).password_hash).toBeNull();
    expect(await s.verify()).toMatchObject({ ok: true });
    await s.db.updateTable('users').set({ password_hash: await new Argon2PasswordHasher('test-only-weak').hash('the administrator knows this one') }).where('id', '=', person.id).execute();
    await s.expectNamed(passwordSentence(person));
    await s.db.updateTable('users').set({ password_hash: null }).where('id', '=', person.id).execute();
    expect(await s.verify()).toMatchObject({ ok: true });
  });
});
