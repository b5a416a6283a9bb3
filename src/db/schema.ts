// Kysely table types. Times are ISO-8601 UTC text on both dialects (sortable, no driver surprises);
// booleans are 0/1 integers; lists are JSON text.
import type { Generated } from 'kysely';

export interface OrganisationsTable {
  id: string;
  slug: string;
  name: string;
  kind: string;
  region: string;
  file_policy: string | null;
  created_at: string;
}

/** An organisation's own header brand (migration 202612040400_organisation_branding). */
export interface OrganisationBrandingTable {
  organisation_id: string;
  display_name: string | null;
  colour: string | null;
  logo: Buffer | null;
  logo_type: string | null;
  logo_sha256: string | null;
  logo_width: number | null;
  logo_height: number | null;
  updated_at: string;
  updated_by: string | null;
}

export interface OrganisationKeysTable {
  id: string;
  organisation_id: string;
  wrapped: Buffer;
  created_at: string;
  retired_at: string | null;
}

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
  failed_sign_ins: number;
  /** No longer written: sign-in throttling lives in sign_in_throttles and never locks an account. */
  locked_until: string | null;
  /** The 30-second TOTP step last accepted for this person; a code at or before it is a replay. */
  totp_last_step: number | null;
  created_at: string;
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
}

export interface CollectionsTable {
  id: string;
  organisation_id: string;
  parent_id: string | null;
  name: string;
  service_area: string;
  classification: string;
  arrangement_id: string | null;
  created_at: string;
  deleted_at: string | null;
  /** The record series filed here (inherited by everything below that has none of its own). */
  series_code: string | null;
}

