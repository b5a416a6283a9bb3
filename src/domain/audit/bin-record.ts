// Whether a document has been in the bin as long as the audit log says. The bin purge crypto-shreds
// what `documents.deleted_at` says was deleted long enough ago, and that is a row a database
// administrator can write: backdated on a document in the bin, or set on a live one, it would have the
// system destroy a live record with a legitimate-looking `document.purge` event. Every operation that
// bins or restores a document writes a sealed event filed under it in the same transaction, stamped
// with the same instant it writes to deleted_at, so the purge asks the log, not the row.
import type { AuditEvent } from './event.js';

/**
 * Every event that bins or restores a document: a deletion (`document.delete`: the document's own, each
 * document inside a deleted folder, and what a WebDAV Overwrite replaces), the source's side of a move
 * to another organisation (`document.move` naming `movedToDocumentId`: a copy there, a deletion here),
 * and a restore. Every release has written one of these, with the document's id and the instant, in the
 * transaction that set or cleared deleted_at: there are no older deletions the log cannot speak for.
 */
export const BIN_RECORD_ACTIONS = ['document.delete', 'document.move', 'document.restore'] as const;

type RecordingEvent = Pick<AuditEvent, 'action' | 'decision' | 'targetIds' | 'time'>;

const DIRECT = 'its row was changed in the database directly, not by Strongroom.';

/** Whether an event put its document in the bin, took it out, or neither (null). */
export function binningOf(e: Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>): 'binned' | 'restored' | null {
  if (e.decision !== 'allow' || !e.targetIds.documentId) return null;
  if (e.action === 'document.delete') return 'binned';
  if (e.action === 'document.move') return e.targetIds.movedToDocumentId !== undefined ? 'binned' : null;
  if (e.action === 'document.restore') return 'restored';
  return null;
}

/**
 * For the bin purge: why the log does not say this document has been in the bin since `cutoff` or
 * before; null when it does. Its latest binning or restoring event (`events`: IN THE ORDER THEY WERE
 * WRITTEN; others, and other documents', are ignored) must be a binning no later than `cutoff`. A
 * restore since counts the bin period afresh from the next deletion. `subject`: "Document X…".
 */
export function unrecordedBinning(subject: string, documentId: string, events: readonly RecordingEvent[], cutoff: string): string | null {
  let last: { event: RecordingEvent; kind: 'binned' | 'restored' } | null = null;
  for (const e of events) {
    if (e.targetIds.documentId !== documentId) continue;
    const kind = binningOf(e);
    if (kind) last = { event: e, kind };
  }
  if (!last) return `${subject} is in the bin, but the audit log records no deletion of it: ${DIRECT}`;
  if (last.kind === 'restored') return `${subject} is in the bin, but the audit log last records it restored, at ${last.event.time}, and no deletion since: ${DIRECT}`;
  if (Date.parse(last.event.time) > Date.parse(cutoff)) {
    return `${subject} was deleted at ${last.event.time} by the audit log, after ${cutoff}, so it has not yet been in the bin for the bin period, but its row says it has: ${DIRECT}`;
  }
  return null;
}
