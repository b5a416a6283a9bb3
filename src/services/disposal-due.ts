// What has fallen due in an organisation: each candidate document's retention facts, computed in one
// batch (series, placements and events read once) rather than per document.
// TODO(records slice A): replace with RetentionService.retentionFacts(documentIds) once `fileplan` lands,
// so the batch computation lives in one place.
import { eventDateFor } from '../domain/records/events.js';
import { retentionOf, type RetentionFacts } from '../domain/records/retention.js';
import type { Repos } from '../domain/repositories.js';

export interface DocumentRetention {
  documentId: string;
  facts: RetentionFacts;
}

/** The retention facts of each of these documents of one organisation (documents not found are left out). */
export async function retentionFactsOf(repos: Repos, organisationId: string, documentIds: readonly string[]): Promise<Map<string, RetentionFacts>> {
  const out = new Map<string, RetentionFacts>();
  if (documentIds.length === 0) return out;
  const series = new Map((await repos.retention.listSeries(organisationId)).map((s) => [s.code, s]));
  const placements = await repos.retention.placements(documentIds);
  const events = await repos.retention.eventsFor({
    documentIds: placements.map((p) => p.documentId),
    collectionIds: [...new Set(placements.flatMap((p) => p.collections.map((c) => c.id)))],
  });
  for (const p of placements) {
    if (p.organisationId !== organisationId) continue;
    const code = p.ownSeriesCode ?? p.collections.find((c) => c.seriesCode !== null)?.seriesCode ?? null;
    const s = code === null ? undefined : series.get(code);
    const eventDate = s ? eventDateFor(s.trigger, p.documentId, p.collections.map((c) => c.id), events) : null;
    out.set(p.documentId, retentionOf({ series: s ?? null, createdAt: p.createdAt, eventDate, retainUntil: p.retainUntil }));
  }
  return out;
}
