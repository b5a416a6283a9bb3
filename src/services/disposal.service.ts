// Disposal review: sweeps propose batches of records past due, the owning organisation's records manager
// decides each item and approves, and a job carries the batch out (crypto-shredding every copy; see
// disposal-execution.ts). Transfer packages are built in disposal-transfer.ts.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, IntegrityError, conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import { disposeBatchJob } from '../domain/jobs/kinds.js';
import { DISPOSAL_RECORD_ACTIONS, PROPOSE_EARLY_ACTION, decisionTerms, reasonSha256, unrecordedDisposalStep } from '../domain/audit/disposal-record.js';
import {
  countItems, destroysItem, exclusionKey, isEarly, parseTransferExport, pendingItems, transferGap, type BatchCounts, type DisposalBatch, type DisposalItem, type ItemDecisionInput,
} from '../domain/records/disposal.js';
import { compareDates, isCalendarDate, isDue, ukDate } from '../domain/records/retention.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { DocumentsInSeriesPage, Repos, Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import { documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { AuditAlarmService } from './audit-alarm.service.js';
import type { CertificatesService } from './certificates.service.js';
import { DisposalExecution } from './disposal-execution.js';
import type { IdentityService } from './identity.service.js';
import { DECIDED_AGAIN_EVERY_MS, decidedAgainWhileFlowing } from './decided-while-flowing.js';
import { changeDecidedWithin, organisationAction } from './decided-within.js';
import { transferEntries, transferEntry, transferExport, transferKey, transferPackage } from './disposal-transfer.js';
import type { DocumentLifecycle } from './lifecycle.js';
import type { MailService } from './mail.service.js';
import type { DocumentRetention } from './retention-facts.js';
import type { RetentionService } from './retention.service.js';

export interface DisposalServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  blobs: EncryptedBlobs;
  lifecycle: DocumentLifecycle;
  retention: RetentionService;
  certificates: CertificatesService;
  /** Raises the integrity alarm when the execution job finds rows no audit event vouches for. */
  audit: Pick<AuditAlarmService, 'raiseTamperingAlarm'>;
  /**
   * Who the records manager is while a transfer package flows (switched off, or with less access, meanwhile), and
   * inside the transaction that writes each of their steps (a proposal, decisions, the approval, the export's record).
   */
  identity: Pick<IdentityService, 'actorNow' | 'actorWithin'>;
  /** The actor the sweep and execution jobs act as. */
  system: Actor;
  /** Tells the records managers of a new batch by e-mail too. */
  mail?: MailService;
  /** Soft-deleted documents are purged this many days after deletion (STRONGROOM_BIN_DAYS). */
  binDays?: number;
  /** Where failures that are retried later (a blob left behind) are reported. */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/** An item as a page or the API shows it: the document's name only to someone who may read it. */
export interface BatchItemView extends DisposalItem {
  name: string | null;
}

export interface BatchView {
  batch: DisposalBatch;
  items: BatchItemView[];
  counts: BatchCounts;
}

/** Settings keys: state that must hold across processes lives in the database. */
/** Records the daily sweep reads, and works out the retention of, at a time. */
const SWEEP_PAGE = 1000;

const lastSweepKey = (organisationId: string) => `disposal.last-sweep:${organisationId}`;
const lastPurgeKey = (organisationId: string) => `disposal.last-purge:${organisationId}`;

export class DisposalService {
  private readonly execution: DisposalExecution;

  constructor(protected readonly o: DisposalServiceOptions) {
    this.execution = new DisposalExecution(o);
  }

