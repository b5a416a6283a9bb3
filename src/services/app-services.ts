// What the composition root (main.ts) hands to the interfaces (REST, web, WebDAV, CLI): the services,
// and the few facts about the process they present. No store, repositories or blob store: those
// stay behind the services, and scripts/check-layers.mjs keeps interfaces from importing them.
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/ports.js';
import type { AccessService } from './access.service.js';
import type { ArrangementsService } from './arrangements.service.js';
import type { AuditServices } from './audit-log-options.js';
import type { BackupService } from './backup.service.js';
import type { BrandingService } from './branding.service.js';
import type { CertificatesService } from './certificates.service.js';
import type { CollectionCreationService } from './collection-creation.service.js';
import type { CollectionMovesService } from './collection-moves.service.js';
import type { CollectionsService } from './collections.service.js';
import type { DavService } from './dav.service.js';
import type { DisposalService } from './disposal.service.js';
import type { DocumentFilingService } from './document-filing.service.js';
import type { DocumentsService } from './documents.service.js';
import type { FederatedSignInService } from './federated-sign-in.service.js';
import type { SamlSignInService } from './saml-sign-in.service.js';
import type { HoldsService } from './holds.service.js';
import type { SubjectAccessAnswersService } from './subject-access-answers.service.js';
import type { SubjectAccessPackageService } from './subject-access-package.service.js';
import type { SubjectAccessRequestsService } from './subject-access-requests.service.js';
import type { SubjectAccessViewsService } from './subject-access-views.service.js';
import type { IdentityProvidersService } from './identity-providers.service.js';
import type { IdentityService } from './identity.service.js';
import type { CredentialsService } from './credentials.service.js';
import type { OrganisationsService } from './organisations.service.js';
import type { UserCreationService } from './user-creation.service.js';
import type { JobsAdminService } from './jobs-admin.service.js';
import type { KeysService } from './keys.service.js';
import type { InvitationsService } from './invitations.service.js';
import type { LocksService } from './locks.service.js';
import type { MailService } from './mail.service.js';
import type { OidcSignInService } from './oidc-sign-in.service.js';
import type { PasswordChangeService } from './password-change.service.js';
import type { PasswordSignInService } from './password-sign-in.service.js';
import type { QuarantineService } from './quarantine.service.js';
import type { RetentionEventsService } from './retention-events.service.js';
import type { RetentionService } from './retention.service.js';
import type { ReplicationService } from './replication.service.js';
import type { ScrubService } from './scrub.service.js';
import type { OrphanBlobsService } from './orphan-blobs.service.js';
import type { ScimGroupsService } from './scim-groups.service.js';
import type { ScimTokensService } from './scim-tokens.service.js';
import type { ScimUsersService } from './scim-users.service.js';
import type { SearchService } from './search.service.js';
import type { SecondFactorService } from './second-factor.service.js';
import type { UsersAdminService } from './users-admin.service.js';
import type { WebSessionsService } from './web-sessions.service.js';

