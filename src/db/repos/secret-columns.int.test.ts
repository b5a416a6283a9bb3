// Secrets are read only where they are used: the statements that name a person for every request (a
// token's holder, a session's user, a list of staff) read the columns a User is made of and nothing
// more, so a password hash, an MFA secret or recovery codes never sit in the memory of a request that
// had no use for them; and a credential's or SCIM token's secret hash, which it is found by, is not
// read back. Checked on the SQL each dialect's driver is given.
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3-multiple-ciphers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTestStore, type TestStore } from '../../../test/support/store.js';
import { DIALECTS } from '../../../test/support/vault.js';

const SECRET_COLUMNS = ['password_hash', 'mfa_secret', 'recovery_codes', 'totp_last_step', 'failed_sign_ins', 'locked_until'];

describe.each(DIALECTS)('the statements reading people and tokens on %s', (dialect) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(async () => {
    await t?.remove();
  });

  /** The SQL text of every statement the driver is given while `work` runs (SQLite's as each is prepared: the handle caches them). */
  async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    if (dialect === 'sqlite') {
      const prepare = Database.prototype.prepare;
      Database.prototype.prepare = function (this: Database.Database, source: string) {
        seen.push(source);
        return prepare.call(this, source);
      } as typeof prepare;
      try {
        await work();
      } finally {
        Database.prototype.prepare = prepare;
      }
      return seen;
    }
    const query = vi.spyOn(pg.Client.prototype, 'query');
    try {
      await work();
      return query.mock.calls.map(([text]) => String(text));
    } finally {
      query.mockRestore();
    }
  }

  it('reads no secret column, and no whole row, for a token holder, a user by id or e-mail, a list of staff or credentials', async () => {
    const repos = t.store.repos;
    const organisationId = randomUUID();
    await repos.organisations.insert({ id: organisationId, slug: `org-${randomBytes(4).toString('hex')}`, name: 'Council', kind: 'council', region: 'North', createdAt: '2026-11-01T09:00:00.000Z' });
    const user = {
      id: randomUUID(), organisationId, email: `${randomBytes(5).toString('hex')}@example.test`, name: 'Pat Example', roles: ['member' as const],
      teams: ['payroll'], clearance: 'OFFICIAL' as const, mfaEnabled: true, disabled: false, disabledBy: null, createdAt: '2026-11-01T09:00:00.000Z',
    };
    await repos.users.insert({ ...user, passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$secret' });
    await repos.users.enableMfa(user.id, 'MFA-SECRET', JSON.stringify(['code-hash']));
    const secretHash = randomBytes(32).toString('hex');
    await repos.users.insertCredential({ id: randomUUID(), userId: user.id, kind: 'api_token', name: 'token', scope: 'full', secretHash, createdAt: '2026-11-01T09:00:00.000Z', lastUsedAt: null, revokedAt: null });

    const statements = await statementsOf(async () => {
      expect((await repos.users.credentialBySecretHash(secretHash))?.holder).toEqual(user);
      expect(await repos.users.byId(user.id)).toEqual(user);
      expect(await repos.users.byEmail(user.email)).toEqual(user);
      expect(await repos.users.listByOrganisation(organisationId)).toEqual([user]);
      expect(await repos.users.listCredentials(user.id)).toHaveLength(1);
    });

    expect(statements.length).toBeGreaterThanOrEqual(5);
    for (const statement of statements) {
      for (const column of SECRET_COLUMNS) expect(statement).not.toContain(`"${column}"`);
      expect(statement).not.toMatch(/\*/);
    }
    // The credential's own secret hash is what the holder is found by, and is never read back.
    const [holderLookup, ...others] = statements;
    expect(holderLookup).toMatch(/where "credentials"\."secret_hash" = /);
    expect(holderLookup!.split('"secret_hash"')).toHaveLength(2);
    for (const statement of others) expect(statement).not.toContain('"secret_hash"');
  });

  it('reads password hashes and MFA secrets of everyone only in the one statement meant for audit verify, and not recovery codes', async () => {
    const repos = t.store.repos;
    const statements = await statementsOf(async () => {
      expect(Array.isArray(await repos.users.everySignInSecret())).toBe(true);
    });
    expect(statements).toHaveLength(1);
    const [statement] = statements;
    for (const column of ['password_hash', 'mfa_secret', 'mfa_enabled']) expect(statement).toContain(`"${column}"`);
    for (const column of ['recovery_codes', 'totp_last_step', 'failed_sign_ins', 'locked_until']) expect(statement).not.toContain(`"${column}"`);
    expect(statement).not.toMatch(/\*/);
  });

  it('reads no SCIM token\'s secret hash when finding, showing or listing tokens', async () => {
    const repos = t.store.repos;
    const organisationId = randomUUID();
    await repos.organisations.insert({ id: organisationId, slug: `org-${randomBytes(4).toString('hex')}`, name: 'Council', kind: 'council', region: 'North', createdAt: '2026-11-01T09:00:00.000Z' });
    const token = { id: randomUUID(), organisationId, name: 'Entra ID', createdAt: '2026-11-01T09:00:00.000Z', createdBy: null, lastUsedAt: null, revokedAt: null };
    const secretHash = randomBytes(32).toString('hex');
    await repos.scim.insertToken({ ...token, secretHash });

    const statements = await statementsOf(async () => {
      expect(await repos.scim.tokenBySecretHash(secretHash)).toEqual({ ...token, sealed: true });
      expect(await repos.scim.token(token.id)).toEqual(token);
      expect(await repos.scim.tokens(organisationId)).toEqual([token]);
    });

    expect(statements).toHaveLength(3);
    const [byHash, ...others] = statements;
    expect(byHash).toMatch(/where "secret_hash" = /);
    expect(byHash!.split('"secret_hash"')).toHaveLength(2);
    for (const statement of statements) expect(statement).not.toMatch(/\*/);
    for (const statement of others) expect(statement).not.toContain('"secret_hash"');
  });
});
