// A database administrator (any row, but not the master key) makes themselves someone else on the web:
// by writing a session row whose id they chose (a plain hash of it is what they can compute), or by
// pointing their own session's row at an org admin. Session ids are made and stored under a key of the
// master key and bound to their person (services/person-bound-token.ts): neither row is a session.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation } from '../support/vault.js';
import { postSignIn } from './support.js';

const clamd = useClamd();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each(DIALECTS)('sessions written in the database on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('a session row with an id of someone\'s choosing, or pointed at another person, is no session', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    const insider = await org.user({ roles: ['member'], teams: ['hr'] });
    const signIn = await postSignIn(t.app, '198.51.100.30', insider.email, TEST_PASSWORD);
    expect(signIn.statusCode, signIn.body).toBe(303);
    const session = signIn.cookies.find((c) => c.name === 'strongroom-session')!.value;
    const account = (cookie: string) => t.app.inject({ method: 'GET', url: '/account', cookies: { 'strongroom-session': cookie } });
    const ownPage = await account(session);
    expect(ownPage.statusCode).toBe(200);
    expect(ownPage.body).toContain(insider.email);
    const db = t.vault.store.db;
    const rows = await db.selectFrom('sessions').selectAll().where('user_id', '=', insider.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id_hash).not.toBe(sha256(session));
    const signedOut = { statusCode: 303, location: '/sign-in?next=%2Faccount' };
    const asAnswered = (r: Awaited<ReturnType<typeof account>>) => ({ statusCode: r.statusCode, location: r.headers.location });
    expect(asAnswered(await account(randomBytes(32).toString('base64url')))).toEqual(signedOut);

    // The insider's own session pointed at the org admin: not the admin's, and gone.
    await db.updateTable('sessions').set({ user_id: admin.id }).where('id_hash', '=', rows[0]!.id_hash).execute();
    expect(asAnswered(await account(session))).toEqual(signedOut);
    expect(await db.selectFrom('sessions').selectAll().where('id_hash', '=', rows[0]!.id_hash).execute()).toEqual([]);

    // A row written for the admin with an id the insider chose, hashed as anyone can.
    const chosen = randomBytes(32).toString('base64url');
    const now = new Date();
    await db.insertInto('sessions').values({
      id_hash: sha256(chosen), user_id: admin.id, csrf_token: 'x'.repeat(43), stage: 'active', created_at: now.toISOString(),
      last_seen_at: now.toISOString(), expires_at: new Date(now.getTime() + 3_600_000).toISOString(), provider_mfa: 0,
    }).execute();
    expect(asAnswered(await account(chosen))).toEqual(signedOut);
  });

  it('a session half signed in, its stage or provider MFA written up by hand, is no session', async () => {
    // Someone with only an org admin's password (or who put a password hash of their own over the admin's
    // for a moment, and put it back) signs in, owes the second factor, and writes the session past it.
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    const account = (cookie: string) => t.app.inject({ method: 'GET', url: '/account', cookies: { 'strongroom-session': cookie } });
    const asAnswered = (r: Awaited<ReturnType<typeof account>>) => ({ statusCode: r.statusCode, location: r.headers.location });
    const signedOut = { statusCode: 303, location: '/sign-in?next=%2Faccount' };
    const db = t.vault.store.db;
    for (const written of [{ stage: 'active' }, { stage: 'active', provider_mfa: 1 }, { stage: 'mfa_setup' }] as const) {
      const signIn = await postSignIn(t.app, '198.51.100.31', admin.email, TEST_PASSWORD);
      expect(signIn.statusCode, signIn.body).toBe(303);
      const session = signIn.cookies.find((c) => c.name === 'strongroom-session')!.value;
      const [row] = await db.selectFrom('sessions').selectAll().where('user_id', '=', admin.id).where('stage', '=', 'mfa').execute();
      expect(row).toBeDefined();
      await db.updateTable('sessions').set(written).where('id_hash', '=', row!.id_hash).execute();
      expect(asAnswered(await account(session))).toEqual(signedOut);
      expect(await db.selectFrom('sessions').selectAll().where('id_hash', '=', row!.id_hash).execute()).toEqual([]);
    }
  });
});
