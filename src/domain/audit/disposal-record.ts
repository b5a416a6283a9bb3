// Whether a disposal batch's approval and its items' decisions are what a records manager did, as the
// audit log records it. They are rows (disposal_batches.approved_by, disposal_items.decision), and the
// disposal job destroys what they say: a database administrator who writes `decision = 'destroy'` and
// `status = 'approved'` in a records manager's name would otherwise have the system shred records
// nobody decided to destroy, and sign a certificate naming someone who authorised nothing. Each
// decision and approval has a sealed event (disposal.decide, disposal.approve) that the database
// cannot forge, naming the batch, the person and (for a decision) the document and what was decided.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './event.js';
import type { DisposalBatch, DisposalItem } from '../records/disposal.js';

export const DISPOSAL_RECORD_ACTIONS = ['disposal.decide', 'disposal.approve'] as const;

/**
 * A records manager's proposal of one binned document for destruction before its retention ends: one event
 * per document, filed under it, naming the early batch and the SHA-256 of the reason. Read by document.
 */
export const PROPOSE_EARLY_ACTION = 'disposal.propose-early';

/** The SHA-256 (hex) of a reason given in free text: what an event records of it. */
export const reasonSha256 = (reason: string): string => createHash('sha256').update(reason, 'utf8').digest('hex');

type RecordingEvent = Pick<AuditEvent, 'action' | 'decision' | 'targetIds' | 'actorUserId'>;

const DIRECT = 'it was written into the database directly, not by Strongroom.';

/** What a decide event records for no new due date, or no reason. */
const NONE = 'none';

/**
 * The terms of a decision as its disposal.decide event records them (since 4 December 2026): the new due
 * date of an extension (`extendTo`) and the SHA-256 of the reason given (`reasonSha256`; the reason is
 * free text, which may name people, and events hold no personal details), each `none` when there is none.
 */
export function decisionTerms(item: { extendTo: string | null; reason: string | null }): { extendTo: string; reasonSha256: string } {
  return { extendTo: item.extendTo ?? NONE, reasonSha256: item.reason === null ? NONE : reasonSha256(item.reason) };
}

type DecidedItem = Pick<DisposalItem, 'documentId' | 'decision' | 'decidedBy'> & Partial<Pick<DisposalItem, 'extendTo' | 'reason'>>;

/**
 * Why an item's new due date or reason is not what its latest decide event records; null when they are,
 * and when the event records neither (a decision recorded before 4 December 2026: only what was decided
 * and by whom is compared, as then).
 */
function termsDiffer(batchId: string, item: DecidedItem, recorded: RecordingEvent): string | null {
  const ids = recorded.targetIds;
  const terms = decisionTerms({ extendTo: item.extendTo ?? null, reason: item.reason ?? null });
  const subject = `Document ${item.documentId} of disposal batch ${batchId}`;
  if (ids.extendTo !== undefined && ids.extendTo !== terms.extendTo) {
    const now = item.extendTo ? `has the new due date ${item.extendTo}` : 'has no new due date';
    const then = ids.extendTo === NONE ? 'sets none' : `sets ${ids.extendTo}`;
    return `${subject} ${now}, but its latest recorded decision, by person ${recorded.actorUserId ?? '(none)'}, ${then}: ${DIRECT}`;
  }
  if (ids.reasonSha256 !== undefined && ids.reasonSha256 !== terms.reasonSha256) {
    return `${subject} gives ${item.reason ? 'a reason for its decision' : 'no reason for its decision'} other than the one its latest recorded decision, by person ${recorded.actorUserId ?? '(none)'}, gave: ${DIRECT}`;
  }
  return null;
}

/**
 * The first approval or decision of this batch no audit event vouches for, said to a person; null when
 * every one is vouched for. `events`: the allowed disposal events, IN THE ORDER THEY WERE WRITTEN (the
 * latest decision of an item is the one that stands). Only the decisions of `items` are checked (the
 * disposal job passes those it is about to carry out); the approval is checked against every item of
 * `allItems`, since it must come after the last decision of each. For each item:
 *   - the latest decide event for it must record the row's decision, by the person the row names, and
 *     (if the event records them) the row's new due date and reason;
 * and for the batch, once it is approved:
 *   - an approve event by the person the row names, written after every item's latest decide event
 *     (a decision changed after the approval was never approved).
 */