export interface AppServices {
  config: Config;
  logger: Logger;
  clock: Clock;
  serviceAreas: readonly string[];
  access: AccessService;
  /** The audit log, one service per job: sequencing and signing, the alarm, verification, proofs, queries. */
  audit: AuditServices;
  /** Who is acting: a token or app password turned into an actor, and whether a person may still act. */
  identity: IdentityService;
  /** Organisations: adding one (the operator's), looking them up, their e-mail domains. */
  organisations: OrganisationsService;
  /** Adding a person to an organisation, and the roles and teams a person may be given. */
  userCreation: UserCreationService;
  /** A person's API tokens and app passwords: made, listed, revoked. */
  credentials: CredentialsService;
  /** Browsing the file plan: a collection's contents, the top level, pickers, breadcrumbs. */
  collections: CollectionsService;
  /** Creating collections and joint workspaces (every interface's new folder, WebDAV MKCOL). */
  collectionCreation: CollectionCreationService;
  /** Renaming and moving collections (every interface's rename and move, WebDAV MOVE of a folder). */
  collectionMoves: CollectionMovesService;
  documents: DocumentsService;
  /** Moving, renaming and copying documents (every interface's MOVE/COPY, rename and move). */
  filing: DocumentFilingService;
  locks: LocksService;
  arrangements: ArrangementsService;
  quarantine: QuarantineService;
  keys: KeysService;
  /** Web sessions: the session behind a cookie, signing out, CSRF tokens, a session for someone a provider vouched for. */
  sessions: WebSessionsService;
  /** Web sign-in with an e-mail address and password. */
  passwordSignIn: PasswordSignInService;
  /** The second factor of web sign-in: a TOTP or recovery code, and setting an authenticator up. */
  secondFactor: SecondFactorService;
  /** A signed-in person changing their own password on the web. */
  passwordChange: PasswordChangeService;
  /** The end of every sign-in through an organisation's identity provider (OIDC or SAML): match, link, create, session. */
  federatedSignIn: FederatedSignInService;
  /** SAML 2.0 sign-in through an organisation's identity provider (and its administrators' test sign-in). */
  samlSignIn: SamlSignInService;
  /** The organisation's identity providers (OIDC and SAML) and group mapping, as its org admins configure them. */
  identityProviders: IdentityProvidersService;
  /** OpenID Connect sign-in: the redirect, the callback, the admin's test sign-in, RP-initiated logout. */
  oidcSignIn: OidcSignInService;
  /** People in an organisation, as its admins manage them (the web interface). */
  people: UsersAdminService;
  /** SCIM provisioning: each organisation's directory tokens (org admins, CLI) and its Users and Groups (/scim/v2). */
  scim: { tokens: ScimTokensService; users: ScimUsersService; groups: ScimGroupsService };
  /** WebDAV's view of the file plan: folders per reachable organisation, dead properties, COPY/MOVE. */
  dav: DavService;
  /** Dead-lettered jobs for the operator (CLI), and the queue's counts for the metrics. */
  jobs: JobsAdminService;
  /** The file plan: record series, filing under them and each document's retention facts. */
  retention: RetentionService;
  /** Retention trigger events: recording and clearing the date a series' period counts from. */
  retentionEvents: RetentionEventsService;
  /** Legal holds and the hold register. */
  holds: HoldsService;
  /** Disposal review batches: sweeps, decisions, approval and execution. */
  disposal: DisposalService;
  /**
   * Subject access requests, one service per job: running a request (open, ask partners, extend, close), reading
   * the register and a request, answering a part (records in and out, search finished) and the response package.
   */
  subjectAccess: {
    requests: SubjectAccessRequestsService; views: SubjectAccessViewsService; answers: SubjectAccessAnswersService; package: SubjectAccessPackageService;
  };
  /** Certificates of destruction (JSON and PDF). */
  certificates: CertificatesService;
  /** The offsite replica: its jobs, and its health (lag, blobs bad on both sides) for /metrics and the admin page. */
  replication: ReplicationService;
  /** Scrub and self-heal of both copies of every blob (the `scrub` job and `strongroom scrub`). */
  scrub: ScrubService;
  /** The garbage collection of blobs nothing names (the `sweep-orphan-blobs` job and `strongroom storage sweep-orphans`). */
  orphanBlobs: OrphanBlobsService;
  /** Backups as the audit log and the scheduler see them: the last scheduled backup's time for /metrics and the Storage page. */
  backups: BackupService;
  /** Full-text search over what a person may read, text status and thumbnails (docs/search.md). */
  search: SearchService;
  /** Each organisation's own header name, colour and logo, set by its org admins (docs/branding in README). */
  branding: BrandingService;
  /** E-mail: what is queued to whom, sending (the send-email job) and each person's opt-out (docs/email.md). */
  mail: MailService;
  /** Invitation links: setting a first password from the e-mailed link. */
  invitations: InvitationsService;
  /** Whether the database and the scanner answer ('ok' or 'unavailable' for each). */
  health(): Promise<{ database: string; scanner: string }>;
  /**
   * Resolves once every database write made so far is on disk. Every interface awaits it before an
   * answer leaves the process (an HTTP or WebDAV response, a CLI command's success): docs/architecture.md "Durability".
   */
  durable(): Promise<void>;
}
