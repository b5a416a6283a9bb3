// Table types of people and how they sign in: accounts, credentials, web sessions, sign-in throttles,
// identity federation (providers, linked identities, group mappings, single-use values) and SCIM.
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  organisation_id: string;
  email: string;
  name: string;
  password_hash: string | null;
  roles: string;
  teams: string;
  clearance: string;
  mfa_secret: string | null;
  mfa_enabled: number;
  recovery_codes: string | null;
  disabled: number;
  /** While disabled: 'admin' (an org admin or the operator) or 'directory' (SCIM); null while enabled. */
  disabled_by: string | null;
  failed_sign_ins: number;
  /** No longer written: sign-in throttling lives in sign_in_throttles and never locks an account. */
  locked_until: string | null;
  /** The 30-second TOTP step last accepted for this person; a code at or before it is a replay. */
  totp_last_step: number | null;
  created_at: string;
  /** HMAC over the person and password_hash (domain/identity/sign-in-seals.ts); null: never sealed, signs nobody in. */
  password_seal: string | null;
  /** HMAC over the person and mfa_enabled, mfa_secret (sealed since 202612150000_sign_in_seals) and recovery_codes; null: never sealed. */
  mfa_seal: string | null;
}

export interface CredentialsTable {
  id: string;
  user_id: string;
  kind: 'api_token' | 'app_password';
  name: string;
  secret_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** What it may do: 'full' or 'read' (domain/types.ts CredentialScope); covered by the seal when it is 'read'. */
  scope: Generated<string>;
  /** HMAC over id, user_id, kind, secret_hash, revocation and a 'read' scope (domain/identity/sign-in-seals.ts); null: never sealed, authenticates nobody. */
  seal: string | null;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  stage: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  /** 1 when the identity provider vouched for the second factor at sign-in. */
  provider_mfa: number;
}

/** Failed sign-in attempts counted per key (address, account at address, account) in a fixed window. */
export interface SignInThrottlesTable {
  key: string;
  failures: number;
  window_ends_at: string;
}

/** Identity federation (migration 202612040000_identity_federation). */
export interface IdentityProvidersTable {
  id: string;
  organisation_id: string;
  kind: string;
  name: string;
  enabled: number;
  /** JSON: OidcSettings or SamlSettings, by kind. */
  settings: string;
  sealed_secret: Buffer | null;
  create_accounts: number;
  groups_claim: string | null;
  mfa_amr_values: string;
  mfa_acr_values: string;
  created_at: string;
  updated_at: string;
  /** HMAC over what federated sign-in trusts of the row, sealed secret included (domain/identity/sign-in-seals.ts); null: never sealed, signs nobody in. */
  seal: string | null;
}

export interface ExternalIdentitiesTable {
  provider_id: string;
  subject: string;
  user_id: string;
  linked_at: string;
  /** HMAC over provider_id, subject and user_id (domain/identity/sign-in-seals.ts); null: never sealed, signs nobody in. */
  seal: string | null;
}

export interface GroupMappingsTable {
  organisation_id: string;
  group_name: string;
  roles: string;
  teams: string;
  clearance: string | null;
}

export interface SingleUseValuesTable {
  key: string;
  expires_at: string;
}

/** SCIM provisioning (migration 202612040200_scim). */
export interface ScimTokensTable {
  id: string;
  organisation_id: string;
  name: string;
  secret_hash: string;
  created_at: string;
  created_by: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  /** HMAC over id, organisation_id and secret_hash (domain/identity/sign-in-seals.ts); null: never sealed, authenticates nobody. */
  seal: string | null;
}

export interface ScimPeopleTable {
  user_id: string;
  organisation_id: string;
  external_id: string | null;
  given_name: string | null;
  family_name: string | null;
  updated_at: string;
  removed_at: string | null;
}

export interface ScimGroupsTable {
  id: string;
  organisation_id: string;
  display_name: string;
  external_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface ScimGroupMembersTable {
  group_id: string;
  user_id: string;
}