  /**
   * Proposes a batch of the organisation's records due on or before `dueBy` (today, UK, by default)
   * that are in no open batch. Held records are listed as excluded, naming their holds. Nothing new
   * to show (no due record, or only held ones already shown excluded by the same holds): no batch, no
   * notification, and null.
   */
  async sweep(actor: Actor, organisationId: string, dueBy?: string): Promise<BatchView | null> {
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
    return this.get(actor, batch.id);
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
   * one under a legal hold (decide(), `records.dispose` asked of the record). 400: no reason.
   */
  async proposeEarly(actor: Actor, documentIds: readonly string[], reason: string): Promise<BatchView> {
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
    return this.get(actor, batch.id);
  }

  /**
   * The daily sweep job: runs the sweep as the system at most once per UK day per organisation
   * (recorded in the database, so several worker processes sweep once between them).
   */
  async dailySweep(organisationId: string, date: string): Promise<'swept' | 'already-swept'> {
    const repos = this.o.store.repos;
    if ((await repos.settings.get(lastSweepKey(organisationId))) === date) return 'already-swept';
    if (!(await repos.organisations.byId(organisationId))) return 'already-swept';
    // The day the job was queued for, as this process's clock has it: a node whose clock is ahead queued it (the sweep refuses a later date).
    const today = ukDate(this.o.clock.now());
    await this.sweep(this.o.system, organisationId, compareDates(date, today) > 0 ? today : date);
    await repos.settings.set(lastSweepKey(organisationId), date);
    return 'swept';
  }

  /** The bin purge job: at most once per UK day per organisation. */
  async dailyPurge(organisationId: string, date: string): Promise<'purged' | 'already-purged'> {
    const repos = this.o.store.repos;
    if ((await repos.settings.get(lastPurgeKey(organisationId))) === date) return 'already-purged';
    await this.purgeBin(organisationId);
    await repos.settings.set(lastPurgeKey(organisationId), date);
    return 'purged';
  }

  /** Purges documents deleted more than the bin period ago, unless held or not vouched for by the audit log (DisposalExecution.purgeBin); returns what happened to each. */
  async purgeBin(organisationId: string): Promise<{ purged: string[]; held: string[]; refused: string[] }> {
    return this.execution.purgeBin(organisationId, this.o.binDays ?? 30);
  }

  /** The execution job (dispose-batch). */
  async execute(batchId: string): Promise<void> {
    await this.execution.execute(batchId);
  }

  /** The delete-blobs job: blobs of destroyed versions (already unreadable) that could not be deleted at once. */
  async deleteBlobs(blobIds: readonly string[]): Promise<void> {
    for (const id of blobIds) await this.o.blobs.delete(id);
  }

  async list(actor: Actor, organisationId: string): Promise<{ batch: DisposalBatch; counts: BatchCounts }[]> {
    await this.o.access.requireOrganisation(actor, 'records.read', organisationId, {}, { missing: 'organisation' });
    const batches = await this.o.store.repos.disposal.batches(organisationId);
    return Promise.all(batches.map(async (batch) => ({ batch, counts: countItems(await this.o.store.repos.disposal.items(batch.id)) })));
  }

  async get(actor: Actor, batchId: string): Promise<BatchView> {
    const { batch } = await this.batchFor(actor, batchId, 'records.read');
    const items = await this.o.store.repos.disposal.items(batchId);
    const documents = new Map((await this.o.store.repos.documents.byIds(items.map((i) => i.documentId))).map((d) => [d.id, d]));
    const readable = await this.o.access.can(actor, items.map((i) => {
      const d = documents.get(i.documentId);
      return { action: 'document.read' as const, resource: d ? documentResource(d) : { kind: 'organisation' as const, organisationId: '' } };
    }));
    return {
      batch,
      items: items.map((i, n) => ({ ...i, name: readable[n] && documents.has(i.documentId) ? documents.get(i.documentId)!.name : null })),
      counts: countItems(items),
    };
  }

  /** Records decisions on items of a batch under review: all or none (each is checked before any is written). */
  async decide(actor: Actor, batchId: string, inputs: readonly ItemDecisionInput[]): Promise<BatchView> {
    const { batch } = await this.batchFor(actor, batchId, 'records.dispose');
    const userId = personOf(actor);
    if (batch.status !== 'review') throw conflict('This batch has been approved: its decisions are final.');
    if (inputs.length === 0) throw invalid('Give at least one decision.', { field: 'items' });
    // An early batch proposes binned records for destruction and nothing else: there is no due date to extend, nor
    // an archive's claim on what somebody deleted. To keep one, restore it from the bin: the job then keeps it.
    const notDestroy = isEarly(batch) ? inputs.find((input) => input.decision !== 'destroy') : undefined;
    if (notDestroy) throw invalid(`Document ${notDestroy.documentId} is proposed for early destruction: it can only be decided "destroy". To keep it, restore it from the bin; the batch then keeps it.`, { field: 'decision' });
    const items = new Map((await this.o.store.repos.disposal.items(batchId)).map((i) => [i.documentId, i]));
    const now = this.o.clock.now();
    const today = ukDate(now);
    const seen = new Set<string>();
    for (const input of inputs) {
      if (!items.has(input.documentId)) throw invalid(`Document ${input.documentId} is not in this batch.`, { field: 'documentId' });
      if (seen.has(input.documentId)) throw invalid(`Document ${input.documentId} is given more than one decision.`, { field: 'documentId' });
      seen.add(input.documentId);
    }
    await this.requireUnheld(actor, batch, inputs.filter((input) => destroysItem(input)).map((input) => input.documentId));
    for (const input of inputs) {
      const item = items.get(input.documentId)!;
      // Held when proposed, released since: still not this batch's to destroy; the next sweep proposes it afresh.
      if (item.excludedBy.length > 0 && input.decision !== 'extend') {
        throw invalid(`Document ${input.documentId} was under legal hold (${item.excludedBy.map((h) => h.name).join(', ')}) when this batch was proposed: it cannot be destroyed or transferred in this batch.`, { field: 'decision' });
      }
      if (input.decision === 'extend') {
        if (!input.extendTo || !isCalendarDate(input.extendTo)) throw invalid('To extend, give the new due date as YYYY-MM-DD, e.g. 2030-03-31.', { field: 'extendTo' });
        if (compareDates(input.extendTo, today) <= 0) throw invalid(`The new due date must be after today (${today}).`, { field: 'extendTo' });
        if (!input.reason || input.reason.trim().length < 5) throw invalid('Give the reason for keeping this record longer.', { field: 'reason' });
      } else if (input.extendTo) {
        throw invalid('A new due date is given only with the decision "extend".', { field: 'extendTo' });
      }
    }
    await changeDecidedWithin(this.o, actor, [this.disposeAction(batch, 'disposal.decide')], async (tx, { actor: acting, decision }) => {
      // Checked again inside the transaction, the batch's row held (PostgreSQL) until this commits: an approval that
      // got there first makes the decisions final, and one that comes later waits and then reads these decisions.
      if (!(await tx.disposal.setStatus(batchId, 'review', 'review', {}))) throw conflict('This batch has been approved: its decisions are final.');
      for (const input of inputs) {
        const reason = input.reason?.trim() || null;
        const extendTo = input.decision === 'extend' ? input.extendTo! : null;
        await tx.disposal.decide(batchId, input.documentId, { decision: input.decision, by: userId, at: now.toISOString(), extendTo, reason });
        // The new due date and (hashed) reason too, so the job and audit verify can tell a row rewritten by hand.
        await tx.audit.insert([auditEvent(acting, 'disposal.decide', {
          organisationId: batch.organisationId, ids: { batchId, documentId: input.documentId, decision: input.decision, ...decisionTerms({ extendTo, reason }) },
        }, decision, now)]);
      }
    });
    return this.get(actor, batchId);
  }

  /**
   * Approves a batch whose every item (but the held ones) is decided: extensions take effect now, and
   * the execution job is queued in the same transaction.
   */
  async approve(actor: Actor, batchId: string): Promise<BatchView> {
    const { batch } = await this.batchFor(actor, batchId, 'records.dispose');
    const userId = personOf(actor);
    if (batch.status !== 'review') throw conflict('This batch has already been approved.');
    const items = await this.o.store.repos.disposal.items(batchId);
    const pending = pendingItems(items).length;
    if (pending > 0) throw invalid(`${pending} item${pending === 1 ? ' still needs' : 's still need'} a decision before the batch can be approved.`);
    await this.requireExtensionsVouched(actor, batch, items);
    const now = this.o.clock.now();
    await changeDecidedWithin(this.o, actor, [this.disposeAction(batch, 'disposal.approve')], async (tx, { actor: acting, decision }) => {
      // In the approving transaction: the package must hold every record to transfer as it is now.
      if (!(await tx.disposal.setStatus(batchId, 'review', 'approved', { approvedAt: now.toISOString(), approvedBy: userId }))) throw conflict('This batch has already been approved.');
      // What is approved is the decisions checked above: the batch's row is now held, so none can change until this
      // commits; one recorded meanwhile (a transfer turned into a destruction, an extension withdrawn) refuses it.
      if (!sameDecisions(items, await tx.disposal.items(batchId))) throw conflict('The decisions on this batch changed a moment ago: look at them again before approving.');
      await this.requireCurrentTransferPackage(tx, batch, items);
      // Each extension is a minimum (domain/records/retention.ts retentionOf): kept until the later of it and the rule's date.
      for (const item of items) if (item.decision === 'extend') await tx.retention.setRetainUntil(item.documentId, item.extendTo);
      await tx.jobs.enqueue(disposeBatchJob, { batchId }, { now, organisationId: batch.organisationId });
      const counts = countItems(items);
      await tx.audit.insert([auditEvent(acting, 'disposal.approve', {
        organisationId: batch.organisationId, ids: { batchId, destroy: String(counts.destroy), transfer: String(counts.transfer), extend: String(counts.extend), excluded: String(counts.excluded) },
      }, decision, now)]);
    });
    return this.get(actor, batchId);
  }

  /**
   * Extensions take effect at approval (the record's due date becomes the item's new one), so each must
   * be what its latest disposal.decide event records, by the person the item names: a date rewritten in
   * the database would otherwise become the record's due date. Otherwise the approval is refused, audited
   * (disposal.approve, deny, not_vouched_for), and the integrity alarm raised, as the disposal job does.
   * The items checked are the items whose dates are applied.
   */
  private async requireExtensionsVouched(actor: Actor, batch: DisposalBatch, items: readonly DisposalItem[]): Promise<void> {
    const extensions = items.filter((i) => i.decision === 'extend');
    if (extensions.length === 0) return;
    const events = await this.o.store.repos.audit.allowedEvents(DISPOSAL_RECORD_ACTIONS, { organisationId: batch.organisationId });
    const problem = unrecordedDisposalStep({ ...batch, status: 'review' }, extensions, events);
    if (!problem) return;
    await this.o.access.recordRefusal(actor, 'disposal.approve', { organisationId: batch.organisationId, ids: { batchId: batch.id } }, 'not_vouched_for');
    const refusal = `The approval of disposal batch ${batch.id} was refused; no extension took effect. ${problem}`;
    this.o.audit.raiseTamperingAlarm('disposal', refusal);
    throw new IntegrityError(refusal);
  }

  /**
   * A batch with transfer items is approved only on a package that holds each of them as it is now:
   * downloaded after the last decision, with every record's content (none left out for want of a clean
   * scan), and no record changed since (a new version, a rename, a move to the bin, a new verdict: any
   * detail the package holds). Otherwise the archive would not have what is destroyed. 400 saying what
   * to do: the records manager downloads the package again (or decides otherwise).
   */
  private async requireCurrentTransferPackage(repos: Repos, batch: DisposalBatch, items: readonly DisposalItem[]): Promise<void> {
    const transfers = items.filter((i) => i.decision === 'transfer');
    if (transfers.length === 0) return;
    const exported = parseTransferExport(await repos.settings.get(transferKey(batch.id)));
    const lastDecision = items.map((i) => i.decidedAt ?? '').reduce((a, b) => (b > a ? b : a), '');
    if (!exported || exported.exportedAt < lastDecision) throw invalid('Download the transfer package before approving.');
    const gaps = { not_exported: 0, content_omitted: 0, changed: 0 };
    for (const item of transfers) {
      const gap = transferGap(exported, item.documentId, (await transferEntry(repos, batch, item))?.fingerprint ?? null);
      if (gap) gaps[gap] += 1;
    }
    if (gaps.content_omitted > 0) {
      throw invalid(`The transfer package left out the content of ${records(gaps.content_omitted)} (the current version had not been found clean by the malware scan), so the archive would not receive ${gaps.content_omitted === 1 ? 'it' : 'them'}. `
        + 'Wait for the scan (or decide otherwise), then download the transfer package again before approving.');
    }
    if (gaps.changed + gaps.not_exported > 0) {
      throw invalid(`${capitalised(records(gaps.changed + gaps.not_exported))} to transfer changed after the transfer package was downloaded (a new version, name or other details the package holds). `
        + 'Download the transfer package again before approving.');
    }
  }

  /**
   * The transfer package: a zip of every item decided `transfer` (its current version and a
   * metadata.json), streamed. The export is recorded before the first byte: audited, and remembered
   * with what the package holds of each record, so approval and execution can require it to postdate
   * the last decision and to hold every record as it then is.
   */
  async transfer(actor: Actor, batchId: string): Promise<{ filename: string; stream: Readable }> {
    const { batch } = await this.batchFor(actor, batchId, 'records.dispose');
    if (batch.status === 'executed') throw conflict('This batch has been carried out: its records no longer exist to export.');
    const items = (await this.o.store.repos.disposal.items(batchId)).filter((i) => i.decision === 'transfer');
    if (items.length === 0) throw invalid('No item of this batch is decided "transfer".');
    await this.requireReadable(actor, batchId, items);
    const now = this.o.clock.now();
    // Read once: the zip streams exactly the entries whose fingerprints are recorded.
    const entries = await transferEntries(this.o.store.repos, batch, items);
    await changeDecidedWithin(this.o, actor, [this.disposeAction(batch, 'disposal.transfer-export')], async (tx, { actor: acting, decision }) => {
      await tx.settings.set(transferKey(batchId), JSON.stringify(transferExport(entries, now.toISOString())));
      await tx.audit.insert([auditEvent(acting, 'disposal.transfer-export', { organisationId: batch.organisationId, ids: { batchId, items: String(items.length) } }, decision, now)]);
    });
    // Decided again as it flows, as a download is: a records manager switched off, whose token is revoked,
    // or whose clearance or teams no longer open every record in it, while the zip streams gets no more of it.
    const stream = decidedAgainWhileFlowing(transferPackage(this.o.blobs, entries), {
      now: () => this.o.clock.now().getTime(), everyMs: DECIDED_AGAIN_EVERY_MS,
      decideAgain: async () => {
        const target = { organisationId: batch.organisationId, ids: { batchId } };
        const actorNow = await this.o.identity.actorNow(actor, 'disposal.transfer-export', target, 'download');
        await this.batchFor(actorNow, batchId, 'records.dispose');
        await this.requireReadable(actorNow, batchId, items);
      },
    });
    return { filename: `transfer-${batchId}.zip`, stream };
  }

  /**
   * The package holds each record's name and bytes: only what this person may open themselves (a records
   * manager below a record's classification decides on it, but does not get to read it through the zip).
   */
  private async requireReadable(actor: Actor, batchId: string, items: readonly DisposalItem[]): Promise<void> {
    let beyond = 0;
    for (const d of await this.o.store.repos.documents.byIds(items.map((i) => i.documentId))) {
      if (d.status === 'disposed') continue;
      const seen = await this.o.access.check(actor, 'document.read', documentResource(d), { organisationId: d.organisationId, ids: { batchId, documentId: d.id } });
      if (!seen.allow) beyond += 1;
    }
    if (beyond > 0) {
      throw forbidden(`${beyond === 1 ? '1 record' : `${beyond} records`} to transfer in this batch ${beyond === 1 ? 'is' : 'are'} above your clearance or outside your reach: a records manager who may open ${beyond === 1 ? 'it' : 'them'} must download the transfer package.`);
    }
  }

  /**
   * A decision to destroy or transfer a record is refused while a legal hold is over it, by decide()
   * (`records.dispose` asked of the record) like every other hold refusal: audited with reason
   * `legal_hold` and the hold's id, and answered 409 naming the hold. One fresh read of the holds for all.
   */
  private async requireUnheld(actor: Actor, batch: DisposalBatch, documentIds: readonly string[]): Promise<void> {
    const documents = (await this.o.store.repos.documents.byIds(documentIds)).filter((d) => d.status !== 'disposed');
    const answers = await this.o.access.decisions(actor, documents.map((d) => ({ action: 'records.dispose' as const, resource: documentResource(d) })));
    const refused = answers.findIndex((answer) => !answer.allow);
    if (refused === -1) return;
    const document = documents[refused]!;
    const answer = answers[refused]!;
    await this.o.access.recordDenial(actor, 'records.dispose', { organisationId: batch.organisationId, ids: { batchId: batch.id, documentId: document.id } }, answer);
    if (answer.hold) throw await this.o.access.heldError(actor, 'document', document.organisationId, answer.hold);
    throw notFound('document');
  }

  /** `records.dispose` on the batch's organisation, asked again inside the step's transaction (refused: audited as `auditAs`, 404). */
  private disposeAction(batch: DisposalBatch, auditAs: string) {
    return organisationAction('records.dispose', batch.organisationId, { batchId: batch.id }, auditAs, 'disposal batch');
  }

  /** Existence and permission first (another organisation's batch is refused by decide(), audited, 404), shape second. */
  private async batchFor(actor: Actor, batchId: string, action: 'records.read' | 'records.dispose'): Promise<{ batch: DisposalBatch; decision: Decision }> {
    const batch = await this.o.store.repos.disposal.batch(batchId);
    if (!batch) throw notFound('disposal batch');
    const decision = await this.o.access.requireOrganisation(actor, action, batch.organisationId, { batchId }, { missing: 'disposal batch' });
    return { batch, decision };
  }
}

/** Decisions and approvals are a person's: the record says who. */
function personOf(actor: Actor): string {
  if (actor.userId === null) throw new DomainError('FORBIDDEN', 'Disposal decisions and approvals are made by a records manager, not by the system.');
  return actor.userId;
}

/** Whether two reads of a batch's items hold the same decisions (by whom, when, to when and why), item for item. */
function sameDecisions(before: readonly DisposalItem[], now: readonly DisposalItem[]): boolean {
  const terms = (i: DisposalItem) => JSON.stringify([i.documentId, i.decision, i.decidedBy, i.decidedAt, i.extendTo, i.reason]);
  const was = new Set(before.map(terms));
  return before.length === now.length && now.every((i) => was.has(terms(i)));
}

/** Why documents not in the bin cannot be proposed for early destruction, said to a person. */
function notInTheBin(ids: readonly string[]): string {
  const which = ids.length === 1 ? `Document ${ids[0]} is` : `Documents ${ids.join(', ')} are`;
  return `${which} not in the bin: only a document somebody has deleted can be destroyed before its retention ends. Delete it first, then propose it again.`;
}

const records = (n: number): string => `${n} record${n === 1 ? '' : 's'}`;
const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
