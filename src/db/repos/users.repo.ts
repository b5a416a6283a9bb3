// People and their credentials (API tokens, WebDAV app passwords). Every statement that writes what
// sign-in trusts (a password hash, the MFA state, a credential's row) writes its seal in the same statement
// (domain/identity/sign-in-seals.ts), so no writer can leave one out; reads for signing in say whether it matches.
import { sql, type Kysely } from 'kysely';
import type { CredentialRow, NewUser, SignInState, UserPatch, UsersRepository } from '../../domain/repositories.js';
import type { UnsealedSignInSecrets } from '../../domain/identity/account-repositories.js';
import type { SignInSeals } from '../../domain/identity/sign-in-seals.js';
import { AlreadyExistsError, IntegrityError } from '../../domain/errors.js';
import type { CredentialScope, DisabledBy, User } from '../../domain/types.js';
import type { DialectCaps } from '../kysely.js';
import { preparedQuery } from '../prepared-query.js';
import type { Schema } from '../schema.js';
import { violatesUnique } from '../unique-violations.js';
import { toUser, USER_COLUMNS } from './rows.js';

export type { CredentialRow, NewUser } from '../../domain/repositories.js';

/** The holder's columns in a join with another table, each named by its table. */
const QUALIFIED_USER_COLUMNS = USER_COLUMNS.map((column) => `users.${column}` as const);

/** Every request signed in by a token or app password asks this: one statement for both rows. */
const credentialAndHolder = preparedQuery((db, values: { secretHash: string }) =>
  db.selectFrom('credentials').innerJoin('users', 'users.id', 'credentials.user_id').select(QUALIFIED_USER_COLUMNS).select([
    'credentials.id as credential_id', 'credentials.kind as credential_kind', 'credentials.name as credential_name',
    'credentials.created_at as credential_created_at', 'credentials.last_used_at as credential_last_used_at', 'credentials.revoked_at as credential_revoked_at',
    'credentials.scope as credential_scope', 'credentials.seal as credential_seal',
  ]).where('credentials.secret_hash', '=', values.secretHash));

const CREDENTIAL_COLUMNS = ['id', 'user_id', 'kind', 'name', 'scope', 'created_at', 'last_used_at', 'revoked_at'] as const;

/** A stored scope as a CredentialScope: anything but 'full' (which Strongroom never writes otherwise) is read as 'read', the lesser. */
const asScope = (stored: string): CredentialScope => (stored === 'full' ? 'full' : 'read');

function toCredential(row: { id: string; user_id: string; kind: CredentialRow['kind']; name: string; scope: string; created_at: string; last_used_at: string | null; revoked_at: string | null }): CredentialRow {
  return {
    id: row.id, userId: row.user_id, kind: row.kind, name: row.name, scope: asScope(row.scope),
    createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at,
  };
}

/** What `everySignInSecret` gives for a stored TOTP secret that does not open: no binding covers it. */
const UNOPENABLE = 'unopenable:';

type MfaColumns = { mfa_enabled: number; mfa_secret: string | null; recovery_codes: string | null; mfa_seal: string | null };

/**
 * Two seals per person rather than one over everything: each writer of the password (creation, invitation,
 * change, rehash) and of the MFA state (set-up, reset, a recovery code spent) then seals only the columns it
 * writes, from values it holds, in one statement, and never needs to read and vouch for the other group.
 */
