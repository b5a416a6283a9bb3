// Who brought forward when a due batch's records fall due, as the audit log records it. Shortening a series,
// refiling or moving a record under a shorter period, and recording or clearing a trigger event can each make a
// record due sooner than the file plan kept it; each is refused unless a records manager confirms it
// (`confirmShorter`), and each confirmed one is audited with how many due dates it brought earlier
// (`movedEarlier`). A records manager who did one of those for a record may not also approve its destruction
// alone (decide(), `records.approve-disposal`: `brought_due_date_forward`), or one person could make a kept
// record due and destroy it, as early destruction (two people's decision) would not let them.
import type { AuditEvent } from './event.js';

/** Acts read by the document they are filed under: its own refiling, its move or rename (with a refiling). */
export const DUE_DATE_DOCUMENT_ACTIONS = ['records.document.series', 'document.move', 'document.rename'] as const;
/**
 * Acts read by organisation: a series changed, a collection refiled or moved, a trigger event recorded (for
 * documents or a collection) or cleared (each clearing reaches the place the recording of its event names).
 */
export const DUE_DATE_ORGANISATION_ACTIONS = ['records.series.update', 'records.collection.series', 'collection.move', 'records.event.record', 'records.event.clear'] as const;

type RecordingEvent = Pick<AuditEvent, 'action' | 'decision' | 'targetIds' | 'actorUserId' | 'time'>;

/** Where a record of a due batch is now, as its rows say: what the acts are matched against. */
export interface DueRecordPlace {
  documentId: string;
  /** When the document was created: a series shortened before then did not shorten it. */
  createdAt: string;
  /** The series that applies to it (its own, or its nearest collection's), and that series' revision; null: unfiled. */
  series: { code: string; revision: number } | null;
  /** Its collection first, then each one above it. */
  collectionIds: readonly string[];
}

/** A trigger event recorded for a record or a collection above it (a row), and who the row says recorded and cleared it. */
export interface TriggerEventRow {
  id: string;
  recordedBy: string | null;
  clearedBy: string | null;
}

/** Who brought the records' due dates forward, or why the log cannot tell (said to a person). */
export type BroughtForward = { by: string[] } | { unvouched: string };

const broughtEarlier = (e: RecordingEvent): boolean => Number(e.targetIds.movedEarlier ?? '0') > 0;
const DIRECT = 'it was changed in the database directly, not by Strongroom.';

/**
 * The people who, by the audit log, brought forward the due date of any of `places`: whose confirmed act
 * (`movedEarlier` > 0) shortened the series a record is filed under (after the record was created), refiled or
 * moved it (or a collection above it) under a shorter period, or recorded or cleared a trigger event that reaches
 * it. `events`: the allowed, sealed events of DUE_DATE_DOCUMENT_ACTIONS filed under these records and of
 * DUE_DATE_ORGANISATION_ACTIONS of their organisation (a rewritten one vouches for nothing, so it is not among them).
 *
 * The rows must agree with the log, or who did what cannot be told (fail closed: `unvouched`): every revision
 * after the first of a record's series has its `records.series.update` event, and every trigger event row that
 * names who recorded (or cleared) it has that person's `records.event.record` (or `records.event.clear`) event.
 * An event rewritten in the database to hide who shortened a period, or how many due dates it moved, breaks its
 * seal, and the revision or trigger event it recorded is then vouched for by nothing.
 */
