// Disposal review: sweeps propose batches of records past due, and records managers propose records in the bin
// for early destruction (disposal-proposals.ts); the owning organisation's records manager decides each item and
// approves, and a job carries the batch out (crypto-shredding every copy; see disposal-execution.ts). Transfer
// packages are built in disposal-transfer.ts.
import type { Readable } from 'node:stream';
import type { Decision, DisposalBatchResource } from '../domain/access/policy.js';
import { IntegrityError, conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import { disposeBatchJob } from '../domain/jobs/kinds.js';
import { DISPOSAL_RECORD_ACTIONS, PROPOSE_EARLY_ACTION, decisionTerms, earlyProposer, unrecordedDisposalStep } from '../domain/audit/disposal-record.js';
import {
  countItems, destroysItem, isEarly, parseTransferExport, pendingItems, transferGap, type BatchCounts, type DisposalBatch, type DisposalItem, type ItemDecisionInput,
} from '../domain/records/disposal.js';
import { compareDates, isCalendarDate, ukDate } from '../domain/records/retention.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import { documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { AuditAlarmService } from './audit-alarm.service.js';
import type { CertificatesService } from './certificates.service.js';
import { DisposalExecution } from './disposal-execution.js';
import { DisposalProposals, personOf } from './disposal-proposals.js';
import type { IdentityService } from './identity.service.js';
import { DECIDED_AGAIN_EVERY_MS, decidedAgainWhileFlowing } from './decided-while-flowing.js';
import { changeDecidedWithin, organisationAction } from './decided-within.js';
import { transferEntries, transferEntry, transferExport, transferKey, transferPackage } from './disposal-transfer.js';
import { dueDatesBroughtForwardOf } from './due-date-history.js';
import type { DocumentLifecycle } from './lifecycle.js';
import type { MailService } from './mail.service.js';
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

/** Whether a person is offered the approval of a batch, and if not, why, said to them (null: nothing to say). */
export interface ApprovalOffer {
  allowed: boolean;
  refusal: string | null;
}

/** Told (403) to an early batch's proposer who asks to approve it. */
const PROPOSER_APPROVING = 'You proposed this early destruction, so another records manager must approve it.';
/** Told (403) to a records manager who brought forward when some of a due batch's records fall due and asks to approve it. */
const FORWARD_APPROVING = 'You brought forward when some of these records fall due, so another records manager must approve their destruction.';
/** Shown on a batch's page to its records managers who are not offered the approval, by decide()'s reason. */
const NOT_OFFERED: Readonly<Record<string, string>> = {
  same_person_as_proposer: 'Another records manager must approve this early destruction: you proposed it.',
  brought_due_date_forward: 'Another records manager must approve this batch: you brought forward when some of its records fall due.',
};
const NOT_VOUCHED_OFFER = {
  early: 'Nobody can approve this early destruction: the audit log does not vouch for who proposed it, so whether a second person approves it cannot be told.',
  due: 'Nobody can approve this batch: the audit log does not vouch for who brought forward when its records fall due, so whether its approver did cannot be told.',
};

/** The batch as decide() is asked about its approval, and why the log cannot vouch for its facts (null: it can). */
interface ApprovalFacts {
  resource: DisposalBatchResource;
  unvouched: string | null;
}

/** Settings keys: state that must hold across processes lives in the database. */
const lastSweepKey = (organisationId: string) => `disposal.last-sweep:${organisationId}`;
const lastPurgeKey = (organisationId: string) => `disposal.last-purge:${organisationId}`;

export class DisposalService {
  private readonly execution: DisposalExecution;
  private readonly proposals: DisposalProposals;

  constructor(protected readonly o: DisposalServiceOptions) {
    this.execution = new DisposalExecution(o);
    this.proposals = new DisposalProposals(o);
  }

  /**
   * Proposes a batch of the organisation's records due on or before `dueBy` (today, UK, by default) that are
   * in no open batch (DisposalProposals.sweep); null when there is nothing new to show.
   */
  async sweep(actor: Actor, organisationId: string, dueBy?: string): Promise<BatchView | null> {
    const batchId = await this.proposals.sweep(actor, organisationId, dueBy);
    return batchId === null ? null : this.get(actor, batchId);
  }

  /** A records manager's early destruction of documents in the bin, with a reason (DisposalProposals.proposeEarly). */
  async proposeEarly(actor: Actor, documentIds: readonly string[], reason: string): Promise<BatchView> {
    return this.get(actor, await this.proposals.proposeEarly(actor, documentIds, reason));
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
   * the execution job is queued in the same transaction. An early batch is never approved by its proposer, nor a
   * due batch by a records manager who brought forward when any of its records fall due (requireApprovable:
   * decide(), `records.approve-disposal`).
   */
  async approve(actor: Actor, batchId: string): Promise<BatchView> {
    const { batch } = await this.batchFor(actor, batchId, 'records.dispose');
    const userId = personOf(actor);
    if (batch.status !== 'review') throw conflict('This batch has already been approved.');
    const items = await this.o.store.repos.disposal.items(batchId);
    const facts = await this.approvalFacts(batch, items);
    const { resource } = facts;
    await this.requireApprovable(actor, facts);
    const pending = pendingItems(items).length;
    if (pending > 0) throw invalid(`${pending} item${pending === 1 ? ' still needs' : 's still need'} a decision before the batch can be approved.`);
    await this.requireExtensionsVouched(actor, batch, items);
    const now = this.o.clock.now();
    // Asked again on the actor as the transaction reads them: the organisation's records manager, and not an early
    // batch's proposer, nor one who brought forward a due batch's dates.
    const approving = {
      action: 'records.approve-disposal' as const, resource, target: { organisationId: batch.organisationId, ids: { batchId } }, auditAs: 'disposal.approve', missing: 'disposal batch',
      refused: forbidden(resource.early !== null ? PROPOSER_APPROVING : FORWARD_APPROVING),
    };
    await changeDecidedWithin(this.o, actor, [this.disposeAction(batch, 'disposal.approve'), approving], async (tx, { actor: acting, decision }) => {
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
   * Whether the actor is offered the approval of this batch (its page's button), as decide() answers
   * `records.approve-disposal`, without auditing; and, where a records manager is refused it, why.
   */
  async approvalOffer(actor: Actor, batch: DisposalBatch): Promise<ApprovalOffer> {
    const decision = await this.o.access.decisionFor(actor, 'records.approve-disposal', (await this.approvalFacts(batch)).resource);
    const mayDispose = decision.allow || (await this.o.access.may(actor, 'records.dispose', { kind: 'organisation', organisationId: batch.organisationId }));
    if (decision.allow || !mayDispose) return { allowed: decision.allow, refusal: null };
    return { allowed: false, refusal: decision.reason === 'not_vouched_for' ? NOT_VOUCHED_OFFER[isEarly(batch) ? 'early' : 'due'] : NOT_OFFERED[decision.reason] ?? null };
  }

  /**
   * The batch as decide() is asked about its approval: for an early one, who proposed it by its sealed
   * `disposal.propose-early` events (read by document, as each is filed under one), never by its row alone
   * (created_by, which a database administrator can rewrite to pass the rule). The batch's `disposal.propose`
   * event says the same, but is read only by organisation, among all of its events: the per-document ones
   * are written in the same transaction by the same person. For a due one, who brought forward when any of its
   * records fall due, by the sealed events of those acts (dueDatesBroughtForwardOf: a few queries, whatever the
   * batch's size), never by the rows (series revisions, trigger events) alone.
   */
  private async approvalFacts(batch: DisposalBatch, items?: readonly DisposalItem[]): Promise<ApprovalFacts> {
    const base = { kind: 'disposal-batch' as const, id: batch.id, organisationId: batch.organisationId };
    const repos = this.o.store.repos;
    const documentIds = (items ?? await repos.disposal.items(batch.id)).map((i) => i.documentId);
    if (!isEarly(batch)) {
      const forward = await dueDatesBroughtForwardOf(repos, batch.organisationId, documentIds);
      return 'unvouched' in forward
        ? { resource: { ...base, early: null, due: { broughtForwardBy: null } }, unvouched: `who brought forward when its records fall due cannot be told. ${forward.unvouched}` }
        : { resource: { ...base, early: null, due: { broughtForwardBy: forward.by } }, unvouched: null };
    }
    const proposals = documentIds.length === 0 ? [] : await repos.audit.allowedEvents([PROPOSE_EARLY_ACTION], { documentIds });
    const proposedBy = earlyProposer(batch, proposals);
    return {
      resource: { ...base, early: { proposedBy }, due: null },
      unvouched: proposedBy !== null ? null : 'no records manager\'s proposal of it recorded in the audit log names the person its row says proposed it, '
        + 'so whether a second person approves it cannot be told. It was changed in the database directly, not by Strongroom.',
    };
  }

  /**
   * Early destruction is two people's decision: decide() refuses its approval to the person who proposed it
   * (403, audited as `disposal.approve` with reason `same_person_as_proposer`); a due batch's to a records manager
   * who brought forward when any of its records fall due (403, `brought_due_date_forward`); and either to everyone
   * when the log cannot vouch for those facts (audited `not_vouched_for`, the integrity alarm raised, as for an
   * extension no event vouches for: the rows were changed in the database directly).
   */
  private async requireApprovable(actor: Actor, { resource, unvouched }: ApprovalFacts): Promise<void> {
    const decision = await this.o.access.decisionFor(actor, 'records.approve-disposal', resource);
    if (decision.allow) return;
    await this.o.access.recordDenial(actor, 'disposal.approve', { organisationId: resource.organisationId, ids: { batchId: resource.id } }, decision);
    if (decision.reason === 'not_vouched_for') {
      const refusal = `The approval of disposal batch ${resource.id} was refused: ${unvouched ?? 'the audit log does not vouch for the facts its approval is decided on.'}`;
      this.o.audit.raiseTamperingAlarm('disposal', refusal);
      throw new IntegrityError(refusal);
    }
    if (decision.reason === 'same_person_as_proposer') throw forbidden(PROPOSER_APPROVING);
    throw decision.reason === 'brought_due_date_forward' ? forbidden(FORWARD_APPROVING) : notFound('disposal batch');
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

/** Whether two reads of a batch's items hold the same decisions (by whom, when, to when and why), item for item. */
function sameDecisions(before: readonly DisposalItem[], now: readonly DisposalItem[]): boolean {
  const terms = (i: DisposalItem) => JSON.stringify([i.documentId, i.decision, i.decidedBy, i.decidedAt, i.extendTo, i.reason]);
  const was = new Set(before.map(terms));
  return before.length === now.length && now.every((i) => was.has(terms(i)));
}

const records = (n: number): string => `${n} record${n === 1 ? '' : 's'}`;
const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