export interface DocumentsTable {
  id: string;
  organisation_id: string;
  collection_id: string;
  name: string;
  classification: string;
  service_area: string;
  status: string;
  current_version: number;
  current_version_id: string;
  /** No longer written (holds live in legal_holds); kept because shipped migrations are never edited. */
  legal_hold: number;
  arrangement_id: string | null;
  /** The document's own record series, set by a records manager; null: its collection's. */
  series_code: string | null;
  /** An extension set at disposal review: the new due date (YYYY-MM-DD). */
  retain_until: string | null;
  /** Set on a copy: the document it was copied from. */
  copied_from_document_id: string | null;
  /** Set on a copy read from another organisation: the arrangement that allowed it. */
  copied_via_arrangement_id: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface VersionsTable {
  id: string;
  document_id: string;
  organisation_id: string;
  number: number;
  size: number;
  sha256: string;
  media_type: string;
  blob_id: string;
  wrapped_key: Buffer | null;
  key_id: string;
  scan_status: string;
  scan_detail: string | null;
  scan_engine: string | null;
  scanned_at: string | null;
  author_id: string | null;
  created_at: string;
  /** domain/search TextStatus; 'pending' from commit until the extract-text job ends it. */
  text_status: Generated<string>;
  text_reason: string | null;
  /** The first-page thumbnail, encrypted under its own data key (binding versionId `${id}:thumbnail`). */
  thumbnail_blob_id: string | null;
  thumbnail_wrapped_key: Buffer | null;
  thumbnail_key_id: string | null;
  thumbnail_size: number | null;
  /** When the source file was last modified (ISO 8601), as `strongroom import` or the uploader gave it. */
  source_modified_at: string | null;
}

export interface ArrangementsTable {
  id: string;
  host_organisation_id: string;
  service_area: string;
  purpose: string;
  lawful_basis: string;
  agreement_reference: string | null;
  access_level: string;
  ceiling: string;
  starts_at: string;
  ends_at: string | null;
  annual_saving_pounds: number;
  status: string;
  revision: number;
  terms_revision: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ArrangementPartiesTable {
  arrangement_id: string;
  organisation_id: string;
  accepted_at: string | null;
  accepted_by: string | null;
}

export interface ArrangementRevisionsTable {
  arrangement_id: string;
  revision: number;
  change: string;
  snapshot: string;
  changed_by: string | null;
  changed_at: string;
}

export interface AuditEventsTable {
  id: Generated<number>;
  seq: number | null;
  leaf_hash: Buffer | null;
  time: string;
  actor_user_id: string | null;
  actor_organisation_id: string | null;
  action: string;
  target_organisation_id: string | null;
  target_ids: string;
  /** Copied from target_ids so a document's access history is an indexed look-up. */
  document_id: string | null;
  decision: string;
  reason: string;
  arrangement_id: string | null;
  channel: string;
  client_address: string | null;
  request_id: string | null;
  /** eventSeal() of the event as the service wrote it; null only for events written before seals. */
  seal: string | null;
}

export interface AuditTreeNodesTable {
  level: number;
  idx: number;
  hash: Buffer;
}

export interface AuditCheckpointsTable {
  tree_size: number;
  root_hash: Buffer;
  note: string;
  created_at: string;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  run_at: string;
  attempts: number;
  max_attempts: number;
  lease_until: string | null;
  last_error: string | null;
  status: string;
  created_at: string;
  finished_at: string | null;
  /** At most one queued or running job per key (partial unique index). */
  unique_key: string | null;
}

export interface NotificationsTable {
  id: string;
  user_id: string;
  organisation_id: string;
  kind: string;
  document_id: string | null;
  version_id: string | null;
  message: string;
  created_at: string;
  read_at: string | null;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  stage: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

/** Failed sign-in attempts counted per key (address, account at address, account) in a fixed window. */
export interface SignInThrottlesTable {
  key: string;
  failures: number;
  window_ends_at: string;
}

export interface DeadPropertiesTable {
  document_id: string;
  namespace: string;
  name: string;
  value: string;
}

export interface ResourceLocksTable {
  token: string;
  organisation_id: string;
  document_id: string | null;
  collection_id: string | null;
  depth: string;
  scope: string;
  user_id: string;
  owner: string | null;
  root_path: string;
  timeout_seconds: number;
  expires_at: string;
  created_at: string;
}

/** One upload in progress in some process: held while its body arrives, renewed until then. */
export interface UploadSlotsTable {
  id: string;
  /** The process that holds it (random per process), for diagnosis. */
  holder: string;
  account_id: string | null;
  client_address: string | null;
  organisation_id: string;
  acquired_at: string;
  expires_at: string;
}

/** One row (id 1), locked by each admission so that counting and taking a slot are one step. */
export interface UploadAdmissionTable {
  id: number;
  admissions: number;
}

export interface KeyValueTable {
  key: string;
  value: string;
}

export interface Schema {
  organisations: OrganisationsTable;
  organisation_keys: OrganisationKeysTable;
  organisation_branding: OrganisationBrandingTable;
  users: UsersTable;
  credentials: CredentialsTable;
  collections: CollectionsTable;
  documents: DocumentsTable;
  versions: VersionsTable;
  arrangements: ArrangementsTable;
  arrangement_parties: ArrangementPartiesTable;
  arrangement_revisions: ArrangementRevisionsTable;
  audit_events: AuditEventsTable;
  audit_tree_nodes: AuditTreeNodesTable;
  audit_checkpoints: AuditCheckpointsTable;
  jobs: JobsTable;
  notifications: NotificationsTable;
  sessions: SessionsTable;
  sign_in_throttles: SignInThrottlesTable;
  dead_properties: DeadPropertiesTable;
  resource_locks: ResourceLocksTable;
  key_values: KeyValueTable;
  upload_slots: UploadSlotsTable;
  upload_admission: UploadAdmissionTable;
  record_series: RecordSeriesTable;
  record_series_revisions: RecordSeriesRevisionsTable;
  retention_events: RetentionEventsTable;
  legal_holds: LegalHoldsTable;
  legal_hold_items: LegalHoldItemsTable;
  disposal_batches: DisposalBatchesTable;
  disposal_items: DisposalItemsTable;
  disposal_certificates: DisposalCertificatesTable;
  disposal_stubs: DisposalStubsTable;
  blob_replicas: BlobReplicasTable;
  identity_providers: IdentityProvidersTable;
  external_identities: ExternalIdentitiesTable;
  group_mappings: GroupMappingsTable;
  single_use_values: SingleUseValuesTable;
  organisation_email_domains: OrganisationEmailDomainsTable;
  mail_preferences: MailPreferencesTable;
  invitations: InvitationsTable;
  scim_tokens: ScimTokensTable;
  scim_people: ScimPeopleTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
}

export interface MailPreferencesTable {
  user_id: string;
  non_essential_opt_out: number;
  updated_at: string;
}

export interface InvitationsTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface RecordSeriesTable {
  organisation_id: string;
  code: string;
  title: string;
  service_area: string;
  trigger: string;
  retain_years: number;
  action: string;
  authority: string;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface RecordSeriesRevisionsTable {
  organisation_id: string;
  code: string;
  revision: number;
  /** JSON of the series as set by this revision. */
  snapshot: string;
  reason: string;
  changed_by: string | null;
  changed_at: string;
}

export interface RetentionEventsTable {
  id: string;
  organisation_id: string;
  kind: string;
  /** YYYY-MM-DD. */
  event_date: string;
  document_id: string | null;
  collection_id: string | null;
  recorded_by: string | null;
  recorded_at: string;
  cleared_at: string | null;
  cleared_by: string | null;
}

export interface LegalHoldsTable {
  id: string;
  organisation_id: string;
  name: string;
  reason: string;
  reference: string | null;
  created_by: string | null;
  created_at: string;
  released_at: string | null;
  released_by: string | null;
  release_reason: string | null;
}

export interface LegalHoldItemsTable {
  id: string;
  hold_id: string;
  organisation_id: string;
  document_id: string | null;
  collection_id: string | null;
  added_by: string | null;
  added_at: string;
}

export interface DisposalBatchesTable {
  id: string;
  organisation_id: string;
  status: string;
  due_by: string;
  created_at: string;
  created_by: string | null;
  approved_at: string | null;
  approved_by: string | null;
  executed_at: string | null;
  certificate_id: string | null;
}

export interface DisposalItemsTable {
  batch_id: string;
  document_id: string;
  series_code: string;
  trigger: string;
  trigger_date: string;
  due_at: string;
  action: string;
  /** JSON: the holds ({id, name}) that excluded the item when it was proposed; [] if none. */
  excluded_by: string;
  decision: string;
  decided_by: string | null;
  decided_at: string | null;
  extend_to: string | null;
  reason: string | null;
  outcome: string | null;
  executed_at: string | null;
}

export interface DisposalCertificatesTable {
  id: string;
  batch_id: string;
  organisation_id: string;
  issued_at: string;
  body: string;
}

export interface DisposalStubsTable {
  document_id: string;
  organisation_id: string;
  series_code: string;
  created_at: string;
  disposed_at: string;
  name_sha256: string;
  total_bytes: number;
  version_count: number;
  batch_id: string | null;
  certificate_id: string | null;
}

/** The offsite replica's ledger (migration 202612020600_blob_replicas). */
export interface BlobReplicasTable {
  blob_id: string;
  version_id: string;
  replicated_at: string | null;
  deleted_at: string | null;
  delete_refused: string | null;
  scrubbed_at: string | null;
  unrecoverable_at: string | null;
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
}

export interface ExternalIdentitiesTable {
  provider_id: string;
  subject: string;
  user_id: string;
  linked_at: string;
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

/** The e-mail domains the operator assigned to each organisation (just-in-time accounts only inside them). */
export interface OrganisationEmailDomainsTable {
  domain: string;
  organisation_id: string;
  added_at: string;
}
