// Kysely table types. Times are ISO-8601 UTC text on both dialects (sortable, no driver surprises);
// booleans are 0/1 integers; lists are JSON text. The tables are declared by area in schema/ and
// re-exported here, so `Schema`, the whole database, stays in one place.
import type {
  OrganisationBrandingTable,
  OrganisationEmailDomainsTable,
  OrganisationKeysTable,
  OrganisationsTable,
} from './schema/organisations.js';
import type {
  CredentialsTable,
  ExternalIdentitiesTable,
  GroupMappingsTable,
  IdentityProvidersTable,
  ScimGroupMembersTable,
  ScimGroupsTable,
  ScimPeopleTable,
  ScimTokensTable,
  SessionsTable,
  SignInThrottlesTable,
  SingleUseValuesTable,
  UsersTable,
} from './schema/identity.js';
import type {
  BlobReplicasTable,
  CollectionsTable,
  DeadPropertiesTable,
  DocumentsTable,
  OrphanBlobCandidatesTable,
  ResourceLocksTable,
  UploadAdmissionTable,
  UploadSlotsTable,
  VersionsTable,
} from './schema/documents.js';
import type { ArrangementPartiesTable, ArrangementRevisionsTable, ArrangementsTable } from './schema/arrangements.js';
import type { AuditCheckpointsTable, AuditEventsTable, AuditTreeNodesTable } from './schema/audit.js';
import type {
  DisposalBatchesTable,
  DisposalCertificatesTable,
  DisposalItemsTable,
  DisposalStubsTable,
  LegalHoldItemsTable,
  LegalHoldsTable,
  RecordSeriesRevisionsTable,
  RecordSeriesTable,
  RetentionEventsTable,
  SubjectAccessItemsTable,
  SubjectAccessPartsTable,
  SubjectAccessRequestsTable,
} from './schema/records.js';
import type { AccountNoticesTable, InvitationsTable, MailPreferencesTable, NotificationsTable } from './schema/messages.js';
import type { JobsTable, KeyValueTable } from './schema/system.js';

export type * from './schema/organisations.js';
export type * from './schema/identity.js';
export type * from './schema/documents.js';
export type * from './schema/arrangements.js';
export type * from './schema/audit.js';
export type * from './schema/records.js';
export type * from './schema/messages.js';
export type * from './schema/system.js';

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
  subject_access_requests: SubjectAccessRequestsTable;
  subject_access_parts: SubjectAccessPartsTable;
  subject_access_items: SubjectAccessItemsTable;
  blob_replicas: BlobReplicasTable;
  orphan_blob_candidates: OrphanBlobCandidatesTable;
  identity_providers: IdentityProvidersTable;
  external_identities: ExternalIdentitiesTable;
  group_mappings: GroupMappingsTable;
  single_use_values: SingleUseValuesTable;
  organisation_email_domains: OrganisationEmailDomainsTable;
  mail_preferences: MailPreferencesTable;
  invitations: InvitationsTable;
  account_notices: AccountNoticesTable;
  scim_tokens: ScimTokensTable;
  scim_people: ScimPeopleTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
}