export function unrecordedDisposalStep(
  batch: Pick<DisposalBatch, 'id' | 'status' | 'approvedBy'>,
  items: readonly DecidedItem[],
  events: readonly RecordingEvent[],
  allItems: readonly Pick<DisposalItem, 'documentId'>[] = items,
): string | null {
  const latestDecision = new Map<string, { event: RecordingEvent; at: number }>();
  let approval: { event: RecordingEvent; at: number } | null = null;
  events.forEach((event, at) => {
    if (event.decision !== 'allow' || event.targetIds.batchId !== batch.id) return;
    if (event.action === 'disposal.decide' && event.targetIds.documentId) latestDecision.set(event.targetIds.documentId, { event, at });
    // The service approves a batch once; were there two, the first is the one the decisions had to precede.
    else if (event.action === 'disposal.approve' && approval === null) approval = { event, at };
  });
  for (const item of items) {
    if (item.decision === 'pending') continue;
    const recorded = latestDecision.get(item.documentId)?.event;
    if (!recorded || recorded.targetIds.decision !== item.decision || recorded.actorUserId !== item.decidedBy) {
      const what = recorded ? `its latest recorded decision is "${recorded.targetIds.decision ?? '?'}" by person ${recorded.actorUserId ?? '(none)'}` : 'no decision on it is recorded';
      return `Document ${item.documentId} of disposal batch ${batch.id} is decided "${item.decision}" by person ${item.decidedBy ?? '(none)'}, but ${what}: ${DIRECT}`;
    }
    const terms = termsDiffer(batch.id, item, recorded);
    if (terms) return terms;
  }
  if (batch.status === 'review') return null;
  const approved = approval as { event: RecordingEvent; at: number } | null;
  if (!approved || approved.event.actorUserId !== batch.approvedBy) {
    const what = approved ? `its recorded approval is by person ${approved.event.actorUserId ?? '(none)'}` : 'no approval of it is recorded';
    return `Disposal batch ${batch.id} is marked approved by person ${batch.approvedBy ?? '(none)'}, but ${what}: ${DIRECT}`;
  }
  for (const item of allItems) {
    const decided = latestDecision.get(item.documentId);
    if (decided && decided.at > approved.at) {
      return `The decision on document ${item.documentId} of disposal batch ${batch.id} was recorded after the batch was approved: the approval does not cover it.`;
    }
  }
  return null;
}

/** For `audit verify`: the first approved batch or decided item, of any organisation, no event vouches for. */
export function unrecordedDisposalRow(
  rows: { batches: readonly Pick<DisposalBatch, 'id' | 'status' | 'approvedBy' | 'kind' | 'earlyReason'>[]; items: readonly (DecidedItem & Pick<DisposalItem, 'batchId'>)[] },
  events: readonly (RecordingEvent & Pick<AuditEvent, 'targetIds'>)[],
): string | null {
  const itemsOf = new Map<string, (DecidedItem & Pick<DisposalItem, 'batchId'>)[]>();
  for (const item of rows.items) itemsOf.set(item.batchId, [...(itemsOf.get(item.batchId) ?? []), item]);
  const eventsOf = new Map<string, RecordingEvent[]>();
  for (const e of events) {
    const batchId = e.targetIds.batchId;
    if (batchId) eventsOf.set(batchId, [...(eventsOf.get(batchId) ?? []), e]);
  }
  const batches = new Map(rows.batches.map((b) => [b.id, b]));
  for (const [batchId, items] of itemsOf) {
    const batch = batches.get(batchId) ?? { id: batchId, status: 'review' as const, approvedBy: null };
    const problem = unrecordedDisposalStep(batch, items, eventsOf.get(batchId) ?? [])
      // An early batch's items to destroy each need their proposal (`events` must hold PROPOSE_EARLY_ACTION's too).
      ?? (batch.kind === 'early' ? unproposedEarlyItem(batch, items.filter((i) => i.decision === 'destroy'), eventsOf.get(batchId) ?? []) : null);
    if (problem) return problem;
  }
  for (const batch of rows.batches) {
    if (itemsOf.has(batch.id)) continue;
    const problem = unrecordedDisposalStep(batch, [], eventsOf.get(batch.id) ?? []);
    if (problem) return problem;
  }
  return null;
}

