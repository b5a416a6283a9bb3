// Table types of the content: collections, documents, versions, WebDAV properties and locks, the
// offsite replica's ledger, and the upload slots admission counts.
import type { Generated } from 'kysely';

export interface CollectionsTable {
  id: string;
  organisation_id: string;
  parent_id: string | null;
  name: string;
  /** The name as a folder compares it (domain/names.ts nameKey), written with every name (migration 202612260000). */
  name_key: string;
  /**
   * '' but on a row the upgrade to case-insensitive names found sharing its name key with an older live thing in
   * its place (names differing only in case, allowed before): its own id there, so the live-name index stands
   * while both keep working. Cleared whenever its name or place is written again (the claim having found it free).
   */
  name_key_duplicate: Generated<string>;
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
  /** The name as a folder compares it (domain/names.ts nameKey), written with every name (migration 202612260000). */
  name_key: string;
  /**
   * '' but on a row the upgrade to case-insensitive names found sharing its name key with an older live thing in
   * its place (names differing only in case, allowed before): its own id there, so the live-name index stands
   * while both keep working. Cleared whenever its name or place is written again (the claim having found it free).
   */
  name_key_duplicate: Generated<string>;
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
  /** The security admin's reason for a release from quarantine, kept apart from `scan_detail`, which every reader is shown. */
  release_reason: string | null;
  /** When the offsite replica last got this version's blob whole (as blob_replicas.replicated_at); null while it waits. */
  replicated_at: Generated<string | null>;
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

/** Blobs a sweep found that nothing names (migrations 202612170000_orphan_blobs, 202612180100_orphan_candidates_listed). */
export interface OrphanBlobCandidatesTable {
  store: string;
  blob_id: string;
  first_seen_at: string;
  condemned_at: string | null;
  /** When a sweep's listing last found the blob (null: never since the column was added). */
  listed_at: string | null;
}
