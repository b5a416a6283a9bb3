// The garbage collection of orphan blobs: blobs in the primary store or the offsite replica that nothing
// names (an upload whose transaction never committed, a folder copy or a restore cut off, a thumbnail
// whose replacement's delete failed). Two sweeps, never a clock on the blobs: a sweep lists a store, THEN
// reads what names each blob (so a commit after the listing is seen), and records each blob named by
// nothing as a candidate, first seen now; a sweep at least the grace period later deletes a candidate
// only once one statement has found it still named by nothing and condemned it, which fences every
// later write naming it (db/repos/blob-references.ts); the condemned row outlives the delete, as that
// fence. The transaction that condemns a batch also writes the audit events naming it, so no blob is
// deleted before an event names it (domain/audit/orphan-removal-record.ts). Losing a record is far worse
// than keeping garbage: anything uncertain (a store that cannot be listed, a backup that cannot be read,
// more orphans at once than a sweep expects) deletes nothing.
// A sweep holds a few batches of ids, never the store's: a first pass lists and judges a batch at a time
// (counting what is due, marking each candidate it lists, so that those it did not list, their blob gone,
// are forgotten in one statement after it), and only if something is due, and not too much, a second pass
// lists again and deletes a batch at a time, each due candidate checked once more just before its condemnation.
import type { Logger } from 'pino';
import type { Decision } from '../domain/access/policy.js';
import type { BackupBlobReferences, BlobStore, Clock } from '../domain/ports.js';
import type { OrphanBlobCandidate, Store, SweptStore } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import { ORPHAN_CONDEMNATION_ACTION, ORPHAN_IDS_PER_EVENT, ORPHAN_REMOVAL_ACTION } from '../domain/audit/orphan-removal-record.js';
import { auditEvent } from './audit-events.js';
import type { StoreClaim, StoreOwnership } from './store-ownership.js';

/** What one sweep found and did in one store. */
export interface StoreSweepReport {
  store: SweptStore;
  /** Blobs the store listed. */
  listed: number;
  /** Of them, named by nothing (no version, thumbnail, replica ledger entry or kept backup). */
  unreferenced: number;
  /** Candidates first seen by this sweep. */
  newCandidates: number;
  /** Candidates still within the grace period after this sweep (new ones included). */
  waiting: number;
  /** Candidates past the grace period and named by nothing: deleted, unless a dry run or named meanwhile. */
  due: number;
  /** Candidates dropped because something names them now. */
  nowReferenced: number;
  removed: number;
  bytesRemoved: number;
  /** Deletes that failed; the candidate stays condemned and the next sweep deletes it. */
  failed: number;
  /** Candidates forgotten because the store no longer lists their blob (deleted by its owner). */
  gone: number;
  /**
   * Candidates due but held back: more at once than an orphan sweep ever expects (massRemovalLimit), so
   * something larger is wrong (another vault on the same store, a database restored from an older backup
   * beside blobs written since) and an operator decides (`--allow-mass-removal`). `error` says so.
   */
  heldBack: number;
  /**
   * Set when the store is not this vault's (its marker names another), could not be listed or its
   * references read: nothing was deleted there (the batches surveyed before a failure part-way through
   * the listing have their new candidates recorded, which only starts their grace period).
   */
  error?: string;
  /**
   * A dry run over a store with no marker: why a real sweep (or the vault's next real open) would claim
   * it for this vault (services/store-ownership.ts); the dry run wrote no marker.
   */
  wouldClaim?: StoreClaim['why'];
}

export interface OrphanSweepReport {
  dryRun: boolean;
  graceHours: number;
  stores: StoreSweepReport[];
}

export interface OrphanBlobsOptions {
  store: Store;
  primary: BlobStore;
  replica: BlobStore | null;
  /** The backups on the replica's shelf: what they list stays on the replica. Required with a replica. */
  replicaBackups: BackupBlobReferences | null;
  clock: Clock;
  logger: Logger;
  system: Actor;
  /**
   * Whether each store is this vault's (its marker names this vault): checked before every sweep of it,
   * as the vault's open checked it, since a store another vault uses makes all its blobs look orphaned.
   */
  ownership: Pick<StoreOwnership, 'confirm'>;
  /** How long a candidate waits between being first seen and its delete (default ORPHAN_GRACE_MS). */
  graceMs?: number;
  /**
   * The time candidates are first seen and judged by. The composition root gives the database's, so
   * nodes whose clocks disagree never shorten the grace period; without it, `clock`.
   */
  sweepClock?: () => Promise<Date>;
  /** Ids listed, looked up and acted on at once (default ORPHAN_SWEEP_BATCH): the sweep's memory is a few batches, whatever the store holds. */
  batchSize?: number;
}