/**
 * For an early batch (a records manager's destruction of binned records before their retention ends): the
 * first item to be destroyed that no proposal event vouches for, said to a person; null when each is. The
 * disposal job destroys an early item without its retention having ended, on the strength of this alone (with
 * its decision and the approval, as for every batch): so each item must have a `disposal.propose-early` event,
 * by a person, naming this batch, the document, and the SHA-256 of the reason the batch's row holds. A row
 * written as an early batch by hand (or its reason rewritten) has none. `events`: the allowed proposal events
 * of these documents.
 */
export function unproposedEarlyItem(
  batch: Pick<DisposalBatch, 'id' | 'earlyReason'>,
  items: readonly Pick<DisposalItem, 'documentId'>[],
  events: readonly RecordingEvent[],
): string | null {
  const reason = batch.earlyReason ?? null;
  for (const item of items) {
    const proposed = events.some((e) => e.action === PROPOSE_EARLY_ACTION && e.decision === 'allow' && e.actorUserId !== null
      && e.targetIds.batchId === batch.id && e.targetIds.documentId === item.documentId && reason !== null && e.targetIds.reasonSha256 === reasonSha256(reason));
    if (!proposed) {
      return `Document ${item.documentId} of disposal batch ${batch.id} is to be destroyed before its retention ends, but no records manager's proposal of it `
        + `in this batch${reason === null ? '' : ', with the reason the batch gives,'} is recorded: ${DIRECT}`;
    }
  }
  return null;
}

/**
 * Who proposed an early batch, by the log: the one person whose `disposal.propose-early` events name the batch
 * (sealed: one rewritten to name somebody else vouches for nobody), when the batch's row names the same person.
 * null when no such event vouches for anyone, when they name more than one person (the service writes them all
 * in one transaction, as one person), or when the row names another: who proposed it cannot then be told, and
 * approval is refused (fail closed). `events`: the allowed proposal events of the batch's documents.
 */
export function earlyProposer(batch: Pick<DisposalBatch, 'id' | 'createdBy'>, events: readonly RecordingEvent[]): string | null {
  const proposers = new Set(events.filter((e) => e.action === PROPOSE_EARLY_ACTION && e.decision === 'allow' && e.targetIds.batchId === batch.id).map((e) => e.actorUserId));
  const [proposer] = proposers;
  return proposers.size === 1 && proposer !== null && proposer !== undefined && proposer === batch.createdBy ? proposer : null;
}

/**
 * For an approved early batch: why its approval is not a second person's, said to a person; null when it is.
 * Early destruction is two people's decision (decide(), `records.approve-disposal`, refuses the proposer), so an
 * approval by the person the log says proposed it was not made through Strongroom's approval (or was made until
 * 7 December 2026, when the proposer still could): the disposal job destroys nothing on it. `batch.approvedBy` must
 * already be vouched for by the approval event (unrecordedDisposalStep); `events`: the allowed proposal events of
 * the batch's documents.
 */
export function unsecondedEarlyApproval(batch: Pick<DisposalBatch, 'id' | 'createdBy' | 'approvedBy'>, events: readonly RecordingEvent[]): string | null {
  const proposer = earlyProposer(batch, events);
  if (proposer === null) {
    return `Disposal batch ${batch.id} destroys records before their retention ends, but no records manager's proposal of it recorded in the audit log names `
      + `the person its row says proposed it (person ${batch.createdBy ?? '(none)'}), so whether a second person approved it cannot be told: ${DIRECT}`;
  }
  if (batch.approvedBy === proposer) {
    return `Disposal batch ${batch.id} destroys records before their retention ends, and its recorded approval is by person ${proposer}, who proposed it: `
      + 'early destruction must be approved by another records manager, and Strongroom does not let its proposer approve it.';
  }
  return null;
}
