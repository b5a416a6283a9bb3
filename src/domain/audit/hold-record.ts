// Whether the legal hold register, as the policy reads it now, is what audited steps left. A hold is
// what keeps a record from destruction, and it lives in rows: a database administrator who sets a
// hold's released_at, or deletes the row that puts a document under it, frees the record for the
// next disposal sweep without anyone having released anything. Each step's sealed event names the
// hold (and the document or collection it added), so `audit verify` can name a row no event accounts
// for, and the disposal job can ask the log, not the rows, whether a record it is about to destroy
// was ever put under a hold that nobody released.
import type { AuditEvent } from './event.js';
import type { HoldItem, LegalHold } from '../records/holds.js';

export const HOLD_RECORD_ACTIONS = ['records.hold.create', 'records.hold.add', 'records.hold.release'] as const;

type RecordingEvent = Pick<AuditEvent, 'action' | 'decision' | 'targetIds' | 'targetOrganisationId' | 'actorUserId'>;

const DIRECT = 'it was changed in the database directly, not by Strongroom.';

const placeOf = (item: Pick<HoldItem, 'documentId' | 'collectionId'>): string => (item.documentId ? `document ${item.documentId}` : `collection ${item.collectionId ?? '(none)'}`);

/** The allowed hold events, by hold: who created and released it, and what was added to it (by whom). */
function holdHistory(events: readonly RecordingEvent[]) {
  const created = new Map<string, RecordingEvent>();
  const released = new Map<string, RecordingEvent>();
  const added = new Map<string, RecordingEvent[]>();
  for (const e of events) {
    const holdId = e.targetIds.holdId;
    if (e.decision !== 'allow' || !holdId) continue;
    if (e.action === 'records.hold.create') created.set(holdId, e);
    else if (e.action === 'records.hold.release') released.set(holdId, e);
    else if (e.action === 'records.hold.add') added.set(holdId, [...(added.get(holdId) ?? []), e]);
  }
  return { created, released, added };
}

/**
 * The first hold or hold item the log does not account for, said to a person; null when every one
 * matches. Both ways round: a row no event made (a hold inserted, a release written, an item
 * re-pointed at another document), and an event whose row is gone (an item deleted, which frees its
 * document as surely as a release). Holds and their items are never deleted by Strongroom.
 */
export function unrecordedHoldRow(rows: { holds: readonly LegalHold[]; items: readonly HoldItem[] }, events: readonly RecordingEvent[]): string | null {
  const { created, released, added } = holdHistory(events);
  const holds = new Map(rows.holds.map((h) => [h.id, h]));
  for (const h of rows.holds) {
    const creation = created.get(h.id);
    if (!creation || creation.targetOrganisationId !== h.organisationId || creation.actorUserId !== h.createdBy) {
      return `Legal hold ${h.id} (organisation ${h.organisationId}) matches no recorded placing: ${DIRECT}`;
    }
    const release = released.get(h.id);
    if (h.releasedAt !== null && (!release || release.actorUserId !== h.releasedBy)) {
      return `Legal hold ${h.id} is marked released${h.releasedBy ? ` by person ${h.releasedBy}` : ''}, which no audit event records: ${DIRECT}`;
    }
    if (h.releasedAt === null && release) {
      return `Legal hold ${h.id} was released (the audit log records it) but its row says it is in force: ${DIRECT}`;
    }
  }
  const present = new Set<string>();
  for (const item of rows.items) {
    const key = `${item.holdId}|${item.documentId ?? ''}|${item.collectionId ?? ''}`;
    present.add(key);
    const recorded = (added.get(item.holdId) ?? []).some((e) => (e.targetIds.documentId ?? '') === (item.documentId ?? '')
      && (e.targetIds.collectionId ?? '') === (item.collectionId ?? '') && e.actorUserId === item.addedBy);
    if (!recorded || !holds.has(item.holdId)) return `The hold item putting ${placeOf(item)} under legal hold ${item.holdId} matches no recorded addition: ${DIRECT}`;
  }
  for (const [holdId] of created) {
    if (!holds.has(holdId)) return `Legal hold ${holdId}, whose placing the audit log records, has no row: it was deleted in the database directly, not by Strongroom.`;
  }
  for (const [holdId, additions] of added) {
    for (const e of additions) {
      const place = { documentId: e.targetIds.documentId ?? null, collectionId: e.targetIds.collectionId ?? null };
      if (!present.has(`${holdId}|${place.documentId ?? ''}|${place.collectionId ?? ''}`)) {
        return `The audit log records ${placeOf(place)} added to legal hold ${holdId}, but no hold item says so: it was deleted in the database directly, not by Strongroom.`;
      }
    }
  }
  return null;
}

/**
 * The holds the log says were placed over a document (on it, or on any of the collections it sits
 * in) and never records as released: by the log, the document is still held by each. Events in any order.
 */
export function holdsUnreleasedInLog(place: { documentId: string; collectionIds: readonly string[] }, events: readonly RecordingEvent[]): string[] {
  const { released, added } = holdHistory(events);
  const collections = new Set(place.collectionIds);
  const holding: string[] = [];
  for (const [holdId, additions] of added) {
    if (released.has(holdId)) continue;
    if (additions.some((e) => e.targetIds.documentId === place.documentId || (e.targetIds.collectionId !== undefined && collections.has(e.targetIds.collectionId)))) holding.push(holdId);
  }
  return holding.sort();
}