/** An upload writes its blob and commits within minutes; a day leaves room for the slowest and a stalled node. */
export const ORPHAN_GRACE_MS = 24 * 3600 * 1000;

/**
 * The most candidates one sweep condemns in a store on its own: 100, or 1 % of the blobs it listed if more.
 * Orphans come from the odd crash or failed commit; many more at once mean the database and the store do not
 * belong together as they did (two vaults on one store, a database restored from an older backup while the
 * store kept the blobs written since: the only copy of those files), and deleting them would be for ever.
 */
export const massRemovalLimit = (listed: number): number => Math.max(100, Math.floor(listed / 100));

/** Ids a sweep handles at once: one listing batch, one question to the database about it. */
export const ORPHAN_SWEEP_BATCH = 1000;

/**
 * On the replica, ids no row names are gathered across batches, up to this many, for one question to the
 * backups on its shelf: each question reads every backup's list of blobs, so asking once a batch would read
 * the shelf as many times as the replica has thousands of blobs. A few MB of ids at most.
 */
export const BACKUP_CHECK_IDS = 50_000;

/** One sweep of one store: what every batch of it is judged by. */
interface SweepOfStore {
  name: SweptStore;
  blobStore: BlobStore;
  dryRun: boolean;
  actor: Actor;
  report: StoreSweepReport;
  /** This sweep's time (ISO), taken before its listing began. */
  now: string;
  /** Candidates first seen at or before it are past the grace period. */
  cutoff: string;
}

const SYSTEM_DECISION: Pick<Decision, 'allow' | 'reason' | 'via'> = { allow: true, reason: 'system', via: null };

export class OrphanBlobsService {
  private readonly graceMs: number;
  private readonly batchSize: number;

  constructor(private readonly o: OrphanBlobsOptions) {
    this.graceMs = o.graceMs ?? ORPHAN_GRACE_MS;
    this.batchSize = o.batchSize ?? ORPHAN_SWEEP_BATCH;
  }

  /**
   * The daily `sweep-orphan-blobs` job and `strongroom storage sweep-orphans`: the system's own work,
   * reached from no web or API route; `actor` (the system, on the CLI's channel) is who the audit names.
   */
  async sweep(options: { dryRun?: boolean; actor?: Actor; allowMassRemoval?: boolean } = {}): Promise<OrphanSweepReport> {
    const dryRun = options.dryRun ?? false;
    const actor = options.actor ?? this.o.system;
    const allowMassRemoval = options.allowMassRemoval ?? false;
    if (actor.kind !== 'system') throw new Error('Only the system sweeps orphan blobs.');
    const stores: StoreSweepReport[] = [await this.sweepStore('primary', this.o.primary, dryRun, allowMassRemoval, actor)];
    if (this.o.replica !== null) stores.push(await this.sweepStore('replica', this.o.replica, dryRun, allowMassRemoval, actor));
    const report = { dryRun, graceHours: this.graceMs / 3_600_000, stores };
    this.o.logger.info(report, 'orphan blob sweep finished');
    return report;
  }

