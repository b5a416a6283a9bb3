// Whether the subject access register is what audited steps left. Its rows decide what a person is sent
// and when: a database administrator who puts a record in a response (or takes one out) by writing an
// item row, re-dates a request, marks it extended or closed, or gives a council a part (whose DPOs then
// see who the request is about) changes the answer to a legal request without anyone having decided it.
// Each step's sealed event names the request and what it changed, so `audit verify` can name a row no
// event accounts for. The response package withholds an item no event records; this names it.
import type { AuditEvent } from './event.js';
import type { SubjectAccessItem, SubjectAccessPart, SubjectAccessRequest } from '../records/subject-access.js';

/** The events that make or change the rows (`records.hold.create` for the hold a part names). */
export const SUBJECT_ACCESS_RECORD_ACTIONS = [
  'subject-access.open', 'subject-access.ask', 'subject-access.add', 'subject-access.remove', 'subject-access.extend', 'subject-access.close', 'records.hold.create',
] as const;

type RecordingEvent = Pick<AuditEvent, 'action' | 'decision' | 'targetIds' | 'targetOrganisationId' | 'actorUserId'>;

const DIRECT = 'it was changed in the database directly, not by Strongroom.';
const DELETED = 'it was deleted in the database directly, not by Strongroom.';

const partKey = (requestId: string, organisationId: string | null): string => `${requestId}|${organisationId ?? ''}`;
const person = (id: string | null): string => (id === null ? 'no one' : `person ${id}`);

/** The allowed events, by request, part (request and organisation) and item. */
function history(events: readonly RecordingEvent[]) {
  const opened = new Map<string, RecordingEvent>();
  const extended = new Map<string, RecordingEvent>();
  const closed = new Map<string, RecordingEvent>();
  /** Parts the log made: the requester's own (by its opening) and each partner's (by its asking). */
  const asked = new Map<string, { requestId: string; organisationId: string | null }>();
  const added = new Map<string, RecordingEvent>();
  const removed = new Map<string, RecordingEvent>();
  /** Holds placed for a request's part: holdId|requestId|organisation. */
  const holds = new Set<string>();
  for (const e of events) {
    const requestId = e.targetIds.requestId;
    if (e.decision !== 'allow' || !requestId) continue;
    const itemId = e.targetIds.itemId;
    switch (e.action) {
      case 'subject-access.open':
        opened.set(requestId, e);
        asked.set(partKey(requestId, e.targetOrganisationId), { requestId, organisationId: e.targetOrganisationId });
        break;
      case 'subject-access.ask':
        asked.set(partKey(requestId, e.targetOrganisationId), { requestId, organisationId: e.targetOrganisationId });
        break;
      case 'subject-access.extend':
        extended.set(requestId, e);
        break;
      case 'subject-access.close':
        closed.set(requestId, e);
        break;
      case 'subject-access.add':
        if (itemId) added.set(itemId, e);
        break;
      case 'subject-access.remove':
        if (itemId) removed.set(itemId, e);
        break;
      case 'records.hold.create':
        if (e.targetIds.holdId) holds.add(`${e.targetIds.holdId}|${partKey(requestId, e.targetOrganisationId)}`);
        break;
    }
  }
  return { opened, extended, closed, asked, added, removed, holds };
}

const itemPlace = (i: Pick<SubjectAccessItem, 'documentId' | 'requestId'>): string => `document ${i.documentId} in subject access request ${i.requestId}`;

function unrecordedRequest(r: SubjectAccessRequest, log: ReturnType<typeof history>, earlier: ReturnType<typeof history>): string | null {
  const opening = log.opened.get(r.id);
  if (!opening) return `Subject access request ${r.id} (organisation ${r.organisationId}) matches no recorded opening: ${DIRECT}`;
  if (opening.targetOrganisationId !== r.organisationId) {
    return `Subject access request ${r.id} is organisation ${r.organisationId}'s, but the audit log records it opened by organisation ${opening.targetOrganisationId ?? '(none)'}: ${DIRECT}`;
  }
  if (opening.actorUserId !== r.openedBy) {
    return `Subject access request ${r.id} says ${person(r.openedBy)} opened it, but the audit log records ${person(opening.actorUserId)}: ${DIRECT}`;
  }
  if (opening.targetIds.dueOn !== r.dueOn) {
    return `Subject access request ${r.id} is due on ${r.dueOn}, but the audit log records it opened due on ${opening.targetIds.dueOn ?? '(none)'}: ${DIRECT}`;
  }
  const extension = log.extended.get(r.id);
  if (r.extendedDueOn !== null && !extension) return `Subject access request ${r.id} is marked extended to ${r.extendedDueOn}, which no audit event records: ${DIRECT}`;
  if (r.extendedDueOn !== null && extension && extension.targetIds.dueOn !== r.extendedDueOn) {
    return `Subject access request ${r.id} is extended to ${r.extendedDueOn}, but the audit log records it extended to ${extension.targetIds.dueOn ?? '(none)'}: ${DIRECT}`;
  }
  const recordedExtension = earlier.extended.get(r.id);
  if (r.extendedDueOn === null && recordedExtension) {
    return `Subject access request ${r.id} was extended to ${recordedExtension.targetIds.dueOn ?? '(none)'} (the audit log records it) but its row says it is not: ${DIRECT}`;
  }
  const closing = log.closed.get(r.id);
  if (r.status !== 'open') {
    if (!closing) return `Subject access request ${r.id} is marked ${r.status}${r.outcome ? ` (${r.outcome})` : ''}, which no audit event records: ${DIRECT}`;
    if (closing.actorUserId !== r.closedBy) {
      return `Subject access request ${r.id} says ${person(r.closedBy)} closed it, but the audit log records ${person(closing.actorUserId)}: ${DIRECT}`;
    }
    if (r.status !== 'closed' || closing.targetIds.outcome !== r.outcome) {
      return `Subject access request ${r.id} is ${r.status} as ${r.outcome ?? 'no outcome'}, but the audit log records it closed as ${closing.targetIds.outcome ?? '(none)'}: ${DIRECT}`;
    }
    return null;
  }
  const recordedClosing = earlier.closed.get(r.id);
  if (recordedClosing) {
    return `Subject access request ${r.id} was closed as ${recordedClosing.targetIds.outcome ?? '(none)'} (the audit log records it) but its row says it is open: ${DIRECT}`;
  }
  if (r.outcome !== null) return `Subject access request ${r.id} is open but its row gives an outcome (${r.outcome}), which no audit event records: ${DIRECT}`;
  return null;
}

