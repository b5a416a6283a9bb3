// Document lifecycle events: facts raised by the services inside the transaction that made them, so
// whatever subscribes (today the scan job; later text extraction, replication, purge) is queued in that
// same transaction, all or nothing. Subscribers are registered once, at the composition root.
import type { ScanStatus } from './types.js';

/** A version's bytes and metadata were committed (upload, new version, copy). */
export interface VersionCommitted {
  type: 'version.committed';
  organisationId: string;
  documentId: string;
  versionId: string;
  /** The version's size as stored (counted as it arrived): what its scan and offsite copy read, which weighs them. */
  bytes: number;
  /** Whose turns in the job queue its scan and offsite copy take (chargedTo below). */
  chargedTo: string;
  /** 'pending' when it was too large (or the scanner was down) to scan before answering. */
  scanStatus: ScanStatus;
}

/**
 * A version may now be read by those decide() lets read its document: clean at commit (inline scan),
 * clean from the scan job, or released from quarantine by a security admin. Raised once per way in.
 */
export interface VersionReadable {
  type: 'version.readable';
  organisationId: string;
  documentId: string;
  versionId: string;
  /** The version's size as stored: what its text extraction reads, which weighs it. */
  bytes: number;
  /**
   * Whose turns in the job queue its extraction takes: the organisation of the person who stored the
   * version (its author; the document's organisation when it has none). A council that stores files in
   * another's collections under an arrangement spends its own turns on them, not the other's: as the
   * document's organisation's work, one upload of a 16 GiB file into a partner's folder put 16,385 turns
   * of the partner's own line behind it (services/lifecycle.ts `chargedTo`).
   */
  chargedTo: string;
}

/** A document was renamed or moved to another collection of the same organisation. */
export interface DocumentMoved {
  type: 'document.moved';
  organisationId: string;
  documentId: string;
  fromCollectionId: string;
  toCollectionId: string;
  name: string;
}

/**
 * Content was destroyed beyond recovery (today: a quarantined version's data key erased by a security
 * admin; later: disposal under a retention schedule). `disposed`: the document itself is now disposed.
 */
export interface DocumentDestroyed {
  type: 'document.destroyed';
  organisationId: string;
  documentId: string;
  versionIds: string[];
  disposed: boolean;
}

export type LifecycleEvent = VersionCommitted | VersionReadable | DocumentMoved | DocumentDestroyed;
export type LifecycleEventType = LifecycleEvent['type'];
