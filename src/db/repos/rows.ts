// Row ↔ domain mapping shared by the repositories.
import type { Selectable } from 'kysely';
import type {
  AccessLevel, Arrangement, ArrangementStatus, Classification, Collection, Document, DocumentStatus,
  Organisation, Role, ScanStatus, User, Version,
} from '../../domain/types.js';
import type { ArrangementsTable, CollectionsTable, DocumentsTable, OrganisationsTable, UsersTable, VersionsTable } from '../schema.js';

export const toOrganisation = (r: Selectable<OrganisationsTable>): Organisation => ({
  id: r.id, slug: r.slug, name: r.name, kind: r.kind, region: r.region, createdAt: r.created_at,
});

/**
 * The columns a `User` is made of, and nothing more: a person's password hash, MFA secret and recovery
 * codes are read only by sign-in (`signInState`), never with every request that names the person.
 */
export const USER_COLUMNS = ['id', 'organisation_id', 'email', 'name', 'roles', 'teams', 'clearance', 'mfa_enabled', 'disabled', 'disabled_by', 'created_at'] as const;

export const toUser = (r: Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>): User => ({
  id: r.id,
  organisationId: r.organisation_id,
  email: r.email,
  name: r.name,
  roles: JSON.parse(r.roles) as Role[],
  teams: JSON.parse(r.teams) as string[],
  clearance: r.clearance as Classification,
  mfaEnabled: r.mfa_enabled === 1,
  disabled: r.disabled === 1,
  // Off with no one recorded (never written so since migration 202612110000) counts as an admin's: the safe side.
  disabledBy: r.disabled === 1 ? (r.disabled_by === 'directory' ? 'directory' : 'admin') : null,
  createdAt: r.created_at,
});

export const toCollection = (r: Selectable<CollectionsTable>): Collection => ({
  id: r.id,
  organisationId: r.organisation_id,
  parentId: r.parent_id,
  name: r.name,
  serviceArea: r.service_area,
  classification: r.classification as Classification,
  arrangementId: r.arrangement_id,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
});

export type DocumentRow = Selectable<DocumentsTable> & { size: number; sha256: string; media_type: string; source_modified_at: string | null };

export const toDocument = (r: DocumentRow): Document => ({
  id: r.id,
  organisationId: r.organisation_id,
  collectionId: r.collection_id,
  name: r.name,
  classification: r.classification as Classification,
  serviceArea: r.service_area,
  status: r.status as DocumentStatus,
  currentVersion: r.current_version,
  currentVersionId: r.current_version_id,
  size: Number(r.size),
  sha256: r.sha256,
  mediaType: r.media_type,
  sourceModifiedAt: r.source_modified_at,
  arrangementId: r.arrangement_id,
  copiedFromDocumentId: r.copied_from_document_id,
  copiedViaArrangementId: r.copied_via_arrangement_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deletedAt: r.deleted_at,
});

export const toVersion = (r: Selectable<VersionsTable>): Version => ({
  id: r.id,
  documentId: r.document_id,
  organisationId: r.organisation_id,
  number: r.number,
  size: Number(r.size),
  sha256: r.sha256,
  mediaType: r.media_type,
  blobId: r.blob_id,
  wrappedKey: r.wrapped_key ?? new Uint8Array(),
  keyId: r.key_id,
  scanStatus: r.scan_status as ScanStatus,
  scanDetail: r.scan_detail,
  scanEngine: r.scan_engine,
  scannedAt: r.scanned_at,
  authorId: r.author_id,
  createdAt: r.created_at,
  sourceModifiedAt: r.source_modified_at,
  releaseReason: r.release_reason ?? null,
});

export const toArrangement = (
  r: Selectable<ArrangementsTable>,
  parties: { organisation_id: string; accepted_at: string | null }[],
): Arrangement => ({
  id: r.id,
  hostOrganisationId: r.host_organisation_id,
  partnerOrganisationIds: parties.map((p) => p.organisation_id).sort(),
  serviceArea: r.service_area,
  purpose: r.purpose,
  lawfulBasis: r.lawful_basis,
  agreementReference: r.agreement_reference,
  accessLevel: r.access_level as AccessLevel,
  ceiling: r.ceiling as Classification,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  annualSavingPounds: Number(r.annual_saving_pounds),
  status: r.status as ArrangementStatus,
  acceptedBy: parties.filter((p) => p.accepted_at !== null).map((p) => p.organisation_id).sort(),
  revision: r.revision,
  termsRevision: r.terms_revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
