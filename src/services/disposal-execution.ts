// Carrying out destruction, as the system: an approved disposal batch (the dispose-batch job) and the
// bin purge (the purge-bin job). Each document is destroyed in one transaction: every version's data
// key erased (crypto-shredding: no copy of a blob, anywhere, can be read again), a stub kept, the name
// replaced by its hash. Blobs are deleted after commit; a failure there is retried by a job, and never
// undoes the shredding.
import { createHash } from 'node:crypto';
import type { DestructionAction } from '../domain/access/actions.js';
import { DISPOSAL_RECORD_ACTIONS, PROPOSE_EARLY_ACTION, unproposedEarlyItem, unrecordedDisposalStep, unsecondedEarlyApproval } from '../domain/audit/disposal-record.js';
import { BIN_RECORD_ACTIONS, unrecordedBinning } from '../domain/audit/bin-record.js';
import { unsecondedDueApproval } from '../domain/audit/due-date-record.js';
import type { AuditEvent } from '../domain/audit/event.js';
import { HOLD_RECORD_ACTIONS, holdsUnreleasedInLog } from '../domain/audit/hold-record.js';
import { COLLECTION_PLACEMENT_ACTIONS, DOCUMENT_PLACEMENT_ACTIONS, lastPlacements, unrecordedPlace } from '../domain/audit/placement-record.js';
import { IntegrityError } from '../domain/errors.js';
import {
  countItems, destroysItem, disposedName, isEarly, parseTransferExport, transferGap, type DisposalBatch, type DisposalItem, type ItemOutcome, type TransferGap,
} from '../domain/records/disposal.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, Document, Version } from '../domain/types.js';
import { documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { AuditAlarmService } from './audit-alarm.service.js';
import type { CertificatesService } from './certificates.service.js';
import { transferEntry, transferKey } from './disposal-transfer.js';
import { dueDatesBroughtForwardOf } from './due-date-history.js';
import { shredVersions } from './shredding.js';
import type { DocumentLifecycle } from './lifecycle.js';
import type { RetentionService } from './retention.service.js';
import { computeFacts } from './retention-facts.js';
import { isDue, ukDate, type RetentionFacts } from '../domain/records/retention.js';

export interface DisposalExecutionOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  blobs: EncryptedBlobs;
  lifecycle: DocumentLifecycle;
  certificates: CertificatesService;
  retention: RetentionService;
  /** Raises the integrity alarm when a batch's rows are not what the audit log records. */
  audit: Pick<AuditAlarmService, 'raiseTamperingAlarm'>;
  system: Actor;
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** What was read of the log before carrying out a batch, or purging a page of the bin: hold (and disposal) events, and the placement events of its records. */
interface VouchingLog {
  holds: readonly AuditEvent[];
  placements: readonly AuditEvent[];
}
const PURGE_PAGE = 500;

/**
 * Whether the bin purge may destroy a binned document with these retention facts: unfiled (no series keeps it),
 * or its retention ended on or before `today`. One under a series still awaiting its trigger event, or not yet
 * due, is kept by the file plan, and so by the bin.
 */
const purgeable = (facts: RetentionFacts, today: string): boolean => facts.state === 'unfiled' || isDue(facts, today);

/**
 * When a records manager proposed this document for early destruction in this batch, by the log (the batch's
 * created_at is a row: moved later by hand, it would make a deletion since look older than the proposal).
 */
const proposedAt = async (tx: Repos, batch: DisposalBatch, documentId: string): Promise<string | null> =>
  (await tx.audit.allowedEvents([PROPOSE_EARLY_ACTION], { documentIds: [documentId] }))
    .find((e) => e.targetIds.batchId === batch.id && e.targetIds.documentId === documentId)?.time ?? null;

/**
 * For an early item: whether its row, read in the destroying transaction under its lock, is still in the bin,
 * and has been since it was proposed. The proposal was of the record as it was binned then: one restored since
 * (its team wanted it after all, and may have changed it) and deleted again is an ordinary deletion, which the
 * bin keeps like any filed record's, not this batch's to destroy.
 */
const inTheBinSinceProposed = (batch: DisposalBatch, documentId: string) => async (tx: Repos): Promise<boolean> => {
  const current = await tx.documents.byId(documentId);
  if (current === undefined || current.deletedAt === null || current.status === 'disposed') return false;
  const proposed = await proposedAt(tx, batch, documentId);
  return proposed !== null && Date.parse(current.deletedAt) <= Date.parse(proposed);
};

/** How a refusal names a document: the batch's item, or the bin's. */
const inBatch = (batch: DisposalBatch) => (documentId: string): string => `Document ${documentId} of disposal batch ${batch.id}`;
const inTheBin = (documentId: string): string => `Document ${documentId}, in the bin,`;

export class DisposalExecution {
  constructor(private readonly o: DisposalExecutionOptions) {}

  /**
   * Carries out an approved batch. Idempotent: items with an outcome are skipped, so a retry after a
   * crash continues where it stopped. Every destruction is asked of decide() as the system at this
   * moment, so a hold placed after approval wins (outcome 'held', nothing destroyed, refusal audited).
   * Before anything is destroyed, the batch must be what the audit log says people did (requireVouched):
   * otherwise nothing is, the refusal is audited, the integrity alarm is raised and IntegrityError thrown.
   * Each record's place and holds are checked again inside the transaction that destroys it (destroy),
   * against the rows as they are then: rows changed after the first check stop the job there, the same way.
   * The approver is not asked about again: their approval was decided on them as its own transaction read them
   * (changeDecidedWithin), and is the organisation's decision from then on; a hold stops what should not go.
   */
  async execute(batchId: string): Promise<void> {
    const repos = this.o.store.repos;
    const batch = await repos.disposal.batch(batchId);
    if (!batch || batch.status === 'review') return;
    if (batch.status === 'approved') {
      // The items checked are the items carried out: a decision changed after the check is not read again.
      // Each record's place and holds are, in the transaction that destroys it (carryOut).
      const items = await repos.disposal.items(batchId);
      const log = await this.requireVouched(batch, items);
      for (const item of items) {
        if (item.outcome !== null) continue;
        const unvouched = await this.carryOut(batch, item, log);
        if (unvouched) await this.refuse(batch, unvouched, `The disposal job stopped carrying out batch ${batchId} at document ${item.documentId}, which it did not destroy; nothing more was destroyed.`);
      }
      const now = this.o.clock.now();
      const counts = countItems(await repos.disposal.items(batchId));
      await this.o.store.transaction(async (tx) => {
        if (!(await tx.disposal.setStatus(batchId, 'approved', 'executed', { executedAt: now.toISOString() }))) return;
        await tx.audit.insert([auditEvent(this.o.system, 'disposal.execute', {
          organisationId: batch.organisationId,
          ids: {
            batchId, destroyed: String(counts.destroyed), held: String(counts.held), excluded: String(counts.excluded), extended: String(counts.extend), gone: String(counts.gone), changed: String(counts.changed),
            ...(counts.notDue > 0 ? { notDue: String(counts.notDue) } : {}),
          },
        }, { allow: true, reason: 'system', via: null }, now)]);
      });
    }
    // The certificate of destruction. Should it fail (the audit log has not yet signed a checkpoint
    // covering the destruction events), the job is retried, and a retry of an executed batch does only this.
    if (!(await repos.disposal.batch(batchId))?.certificateId) await this.o.certificates.issue(batchId);
  }

  /**
   * Destruction is irreversible and the job acts as the system, so it does not take the rows' word for
   * who decided what: approved_by, an item's decision and a hold's released_at are all rows a database
   * administrator can write. Each must be vouched for by the sealed event the service wrote when a
   * person did it: the approval by the person the batch names, after each item's latest decision; each
   * item it will carry out decided so, last, by the person the item names, with the new due date and
   * reason that decision recorded (decisions recorded before they were, 4 December 2026, are compared
   * on what was decided and by whom only); each item it will destroy or transfer, and
   * each collection above it, where the log last placed it (so the chain the holds are read over is the
   * log's); and every hold the log says was placed over such an item (on it or on a collection it is in)
   * released in the log, or still in force in the rows (then decide() refuses it as usual, outcome
   * 'held'). The log says a document is held by a hold until it records the release, so a deleted hold
   * item frees nothing. An early batch's items each need their proposal, and its approval must be by someone
   * other than the person the proposals name (early destruction is two people's decision); a due batch's approval
   * must be by someone who brought forward none of its records' due dates.
   */
  private async requireVouched(batch: DisposalBatch, items: readonly DisposalItem[]): Promise<VouchingLog> {
    const repos = this.o.store.repos;
    // Every decision still to be carried out, extensions included: a new due date rewritten by hand is tampering too.
    const toCarryOut = items.filter((i) => i.outcome === null && i.decision !== 'pending');
    const toDestroy = toCarryOut.filter((i) => destroysItem(i));
    if (toCarryOut.length === 0) return { holds: [], placements: [] };
    const events = await repos.audit.allowedEvents([...DISPOSAL_RECORD_ACTIONS, ...HOLD_RECORD_ACTIONS], { organisationId: batch.organisationId });
    const ids = toDestroy.map((i) => i.documentId);
    const log = { holds: events, placements: toDestroy.length === 0 ? [] : await this.placementEvents(repos, batch.organisationId, ids) };
    // An early item is destroyed before its retention ends, on the strength of its proposal: a records manager's
    // event naming the batch, the document and the reason's hash (read by document, as each is filed under it);
    // and on another records manager's approval: the approval the log vouches for (unrecordedDisposalStep, first)
    // must not be by the person the proposals name (a row rewritten, or an event written past the approval's rule).
    const proposals = isEarly(batch) && toDestroy.length > 0 ? await repos.audit.allowedEvents([PROPOSE_EARLY_ACTION], { documentIds: ids }) : null;
    const unproposed = proposals === null ? null : unproposedEarlyItem(batch, toDestroy, proposals) ?? unsecondedEarlyApproval(batch, proposals);
    // A due batch is destroyed on an approval by someone who brought forward none of its records' due dates
    // (decide(), `records.approve-disposal`): one by a person who did, written past that rule, or the log unable to
    // tell who did (the acts' events rewritten), destroys nothing.
    const unseconded = isEarly(batch) || toDestroy.length === 0 ? null : unsecondedDueApproval(batch, await dueDatesBroughtForwardOf(repos, batch.organisationId, ids));
    const problem = unrecordedDisposalStep(batch, toCarryOut, events, items) ?? unproposed ?? unseconded
      ?? (toDestroy.length === 0 ? null : await this.unvouchedPlaceOrHold(repos, batch.organisationId, ids, inBatch(batch), log));
    if (problem) await this.refuse(batch, problem);
    return log;
  }

  /** The events that placed these documents, and the organisation's collections, in the order written. */
  private async placementEvents(repos: Repos, organisationId: string, documentIds: readonly string[]): Promise<AuditEvent[]> {
    return [
      ...(await repos.audit.allowedEvents(DOCUMENT_PLACEMENT_ACTIONS, { documentIds })),
      ...(await repos.audit.allowedEvents(COLLECTION_PLACEMENT_ACTIONS, { organisationId })),
    ];
  }

  /**
   * The first of the organisation's `documentIds` whose place or holds the log does not vouch for, said
   * to a person (`subject` names each document: "Document X of disposal batch B"); null when
   * none. Its place: its collection, and each collection above it, must be where its latest placement
   * event put it (a row moved by hand would take it out from under a hold on a folder). Its holds: every
   * hold the log put over it there (on it or on a collection of that chain) must be released in the log,
   * or still hold it in the rows. `log`: the organisation's allowed hold events and the placement events
   * of these documents, read before (by requireVouched, for the batch, or by purgeBin, for a page; the
   * destroying transaction passes the same, and reads the rows under its locks). `repos`: where the rows
   * are read. Used by the disposal job and the bin purge alike.
   */
  private async unvouchedPlaceOrHold(repos: Repos, organisationId: string, documentIds: readonly string[], subject: (documentId: string) => string, log: VouchingLog): Promise<string | null> {
    const ids = [...documentIds];
    // Rows read after the events: a move, a hold and their events commit together, so whatever the rows
    // show was done honestly has its event among those read.
    const placements = new Map((await repos.retention.placements(ids)).map((p) => [p.documentId, p]));
    const inForce = await repos.holds.activeForDocuments(ids);
    const judge = (log: readonly AuditEvent[], placed: readonly AuditEvent[]) => {
      const last = lastPlacements(placed);
      return new Map(ids.map((documentId): [string, { misplaced: string | null; freed: string[] }] => {
        const place = placements.get(documentId);
        // Gone: carrying it out finds nothing to destroy.
        if (!place) return [documentId, { misplaced: null, freed: [] }];
        const misplaced = unrecordedPlace(subject(documentId), { documentId, collectionId: place.collectionId, chain: place.collections }, last);
        const rowsHold = new Set((inForce.get(documentId) ?? []).map((h) => h.id));
        const freed = holdsUnreleasedInLog({ documentId, collectionIds: place.collections.map((c) => c.id) }, log).filter((id) => !rowsHold.has(id));
        return [documentId, { misplaced, freed }];
      }));
    };
    const suspect = judge(log.holds, log.placements);
    if ([...suspect.values()].every((s) => s.misplaced === null && s.freed.length === 0)) return null;
    // Something looks moved or freed by hand. A release or move committed between the reads of the events
    // and of the rows is in the rows but not in the events read: read the events again, and name only what
    // still disagrees (a hold or move committed after the rows were read is in the events read again only).
    const again = judge(await repos.audit.allowedEvents(HOLD_RECORD_ACTIONS, { organisationId }), await this.placementEvents(repos, organisationId, ids));
    for (const documentId of ids) {
      const before = suspect.get(documentId)!;
      const now = again.get(documentId)!;
      if (before.misplaced !== null && now.misplaced !== null) return now.misplaced;
      const freed = before.freed.filter((id) => now.freed.includes(id));
      if (freed.length > 0) {
        return `${subject(documentId)} is under legal hold ${freed.join(', ')} by the audit log, which records no release, but the hold's rows no longer hold it: they were changed in the database directly, not by Strongroom.`;
      }
    }
    return null;
  }

  /** Nothing more of the batch is destroyed: the refusal audited, the integrity alarm raised, IntegrityError thrown. */
  private async refuse(batch: DisposalBatch, problem: string, opening = `The disposal job refused to carry out batch ${batch.id}; nothing was destroyed.`): Promise<never> {
    await this.o.store.repos.audit.insert([auditEvent(this.o.system, 'disposal.execute', { organisationId: batch.organisationId, ids: { batchId: batch.id } }, { allow: false, reason: 'not_vouched_for', via: null }, this.o.clock.now())]);
    const refusal = `${opening} ${problem}`;
    this.o.audit.raiseTamperingAlarm('disposal', refusal);
    throw new IntegrityError(refusal);
  }

  /** Carries out one item; what the log does not vouch for in its rows at the moment of destruction, if anything (then nothing is done). */
  private async carryOut(batch: DisposalBatch, item: DisposalItem, log: VouchingLog): Promise<string | null> {
    const repos = this.o.store.repos;
    const now = this.o.clock.now();
    const setOutcome = (outcome: ItemOutcome) => repos.disposal.setOutcome(item.batchId, item.documentId, outcome, now.toISOString());
    const settled = async (outcome: ItemOutcome) => {
      await setOutcome(outcome);
      return null;
    };
    if (item.decision === 'extend') return settled('extended');
    // Only held items are left undecided at approval: they are kept.
    if (!destroysItem(item)) return settled('excluded');
    const destroyedAs: ItemOutcome = item.decision === 'transfer' ? 'transferred' : 'destroyed';
    const document = await repos.documents.byId(item.documentId);
    if (!document) return settled('gone');
    // Destroyed by this very batch (a run that stopped before this fix recorded its outcome with the destruction):
    // it is the batch's, and its certificate must list it; destroyed otherwise (purged, another batch), it was gone.
    if (document.status === 'disposed') return settled((await repos.disposal.stub(document.id))?.batchId === item.batchId ? destroyedAs : 'gone');
    // A record to transfer is destroyed only as the package holds it: checked again in the destroying
    // transaction, after its row is locked, since a version saved after approval would otherwise go unexported.
    const exported = item.decision === 'transfer' ? (repos: Repos) => this.transferGap(repos, batch, item) : undefined;
    // Its place and holds checked again in the destroying transaction, on the rows as they are then
    // (locked): a row changed since requireVouched read it cannot slip between the check and the act.
    const placeOrHold = (tx: Repos) => this.unvouchedPlaceOrHold(tx, batch.organisationId, [item.documentId], inBatch(batch), log);
    // An early item: its retention has not ended, so it goes only while in the bin since it was proposed (not restored
    // and deleted again since). Its row, read under the lock, says whether it is; the log must say so too (its latest
    // deletion or restore event a deletion no later than the proposal), since deleted_at is a row: a live record given
    // a deleted_at by hand, or one deleted again whose deleted_at is written back, is not destroyed early.
    const vouch = !isEarly(batch) ? placeOrHold : async (tx: Repos) => (await placeOrHold(tx)) ?? (await this.unvouchedBinning(tx, batch, item.documentId));
    // The batch's row says when it was due and under which series, as the sweep found it: its retention is
    // worked out again in the destroying transaction, so a record refiled, given a longer period or a later
    // event, or extended since it was proposed is not destroyed on the strength of a stale row.
    const due = isEarly(batch) ? inTheBinSinceProposed(batch, item.documentId) : async (tx: Repos) => {
      const facts = (await computeFacts(tx, [item.documentId])).get(item.documentId)?.facts;
      return facts !== undefined && facts.state === 'scheduled' && facts.seriesCode === item.seriesCode && isDue(facts, ukDate(now));
    };
    // The outcome is written in the transaction that destroys the record: a run that stops between the two
    // would otherwise leave a destroyed record with no outcome, which the retry would find already gone.
    const settle = (tx: Repos) => tx.disposal.setOutcome(item.batchId, item.documentId, destroyedAs, now.toISOString());
    const outcome = await this.destroy(document, 'document.dispose', {
      batchId: item.batchId, seriesCode: item.seriesCode, exported, vouch, due, settle,
      // An early item restored from the bin since it was proposed is kept, deleted again or not: somebody decided it should be there after all.
      notDueRefusal: isEarly(batch) ? 'not_in_bin' : 'retention_changed',
    });
    if (typeof outcome === 'object') return outcome.unvouched;
    // Only the bin purge asks for 'restored' (inTheBinSince); a destruction recorded its own outcome.
    if (outcome === 'restored' || outcome === 'destroyed') return null;
    await setOutcome(outcome);
    return null;
  }

  /**
   * For an early item whose row (read under the lock) says it has been in the bin since its proposal: what the log
   * does not vouch for in that (null: nothing). Its latest deletion or restore event must be a deletion no later than
   * the proposal: a deleted_at written back by hand on a record restored and deleted again since is tampering.
   */
  private async unvouchedBinning(tx: Repos, batch: DisposalBatch, documentId: string): Promise<string | null> {
    const current = await tx.documents.byId(documentId);
    const proposed = await proposedAt(tx, batch, documentId);
    // Not in the bin, or binned again since the proposal, or never proposed (refused before, by unproposedEarlyItem): kept, no tampering to name.
    if (!current || current.deletedAt === null || proposed === null || Date.parse(current.deletedAt) > Date.parse(proposed)) return null;
    const events = await tx.audit.allowedEvents(BIN_RECORD_ACTIONS, { documentIds: [documentId] });
    return unrecordedBinning(inBatch(batch)(documentId), documentId, events, proposed, 'since it was proposed for early destruction');
  }

  /** Why the batch's transfer package does not hold the record as it is now (null: it does). */
  private async transferGap(repos: Repos, batch: DisposalBatch, item: DisposalItem): Promise<TransferGap | null> {
    const exported = parseTransferExport(await repos.settings.get(transferKey(batch.id)));
    return transferGap(exported, item.documentId, (await transferEntry(repos, batch, item))?.fingerprint ?? null);
  }

  /**
   * Purges documents of the organisation deleted more than `binDays` ago, unless held. The rows do not
   * decide that on their own: deleted_at, a hold's released_at and a document's place are all rows a
   * database administrator can write. In the transaction that destroys each document, after its row
   * (and, shared, each collection above it) is locked, the purge asks the log, as the disposal job does
   * (unvouchedPlaceOrHold): the document and each collection above it where the log last placed them,
   * and every hold the log put over it released in the log or still in force in the rows; and its time
   * in the bin: its latest deletion or restore event (bin-record.ts, read in that transaction) must be a
   * deletion at or before the cutoff. A document the log does not vouch for is not purged: the refusal
   * is audited (document.purge, deny, not_vouched_for), the integrity alarm raised, and it stays in the
   * bin (`refused`). Unlike a disposal batch, which is one decision carried out whole, each purge is its
   * own: the other documents of the page the log vouches for are purged, and the run ends normally, so a
   * retry does not refuse the same rows again; the next day's run refuses them again until they are put
   * right. A document restored honestly since it was listed is left alone.
   */
  async purgeBin(organisationId: string, binDays: number): Promise<{ purged: string[]; held: string[]; refused: string[] }> {
    const cutoff = new Date(this.o.clock.now().getTime() - binDays * DAY_MS).toISOString();
    const repos = this.o.store.repos;
    const purged: string[] = [];
    const held: string[] = [];
    const refused: string[] = [];
    // Out of the bin's reach when their turn came, by their row read under its lock (restored, or deleted again since).
    const leftInTheBin: string[] = [];
    // Filed records not yet due: the file plan keeps them, so the bin does too, until disposal review proposes them.
    const kept: string[] = [];
    const today = ukDate(this.o.clock.now());
    for (;;) {
      // Purged documents leave the query; held, refused and kept ones come back each page: page past them. So may one
      // left in the bin: its row's deleted_at is compared as an instant under the lock, and as text by the query,
      // which for a value written by hand (another offset, say) can disagree; paged past, it cannot go round.
      const passed = new Set([...held, ...refused, ...leftInTheBin, ...kept]);
      const ids = (await repos.disposal.binExpired(organisationId, cutoff, PURGE_PAGE + passed.size)).filter((id) => !passed.has(id));
      if (ids.length === 0) break;
      const facts = await this.o.retention.retentionFacts(ids);
      // The log as it was before the rows of this page are read in each destroying transaction.
      const log: VouchingLog = { holds: await repos.audit.allowedEvents(HOLD_RECORD_ACTIONS, { organisationId }), placements: await this.placementEvents(repos, organisationId, ids) };
      for (const document of await repos.documents.byIds(ids)) {
        const f = facts.get(document.id);
        // A record under a series whose retention has not ended is not the bin's to destroy: deleting it is not a
        // records manager's decision. It stays in the bin, restorable, until the sweep proposes it once due (the
        // sweep takes binned records) or a records manager destroys it early (DisposalService.proposeEarly). Not
        // audited: it is left as it was, every day until then, and a daily event for each would flood the log.
        if (f !== undefined && !purgeable(f, today)) {
          kept.push(document.id);
          continue;
        }
        const seriesCode = f && f.state !== 'unfiled' ? f.seriesCode : '';
        const vouch = async (tx: Repos) => (await this.unvouchedPlaceOrHold(tx, organisationId, [document.id], inTheBin, log))
          // Read in this transaction: a deletion or restore commits with its event, and the row is locked.
          ?? unrecordedBinning(inTheBin(document.id), document.id, await tx.audit.allowedEvents(BIN_RECORD_ACTIONS, { documentIds: [document.id] }), cutoff);
        // Asked again under the row's lock: a document filed under a series (or its folder moved under one) since the page was read is kept.
        const due = async (tx: Repos) => {
          const now = (await computeFacts(tx, [document.id])).get(document.id)?.facts;
          return now === undefined || purgeable(now, today);
        };
        const outcome = await this.destroy(document, 'document.purge', { batchId: null, seriesCode, vouch, inTheBinSince: cutoff, due, notDueRefusal: null });
        if (typeof outcome === 'object') {
          await this.o.access.recordRefusal(this.o.system, 'document.purge', { organisationId, ids: { documentId: document.id } }, 'not_vouched_for');
          this.o.audit.raiseTamperingAlarm('disposal', `The bin purge refused to purge document ${document.id}; it stays in the bin. ${outcome.unvouched}`);
          refused.push(document.id);
        } else if (outcome === 'held') held.push(document.id);
        // Restored meanwhile (perhaps deleted again, its bin period begun afresh): not purged.
        else if (outcome === 'restored') leftInTheBin.push(document.id);
        else if (outcome === 'not_due') kept.push(document.id);
        else purged.push(document.id);
      }
    }
    return { purged, held, refused };
  }

  /**
   * Destroys one document, if decide() lets the system do `action` on it now (a legal hold refuses
   * it): the refusal, and its audit, are decide()'s and AccessService's. The decision is made inside
   * the destroying transaction, after the document's row (and shared, its collections') are locked, with
   * the holds read there: a hold being placed at that moment (which locks the rows it holds) either
   * committed first and refuses, or waits until the document is gone. No window between check and act.
   */
  private async destroy(
    document: Document, action: DestructionAction,
    context: {
      batchId: string | null; seriesCode: string;
      /** For a transfer: what the package lacks of the record now (null: nothing). */ exported?: ((repos: Repos) => Promise<TransferGap | null>) | undefined;
      /** What the log does not vouch for in the rows as they are now (null: nothing). */ vouch?: (repos: Repos) => Promise<string | null>;
      /**
       * For the bin purge: only while it is still in the bin, deleted no later than this cutoff (else 'restored',
       * nothing done). Its page was read before: a record restored and deleted again since is in the bin afresh.
       */ inTheBinSince?: string;
      /**
       * For a disposal: whether the record is due now under the series it was proposed under, or for an early item still in
       * the bin; for the bin purge, whether its retention lets it go (else 'not_due', kept).
       */ due?: (repos: Repos) => Promise<boolean>;
      /** The reason a 'not_due' refusal is audited with; null: not audited (the bin purge leaves a filed record quietly). */ notDueRefusal?: string | null;
      /** For a disposal: records the item's outcome in the destroying transaction, with the destruction. */ settle?: (repos: Repos) => Promise<void>;
    },
  ): Promise<'destroyed' | 'gone' | 'held' | 'changed' | 'not_due' | 'restored' | { unvouched: string }> {
    const ids = { documentId: document.id, ...(context.batchId ? { batchId: context.batchId } : {}) };
    const now = this.o.clock.now();
    const done = await this.o.store.transaction(async (tx): Promise<{ versions: Version[] } | 'held' | 'gone' | 'already' | 'restored' | 'not_due' | { gap: TransferGap } | { unvouched: string }> => {
      await tx.holds.lockForDestroying(document.id);
      const current = await tx.documents.byId(document.id);
      if (!current) return 'gone';
      if (current.status === 'disposed') {
        // Destroyed a moment ago by this same batch (another run of its job): its outcome is the destruction's.
        if (context.batchId !== null && (await tx.disposal.stub(current.id))?.batchId === context.batchId) {
          await context.settle?.(tx);
          return 'already';
        }
        return 'gone';
      }
      // Destroyed already by its disposal stub, yet its row's status put back by hand: its keys are gone, so
      // nothing is left to destroy, and a second stub would fail the whole run (every later record kept too).
      const stub = await tx.disposal.stub(current.id);
      if (stub) {
        return { unvouched: `Document ${current.id} was destroyed at ${stub.disposedAt} by its disposal stub, but its row says its status is ${current.status}: it was changed in the database directly, not by Strongroom.` };
      }
      if (context.inTheBinSince !== undefined && (current.deletedAt === null || Date.parse(current.deletedAt) > Date.parse(context.inTheBinSince))) return 'restored';
      // Under the locks: the record's row and the collections above it cannot change until this commits.
      const unvouched = context.vouch ? await context.vouch(tx) : null;
      if (unvouched) return { unvouched };
      const decision = await this.o.access.checkWithin(tx, this.o.system, action, documentResource(current), { organisationId: current.organisationId, ids });
      if (!decision.allow) return 'held';
      if (context.due && !(await context.due(tx))) return 'not_due';
      const gap = context.exported ? await context.exported(tx) : null;
      if (gap) return { gap };
      const versions = await tx.documents.versions(current.id);
      const nameSha256 = createHash('sha256').update(current.name, 'utf8').digest('hex');
      // The stub records the name's hash before the name itself is replaced.
      await tx.disposal.insertStub({
        documentId: current.id, organisationId: current.organisationId, seriesCode: context.seriesCode, createdAt: current.createdAt, disposedAt: now.toISOString(),
        nameSha256, totalBytes: versions.reduce((sum, v) => sum + v.size, 0), versionCount: versions.length, batchId: context.batchId, certificateId: null,
      });
      await tx.documents.update(current.id, { status: 'disposed', name: disposedName(current.id) }, now.toISOString());
      for (const p of await tx.dav.properties(current.id)) await tx.dav.removeProperty(current.id, p.namespace, p.name);
      await tx.audit.insert([auditEvent(this.o.system, action, {
        organisationId: current.organisationId, ids: { ...ids, seriesCode: context.seriesCode, nameSha256 },
      }, decision, now)]);
      await this.o.lifecycle.raise({ jobs: tx.jobs, search: tx.search, now }, {
        type: 'document.destroyed', organisationId: current.organisationId, documentId: current.id, versionIds: versions.map((v) => v.id), disposed: true,
      });
      // Every key erased, the blobs queued for deletion with it (so they go even if this process dies first).
      await shredVersions(tx, current.organisationId, versions, now);
      await context.settle?.(tx);
      return { versions };
    });
    if (done === 'held') return 'held';
    if (done === 'gone') return 'gone';
    if (done === 'already') return 'destroyed';
    if (done === 'restored') return 'restored';
    if (done === 'not_due') {
      // Kept, and the refusal recorded like any other: its retention no longer makes it due (or, early, it left the bin).
      const refusal = context.notDueRefusal === undefined ? 'retention_changed' : context.notDueRefusal;
      if (refusal !== null) await this.o.access.recordRefusal(this.o.system, action, { organisationId: document.organisationId, ids }, refusal);
      return 'not_due';
    }
    if ('unvouched' in done) return done;
    if ('gap' in done) {
      // Kept, and the refusal recorded like any other: the archive never received the record as it is now.
      await this.o.access.recordRefusal(this.o.system, action, { organisationId: document.organisationId, ids }, `transfer_${done.gap}`);
      return 'changed';
    }
    const { versions } = done;
    for (const v of versions) {
      await this.o.blobs.delete(v.blobId).catch((err: unknown) => this.o.onWarning?.('a destroyed version\'s blob could not be deleted yet; the delete-blobs job retries it', { err, blobId: v.blobId }));
    }
    return 'destroyed';
  }
}
