// Port: the audit log as services see it: events written and sequenced, the Merkle tree's nodes and
// the signed checkpoints. Part of the Store's repositories (domain/repositories.ts `audit`).
import type { AuditEvent, CanonicalEvent } from './event.js';

/** A sequenced event as its row holds it. */
export interface SequencedAuditRow {
  /** The row's id (not under any hash). */
  id: number;
  event: AuditEvent;
  seal: string | null;
  leafHash: Buffer | null;
  filedUnderDocumentId: string | null;
}

/** An event as written by a service, before the sequencer gives it a sequence number. */
export type PendingAuditEvent = Omit<AuditEvent, 'seq'>;

/** A stored event not yet in the tree: its row id, its seal (null only before seals existed) and what it says. */
export interface UnsequencedAuditEvent {
  id: number;
  seal: string | null;
  event: PendingAuditEvent;
}

/**
 * An organisation's events: every event about something of its own (its target's organisation), and
 * every event of its own staff, wherever they acted. Nothing is written that would tell its
 * auditors of a thing in another organisation that its staff may not see (webdav/resources.ts).
 */
export interface AuditQuery {
  /** Only this organisation's events (above). */
  organisationId: string;
  actorUserId?: string;
  documentId?: string;
  action?: string;
  from?: string;
  to?: string;
  afterSeq?: number;
  limit: number;
}

export interface StoredCheckpoint {
  treeSize: number;
  note: string;
  createdAt: string;
}

export interface AuditRepository {
  /** Within a transaction: makes this the only sequencer until it commits. */
  lockSequencer(): Promise<void>;
  insert(events: PendingAuditEvent[]): Promise<void>;
  /**
   * The event's canonical encoding if the stored row is one this service wrote (its seal matches);
   * null if it was written into the database directly (no seal, or not this event's), or is malformed.
   */
  writtenByService(row: { seal: string | null }, event: PendingAuditEvent): CanonicalEvent | null;
  /**
   * Every recorded change of an arrangement, for `audit verify`: events whose seal matches what they
   * say, pending or in the tree (so a row written or rewritten in the database directly vouches for nothing).
   */
  arrangementChanges(): Promise<AuditEvent[]>;
  /** Every recorded creation of an API token or app password, for `audit verify` (events as arrangementChanges reads them). */
  credentialCreations(): Promise<AuditEvent[]>;
  /**
   * Every allowed event of these actions (of one organisation's, when given), in the order they were
   * written, for `audit verify` and for the disposal job's checks (events as arrangementChanges reads them).
   * `logOrder`: in the log's order instead (sequenced events by seq, then pending ones as written): the
   * seq is under the tree's hashes, where the row's insertion id is not. `documentIds`: only events
   * filed under these documents; `withEvery`: with every allowed event of these actions, whatever it is
   * filed under, in the same order (what happened to the documents' folders meanwhile).
   */
  allowedEvents(actions: readonly string[], options?: { organisationId?: string; documentIds?: readonly string[]; withEvery?: readonly string[]; logOrder?: boolean }): Promise<AuditEvent[]>;
  /**
   * The refusals (decision `deny`) with one of `actions` that vouch for what they say, read as allowedEvents reads
   * its events (under their seal, pending or in the tree): what a refusal recorded, when something is certified
   * from it (the holds that kept a certificate's records at execution, CertificatesService).
   */
  refusedEvents(actions: readonly string[], options?: { organisationId?: string; documentIds?: readonly string[] }): Promise<AuditEvent[]>;
  /** How many events in the tree carry no seal, and the last one's seq: events sequenced before seals existed (or seals cleared by hand). */
  unsealedSequenced(): Promise<{ count: number; lastSeq: number } | null>;
  /** Seals events in the tree that carry none, as they stand: for the upgrade that seals those signed checkpoints vouch for. */
  sealSequencedAsFound(rows: readonly { id: number; event: PendingAuditEvent }[]): Promise<void>;
  /** Events not yet in the tree, oldest insert first. */
  unsequenced(limit: number): Promise<UnsequencedAuditEvent[]>;
  assignSeq(id: number, seq: number, leafHash: Buffer): Promise<void>;
  treeSize(): Promise<number>;
  setTreeSize(size: number): Promise<void>;
  putNodes(nodes: { level: number; index: number; hash: Buffer }[]): Promise<void>;
  node(level: number, index: number): Promise<Buffer | undefined>;
  insertCheckpoint(c: { treeSize: number; rootHash: Buffer; note: string; createdAt: string }): Promise<void>;
  checkpoints(): Promise<StoredCheckpoint[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /**
   * Sequenced events in order of seq, in pages, so verification runs in bounded memory: from `from`,
   * or every row that has a seq (a negative one included, which the sequencer never gives) when it
   * is not given. Each comes with its row's seal, stored leaf hash and the document id it is filed
   * under (the column the document's history is read by).
   */
  sequenced(options?: { from?: number; pageSize?: number }): AsyncGenerator<SequencedAuditRow>;
  query(q: AuditQuery): Promise<AuditEvent[]>;
  forDocument(documentId: string, limit: number): Promise<AuditEvent[]>;
  /** Every event of the organisation (as AuditQuery says), in sequence order. */
  forOrganisation(organisationId: string): Promise<AuditEvent[]>;
}
