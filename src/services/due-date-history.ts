// Who brought forward when a due batch's records fall due, read in a few queries for any number of records: where
// each is now (placements, by pages), the trigger event rows that reach them, the file plan, and the sealed events of
// the acts that can bring a due date forward (dueDatesBroughtForward judges them). For the approval of a due batch
// (DisposalService) and the disposal job's check of it (DisposalExecution).
import { DUE_DATE_DOCUMENT_ACTIONS, DUE_DATE_ORGANISATION_ACTIONS, dueDatesBroughtForward, type BroughtForward, type DueRecordPlace, type TriggerEventRow } from '../domain/audit/due-date-record.js';
import type { Repos } from '../domain/repositories.js';

const PAGE = 500;

export async function dueDatesBroughtForwardOf(repos: Repos, organisationId: string, documentIds: readonly string[]): Promise<BroughtForward> {
  const ids = [...new Set(documentIds)];
  if (ids.length === 0) return { by: [] };
  // The events first: an act and its rows commit together, so whatever the rows read after show was done honestly has its event among these.
  const events = await repos.audit.allowedEvents(DUE_DATE_DOCUMENT_ACTIONS, { organisationId, documentIds: ids, withEvery: DUE_DATE_ORGANISATION_ACTIONS });
  const plan = new Map((await repos.retention.listSeries(organisationId)).map((s) => [s.code, s]));
  const places: DueRecordPlace[] = [];
  const triggerEvents = new Map<string, TriggerEventRow>();
  for (let start = 0; start < ids.length; start += PAGE) {
    const placements = await repos.retention.placements(ids.slice(start, start + PAGE));
    for (const p of placements) {
      const code = p.ownSeriesCode ?? p.collections.find((c) => c.seriesCode !== null)?.seriesCode ?? null;
      const series = code === null ? undefined : plan.get(code);
      places.push({ documentId: p.documentId, createdAt: p.createdAt, series: series ? { code: series.code, revision: series.revision } : null, collectionIds: p.collections.map((c) => c.id) });
    }
    const collectionIds = [...new Set(placements.flatMap((p) => p.collections.map((c) => c.id)))];
    for (const e of await repos.retention.eventsFor({ documentIds: placements.map((p) => p.documentId), collectionIds })) triggerEvents.set(e.id, e);
  }
  return dueDatesBroughtForward(places, [...triggerEvents.values()], events);
}
