// Each document's retention facts, computed in batches for any number of documents: a few queries a
// batch (placements, events, series, holds), never one a document. Shared by the retention service
// (pages, the API, previews of a series change) and, through it, the disposal sweep; the due-date
// checks and retention events compare them before and after a change. And a collection's filing.
import { eventDateFor, type RetentionEvent } from '../domain/records/events.js';
import type { HoldRef } from '../domain/records/holds.js';
import { retentionOf, type RetentionFacts } from '../domain/records/retention.js';
import type { RecordSeries } from '../domain/records/series.js';
import type { Repos } from '../domain/repositories.js';
import type { Collection } from '../domain/types.js';

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

/** Where a collection is filed: its own series, or the one it inherits, and the events recorded on it. */
export interface CollectionFiling {
  ownSeries: string | null;
  /** The series that applies to what is filed here (its own, or the nearest above it). */
  series: RecordSeries | null;
  events: RetentionEvent[];
}

/** A collection's filing (no access check of its own). */
export async function filingOf(repos: Repos, collection: Collection): Promise<CollectionFiling> {
  const collectionId = collection.id;
  const chain: Collection[] = [];
  for (let c: Collection | undefined = collection; c && chain.length < 100; c = c.parentId ? await repos.collections.byId(c.parentId) : undefined) chain.push(c);
  const codes = await Promise.all(chain.map((c) => repos.retention.collectionSeries(c.id)));
  const code = codes.find((c) => c !== null) ?? null;
  const series = code === null ? null : (await repos.retention.series(collection.organisationId, code)) ?? null;
  const events = (await repos.retention.eventsFor({ documentIds: [], collectionIds: [collectionId] })).filter((e) => e.documentId === null && e.clearedAt === null);
  return { ownSeries: codes[0] ?? null, series, events };
}
