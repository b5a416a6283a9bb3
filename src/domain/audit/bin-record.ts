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
 * restore since counts the bin period afresh from the next deletion. `subject`: "Document X…". `since`: what
 * `cutoff` is, as a refusal says it (an early destruction's cutoff is its proposal, not the bin period).
 */
export function unrecordedBinning(subject: string, documentId: string, events: readonly RecordingEvent[], cutoff: string, since = 'for the bin period'): string | null {
  let last: { event: RecordingEvent; kind: 'binned' | 'restored' } | null = null;
  for (const e of events) {
    if (e.targetIds.documentId !== documentId) continue;
    const kind = binningOf(e);
    if (kind) last = { event: e, kind };
  }
  if (!last) return `${subject} is in the bin, but the audit log records no deletion of it: ${DIRECT}`;
  if (last.kind === 'restored') return `${subject} is in the bin, but the audit log last records it restored, at ${last.event.time}, and no deletion since: ${DIRECT}`;
  if (Date.parse(last.event.time) > Date.parse(cutoff)) {
    return `${subject} was deleted at ${last.event.time} by the audit log, after ${cutoff}, so it has not yet been in the bin ${since}, but its row says it has: ${DIRECT}`;
  }
  return null;
}

/**
 * A collection's deletion: it bins the collection and every collection below it, each stamped with the
 * deletion's instant (collections are never restored). Its documents each get their own
 * `document.delete`.
 */
export const COLLECTION_BIN_ACTIONS = ['collection.delete'] as const;

const sameInstant = (a: string, b: string): boolean => Date.parse(a) === Date.parse(b);

/**
 * Why a document's row is, or is not, in the bin where the log's latest binning or restoring event for
 * it does not say so; null when it agrees. In the bin, it must be since the instant of that deletion.
 * A deleted_at set by hand hides a live record from everyone who may read it, and one cleared by hand
 * puts back what its organisation deleted; the purge checks only what it is about to destroy. `events`: IN THE ORDER THEY WERE WRITTEN.
 */
export function unrecordedDocumentBinState(subject: string, row: { id: string; deletedAt: string | null }, events: readonly RecordingEvent[]): string | null {
  let last: { event: RecordingEvent; kind: 'binned' | 'restored' } | null = null;
  for (const e of events) {
    if (e.targetIds.documentId !== row.id) continue;
    const kind = binningOf(e);
    if (kind) last = { event: e, kind };
  }
  if (row.deletedAt === null) {
    return last?.kind === 'binned' ? `${subject} is not in the bin, but the audit log last records it deleted, at ${last.event.time}, and no restore since: ${DIRECT}` : null;
  }
  if (!last) return `${subject} is in the bin since ${row.deletedAt}, but the audit log records no deletion of it: ${DIRECT}`;
  if (last.kind === 'restored') return `${subject} is in the bin since ${row.deletedAt}, but the audit log last records it restored, at ${last.event.time}, and no deletion since: ${DIRECT}`;
  if (!sameInstant(last.event.time, row.deletedAt)) return `${subject} is in the bin since ${row.deletedAt}, but the audit log records its deletion at ${last.event.time}: ${DIRECT}`;
  return null;
}

/**
 * For `audit verify`: the first collection whose bin state no deletion accounts for. One in the bin must
 * have been deleted, itself or a collection above it, at the instant its row gives; one not in the bin
 * must have no deletion recorded of it or of any collection above it. `collections`: every collection
 * (the chain above each is read from them); `events`: collection deletions.
 */
export function unrecordedCollectionBinState(collections: readonly { id: string; parentId: string | null; deletedAt: string | null }[], events: readonly RecordingEvent[]): string | null {
  const deletions = new Map<string, string[]>();
  for (const e of events) {
    if (e.decision !== 'allow' || e.action !== 'collection.delete' || !e.targetIds.collectionId) continue;
    deletions.set(e.targetIds.collectionId, [...(deletions.get(e.targetIds.collectionId) ?? []), e.time]);
  }
  const parents = new Map(collections.map((c) => [c.id, c.parentId]));
  const selfAndAbove = (id: string): string[] => {
    const chain: string[] = [];
    // A parent loop written by hand is the placement check's to name; here it only has to end.
    for (let at: string | null | undefined = id; at != null && !chain.includes(at); at = parents.get(at)) chain.push(at);
    return chain;
  };
  for (const c of collections) {
    const chain = selfAndAbove(c.id);
    if (c.deletedAt === null) {
      const deleted = chain.find((id) => deletions.has(id));
      if (deleted !== undefined) {
        const whose = deleted === c.id ? 'it' : `collection ${deleted}, above it,`;
        return `Collection ${c.id} is not in the bin, but the audit log records ${whose} deleted, at ${deletions.get(deleted)![0]}: ${DIRECT}`;
      }
    } else if (!chain.some((id) => (deletions.get(id) ?? []).some((time) => sameInstant(time, c.deletedAt!)))) {
      return `Collection ${c.id} is in the bin since ${c.deletedAt}, but the audit log records no deletion of it, or of a collection above it, at that instant: ${DIRECT}`;
    }
  }
  return null;
}