function unrecordedPart(p: SubjectAccessPart, log: ReturnType<typeof history>): string | null {
  const key = partKey(p.requestId, p.organisationId);
  if (!log.asked.has(key)) return `Organisation ${p.organisationId}'s part in subject access request ${p.requestId} matches no recorded asking: ${DIRECT}`;
  if (p.holdId !== null && !log.holds.has(`${p.holdId}|${key}`)) {
    return `Organisation ${p.organisationId}'s part in subject access request ${p.requestId} names legal hold ${p.holdId}, which the audit log does not record placed for it: ${DIRECT}`;
  }
  return null;
}

function unrecordedItem(i: SubjectAccessItem, log: ReturnType<typeof history>, earlier: ReturnType<typeof history>): string | null {
  const addition = log.added.get(i.id);
  if (!addition || addition.targetIds.requestId !== i.requestId || addition.targetOrganisationId !== i.organisationId
    || addition.targetIds.documentId !== i.documentId || addition.targetIds.versionId !== i.versionId || addition.actorUserId !== i.addedBy) {
    return `Subject access item ${i.id} (document ${i.documentId}, version ${i.versionId}, in organisation ${i.organisationId}'s part of request ${i.requestId}) matches no recorded inclusion: ${DIRECT}`;
  }
  const removal = log.removed.get(i.id);
  if (i.removedAt !== null && (!removal || removal.targetIds.requestId !== i.requestId || removal.actorUserId !== i.removedBy)) {
    return `Subject access item ${i.id} (${itemPlace(i)}) is marked taken out of the response by ${person(i.removedBy)}, which no audit event records: ${DIRECT}`;
  }
  if (i.removedAt === null && earlier.removed.has(i.id)) {
    return `Subject access item ${i.id} (${itemPlace(i)}) was taken out of the response (the audit log records it) but its row says it is in: ${DIRECT}`;
  }
  return null;
}

/**
 * The first subject access request, part or item the log does not account for, said to a person; null
 * when every one matches. Both ways round: a row no event made or changed, and an event whose row is
 * gone or undone (requests, parts and items are never deleted by Strongroom, an item only marked removed).
 * `events` are read after the rows, so they record every step the rows show; `earlier`, read before
 * them (the same, when nothing runs meanwhile), are the steps the rows must show: a step committed
 * between the reads is then neither missing from the rows nor from the log.
 */
export function unrecordedSubjectAccessRow(
  rows: { requests: readonly SubjectAccessRequest[]; parts: readonly SubjectAccessPart[]; items: readonly SubjectAccessItem[] },
  events: readonly RecordingEvent[],
  earlierEvents: readonly RecordingEvent[] = events,
): string | null {
  const log = history(events);
  const earlier = earlierEvents === events ? log : history(earlierEvents);
  for (const r of rows.requests) {
    const problem = unrecordedRequest(r, log, earlier);
    if (problem) return problem;
  }
  for (const p of rows.parts) {
    const problem = unrecordedPart(p, log);
    if (problem) return problem;
  }
  for (const i of rows.items) {
    const problem = unrecordedItem(i, log, earlier);
    if (problem) return problem;
  }
  const requests = new Set(rows.requests.map((r) => r.id));
  for (const [requestId, e] of earlier.opened) {
    if (!requests.has(requestId)) return `Subject access request ${requestId} (organisation ${e.targetOrganisationId ?? '(none)'}), whose opening the audit log records, has no row: ${DELETED}`;
  }
  const parts = new Set(rows.parts.map((p) => partKey(p.requestId, p.organisationId)));
  for (const [key, part] of earlier.asked) {
    if (!parts.has(key)) return `Organisation ${part.organisationId ?? '(none)'}'s part in subject access request ${part.requestId}, which the audit log records, has no row: ${DELETED}`;
  }
  const items = new Set(rows.items.map((i) => i.id));
  for (const [itemId, e] of earlier.added) {
    if (!items.has(itemId)) {
      return `Subject access item ${itemId} (${itemPlace({ documentId: e.targetIds.documentId ?? '(none)', requestId: e.targetIds.requestId ?? '(none)' })}), whose inclusion the audit log records, has no row: ${DELETED}`;
    }
  }
  return null;
}