  private async sweepStore(name: SweptStore, blobStore: BlobStore, dryRun: boolean, allowMassRemoval: boolean, actor: Actor): Promise<StoreSweepReport> {
    const report: StoreSweepReport = { store: name, listed: 0, unreferenced: 0, newCandidates: 0, waiting: 0, due: 0, nowReferenced: 0, removed: 0, bytesRemoved: 0, failed: 0, gone: 0, heldBack: 0 };
    const now = await this.now();
    const sweep: SweepOfStore = { name, blobStore, dryRun, actor, report, now: now.toISOString(), cutoff: new Date(now.getTime() - this.graceMs).toISOString() };

    // The first pass, a batch at a time: what each listed blob is, its candidate recorded or dropped.
    let remaining = 0;
    try {
      // Another vault's store (or one that cannot be told to be this vault's) is neither recorded nor touched.
      const claim = await this.o.ownership.confirm(name, blobStore);
      if (claim?.claimed === false) {
        // Only a vault opened for a dry run leaves a store unclaimed: no sweep through it records or deletes there.
        if (!dryRun) throw new Error(`the ${name === 'primary' ? 'blob store' : 'replica'} at ${blobStore.location} is not claimed for this vault (it was opened for a dry run): only a dry run sweeps it`);
        report.wouldClaim = claim.why;
      }
      remaining = await this.surveyStore(sweep);
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
      this.o.logger.error({ err: error, store: name }, 'the orphan blob sweep could not confirm a blob store is this vault\'s, list it or read what names its blobs: nothing there was deleted');
      return report;
    }
    report.waiting = report.newCandidates + remaining - report.due;

    // Those condemned already count too: `condemned_at` is a column anyone who can write the database can set.
    const limit = massRemovalLimit(report.listed);
    const massRemoval = report.due > limit && !allowMassRemoval;
    if (massRemoval) {
      report.heldBack = report.due;
      report.error = `${report.due} blobs are due for deletion at once, more than the ${limit} a sweep deletes on its own: `
        + 'check that this database and this store belong together (no other vault uses the store, no older backup was restored over newer files), '
        + 'then run `strongroom storage sweep-orphans --allow-mass-removal`';
      this.o.logger.error({ store: name, due: report.due, limit }, 'orphan blob sweep: too many blobs due at once; none was deleted');
    }
    if (dryRun) return report;

    await this.forgetGone(sweep);
    if (massRemoval || report.due === 0) return report;
    // The second pass lists the store again (only when something is due) and deletes a batch at a time, each
    // due candidate checked once more: no set of the store's ids is ever held.
    const allowance = { left: allowMassRemoval ? Number.POSITIVE_INFINITY : limit };
    try {
      await this.removeFromStore(sweep, allowance);
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
      this.o.logger.error({ err: error, store: name }, 'the orphan blob sweep could not list a blob store again or read what names its blobs: the rest of its orphans wait for the next sweep');
    }
    if (report.heldBack > 0 && report.error === undefined) {
      report.error = `more blobs came due while the sweep deleted than the ${limit} a sweep deletes on its own: ${report.heldBack} were kept; run it again`;
    }
    return report;
  }

