// Port: SCIM provisioning as services see it: an organisation's bearer tokens (stored hashed), what the
// directory said about each person it provisions (externalId, name parts, removal), and its groups with
// their members. Part of the Store's repositories (domain/repositories.ts `scim`).

/** A provisioning token of one organisation; the secret itself is shown once and kept only as a hash. */
export interface ScimToken {
  id: string;
  organisationId: string;
  name: string;
  createdAt: string;
  /** The org admin who created it; null when the operator did (CLI). */
  createdBy: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What the directory says about a person beyond the account itself. */
export interface ScimPerson {
  userId: string;
  organisationId: string;
  externalId: string | null;
  givenName: string | null;
  familyName: string | null;
  updatedAt: string;
  /** Set by a SCIM DELETE: the account stays (switched off, for the audit trail) but SCIM no longer lists it. */
  removedAt: string | null;
}

export interface ScimGroup {
  id: string;
  organisationId: string;
  displayName: string;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ScimGroupQuery {
  id?: string;
  displayName?: string;
  externalId?: string;
}

export interface ScimRepository {
  insertToken(token: ScimToken & { secretHash: string }): Promise<void>;
  /** `sealed`: whether the row (id, organisation, secret hash) is what Strongroom wrote (sign-in-seals.ts). */
  tokenBySecretHash(secretHash: string): Promise<(ScimToken & { sealed: boolean }) | undefined>;
  /** Seals a token's row as it is: only for the upgrade to sign-in seals (services/sign-in-seal-upgrade.ts). */
  sealTokenAsFound(id: string): Promise<void>;
  token(id: string): Promise<ScimToken | undefined>;
  /** `token`, inside the caller's transaction, with its row held against a revocation until the commit (SQLite has one writer). */
  tokenHeld(id: string): Promise<ScimToken | undefined>;
  tokens(organisationId: string): Promise<ScimToken[]>;
  /** Every organisation's tokens not revoked, with their secret hashes: for `audit verify`. */
  usableTokens(): Promise<(ScimToken & { secretHash: string })[]>;
  /** False when the token does not exist or was already revoked. */
  revokeToken(id: string, at: string): Promise<boolean>;
  touchToken(id: string, at: string): Promise<void>;

  person(userId: string): Promise<ScimPerson | undefined>;
  /** Inserts or replaces what the directory said about a person. */
  savePerson(person: ScimPerson): Promise<void>;
  /** The organisation's people with this externalId (at most one unless the directory repeats itself). */
  peopleByExternalId(organisationId: string, externalId: string): Promise<ScimPerson[]>;
  /** The organisation's people SCIM removed (DELETE): not listed, and answered 404 by id. */
  removedUserIds(organisationId: string): Promise<string[]>;

  insertGroup(group: ScimGroup): Promise<void>;
  updateGroup(group: ScimGroup): Promise<void>;
  /** Removes the group and its memberships. */
  removeGroup(id: string): Promise<void>;
  group(id: string): Promise<ScimGroup | undefined>;
  /** The organisation's groups matching every field given, by display name then id. */
  groups(organisationId: string, query?: ScimGroupQuery): Promise<ScimGroup[]>;
  members(groupId: string): Promise<string[]>;
  addMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  removeMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  /** The groups a person is a member of. */
  groupsOf(userId: string): Promise<ScimGroup[]>;
}
