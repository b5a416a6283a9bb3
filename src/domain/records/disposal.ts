// Disposal review: a batch of records past their due date, proposed by a sweep, decided item by item
// by the owning organisation's records manager, approved, then executed by a job. Plain data.
import type { DisposalAction, RetentionTrigger } from './series.js';

/**
 * review: items await decisions; approved: decisions are final and the execution job is queued;
 * executed: the job finished (each item's outcome says what happened to it).
 */
export const BATCH_STATUSES = ['review', 'approved', 'executed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/**
 * due: proposed by a sweep, of records whose retention has ended. early: proposed by a records manager, of
 * named documents in the bin, to be destroyed before their retention ends (a record uploaded in error: a
 * payslip in the wrong council's folder), with a reason; see docs/records.md "Early destruction".
 */
export const BATCH_KINDS = ['due', 'early'] as const;
export type BatchKind = (typeof BATCH_KINDS)[number];

export const ITEM_DECISIONS = ['pending', 'destroy', 'extend', 'transfer'] as const;
export type ItemDecision = (typeof ITEM_DECISIONS)[number];

/**
 * What execution did to an item: destroyed (or transferred, then destroyed); extended (a new due
 * date was set); held (a hold in force at execution time kept it); excluded (held when proposed);
 * gone (already disposed or purged before execution); changed (decided transfer, but the record
 * changed after its transfer package was downloaded, so the archive never received what it now is:
 * kept, and proposed again by the next sweep); not_due (its retention changed after it was proposed:
 * filed under another series, a longer period, a later event or an extension, so that it is not due
 * under the series it was proposed under on the day of execution: kept, and proposed again once due).
 */
export const ITEM_OUTCOMES = ['destroyed', 'transferred', 'extended', 'held', 'excluded', 'gone', 'changed', 'not_due'] as const;
export type ItemOutcome = (typeof ITEM_OUTCOMES)[number];

export interface DisposalBatch {
  id: string;
  organisationId: string;
  status: BatchStatus;
  /** Calendar date (YYYY-MM-DD) the sweep looked for records due on or before. */
  dueBy: string;
  createdAt: string;
  /** Null when the daily sweep job proposed it. */
  createdBy: string | null;
  approvedAt: string | null;
  approvedBy: string | null;
  executedAt: string | null;
  /** Set once executed: the certificate of destruction for this batch. */
  certificateId: string | null;
  /** Absent: 'due' (every batch before early destruction was a sweep's). */
  kind?: BatchKind;
  /** For an early batch: the records manager's reason for destroying its records before their retention ends. */
  earlyReason?: string | null;
}

/** Whether the batch is a records manager's early destruction (not a sweep's proposal of records due). */
export const isEarly = (batch: Pick<DisposalBatch, 'kind'>): boolean => batch.kind === 'early';

export interface DisposalItem {
  batchId: string;
  documentId: string;
  seriesCode: string;
  trigger: RetentionTrigger;
  triggerDate: string;
  dueAt: string;
  action: DisposalAction;
  /** Holds in force when the item was proposed: an excluded item, listed with the holds that keep it. */
  excludedBy: { id: string; name: string }[];
  decision: ItemDecision;
  decidedBy: string | null;
  decidedAt: string | null;
  /** For `extend`: the new due date (YYYY-MM-DD). */
  extendTo: string | null;
  reason: string | null;
  outcome: ItemOutcome | null;
  executedAt: string | null;
}

/**
 * What stays of a destroyed document: enough to prove what was destroyed, under which rule, and when,
 * without keeping the record itself (its name survives only as a SHA-256 hash).
 */
export interface DisposalStub {
  documentId: string;
  organisationId: string;
  seriesCode: string;
  createdAt: string;
  disposedAt: string;
  nameSha256: string;
  /** Plaintext bytes of every version destroyed, and how many versions there were. */
  totalBytes: number;
  versionCount: number;
  batchId: string | null;
  certificateId: string | null;
}

/** What a records manager decides for one item of a batch under review. */
export interface ItemDecisionInput {
  documentId: string;
  decision: Exclude<ItemDecision, 'pending'>;
  /** For `extend`: the new due date (YYYY-MM-DD), after today. */
  extendTo?: string;
  reason?: string;
}

/** Items still awaiting a decision: excluded (held) items are never counted, as they cannot be decided for destruction. */
export function pendingItems(items: readonly DisposalItem[]): DisposalItem[] {
  return items.filter((item) => item.excludedBy.length === 0 && item.decision === 'pending');
}

/** Whether execution destroys the item (a transfer is destroyed once exported). */
export const destroysItem = (item: Pick<DisposalItem, 'decision'>): boolean => item.decision === 'destroy' || item.decision === 'transfer';

/** The name a disposed document keeps: its own name survives only as a hash in its stub. */
export const disposedName = (documentId: string): string => `disposed-${documentId}`;

/** How many items of a batch stand at each decision and outcome: for lists, pages and the execution event. */
export interface BatchCounts {
  items: number;
  excluded: number;
  pending: number;
  destroy: number;
  extend: number;
  transfer: number;
  destroyed: number;
  held: number;
  gone: number;
  changed: number;
  notDue: number;
}

export function countItems(items: readonly DisposalItem[]): BatchCounts {
  const count = (p: (i: DisposalItem) => boolean) => items.filter(p).length;
  return {
    items: items.length,
    excluded: count((i) => i.excludedBy.length > 0),
    pending: pendingItems(items).length,
    destroy: count((i) => i.decision === 'destroy'),
    extend: count((i) => i.decision === 'extend'),
    transfer: count((i) => i.decision === 'transfer'),
    destroyed: count((i) => i.outcome === 'destroyed' || i.outcome === 'transferred'),
    held: count((i) => i.outcome === 'held'),
    gone: count((i) => i.outcome === 'gone'),
    changed: count((i) => i.outcome === 'changed'),
    notDue: count((i) => i.outcome === 'not_due'),
  };
}

/**
 * What a transfer package held of each record when it was downloaded: a fingerprint of everything
 * the package says about the record (its metadata.json: name, dates, classification, every version,
 * the current version's hash) and whether the current version's bytes were left out (not found clean
 * by the scan). Kept with the batch, so approval and execution can tell whether the archive received
 * the record as it is now.
 */
export interface TransferExport {
  exportedAt: string;
  records: Record<string, { fingerprint: string; contentOmitted: boolean }>;
}

/** Why a record decided `transfer` may not be destroyed on the strength of the package downloaded (null: it may). */
export type TransferGap = 'not_exported' | 'content_omitted' | 'changed';

/**
 * Compares what the package held of a record with the record as it is now (`fingerprint`, computed
 * the same way; null when the record no longer exists to export).
 */
export function transferGap(exported: TransferExport | null, documentId: string, fingerprint: string | null): TransferGap | null {
  const held = exported?.records[documentId];
  if (!held) return fingerprint === null ? null : 'not_exported';
  if (held.contentOmitted) return 'content_omitted';
  return fingerprint === null || held.fingerprint === fingerprint ? null : 'changed';
}

/** The recorded export, read back; anything unreadable (an export recorded before fingerprints were kept) counts as none. */
export function parseTransferExport(stored: string | undefined): TransferExport | null {
  if (!stored) return null;
  try {
    const parsed = JSON.parse(stored) as Partial<TransferExport>;
    return typeof parsed.exportedAt === 'string' && typeof parsed.records === 'object' && parsed.records !== null ? parsed as TransferExport : null;
  } catch {
    return null;
  }
}

/** The holds an item was excluded by, as one comparable string (a sweep re-proposes a held record only when this changes). */
export const exclusionKey = (holds: readonly { id: string }[]): string => holds.map((h) => h.id).sort().join(',');