export class UsersRepo implements UsersRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly caps: DialectCaps, private readonly seals: SignInSeals) {}

  private mfaStateSealed(id: string, row: MfaColumns): boolean {
    return this.seals.matches(this.seals.mfa(id, row.mfa_enabled === 1, row.mfa_secret, row.recovery_codes), row.mfa_seal);
  }

  /** An address another request has just taken (users.email is unique): AlreadyExistsError, for the service to answer. */
  async insert(user: NewUser): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        id: user.id,
        organisation_id: user.organisationId,
        email: user.email,
        name: user.name,
        password_hash: user.passwordHash,
        roles: JSON.stringify(user.roles),
        teams: JSON.stringify(user.teams),
        clearance: user.clearance,
        mfa_enabled: 0,
        password_seal: this.seals.password(user.id, user.passwordHash),
        mfa_seal: this.seals.mfa(user.id, false, null, null),
        // A directory may create someone switched off (SCIM active=false): recorded as it says.
        disabled: user.disabled ? 1 : 0,
        disabled_by: user.disabled ? user.disabledBy ?? 'admin' : null,
        failed_sign_ins: 0,
        created_at: user.createdAt,
      })
      .execute()
      .catch((error: unknown) => {
        throw violatesUnique(error, 'users', 'email') ? new AlreadyExistsError('e-mail address', { cause: error }) : error;
      });
  }

  async byId(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async byIdHeld(id: string): Promise<User | undefined> {
    const query = this.db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id);
    // `for share`, not `for update`: every change decided within holds its person so (an upload among them), and
    // one person's transactions must not queue behind each other; an update of the row still waits for them.
    const row = await (this.caps.rowLocks ? query.modifyEnd(sql`for share`) : query).executeTakeFirst();
    return row && toUser(row);
  }

  async byEmail(email: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').select(USER_COLUMNS).where('email', '=', email.toLowerCase()).executeTakeFirst();
    return row && toUser(row);
  }

  async signInState(id: string): Promise<SignInState | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select(['password_hash', 'mfa_secret', 'mfa_enabled', 'recovery_codes', 'disabled', 'password_seal', 'mfa_seal'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const { password_seal, mfa_seal, ...state } = row;
    return { ...state, passwordSealed: this.seals.matches(this.seals.password(id, row.password_hash), password_seal), mfaSealed: this.mfaStateSealed(id, row) };
  }

  async mfaSealed(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select(['mfa_enabled', 'mfa_secret', 'recovery_codes', 'mfa_seal']).where('id', '=', id).executeTakeFirst();
    return row !== undefined && this.mfaStateSealed(id, row);
  }

  openTotpSecret(id: string, stored: string): string | null {
    return this.seals.openTotpSecret(id, stored);
  }

  /**
   * Accepts a TOTP time step for this person only if it is later than the last one accepted,
   * compared and set in one statement so two processes cannot both accept the same code.
   */
  async acceptTotpStep(id: string, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable('users').set({ totp_last_step: step })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Spends one recovery code (by hash): the number of codes it leaves, only for the one request that removes it
   * (null for the others). The list is
   * replaced only if it is still the list that was read, so two requests (or processes) presenting
   * the same code cannot both succeed; a different code spent meanwhile just means reading again.
   */
  async spendRecoveryCode(id: string, codeHash: string): Promise<number | null> {
    // Compare-and-set: a lost race means another spend changed the list first (it only shrinks, one
    // code at a time), so retrying is bounded by the codes there are; five tries refused a valid
    // code when three spends raced on a loaded machine.
    // Only from a sealed MFA state, re-sealed with the list it leaves, replacing only the state read (its seal).
    for (let attempt = 0; attempt < 50; attempt++) {
      const row = await this.db.selectFrom('users').select(['recovery_codes', 'mfa_enabled', 'mfa_secret', 'mfa_seal']).where('id', '=', id).executeTakeFirst();
      if (!row?.recovery_codes || row.mfa_seal === null || !this.mfaStateSealed(id, row)) return null;
      const codes = JSON.parse(row.recovery_codes) as string[];
      if (!codes.includes(codeHash)) return null;
      const remaining = codes.filter((c) => c !== codeHash);
      const left = JSON.stringify(remaining);
      const result = await this.db
        .updateTable('users').set({ recovery_codes: left, mfa_seal: this.seals.mfa(id, row.mfa_enabled === 1, row.mfa_secret, left) })
        .where('id', '=', id).where('recovery_codes', '=', row.recovery_codes).where('mfa_seal', '=', row.mfa_seal)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) > 0) return remaining.length;
    }
    return null;
  }

  async listByOrganisation(organisationId: string): Promise<User[]> {
    return (await this.db.selectFrom('users').select(USER_COLUMNS).where('organisation_id', '=', organisationId).orderBy('name').execute()).map(toUser);
  }

  async update(id: string, patch: UserPatch): Promise<void> {
    const set: Record<string, unknown> = {};
    if (patch.email !== undefined) set.email = patch.email.toLowerCase();
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.roles !== undefined) set.roles = JSON.stringify(patch.roles);
    if (patch.teams !== undefined) set.teams = JSON.stringify(patch.teams);
    if (patch.clearance !== undefined) set.clearance = patch.clearance;
    if (patch.disabled !== undefined) {
      set.disabled = patch.disabled ? 1 : 0;
      set.disabled_by = patch.disabled ? patch.disabledBy ?? 'admin' : null;
    }
    if (patch.passwordHash !== undefined) {
      set.password_hash = patch.passwordHash;
      set.password_seal = this.seals.password(id, patch.passwordHash);
    }
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('users').set(set).where('id', '=', id).execute();
  }

  async enableMfa(id: string, secret: string, recoveryCodes: string): Promise<boolean> {
    const stored = this.seals.sealTotpSecret(id, secret);
    const result = await this.db.updateTable('users').set({ mfa_secret: stored, mfa_enabled: 1, recovery_codes: recoveryCodes, mfa_seal: this.seals.mfa(id, true, stored, recoveryCodes) })
      .where('id', '=', id).where('mfa_enabled', '=', 0).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async resetMfa(id: string): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ mfa_secret: null, mfa_enabled: 0, recovery_codes: null, mfa_seal: this.seals.mfa(id, false, null, null) })
      .where('id', '=', id).where((eb) => eb.or([eb('mfa_enabled', '=', 1), eb('mfa_secret', 'is not', null), eb('recovery_codes', 'is not', null)])).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async enableIfDisabledBy(id: string, by?: DisabledBy): Promise<boolean> {
    let query = this.db.updateTable('users').set({ disabled: 0, disabled_by: null }).where('id', '=', id).where('disabled', '=', 1);
    if (by !== undefined) query = query.where('disabled_by', '=', by);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async rehashPassword(id: string, previous: string, next: string): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ password_hash: next, password_seal: this.seals.password(id, next) })
      .where('id', '=', id).where('password_hash', '=', previous).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insertCredential(row: CredentialRow & { secretHash: string }): Promise<void> {
    await this.db
      .insertInto('credentials')
      .values({
        id: row.id, user_id: row.userId, kind: row.kind, name: row.name, secret_hash: row.secretHash,
        created_at: row.createdAt, last_used_at: null, revoked_at: null, scope: row.scope, seal: this.seals.credential({ ...row, revoked: false }),
      })
      .execute();
  }

  async credentialBySecretHash(secretHash: string): Promise<{ credential: CredentialRow; holder: User; sealed: boolean } | undefined> {
    const [row] = (await credentialAndHolder.run(this.db, { secretHash })).rows;
    if (!row) return undefined;
    // The row was found by this secret hash: sealed over it, not over one read back. A scope Strongroom never
    // writes is no scope of a sealed row (and is read as 'read', the lesser, should anything look at it).
    const scope = asScope(row.credential_scope);
    const sealed = scope === row.credential_scope
      && this.seals.matches(this.seals.credential({ id: row.credential_id, userId: row.id, kind: row.credential_kind, secretHash, revoked: row.credential_revoked_at !== null, scope }), row.credential_seal);
    return {
      sealed,
      credential: {
        id: row.credential_id, userId: row.id, kind: row.credential_kind, name: row.credential_name, scope,
        createdAt: row.credential_created_at, lastUsedAt: row.credential_last_used_at, revokedAt: row.credential_revoked_at,
      },
      holder: toUser(row),
    };
  }

  async credentialById(id: string): Promise<CredentialRow | undefined> {
    const row = await this.db.selectFrom('credentials').select(CREDENTIAL_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row && toCredential(row);
  }

  async listCredentials(userId: string): Promise<CredentialRow[]> {
    const rows = await this.db.selectFrom('credentials').select(CREDENTIAL_COLUMNS).where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map(toCredential);
  }

  /** Every credential not revoked, with its secret hash: for sealing those found when sign-in seals came (no scope column yet). */
  async usableCredentials(): Promise<{ id: string; userId: string; kind: string; secretHash: string }[]> {
    const rows = await this.db.selectFrom('credentials').select(['id', 'user_id', 'kind', 'secret_hash']).where('revoked_at', 'is', null).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, userId: r.user_id, kind: r.kind, secretHash: r.secret_hash }));
  }

  /** The same with each one's scope as stored: for `audit verify` only. */
  async usableCredentialsWithScope(): Promise<{ id: string; userId: string; kind: string; secretHash: string; scope: string }[]> {
    const rows = await this.db.selectFrom('credentials').select(['id', 'user_id', 'kind', 'secret_hash', 'scope']).where('revoked_at', 'is', null).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, userId: r.user_id, kind: r.kind, secretHash: r.secret_hash, scope: r.scope }));
  }

  /** Everyone, in every organisation, oldest first: for `audit verify` and the people's baseline only. */
  async everyone(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').select(USER_COLUMNS).orderBy('created_at').orderBy('id').execute();
    return rows.map((row) => {
      try {
        return toUser(row);
      } catch (cause) {
        // Roles or teams that are not JSON: only ever written by hand; verify says so rather than failing.
        throw new IntegrityError(`person ${row.id}'s roles or teams cannot be read: they were written into the database directly, not by Strongroom`, { cause });
      }
    });
  }

  /** Everyone's password hash and MFA state: for `audit verify` only (the port says why). */
  async everySignInSecret(): Promise<{ id: string; organisationId: string; passwordHash: string | null; mfaEnabled: boolean; mfaSecret: string | null }[]> {
    const rows = await this.db.selectFrom('users').select(['id', 'organisation_id', 'password_hash', 'mfa_enabled', 'mfa_secret']).orderBy('id').execute();
    return rows.map((r) => ({
      id: r.id, organisationId: r.organisation_id, passwordHash: r.password_hash, mfaEnabled: r.mfa_enabled === 1,
      mfaSecret: r.mfa_secret === null ? null : this.seals.openTotpSecret(r.id, r.mfa_secret) ?? `${UNOPENABLE}${r.mfa_secret}`,
    }));
  }

  async unsealedSignInSecrets(): Promise<UnsealedSignInSecrets[]> {
    const rows = await this.db.selectFrom('users').select(['id', 'organisation_id', 'password_hash', 'mfa_enabled', 'mfa_secret']).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, organisationId: r.organisation_id, passwordHash: r.password_hash, mfaEnabled: r.mfa_enabled === 1, mfaSecret: r.mfa_secret }));
  }

  async sealAsFound(id: string, what: { password: boolean; mfa: boolean }): Promise<void> {
    const row = await this.db.selectFrom('users').select(['password_hash', 'mfa_enabled', 'mfa_secret', 'recovery_codes']).where('id', '=', id).executeTakeFirst();
    if (!row) return;
    const set: Record<string, unknown> = {};
    if (what.password) set.password_seal = this.seals.password(id, row.password_hash);
    if (what.mfa) {
      const stored = row.mfa_secret === null ? null : this.seals.sealTotpSecret(id, row.mfa_secret);
      Object.assign(set, { mfa_secret: stored, mfa_seal: this.seals.mfa(id, row.mfa_enabled === 1, stored, row.recovery_codes) });
    }
    if (Object.keys(set).length > 0) await this.db.updateTable('users').set(set).where('id', '=', id).execute();
  }

  async sealCredentialAsFound(id: string, scope: CredentialScope): Promise<void> {
    const row = await this.db.selectFrom('credentials').select(['id', 'user_id', 'kind', 'secret_hash', 'revoked_at']).where('id', '=', id).executeTakeFirst();
    if (!row) return;
    // With the scope its creation recorded, not the row's (the port says why).
    const seal = this.seals.credential({ id: row.id, userId: row.user_id, kind: row.kind, secretHash: row.secret_hash, revoked: row.revoked_at !== null, scope });
    await this.db.updateTable('credentials').set({ seal }).where('id', '=', id).execute();
  }

  async lock(id: string): Promise<void> {
    // An update that sets nothing new: PostgreSQL keeps the row locked to the transaction (SQLite has one writer anyway).
    await this.db.updateTable('users').set((eb) => ({ name: eb.ref('name') })).where('id', '=', id).execute();
  }

  /**
   * Revoked and sealed as revoked in one statement, so writing `revoked_at` back to null breaks the seal. The
   * seal is over the row as read, and the statement changes it only while it is still that row.
   */
  async revokeCredential(id: string, at: string): Promise<void> {
    const row = await this.db.selectFrom('credentials').select(['id', 'user_id', 'kind', 'secret_hash', 'scope']).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    if (!row) return;
    const seal = this.seals.credential({ id: row.id, userId: row.user_id, kind: row.kind, secretHash: row.secret_hash, revoked: true, scope: asScope(row.scope) });
    await this.db.updateTable('credentials').set({ revoked_at: at, seal })
      .where('id', '=', id).where('revoked_at', 'is', null).where('user_id', '=', row.user_id).where('kind', '=', row.kind).where('secret_hash', '=', row.secret_hash).where('scope', '=', row.scope).execute();
  }
}
