// Disposal batches proposed: the daily sweep's of records past due, and a records manager's early destruction
// of records in the bin. What happens to a batch next (decisions, approval, the job that carries it out) is
// DisposalService's and disposal-execution.ts's.
import { randomUUID } from 'node:crypto';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import { PROPOSE_EARLY_ACTION, reasonSha256 } from '../domain/audit/disposal-record.js';
import { countItems, exclusionKey, type DisposalBatch, type DisposalItem } from '../domain/records/disposal.js';
import { compareDates, isCalendarDate, isDue, ukDate } from '../domain/records/retention.js';
import type { Clock } from '../domain/ports.js';
import type { DocumentsInSeriesPage, Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import { documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction } from './decided-within.js';
import type { IdentityService } from './identity.service.js';
import type { MailService } from './mail.service.js';
import type { DocumentRetention } from './retention-facts.js';
import type { RetentionService } from './retention.service.js';

export interface DisposalProposalsOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  retention: RetentionService;
  /** Who the records manager is inside the transaction that writes their proposal. */
  identity: Pick<IdentityService, 'actorWithin'>;
  /** Tells the records managers of a new batch by e-mail too. */
  mail?: MailService;
}

/** Records the daily sweep reads, and works out the retention of, at a time. */
const SWEEP_PAGE = 1000;

export class DisposalProposals {
  constructor(private readonly o: DisposalProposalsOptions) {}

  /**
   * Proposes a batch of the organisation's records due on or before `dueBy` (today, UK, by default)
   * that are in no open batch. Held records are listed as excluded, naming their holds. Nothing new
   * to show (no due record, or only held ones already shown excluded by the same holds): no batch, no
   * notification, and null; otherwise the new batch's id.
   */
  async sweep(actor: Actor, organisationId: string, dueBy?: string): Promise<string | null> {
    await this.o.access.requireOrganisation(actor, 'records.dispose', organisationId, {}, { missing: 'organisation' });
    const now = this.o.clock.now();
    const date = dueBy ?? ukDate(now);
    if (!isCalendarDate(date)) throw invalid(`"${date}" is not a date: give the date as YYYY-MM-DD, e.g. 2026-03-31.`, { field: 'dueBy' });
    // A batch proposes records for destruction: only those already due. A later date would let records be
    // destroyed before their retention period ends (the job checks again on the day it carries the batch out).
    if (compareDates(date, ukDate(now)) > 0) throw invalid(`${date} is after today (${ukDate(now)}): a disposal batch proposes only records already due, so give today's date or an earlier one.`, { field: 'dueBy' });
    const repos = this.o.store.repos;
    const open = await repos.disposal.documentsInOpenBatches(organisationId);
    // The council's records a page at a time, each page's retention facts (with the holds in force over them)
    // computed in one batch by the file plan, and only the due ones kept: the sweep holds a page and what is
    // due, never every record of the council and its facts, and no statement reads the whole council.
    const due: string[] = [];
    const facts = new Map<string, DocumentRetention>();
    for (let after: string | null = null; ;) {
      const page: DocumentsInSeriesPage = await repos.retention.documentsInSeriesPage(organisationId, after, SWEEP_PAGE);
      const candidates = page.ids.filter((id) => !open.has(id));
      const pageFacts = await this.o.retention.retentionFacts(candidates);
      for (const id of candidates) {
        // A candidate with no facts is gone since its page was read: nothing to propose.
        const f = pageFacts.get(id);
        if (f !== undefined && isDue(f, date)) {
          due.push(id);
          facts.set(id, f);
        }
      }
      if (page.last === null) break;
      after = page.last;
    }
    if (due.length === 0) return null;
    const holds = new Map(due.filter((id) => facts.get(id)!.holds.length > 0).map((id) => [id, facts.get(id)!.holds]));
    const shownBefore = await repos.disposal.lastExclusions(organisationId, [...holds.keys()]);
    // A held record already shown excluded by exactly these holds is not news: no daily batch of it.
    const isNew = due.some((id) => !holds.has(id) || shownBefore.get(id) !== exclusionKey(holds.get(id)!));
    if (!isNew) return null;

    const batch: DisposalBatch = {
      id: randomUUID(), organisationId, status: 'review', dueBy: date, createdAt: now.toISOString(), createdBy: actor.userId,
      approvedAt: null, approvedBy: null, executedAt: null, certificateId: null,
    };
    const items: DisposalItem[] = due.map((documentId) => {
      const f = facts.get(documentId);
      if (f?.state !== 'scheduled') throw new Error(`document ${documentId} was found due without a schedule`);
      return {
        batchId: batch.id, documentId, seriesCode: f.seriesCode, trigger: f.trigger, triggerDate: f.triggerDate, dueAt: f.dueAt, action: f.action,
        excludedBy: (holds.get(documentId) ?? []).map((h) => ({ id: h.id, name: h.name })), decision: 'pending', decidedBy: null, decidedAt: null,
        extendTo: null, reason: null, outcome: null, executedAt: null,
      };
    });
    const managers = (await repos.users.listByOrganisation(organisationId)).filter((u) => u.roles.includes('records_manager') && !u.disabled);
    const counts = countItems(items);
    await changeDecidedWithin(this.o, actor, [organisationAction('records.dispose', organisationId, {}, 'disposal.propose', 'organisation')], async (tx, { actor: acting, decision }) => {
      await tx.disposal.insertBatch(batch, items);
      await tx.audit.insert([auditEvent(acting, 'disposal.propose', { organisationId, ids: { batchId: batch.id, dueBy: date, items: String(counts.items), excluded: String(counts.excluded) } }, decision, now)]);
      // One notification per batch to each records manager: never one per record, never one a day for nothing.
      for (const manager of managers) {
        await tx.notifications.insert({
          id: randomUUID(), userId: manager.id, organisationId, kind: 'disposal.review', documentId: null, versionId: null, createdAt: now.toISOString(), readAt: null,
          message: `${counts.items} record${counts.items === 1 ? ' is' : 's are'} due for disposal review (due by ${date}${counts.excluded ? `; ${counts.excluded} held and excluded` : ''}). Batch ${batch.id}.`,
        });
      }
      await this.o.mail?.queue(tx.jobs, now, organisationId, managers.map((m) => m.id), { kind: 'disposal-review', batchId: batch.id, dueBy: date, items: counts.items, excluded: counts.excluded });
    });
    return batch.id;
  }

