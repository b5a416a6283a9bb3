// Each document's retention facts, computed in batches for any number of documents: a few queries a
// batch (placements, events, series, holds), never one a document. Shared by the retention service
// (pages, the API, previews of a series change) and, through it, the disposal sweep; the due-date
// checks and retention events compare them before and after a change. And a collection's filing, and
// the recorded events that reach a document or a collection (their own and those above them).
import { eventDateFor, eventInForce, type RetentionEvent } from '../domain/records/events.js';
import type { HoldRef } from '../domain/records/holds.js';
import { retentionOf, type RetentionFacts } from '../domain/records/retention.js';
import type { RecordSeries } from '../domain/records/series.js';
import type { Repos } from '../domain/repositories.js';
import type { Collection, Document } from '../domain/types.js';

export type DocumentRetention = RetentionFacts & { holds: HoldRef[] };

export interface FactsWithSeries {
  facts: RetentionFacts;
  /** The series that applies (own or inherited), or null: unfiled, or filed under a code the plan no longer has. */
  series: RecordSeries | null;
}

const BATCH = 500;

/**
 * Facts of each of these documents that exists. `override`: a series to use instead of the stored
 * one with the same code and organisation (what a change would do, before it is made).
 * `clearedEventsToo`: as if no recorded event had been cleared (the latest recorded still wins): the due
 * date a record had before its events were cleared, which recording a new one is measured against.
 */
export async function computeFacts(
  repos: Repos, documentIds: readonly string[], override?: RecordSeries, options: { clearedEventsToo?: boolean } = {},
): Promise<Map<string, FactsWithSeries>> {
  const out = new Map<string, FactsWithSeries>();
  const plans = new Map<string, Map<string, RecordSeries>>();
  const unique = [...new Set(documentIds)];
  for (let start = 0; start < unique.length; start += BATCH) {
    const chunk = unique.slice(start, start + BATCH);
    const placements = await repos.retention.placements(chunk);
    const collectionIds = [...new Set(placements.flatMap((p) => p.collections.map((c) => c.id)))];
    const recorded = await repos.retention.eventsFor({ documentIds: chunk, collectionIds });
    const events = options.clearedEventsToo ? recorded.map((e) => ({ ...e, clearedAt: null })) : recorded;
    for (const organisationId of new Set(placements.map((p) => p.organisationId))) {
      if (plans.has(organisationId)) continue;
      const plan = new Map((await repos.retention.listSeries(organisationId)).map((s) => [s.code, s]));
      if (override && override.organisationId === organisationId) plan.set(override.code, override);
      plans.set(organisationId, plan);
    }
    for (const p of placements) {
      const code = p.ownSeriesCode ?? p.collections.find((c) => c.seriesCode !== null)?.seriesCode ?? null;
      const series = code === null ? null : plans.get(p.organisationId)?.get(code) ?? null;
      const chain = p.collections.map((c) => c.id);
      const eventDate = series ? eventDateFor(series.trigger, p.documentId, chain, events) : null;
      out.set(p.documentId, { series, facts: retentionOf({ series, createdAt: p.createdAt, eventDate, retainUntil: p.retainUntil }) });
    }
  }
  return out;
}

/** `computeFacts` with the active holds over each document (read fresh), for the disposal slice. */
export async function computeRetention(repos: Repos, documentIds: readonly string[]): Promise<Map<string, DocumentRetention>> {
  const facts = await computeFacts(repos, documentIds);
  const out = new Map<string, DocumentRetention>();
  const ids = [...facts.keys()];
  for (let start = 0; start < ids.length; start += BATCH) {
    const holds = await repos.holds.activeForDocuments(ids.slice(start, start + BATCH));
    for (const id of ids.slice(start, start + BATCH)) out.set(id, { ...facts.get(id)!.facts, holds: holds.get(id) ?? [] });
  }
  return out;
}

/** Due date of facts, or null while awaiting an event or unfiled. */
export const dueOf = (facts: RetentionFacts): string | null => (facts.state === 'scheduled' ? facts.dueAt : null);

/** Where a collection is filed: its own series, or the one it inherits. */
export interface CollectionFiling {
  ownSeries: string | null;
  /** The series that applies to what is filed here (its own, or the nearest above it). */
  series: RecordSeries | null;
  /** The collection first, then each parent up to the top. */
  chain: string[];
}

/** A collection's filing (no access check of its own). */
export async function filingOf(repos: Repos, collection: Collection): Promise<CollectionFiling> {
  const chain: Collection[] = [];
  for (let c: Collection | undefined = collection; c && chain.length < 100; c = c.parentId ? await repos.collections.byId(c.parentId) : undefined) chain.push(c);
  const codes = await Promise.all(chain.map((c) => repos.retention.collectionSeries(c.id)));
  const code = codes.find((c) => c !== null) ?? null;
  const series = code === null ? null : (await repos.retention.series(collection.organisationId, code)) ?? null;
  return { ownSeries: codes[0] ?? null, series, chain: chain.map((c) => c.id) };
}

/** A live event that reaches a document or a collection, and how. */
export type ReachingEvent = RetentionEvent & {
  /** Recorded for a collection above it (for a document: for any collection), not for it. */
  inherited: boolean;
  /**
   * Its date is the one the due date counts from, under the series that applies (a document's own
   * series or its collection's): for a collection, for a document directly in it with no event of its own.
   */
  inForce: boolean;
};

/**
 * The uncleared events that reach a document or a collection, as the due dates use them
 * (`eventInForce`): its own, then those of each collection above it, nearest first, the latest recorded
 * first within one place; whatever their kind (an event of another kind is kept, and waits for a series
 * it triggers). No access check of its own.
 */
export async function eventsReaching(repos: Repos, place: { document: Document } | { collection: Collection }): Promise<{ series: RecordSeries | null; events: ReachingEvent[] }> {
  let documentId: string | null = null;
  let chain: string[];
  let series: RecordSeries | null;
  if ('document' in place) {
    documentId = place.document.id;
    const [placement] = await repos.retention.placements([documentId]);
    chain = placement?.collections.map((c) => c.id) ?? [];
    series = (await computeFacts(repos, [documentId])).get(documentId)?.series ?? null;
  } else {
    ({ chain, series } = await filingOf(repos, place.collection));
  }
  const live = (await repos.retention.eventsFor({ documentIds: documentId === null ? [] : [documentId], collectionIds: chain }))
    .filter((e) => e.clearedAt === null && (e.documentId === null ? e.collectionId !== null : e.documentId === documentId));
  const inForce = series ? eventInForce(series.trigger, documentId, chain, live) : null;
  // Nearest place first: the document's own (-1), then its chain in order.
  const rank = (e: RetentionEvent): number => (e.documentId !== null ? -1 : chain.indexOf(e.collectionId!));
  const ordered = [...live].sort((a, b) => rank(a) - rank(b) || b.recordedAt.localeCompare(a.recordedAt) || b.date.localeCompare(a.date));
  const own = documentId ?? chain[0];
  return { series, events: ordered.map((e) => ({ ...e, inherited: (e.documentId ?? e.collectionId) !== own, inForce: e.id === inForce?.id })) };
}