  /** The store's listing in batches of at most `batchSize` ids. */
  private async *batches(blobStore: BlobStore): AsyncIterable<string[]> {
    let batch: string[] = [];
    for await (const id of blobStore.list()) {
      batch.push(id);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** The backups on the replica's shelf: which of these ids they name (one read of the whole shelf). */
  private async namedByBackups(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    if (this.o.replicaBackups === null) throw new Error('the backups on the replica\'s shelf cannot be read');
    return new Set(await this.o.replicaBackups.among(new Set(ids)));
  }

  /**
   * The first pass: every listed id judged by what names it, a batch at a time. What names an id is read after
   * the listing, so whatever commits once the listing has begun is seen as named. On the replica, the ids no
   * row names are then asked of the backups together (BACKUP_CHECK_IDS). Answers how many known candidates stay.
   */
  private async surveyStore(sweep: SweepOfStore): Promise<number> {
    let remaining = 0;
    let unnamedByRows: string[] = [];
    const surveyUnnamed = async () => {
      remaining += await this.survey(sweep, unnamedByRows, await this.namedByBackups(unnamedByRows));
      unnamedByRows = [];
    };
    for await (const batch of this.batches(sweep.blobStore)) {
      const named = await this.o.store.repos.orphanBlobs.referencedAmong(sweep.name, batch);
      if (sweep.name === 'primary') {
        remaining += await this.survey(sweep, batch, named);
        continue;
      }
      remaining += await this.survey(sweep, batch.filter((id) => named.has(id)), named);
      unnamedByRows.push(...batch.filter((id) => !named.has(id)));
      if (unnamedByRows.length >= BACKUP_CHECK_IDS) await surveyUnnamed();
    }
    if (unnamedByRows.length > 0) await surveyUnnamed();
    return remaining;
  }

  /** Candidates of these ids (a batch, so never the whole table). */
  private async candidatesAmong(name: SweptStore, ids: readonly string[]): Promise<Map<string, OrphanBlobCandidate>> {
    const wanted = new Set(ids);
    const found = await this.o.store.repos.orphanBlobs.candidates(name, { among: ids });
    return new Map(found.filter((c) => wanted.has(c.blobId)).map((c) => [c.blobId, c]));
  }

  /** The first pass over listed ids, `named` those something names: counts them, records the new candidates, drops those named now. Answers how many known candidates stay. */
  private async survey(sweep: SweepOfStore, batch: readonly string[], named: ReadonlySet<string>): Promise<number> {
    if (batch.length === 0) return 0;
    const { name, report } = sweep;
    const known = await this.candidatesAmong(name, batch);
    const fresh: string[] = [];
    const dropped: string[] = [];
    const listedAgain: string[] = [];
    let remaining = 0;
    for (const id of batch) {
      const candidate = known.get(id);
      if (named.has(id)) {
        // Named now: no longer a candidate. A condemned one is never forgotten, deleted or not: its row is the
        // fence (db/repos/blob-references.ts) that refuses a commit naming it, which an upload stalled past
        // the grace period may still attempt after the delete.
        if (candidate?.condemnedAt === null) dropped.push(id);
        else if (candidate !== undefined) this.o.logger.error({ store: name, blobId: id }, 'a condemned orphan blob is named again: it is kept; look at how');
        continue;
      }
      report.unreferenced += 1;
      if (candidate === undefined) fresh.push(id);
      else {
        listedAgain.push(id);
        remaining += 1;
        if (this.isDue(sweep, candidate)) report.due += 1;
      }
    }
    report.listed += batch.length;
    report.newCandidates += fresh.length;
    report.nowReferenced += dropped.length;
    if (!sweep.dryRun) {
      // First seen now, not when the sweep began: a blob listed late in a long first pass gets its whole grace
      // period, as an upload still in flight needs. Listed now too, as the known ones are: forgetGone's evidence.
      const at = (await this.now()).toISOString();
      await this.o.store.repos.orphanBlobs.record(name, fresh, at);
      await this.o.store.repos.orphanBlobs.markListed(name, listedAgain, at);
      await this.o.store.repos.orphanBlobs.forget(name, dropped);
    }
    return remaining;
  }

  /** The sweep's clock: the database's where the composition root gives it (one clock for every node). */
  private async now(): Promise<Date> {
    return this.o.sweepClock ? await this.o.sweepClock() : this.o.clock.now();
  }

  /** Condemned already, or first seen by an earlier sweep at least the grace period ago. */
  private isDue(sweep: SweepOfStore, candidate: OrphanBlobCandidate): boolean {
    return candidate.condemnedAt !== null || (candidate.firstSeenAt <= sweep.cutoff && candidate.firstSeenAt < sweep.now);
  }

  /**
   * Forgets the candidates whose blob is gone from the store (deleted by its owner), after a first pass that
   * listed the whole store and marked every candidate it found: one statement forgets those last listed (or
   * recorded) before this sweep began, and never a condemned one (the fence, checked in that statement, as a
   * sweep running beside this one may condemn and delete a candidate's blob before this one lists it). One
   * recorded or listed by another sweep since this one began is kept, as its blob may be newer than this listing.
   * No question to the store per candidate (a HEAD each on S3), and no set of ids held.
   */
  private async forgetGone(sweep: SweepOfStore): Promise<void> {
    sweep.report.gone = await this.o.store.repos.orphanBlobs.forgetUnlisted(sweep.name, sweep.now);
  }

  /**
   * The second pass, a batch at a time: its due candidates are checked once more (a commit since the first pass
   * names them now), and those still named by nothing are condemned, deleted and audited. On the replica the
   * ones no row names are asked of the backups together first, as in the first pass.
   */
  private async removeFromStore(sweep: SweepOfStore, allowance: { left: number }): Promise<void> {
    let unnamedByRows: OrphanBlobCandidate[] = [];
    const removeUnnamed = async () => {
      const named = await this.namedByBackups(unnamedByRows.map((c) => c.blobId));
      const still = await this.keepNamed(sweep, unnamedByRows, named);
      unnamedByRows = [];
      await this.condemnAndDelete(sweep, still, allowance);
    };
    for await (const batch of this.batches(sweep.blobStore)) {
      const due = [...(await this.candidatesAmong(sweep.name, batch)).values()].filter((c) => this.isDue(sweep, c));
      if (due.length === 0) continue;
      const named = await this.o.store.repos.orphanBlobs.referencedAmong(sweep.name, due.map((c) => c.blobId));
      const unnamed = await this.keepNamed(sweep, due, named);
      if (sweep.name === 'primary') {
        await this.condemnAndDelete(sweep, unnamed, allowance);
        continue;
      }
      unnamedByRows.push(...unnamed);
      if (unnamedByRows.length >= BACKUP_CHECK_IDS) await removeUnnamed();
    }
    if (unnamedByRows.length > 0) await removeUnnamed();
  }

  /** Due candidates that `named` names are forgotten (never a condemned one) and no longer due; answers the rest. */
  private async keepNamed(sweep: SweepOfStore, due: OrphanBlobCandidate[], named: ReadonlySet<string>): Promise<OrphanBlobCandidate[]> {
    const namedMeanwhile = due.filter((c) => named.has(c.blobId) && c.condemnedAt === null).map((c) => c.blobId);
    if (namedMeanwhile.length > 0) {
      await this.o.store.repos.orphanBlobs.forget(sweep.name, namedMeanwhile);
      sweep.report.nowReferenced += namedMeanwhile.length;
      sweep.report.due -= namedMeanwhile.length;
    }
    return due.filter((c) => !named.has(c.blobId));
  }

  /**
   * Condemns and deletes due candidates nothing names, as many as the allowance leaves: the condemnation and the
   * events naming the condemned blobs commit together before the first delete, the deletes' outcome after.
   */
  private async condemnAndDelete(sweep: SweepOfStore, unnamed: OrphanBlobCandidate[], allowance: { left: number }): Promise<void> {
    if (unnamed.length === 0) return;
    const { name, blobStore, report, actor } = sweep;
    // However the store changed since the first pass counted, no more than it allowed are deleted.
    const allowed = unnamed.slice(0, Math.max(0, allowance.left));
    allowance.left -= allowed.length;
    report.heldBack += unnamed.length - allowed.length;
    // Durable once this resolves (Store.transaction): the fence against every later reference, and the record.
    const condemned = await this.condemn(sweep, allowed);
    const removed: { blobId: string; size: number }[] = [];
    let failed = 0;
    for (const blobId of condemned) {
      const size = await blobStore.size(blobId).catch(() => 0);
      try {
        await blobStore.delete(blobId);
      } catch (error) {
        failed += 1;
        this.o.logger.warn({ err: error, store: name, blobId }, 'could not delete an orphan blob; the next sweep tries again');
        continue;
      }
      removed.push({ blobId, size });
      report.removed += 1;
      report.bytesRemoved += size;
    }
    report.failed += failed;
    if (condemned.length === 0) return;
    // The outcome: which were deleted and their bytes (known only now), and how many deletes failed (still
    // condemned, named by the condemnation's event; the next sweep deletes them and says so).
    const at = this.o.clock.now();
    const events: ReturnType<typeof auditEvent>[] = [];
    for (let i = 0; i < Math.max(1, removed.length); i += ORPHAN_IDS_PER_EVENT) {
      const part = removed.slice(i, i + ORPHAN_IDS_PER_EVENT);
      const ids: Record<string, string> = { store: name, removed: String(part.length), bytes: String(part.reduce((sum, r) => sum + r.size, 0)), failed: String(i === 0 ? failed : 0) };
      if (part.length > 0) ids.blobIds = part.map((r) => r.blobId).sort().join(' ');
      events.push(auditEvent(actor, ORPHAN_REMOVAL_ACTION, { organisationId: null, ids }, SYSTEM_DECISION, at));
    }
    await this.o.store.transaction(async (tx) => tx.audit.insert(events));
    this.o.logger.warn({ store: name, removed: removed.length, failed, bytes: removed.reduce((sum, r) => sum + r.size, 0) }, 'orphan blobs removed');
  }

  /**
   * Condemns each due candidate that one statement still finds named by nothing, forgets the others, and writes
   * the events naming every blob about to be deleted (condemned now, or earlier and not yet deleted), all in one
   * transaction: whatever stops the deletes after it (a failed delete, a killed process, a lost database), no blob
   * is gone that no event names, and `audit verify` keeps its evidence (domain/audit/orphan-removal-record.ts).
   */
  private async condemn(sweep: SweepOfStore, due: OrphanBlobCandidate[]): Promise<string[]> {
    const { name, report, actor } = sweep;
    const { condemned, namedMeanwhile } = await this.o.store.transaction(async (tx) => {
      const condemned: string[] = [];
      const namedMeanwhile: string[] = [];
      for (const candidate of due) {
        if (candidate.condemnedAt !== null || await tx.orphanBlobs.condemn(name, candidate.blobId, sweep.cutoff, sweep.now)) condemned.push(candidate.blobId);
        else namedMeanwhile.push(candidate.blobId);
      }
      await tx.orphanBlobs.forget(name, namedMeanwhile);
      const at = this.o.clock.now();
      const sorted = [...condemned].sort();
      const events: ReturnType<typeof auditEvent>[] = [];
      for (let i = 0; i < sorted.length; i += ORPHAN_IDS_PER_EVENT) {
        const part = sorted.slice(i, i + ORPHAN_IDS_PER_EVENT);
        events.push(auditEvent(actor, ORPHAN_CONDEMNATION_ACTION, {
          organisationId: null, ids: { store: name, condemned: String(part.length), blobIds: part.join(' ') },
        }, SYSTEM_DECISION, at));
      }
      if (events.length > 0) await tx.audit.insert(events);
      return { condemned, namedMeanwhile };
    });
    if (namedMeanwhile.length > 0) {
      report.nowReferenced += namedMeanwhile.length;
      report.due -= namedMeanwhile.length;
    }
    return condemned;
  }
}
