// Retention events: the dates that start event-triggered periods (employment ended, contract ended,
// process complete, or an event a series names), recorded by a records manager for one document or a
// whole collection. One recorded for a collection reaches every document in it and below it, including
// documents filed later, until it is cleared.
import type { CalendarDate } from './retention.js';
import type { RetentionTrigger } from './series.js';

export interface RetentionEvent {
  id: string;
  organisationId: string;
  kind: RetentionTrigger;
  date: CalendarDate;
  documentId: string | null;
  collectionId: string | null;
  recordedBy: string | null;
  recordedAt: string;
  clearedAt: string | null;
  clearedBy: string | null;
}

/**
 * The `kind` event in force for a document: its own (uncleared) event, else that of its nearest
 * collection that has one (`collectionChain` is the document's collection first, then each parent up
 * to the top). Of several uncleared events for the same place, the latest recorded wins; of two
 * recorded at the same instant (two requests in one millisecond), the later date, so the record is kept
 * the longer and the answer does not hang on the order the database returns rows in. `documentId`
 * null: the event in force for a document in the chain's first collection that has none of its own.
 */
export function eventInForce(
  kind: RetentionTrigger,
  documentId: string | null,
  collectionChain: readonly string[],
  events: readonly RetentionEvent[],
): RetentionEvent | null {
  const live = events.filter((e) => e.kind === kind && e.clearedAt === null);
  const latest = (matches: RetentionEvent[]): RetentionEvent | null =>
    matches.length === 0 ? null : matches.reduce((a, b) => (b.recordedAt > a.recordedAt || (b.recordedAt === a.recordedAt && b.date > a.date) ? b : a));
  const own = documentId === null ? null : latest(live.filter((e) => e.documentId === documentId));
  if (own !== null) return own;
  for (const collectionId of collectionChain) {
    const inherited = latest(live.filter((e) => e.documentId === null && e.collectionId === collectionId));
    if (inherited !== null) return inherited;
  }
  return null;
}

/** The date of the `kind` event in force for a document (`eventInForce`), or null: none recorded. */
export function eventDateFor(
  kind: RetentionTrigger,
  documentId: string,
  collectionChain: readonly string[],
  events: readonly RetentionEvent[],
): CalendarDate | null {
  return eventInForce(kind, documentId, collectionChain, events)?.date ?? null;
}
