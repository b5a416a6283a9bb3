// The ordered list of migrations. Add new ones at the end; never edit one that has shipped.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';
import * as m202611261800 from './202611261800_initial.js';
import * as m202611300101 from './202611300101_placement.js';
import * as m202611300103 from './202611300103_arrangement_terms_revision.js';
import * as m202611300104 from './202611300104_resource_locks.js';
import * as m202611300108 from './202611300108_sign_in_state.js';
import * as m202611300112 from './202611300112_audit_event_seal.js';
import * as m202612010040 from './202612010040_job_keys.js';
import * as m202612010060 from './202612010060_upload_slots.js';
import * as m202612020000 from './202612020000_records.js';
import * as m202612020600 from './202612020600_blob_replicas.js';
import * as m202612030000 from './202612030000_search_index.js';
import * as m202612030100 from './202612030100_text_status.js';
import * as m202612040000 from './202612040000_identity_federation.js';
import * as m202612040100 from './202612040100_search_section_owner.js';
import * as m202612040200 from './202612040200_scim.js';
import * as m202612040300 from './202612040300_mail_preferences.js';
import * as m202612040400 from './202612040400_organisation_branding.js';
import * as m202612040500 from './202612040500_source_modified.js';
import * as m202612041000 from './202612041000_search_match_lookups.js';
import * as m202612041100 from './202612041100_arrangements_host.js';
import * as m202612050000 from './202612050000_search_prefix_column.js';
import * as m202612060000 from './202612060000_search_document_scope.js';
import * as m202612070000 from './202612070000_search_terms_rebuilt.js';
import * as m202612080000 from './202612080000_search_lookups_in_document_order.js';
import * as m202612090000 from './202612090000_audit_unsealed_mark_dropped.js';
import * as m202612100000 from './202612100000_jobs_due_in_order.js';
import * as m202612110000 from './202612110000_users_disabled_by.js';
import * as m202612120000 from './202612120000_subject_access.js';
import * as m202612130000 from './202612130000_sessions_provider_mfa.js';
import * as m202612140000 from './202612140000_notifications_request.js';
import * as m202612150000 from './202612150000_sign_in_seals.js';
import * as m202612160000 from './202612160000_version_release_reason.js';
import * as m202612170000 from './202612170000_orphan_blobs.js';
import * as m202612180000 from './202612180000_credential_scope.js';
import * as m202612180100 from './202612180100_orphan_candidates_listed.js';
import * as m202612190000 from './202612190000_account_notices.js';
import * as m202612200000 from './202612200000_live_names_unique.js';
import * as m202612210000 from './202612210000_job_lanes.js';
import * as m202612220000 from './202612220000_job_turns.js';
import * as m202612230000 from './202612230000_job_weights.js';
import * as m202612230100 from './202612230100_versions_awaiting_replica.js';
import * as m202612240000 from './202612240000_audit_pages_by_seq.js';
import * as m202612240100 from './202612240100_quarantine_by_organisation.js';
import * as m202612250000 from './202612250000_bin_by_organisation.js';
import * as m202612250100 from './202612250100_organisation_record_events.js';
import * as m202612250200 from './202612250200_finished_jobs.js';
import * as m202612250300 from './202612250300_subject_access_parts_hold.js';
import * as m202612250400 from './202612250400_documents_by_organisation_id.js';

export interface Migration {
  name: string;
  up(db: Kysely<any>, caps: DialectCaps): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '202611261800_initial', up: m202611261800.up },
  { name: '202611300101_placement', up: m202611300101.up },
  { name: '202611300103_arrangement_terms_revision', up: m202611300103.up },
  { name: '202611300104_resource_locks', up: m202611300104.up },
  { name: '202611300108_sign_in_state', up: m202611300108.up },
  { name: '202611300112_audit_event_seal', up: m202611300112.up },
  { name: '202612010040_job_keys', up: m202612010040.up },
  { name: '202612010060_upload_slots', up: m202612010060.up },
  { name: '202612020000_records', up: m202612020000.up },
  { name: '202612020600_blob_replicas', up: m202612020600.up },
  { name: '202612030000_search_index', up: m202612030000.up },
  { name: '202612030100_text_status', up: m202612030100.up },
  { name: '202612040000_identity_federation', up: m202612040000.up },
  { name: '202612040100_search_section_owner', up: m202612040100.up },
  { name: '202612040200_scim', up: m202612040200.up },
  { name: '202612040300_mail_preferences', up: m202612040300.up },
  { name: '202612040400_organisation_branding', up: m202612040400.up },
  { name: '202612040500_source_modified', up: m202612040500.up },
  { name: '202612041000_search_match_lookups', up: m202612041000.up },
  { name: '202612041100_arrangements_host', up: m202612041100.up },
  { name: '202612050000_search_prefix_column', up: m202612050000.up },
  { name: '202612060000_search_document_scope', up: m202612060000.up },
  { name: '202612070000_search_terms_rebuilt', up: m202612070000.up },
  { name: '202612080000_search_lookups_in_document_order', up: m202612080000.up },
  { name: '202612090000_audit_unsealed_mark_dropped', up: m202612090000.up },
  { name: '202612100000_jobs_due_in_order', up: m202612100000.up },
  { name: '202612110000_users_disabled_by', up: m202612110000.up },
  { name: '202612120000_subject_access', up: m202612120000.up },
  { name: '202612130000_sessions_provider_mfa', up: m202612130000.up },
  { name: '202612140000_notifications_request', up: m202612140000.up },
  { name: m202612150000.SIGN_IN_SEALS_MIGRATION, up: m202612150000.up },
  { name: '202612160000_version_release_reason', up: m202612160000.up },
  { name: '202612170000_orphan_blobs', up: m202612170000.up },
  { name: '202612180000_credential_scope', up: m202612180000.up },
  { name: '202612180100_orphan_candidates_listed', up: m202612180100.up },
  { name: '202612190000_account_notices', up: m202612190000.up },
  { name: m202612200000.LIVE_NAMES_MIGRATION, up: m202612200000.up },
  { name: m202612210000.JOB_LANES_MIGRATION, up: m202612210000.up },
  { name: m202612220000.JOB_TURNS_MIGRATION, up: m202612220000.up },
  { name: m202612230000.JOB_WEIGHTS_MIGRATION, up: m202612230000.up },
  { name: m202612230100.VERSIONS_AWAITING_REPLICA_MIGRATION, up: m202612230100.up },
  { name: m202612240000.AUDIT_PAGES_BY_SEQ_MIGRATION, up: m202612240000.up },
  { name: m202612240100.QUARANTINE_BY_ORGANISATION_MIGRATION, up: m202612240100.up },
  { name: m202612250000.BIN_BY_ORGANISATION_MIGRATION, up: m202612250000.up },
  { name: m202612250100.ORGANISATION_RECORD_EVENTS_MIGRATION, up: m202612250100.up },
  { name: m202612250200.FINISHED_JOBS_MIGRATION, up: m202612250200.up },
  { name: m202612250300.SUBJECT_ACCESS_PARTS_HOLD_MIGRATION, up: m202612250300.up },
  { name: m202612250400.DOCUMENTS_BY_ORGANISATION_ID_MIGRATION, up: m202612250400.up },
];