  /**
   * A records manager's early destruction: proposes, for destruction before their retention ends, the named
   * documents of their organisation that are in the bin (somebody already decided they should not be there: a
   * payslip put in the wrong council's folder, a data breach to undo), with a reason. The batch (kind 'early')
   * is then decided, approved and carried out by the dispose-batch job like any other, which destroys an early
   * item on the strength of this proposal's events (one per document, naming the batch and the reason's SHA-256)
   * instead of its due date, while it is still in the bin; a legal hold wins as for every destruction.
   * Refused, audited, 404: anyone but a records manager of the organisation that owns the documents (decide(),
   * `records.dispose`). Then 409: a document not in the bin, or already in an open batch; 409 naming the hold:
   * one under a legal hold (decide(), `records.dispose` asked of the record). 400: no reason. Returns the batch's id.
   */
  async proposeEarly(actor: Actor, documentIds: readonly string[], reason: string): Promise<string> {
    const ids = [...new Set(documentIds)];
    if (ids.length === 0) throw invalid('Name at least one document in the bin to destroy early.', { field: 'documentIds' });
    const repos = this.o.store.repos;
    const found = new Map((await repos.documents.byIds(ids)).filter((d) => d.status !== 'disposed').map((d) => [d.id, d]));
    const first = found.get(ids[0]!);
    // Existence and permission first: a document not there, and one of another organisation, are told alike (404).
    if (!first) throw notFound('document');
    const organisationId = first.organisationId;
    await this.o.access.requireOrganisation(actor, 'records.dispose', organisationId, { documentId: first.id }, { missing: 'document' });
    const userId = personOf(actor);
    for (const id of ids) {
      const d = found.get(id);
      if (!d) throw notFound('document');
      // Each document's own organisation asked of decide(): one of another organisation is refused (audited, 404) like the first.
      if (d.organisationId !== organisationId) {
        await this.o.access.requireOrganisation(actor, 'records.dispose', d.organisationId, { documentId: id }, { missing: 'document' });
        throw invalid('The documents to destroy early must all be of one organisation: propose each organisation\'s apart.', { field: 'documentIds' });
      }
    }
    const trimmed = reason.trim();
    if (trimmed.length < 5) throw invalid('Give the reason for destroying these records before their retention ends (at least 5 characters).', { field: 'reason' });
    const live = ids.filter((id) => found.get(id)!.deletedAt === null);
    if (live.length > 0) throw conflict(notInTheBin(live));
    const open = await repos.disposal.documentsInOpenBatches(organisationId);
    const proposed = ids.filter((id) => open.has(id));
    if (proposed.length > 0) throw conflict(`Document ${proposed[0]} is already in a disposal batch not yet carried out: decide it there.`);
    // A hold refuses a proposal to destroy, as it refuses a decision to (409 naming the hold, audited legal_hold).
    const answers = await this.o.access.decisions(actor, ids.map((id) => ({ action: 'records.dispose' as const, resource: documentResource(found.get(id)!) })));
    const refused = answers.findIndex((answer) => !answer.allow);
    if (refused !== -1) {
      const document = found.get(ids[refused]!)!;
      const answer = answers[refused]!;
      await this.o.access.recordDenial(actor, 'records.dispose', { organisationId, ids: { documentId: document.id } }, answer);
      if (answer.hold) throw await this.o.access.heldError(actor, 'document', organisationId, answer.hold);
      throw notFound('document');
    }
    const now = this.o.clock.now();
    const facts = await this.o.retention.retentionFacts(ids);
    const batch: DisposalBatch = {
      id: randomUUID(), organisationId, status: 'review', dueBy: ukDate(now), createdAt: now.toISOString(), createdBy: userId,
      approvedAt: null, approvedBy: null, executedAt: null, certificateId: null, kind: 'early', earlyReason: trimmed,
    };
    // What the record's retention was when it was proposed: the certificate says it was destroyed before then.
    const items: DisposalItem[] = ids.map((documentId) => {
      const f = facts.get(documentId);
      const scheduled = f?.state === 'scheduled' ? f : null;
      return {
        batchId: batch.id, documentId, seriesCode: f && f.state !== 'unfiled' ? f.seriesCode : '', trigger: f && f.state !== 'unfiled' ? f.trigger : 'created',
        triggerDate: scheduled?.triggerDate ?? '', dueAt: scheduled?.dueAt ?? '', action: f && f.state !== 'unfiled' ? f.action : 'destroy',
        excludedBy: [], decision: 'pending', decidedBy: null, decidedAt: null, extendTo: null, reason: null, outcome: null, executedAt: null,
      };
    });
    const reasonHash = reasonSha256(trimmed);
    await changeDecidedWithin(this.o, actor, [organisationAction('records.dispose', organisationId, {}, 'disposal.propose', 'document')], async (tx, { actor: acting, decision }) => {
      // Read again under the transaction: restored, or put into a batch, since.
      const now2 = await tx.documents.byIds(ids);
      const restored = now2.filter((d) => d.deletedAt === null || d.status === 'disposed').map((d) => d.id);
      if (restored.length > 0) throw conflict(notInTheBin(restored));
      const openNow = await tx.disposal.documentsInOpenBatches(organisationId);
      const taken = ids.find((id) => openNow.has(id));
      if (taken) throw conflict(`Document ${taken} is already in a disposal batch not yet carried out: decide it there.`);
      await tx.disposal.insertBatch(batch, items);
      await tx.audit.insert([
        auditEvent(acting, 'disposal.propose', { organisationId, ids: { batchId: batch.id, kind: 'early', items: String(items.length), reasonSha256: reasonHash } }, decision, now),
        // One per document, filed under it: what the disposal job and the certificate take the early destruction on.
        ...ids.map((documentId) => auditEvent(acting, PROPOSE_EARLY_ACTION, { organisationId, ids: { batchId: batch.id, documentId, reasonSha256: reasonHash } }, decision, now)),
      ]);
    });
    return batch.id;
  }
}

/** Decisions and approvals are a person's: the record says who. */
export function personOf(actor: Actor): string {
  if (actor.userId === null) throw new DomainError('FORBIDDEN', 'Disposal decisions and approvals are made by a records manager, not by the system.');
  return actor.userId;
}

/** Why documents not in the bin cannot be proposed for early destruction, said to a person. */
function notInTheBin(ids: readonly string[]): string {
  const which = ids.length === 1 ? `Document ${ids[0]} is` : `Documents ${ids.join(', ')} are`;
  return `${which} not in the bin: only a document somebody has deleted can be destroyed before its retention ends. Delete it first, then propose it again.`;
}
