// What decide() (policy.ts) is asked about: the resources of each family, each with the facts its rules read,
// and the consent an acceptance carries. Callers build them; policy.ts re-exports them.
import type { Arrangement, Classification, DisabledBy, DocumentStatus, ScanStatus, ServiceArea } from '../types.js';

/** A collection, or the parent collection a new document or collection would go into. */
export interface CollectionResource {
  kind: 'collection';
  /** The collection's id: legal holds over it (or above it) are looked up by it. */
  id: string;
  organisationId: string;
  serviceArea: ServiceArea;
  classification: Classification;
  /** The arrangement whose joint workspace this collection is, if any. */
  arrangementId: string | null;
}

export interface DocumentResource {
  kind: 'document';
  /** The document's id: legal holds over it (directly or through its collections) are looked up by it. */
  id: string;
  organisationId: string;
  serviceArea: ServiceArea;
  classification: Classification;
  status: DocumentStatus;
  deleted: boolean;
  arrangementId: string | null;
  /**
   * For a download: the scan verdict of the version asked for, which may be older than the current
   * one. Without it the rule for the document's own status (its current version) is all there is.
   */
  versionScan?: ScanStatus;
}

export interface OrganisationResource {
  kind: 'organisation';
  organisationId: string;
}

export interface ArrangementResource {
  kind: 'arrangement';
  arrangement: Pick<Arrangement, 'id' | 'hostOrganisationId' | 'partnerOrganisationIds' | 'status' | 'acceptedBy' | 'revision' | 'termsRevision'>;
}

/** For `arrangement.accept`: whose consent it is, and the revision of the terms they reviewed. */
export interface Acceptance {
  organisationId: string;
  reviewedRevision: number;
}

/** A person, for actions on their own credentials, and on their account. */
export interface PersonResource {
  kind: 'person';
  userId: string;
  organisationId: string;
  /**
   * For `person.enable`: who switched the account off. Anything but 'directory' (an admin, or not
   * known) is an organisation decision that only an org admin undoes.
   */
  disabledBy?: DisabledBy | null;
  /**
   * For `person.reset-password`: whether the account is switched off, and whether the person's organisation
   * signs in through an enabled identity provider (its staff have no Strongroom password). Not given: unknown,
   * and refused.
   */
  disabled?: boolean;
  signsInThroughProvider?: boolean;
  /**
   * For `person.disable` and `person.remove-org-admin`: whether the person is the only enabled org admin of
   * their organisation (switching them off, or taking their role, would leave nobody to manage its people).
   * Not given: unknown, and refused to a person.
   */
  lastEnabledOrgAdmin?: boolean;
  /**
   * For `person.change-email`: whether the person holds the org admin role (switched on or off). Not given:
   * unknown, and refused to the directory.
   */
  orgAdmin?: boolean;
}

/** One organisation's part of a subject access request: the requester's own, or a partner's it asked to search. */
export interface SubjectAccessResource {
  kind: 'subject-access';
  /** The organisation that received the request and answers it. */
  organisationId: string;
  /** The organisation whose records the part covers. */
  partOrganisationId: string;
}

/** A disposal batch, for its approval (`records.approve-disposal`). */
export interface DisposalBatchResource {
  kind: 'disposal-batch';
  id: string;
  organisationId: string;
  /**
   * For a batch of early destruction (binned records destroyed before their retention ends): who proposed it, as
   * the audit log vouches for it (their sealed proposal events, which a database administrator cannot rewrite
   * unnoticed); `proposedBy` null when the log vouches for nobody, and then nobody may approve it (fail closed).
   * null for a batch the sweep proposed of records already due.
   */
  early: { proposedBy: string | null } | null;
  /**
   * For a due batch (the sweep's): who brought forward the due date of any of its records (shortened the series
   * it is filed under, refiled or moved it under a shorter period, recorded or cleared a trigger event that made it
   * due sooner), as the audit log vouches for it (their sealed events, read with `movedEarlier`); `broughtForwardBy`
   * null when the log cannot vouch for who did (rows it does not record), and then nobody may approve it (fail
   * closed). null for an early batch.
   */
  due: { broughtForwardBy: readonly string[] | null } | null;
}

export type Resource = CollectionResource | DocumentResource | OrganisationResource | ArrangementResource | PersonResource | SubjectAccessResource | DisposalBatchResource;
