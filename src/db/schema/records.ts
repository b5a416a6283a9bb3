// Table types of records management: record series and their revisions, retention events, legal
// holds, disposal batches, their items, certificates and stubs.
import type { Generated } from 'kysely';

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
  /** 'due' (a sweep's) or 'early' (a records manager's early destruction of binned documents; migration 202612260100). */
  kind: Generated<string>;
  /** For an early batch: the records manager's reason (its events hold only its SHA-256). */
  early_reason: string | null;
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

export interface SubjectAccessRequestsTable {
  id: string;
  organisation_id: string;
  reference: string;
  subject_name: string;
  subject_details: string;
  received_on: string;
  due_on: string;
  extended_due_on: string | null;
  extension_reason: string | null;
  status: string;
  outcome: string | null;
  close_note: string | null;
  opened_by: string | null;
  opened_at: string;
  closed_by: string | null;
  closed_at: string | null;
}

export interface SubjectAccessPartsTable {
  request_id: string;
  organisation_id: string;
  asked_by: string | null;
  asked_at: string;
  hold_id: string | null;
  searched_at: string | null;
  searched_by: string | null;
}

export interface SubjectAccessItemsTable {
  id: string;
  request_id: string;
  organisation_id: string;
  document_id: string;
  version_id: string;
  added_by: string | null;
  added_at: string;
  removed_by: string | null;
  removed_at: string | null;
}
