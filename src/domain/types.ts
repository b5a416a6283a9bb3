// The vocabulary of Strongroom: organisations, people, collections, documents and arrangements.
// Plain data shared by every layer; nothing here does I/O.

export const CLASSIFICATIONS = ['OFFICIAL', 'OFFICIAL-SENSITIVE'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const ROLES = ['member', 'records_manager', 'org_admin', 'security_admin', 'auditor', 'dpo'] as const;
export type Role = (typeof ROLES)[number];

/** Service areas are a configurable list (see DEFAULT_SERVICE_AREAS); a plain lower-case code. */
export type ServiceArea = string;
export const DEFAULT_SERVICE_AREAS: readonly ServiceArea[] = [
  'hr', 'payroll', 'finance', 'procurement', 'legal', 'it', 'revenues_benefits', 'audit',
];

export const DOCUMENT_STATUSES = ['pending_scan', 'available', 'quarantined', 'disposed'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

export const ACCESS_LEVELS = ['read', 'contribute', 'manage'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export const ARRANGEMENT_STATUSES = ['draft', 'active', 'suspended', 'ended'] as const;
export type ArrangementStatus = (typeof ARRANGEMENT_STATUSES)[number];

/** Where a request came in; recorded in audit events. */
export type Channel = 'api' | 'web' | 'webdav' | 'cli' | 'job';

export interface Organisation {
  id: string;
  slug: string;
  name: string;
  kind: string;
  region: string;
  createdAt: string;
}

export interface User {
  id: string;
  organisationId: string;
  email: string;
  name: string;
  roles: Role[];
  teams: ServiceArea[];
  clearance: Classification;
  mfaEnabled: boolean;
  disabled: boolean;
  /**
   * Who switched the account off, while it is off (null while it is on). The directory may switch on
   * only an account it switched off itself; see decide()'s `person.enable`.
   */
  disabledBy: DisabledBy | null;
  createdAt: string;
}

/**
 * Who switched an account off: an org admin (or the operator), an organisation decision only an org
 * admin undoes; or the organisation's directory (SCIM), which may switch it on again.
 */
export const DISABLED_BY = ['admin', 'directory'] as const;
export type DisabledBy = (typeof DISABLED_BY)[number];

/**
 * The credential a request was authenticated with: an API token or WebDAV app password (its id), or
 * a web session (the hash of its id, as stored). Named so that a request that waits (an upload whose
 * bytes take a while) can check, before it commits, that the credential still signs its person in.
 */
export interface CredentialRef {
  kind: 'api_token' | 'app_password' | 'session';
  id: string;
  /** What the credential may do (a web session: 'full'); decide() refuses any but a 'full' one whatever changes something. */
  scope: CredentialScope;
}

/**
 * What an API token or WebDAV app password may do: everything its person may ('full', what every credential
 * made before scopes was), or only what reads ('read': list, read, download, search, read the audit log where
 * the person may). Chosen when it is made, covered by its seal, never changed after.
 */
export const CREDENTIAL_SCOPES = ['full', 'read'] as const;
export type CredentialScope = (typeof CREDENTIAL_SCOPES)[number];

/**
 * Who is acting. Every service takes one explicitly; interfaces build it from a
 * verified credential, jobs and the CLI build a `system` actor honestly. A `directory` is an
 * organisation's provisioning client (SCIM, e.g. Entra ID): not a person, so no user id, and decide()
 * lets it manage that organisation's people and nothing else.
 */
export interface Actor {
  kind: 'user' | 'system' | 'directory';
  userId: string | null;
  organisationId: string | null;
  roles: readonly Role[];
  teams: readonly ServiceArea[];
  clearance: Classification;
  channel: Channel;
  clientAddress: string | null;
  requestId: string | null;
  /**
   * Write-lock tokens this request presented (WebDAV If header, REST Lock-Token header). A lock
   * lets a write through only when its own holder presents it: a token is not a bearer secret.
   */
  lockTokens?: readonly string[];
  /** The credential this request came with (set where each interface authenticates); none for the CLI and jobs. */
  credential?: CredentialRef;
}

export interface Collection {
  id: string;
  organisationId: string;
  parentId: string | null;
  name: string;
  serviceArea: ServiceArea;
  classification: Classification;
  /** Set when the collection is the joint workspace of an arrangement. */
  arrangementId: string | null;
  createdAt: string;
  deletedAt: string | null;
}

export interface Document {
  id: string;
  organisationId: string;
  collectionId: string;
  name: string;
  classification: Classification;
  serviceArea: ServiceArea;
  status: DocumentStatus;
  currentVersion: number;
  currentVersionId: string;
  size: number;
  sha256: string;
  mediaType: string;
  /** The current version's source modification time (see Version). */
  sourceModifiedAt?: string | null;
  /** Copied from the collection: a document in a joint workspace belongs to the arrangement's service. */
  arrangementId: string | null;
  /** On a copy: the document it was copied from. */
  copiedFromDocumentId: string | null;
  /** On a copy read from another organisation: the arrangement that allowed the read. */
  copiedViaArrangementId: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

/** `held`: stored but quarantined by the file policy (e.g. a password-protected archive) until a security admin reviews it. */
export type ScanStatus = 'pending' | 'clean' | 'infected' | 'held' | 'blocked' | 'released';

export interface Version {
  id: string;
  documentId: string;
  organisationId: string;
  number: number;
  size: number;
  sha256: string;
  mediaType: string;
  blobId: string;
  wrappedKey: Uint8Array;
  keyId: string;
  scanStatus: ScanStatus;
  /** What the scan found, as every reader of the version may be told it (never the release reason). */
  scanDetail: string | null;
  scanEngine: string | null;
  scannedAt: string | null;
  authorId: string | null;
  createdAt: string;
  /** When the file this version came from was last modified at its source (a migrated share); null when nobody said. */
  sourceModifiedAt?: string | null;
  /**
   * The security admin's written reason for releasing this version from quarantine; null (or absent) when it
   * was not released, and for a reader decide() does not let see quarantine details (`quarantine.identify`).
   */
  releaseReason?: string | null;
}

export interface Arrangement {
  id: string;
  hostOrganisationId: string;
  partnerOrganisationIds: string[];
  serviceArea: ServiceArea;
  purpose: string;
  lawfulBasis: string;
  agreementReference: string | null;
  accessLevel: AccessLevel;
  ceiling: Classification;
  startsAt: string;
  endsAt: string | null;
  annualSavingPounds: number;
  status: ArrangementStatus;
  /** Partner organisation ids that have accepted the current terms. */
  acceptedBy: string[];
  /** Bumped by every change (amendment, acceptance, suspension…); each number is a stored snapshot. */
  revision: number;
  /**
   * The revision that last set the terms (proposal or amendment). A partner who reviewed revision n
   * has seen the terms now in force when termsRevision <= n <= revision.
   */
  termsRevision: number;
  createdAt: string;
  updatedAt: string;
}

const CLASSIFICATION_RANK: Record<Classification, number> = { OFFICIAL: 0, 'OFFICIAL-SENSITIVE': 1 };
export function classificationAtMost(value: Classification, ceiling: Classification): boolean {
  return CLASSIFICATION_RANK[value] <= CLASSIFICATION_RANK[ceiling];
}

const LEVEL_RANK: Record<AccessLevel, number> = { read: 0, contribute: 1, manage: 2 };
export function levelAtLeast(held: AccessLevel, needed: AccessLevel): boolean {
  return LEVEL_RANK[held] >= LEVEL_RANK[needed];
}