export function dueDatesBroughtForward(places: readonly DueRecordPlace[], triggerEvents: readonly TriggerEventRow[], events: readonly RecordingEvent[]): BroughtForward {
  const allowed = events.filter((e) => e.decision === 'allow');
  const recordings = new Map(allowed.filter((e) => e.action === 'records.event.record' && e.targetIds.eventId !== undefined).map((e) => [e.targetIds.eventId!, e]));
  const clearings = new Map(allowed.filter((e) => e.action === 'records.event.clear' && e.targetIds.eventId !== undefined).map((e) => [e.targetIds.eventId!, e]));
  const revisions = new Set(allowed.filter((e) => e.action === 'records.series.update').map((e) => `${e.targetIds.seriesCode}#${e.targetIds.revision}`));

  for (const code of new Map(places.flatMap((p) => (p.series ? [[p.series.code, p.series.revision] as const] : []))).entries()) {
    for (let revision = 2; revision <= code[1]; revision += 1) {
      if (!revisions.has(`${code[0]}#${revision}`)) return { unvouched: `Revision ${revision} of record series ${code[0]} is recorded in no change of the series in the audit log: ${DIRECT}` };
    }
  }
  for (const row of triggerEvents) {
    if (row.recordedBy !== null && recordings.get(row.id)?.actorUserId !== row.recordedBy) {
      return { unvouched: `Trigger event ${row.id} is marked recorded by person ${row.recordedBy}, but no recording of it by them is in the audit log: ${DIRECT}` };
    }
    if (row.clearedBy !== null && clearings.get(row.id)?.actorUserId !== row.clearedBy) {
      return { unvouched: `Trigger event ${row.id} is marked cleared by person ${row.clearedBy}, but no clearing of it by them is in the audit log: ${DIRECT}` };
    }
  }

  // Who brought dates forward, by what their acts reached: a record, a collection, a series.
  const byDocument = new Map<string, Set<string>>();
  const byCollection = new Map<string, Set<string>>();
  const bySeries = new Map<string, { time: string; by: string }[]>();
  const add = (map: Map<string, Set<string>>, key: string | undefined, by: string) => {
    if (key !== undefined) map.set(key, (map.get(key) ?? new Set()).add(by));
  };
  for (const e of allowed) {
    if (!broughtEarlier(e) || e.actorUserId === null) continue;
    // A clearing reaches where the event it clears was recorded.
    const place = e.action === 'records.event.clear' ? recordings.get(e.targetIds.eventId ?? '')?.targetIds : e.targetIds;
    if (place === undefined) continue;
    if (e.action === 'records.series.update') {
      if (e.targetIds.seriesCode !== undefined) bySeries.set(e.targetIds.seriesCode, [...(bySeries.get(e.targetIds.seriesCode) ?? []), { time: e.time, by: e.actorUserId }]);
    } else if (place.documentId !== undefined) add(byDocument, place.documentId, e.actorUserId);
    else add(byCollection, place.collectionId, e.actorUserId);
  }
  const by = new Set<string>();
  for (const p of places) {
    for (const person of byDocument.get(p.documentId) ?? []) by.add(person);
    for (const id of p.collectionIds) for (const person of byCollection.get(id) ?? []) by.add(person);
    // A series shortened before the record existed did not shorten the record's period (its filing there is its own act, above).
    for (const change of p.series ? bySeries.get(p.series.code) ?? [] : []) if (change.time > p.createdAt) by.add(change.by);
  }
  return { by: [...by].sort() };
}

/**
 * For an approved due batch: why its approval is not one the rule allows, said to a person; null when it is. A
 * due batch is approved by a records manager who brought forward none of its records' due dates (decide(),
 * `records.approve-disposal`), so an approval by one who did was written past that rule (or before it, 8 December
 * 2026): the disposal job destroys nothing on it. `batch.approvedBy` must already be vouched for by the approval
 * event (unrecordedDisposalStep).
 */
export function unsecondedDueApproval(batch: { id: string; approvedBy: string | null }, forward: BroughtForward): string | null {
  if ('unvouched' in forward) return `Who brought forward the due dates of disposal batch ${batch.id}'s records cannot be told. ${forward.unvouched}`;
  if (batch.approvedBy === null || !forward.by.includes(batch.approvedBy)) return null;
  return `Disposal batch ${batch.id}'s recorded approval is by person ${batch.approvedBy}, who brought forward when some of its records fall due: `
    + 'their destruction must be approved by another records manager, and Strongroom does not let them approve it.';
}
