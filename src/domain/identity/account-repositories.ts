// Ports: people's accounts as services see them: the person, their credentials, their web sessions
// and the sign-in throttle counters. Part of the Store's repositories (domain/repositories.ts `users`,
// `sessions`, `signInThrottles`).
import type { Classification, CredentialScope, DisabledBy, Role, User } from '../types.js';

export interface NewUser extends User {
  passwordHash: string | null;
}

export interface CredentialRow {
  id: string;
  userId: string;
  kind: 'api_token' | 'app_password';
  name: string;
  /** What it may do; on a row read back, as stored (credentialBySecretHash's `sealed` says whether it is what Strongroom wrote). */
  scope: CredentialScope;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What signing in needs about a person beyond `User` (column names as stored). */
export interface SignInState {
  password_hash: string | null;
  /** As stored: sealed (UsersRepository.openTotpSecret opens it where a code is checked). */
  mfa_secret: string | null;
  mfa_enabled: number;
  recovery_codes: string | null;
  disabled: number;
  /**
   * Whether the password hash, and the MFA state (flag, secret, recovery codes), are what Strongroom wrote:
   * their seals match (sign-in-seals.ts). False: written into the database directly, or never sealed; such a
   * state signs nobody in.
   */
  passwordSealed: boolean;
  mfaSealed: boolean;
}

/** A person's sign-in secrets as stored, seals aside: for sealing the rows that existed before seals (services/sign-in-seal-upgrade.ts). */
export interface UnsealedSignInSecrets {
  id: string;
  organisationId: string;
  passwordHash: string | null;
  mfaEnabled: boolean;
  /** In clear, as it was stored before seals. */
  mfaSecret: string | null;
}

export type UserPatch = Partial<{
  /** Lower-cased by the caller (SCIM renames people when the directory changes their userName). */
  email: string;
  name: string; roles: Role[]; teams: string[]; clearance: Classification;
  /**
   * Switching off records who did it (`disabledBy`, 'admin' when not given: the safe side, as only an
   * org admin undoes that); switching on clears it.
   */
  disabled: boolean; disabledBy: DisabledBy;
  /** Null: no password, as an admin's reset leaves it (sealed in the same statement like any hash, so it reads as "no password yet"). */
  passwordHash: string | null;
}>;

export interface UsersRepository {
  insert(user: NewUser): Promise<void>;
  byId(id: string): Promise<User | undefined>;
  /**
   * `byId` inside the caller's transaction, with the row held against change until it ends (share-locked on
   * PostgreSQL in the same read; SQLite has one writer): a change to the person (switched off, roles, teams,
   * clearance) waits for this commit, while other transactions holding it the same way do not wait for each other.
   */
  byIdHeld(id: string): Promise<User | undefined>;
  /** Case-insensitive: e-mail addresses are stored lower-cased. */
  byEmail(email: string): Promise<User | undefined>;
  signInState(id: string): Promise<SignInState | undefined>;
  /** True only if `step` is later than the last TOTP step accepted for this person (one statement: no replay across processes). */
  acceptTotpStep(id: string, step: number): Promise<boolean>;
  /**
   * Turns MFA on with this secret and these recovery-code hashes, only if it is still off (one statement: of
   * two set-ups confirmed at once, or one confirmed after another, one wins). True if it was turned on.
   */
  enableMfa(id: string, secret: string, recoveryCodes: string): Promise<boolean>;
  /** Whether the person's MFA state (SignInState) is what Strongroom wrote: the one read of it that needs no secret outside this repository. */
  mfaSealed(id: string): Promise<boolean>;
  /**
   * Turns MFA off: no secret, no recovery codes (an admin's reset); sealed like every write of the MFA state.
   * True when there was something to clear (MFA on, or a secret or recovery codes stored); false when it was
   * already off and nothing was written, so a repeated reset tells nobody and records no change.
   */
  resetMfa(id: string): Promise<boolean>;
  /** The TOTP secret in a stored `mfa_secret`, or null when it is not one sealed for this person. No I/O. */
  openTotpSecret(id: string, stored: string): string | null;
  /** For the one caller that removes this recovery code (by hash): how many codes are left after it; null for every other caller. */
  spendRecoveryCode(id: string, codeHash: string): Promise<number | null>;
  listByOrganisation(organisationId: string): Promise<User[]>;
  update(id: string, patch: UserPatch): Promise<void>;
  /**
   * Switches the account on only if it is still switched off by `by`, or by anyone when `by` is not given (one
   * statement: an admin's switching off that lands meanwhile is never undone by the directory). True if it was
   * switched on by this call, so of two switching it on at once only one is told it did (and tells the person).
   */
  enableIfDisabledBy(id: string, by?: DisabledBy): Promise<boolean>;
  /** Replaces the password hash only if it is still `previous` (a hash upgraded at sign-in never overwrites a password changed meanwhile). */
  rehashPassword(id: string, previous: string, next: string): Promise<boolean>;
  insertCredential(row: CredentialRow & { secretHash: string }): Promise<void>;
  /**
   * The credential with that secret hash and the person it belongs to, as `byId` gives them; `sealed`: whether
   * the credential's row (its id, person, kind, secret hash, revocation and scope) is what Strongroom wrote
   * (sign-in-seals.ts); a scope that is none Strongroom writes is not sealed.
   */
  credentialBySecretHash(secretHash: string): Promise<{ credential: CredentialRow; holder: User; sealed: boolean } | undefined>;
  /** One credential by id (its primary key), revoked or not: whether a request's credential still holds. */
  credentialById(id: string): Promise<CredentialRow | undefined>;
  listCredentials(userId: string): Promise<CredentialRow[]>;
  /**
   * Every credential not revoked, with its secret hash: for sealing those found when sign-in seals came (a
   * migration that runs before credentials had a scope, so it reads none).
   */
  usableCredentials(): Promise<{ id: string; userId: string; kind: string; secretHash: string }[]>;
  /** The same with each one's scope as stored (not read as a CredentialScope: a hand-written one shows as written): for `audit verify` only. */
  usableCredentialsWithScope(): Promise<{ id: string; userId: string; kind: string; secretHash: string; scope: string }[]>;
  /** Everyone, in every organisation, oldest first: for `audit verify` and the people's baseline only. */
  everyone(): Promise<User[]>;
  /**
   * Everyone's password hash and MFA state (flag and secret, opened: in clear, as the audit bindings cover
   * it; a stored secret that does not open is given as an `unopenable:` value no binding covers), by id: for
   * `audit verify` only, which checks them against their recorded writes. Nothing else reads secrets of more than the one person signing in.
   */
  everySignInSecret(): Promise<{ id: string; organisationId: string; passwordHash: string | null; mfaEnabled: boolean; mfaSecret: string | null }[]>;
  /**
   * Everyone's sign-in secrets as the rows before seals hold them, and their credentials not revoked: read
   * only by the open that applies the seals' migration, in its transaction, to seal what `audit verify`'s
   * rules vouch for (services/sign-in-seal-upgrade.ts).
   */
  unsealedSignInSecrets(): Promise<UnsealedSignInSecrets[]>;
  /** Seals the person's password hash and (`mfa`) MFA state as they are, encrypting a TOTP secret stored in clear. */
  sealAsFound(id: string, what: { password: boolean; mfa: boolean }): Promise<void>;
  /**
   * Seals a credential's row as it is, with `scope`: the scope its creation recorded (audit/credential-record.ts),
   * never the row's, which the sealing does not read (the seals' migration may run before the scope column exists,
   * and a scope written by hand must not be sealed). Only the open that applies the seals' migration calls it.
   */
  sealCredentialAsFound(id: string, scope: CredentialScope): Promise<void>;
  /** Holds the person's row until the caller's transaction ends (changing nothing), so what it reads of them next is what commits. */
  lock(id: string): Promise<void>;
  revokeCredential(id: string, at: string): Promise<void>;
}

export interface SessionRow {
  idHash: string;
  userId: string;
  csrfToken: string;
  /** 'mfa' while the second factor is still owed, 'mfa_setup' while it must be set up, 'active' after. */
  stage: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  /** The identity provider vouched for the second factor at sign-in (a trusted `amr`/`acr` value). */
  providerMfa: boolean;
}

export interface SessionsRepository {
  insert(s: SessionRow): Promise<void>;
  byHash(idHash: string): Promise<SessionRow | undefined>;
  touch(idHash: string, at: string): Promise<void>;
  setStage(idHash: string, stage: string): Promise<void>;
  /** True only for the one caller that removed it (a session ended meanwhile, or claimed by another request, gives false). */
  delete(idHash: string): Promise<boolean>;
  /** Ends every web session of the person; returns how many there were. */
  deleteForUser(userId: string): Promise<number>;
  /** Ends every session of the organisation's people that its identity provider's MFA signed in; returns how many. */
  deleteProviderMfaIn(organisationId: string): Promise<number>;
}

/** The place one attempt took in a throttle counter, and the window it holds that place in. */
export interface ThrottlePlace {
  key: string;
  /** 1 for the first attempt of the window: every attempt counted before this one, plus this one. */
  place: number;
  windowEndsAt: string;
}

export interface SignInThrottlesRepository {
  /** Failures counted in each key's current window; keys without one (or whose window ended) count 0. */
  failures(keys: string[], now: string): Promise<Map<string, number>>;
  /**
   * Counts one attempt against a key and says where it stands, in one statement, so attempts made at
   * the same moment (in any process) each get a different place; an ended window starts afresh.
   */
  takePlace(key: string, now: string, windowEndsAt: string): Promise<ThrottlePlace>;
  /** Gives a place back (one attempt uncounted), only in the window it was taken in. */
  givePlaceBack(place: ThrottlePlace): Promise<void>;
  clear(key: string): Promise<void>;
  /** Deletes counters whose window has ended; returns how many. */
  sweep(now: string): Promise<number>;
}
