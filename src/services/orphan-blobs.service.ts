// The garbage collection of orphan blobs: blobs in the primary store or the offsite replica that nothing
// names (an upload whose transaction never committed, a folder copy or a restore cut off, a thumbnail
// whose replacement's delete failed). Two sweeps, never a clock on the blobs: a sweep lists a store, THEN
// reads what names each blob (so a commit after the listing is seen), and records each blob named by
// nothing as a candidate, first seen now; a sweep at least the grace period later deletes a candidate
// only once one statement has found it still named by nothing and condemned it, which fences every
// later write naming it (db/repos/blob-references.ts); the condemned row outlives the delete, as that
// fence. Losing a record is far worse than keeping garbage: anything uncertain (a store that cannot be
// listed, a backup that cannot be read, more orphans at once than a sweep expects) deletes nothing.
import type { Logger } from 'pino';
import type { Decision } from '../domain/access/policy.js';
import type { BackupBlobReferences, BlobStore, Clock } from '../domain/ports.js';
import type { OrphanBlobCandidate, Store, SweptStore } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import { ORPHAN_IDS_PER_EVENT, ORPHAN_REMOVAL_ACTION } from '../domain/audit/orphan-removal-record.js';
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
  /**
   * Candidates due but held back: more at once than an orphan sweep ever expects (massRemovalLimit), so
   * something larger is wrong (another vault on the same store, a database restored from an older backup
   * beside blobs written since) and an operator decides (`--allow-mass-removal`). `error` says so.
   */
  heldBack: number;
  /**
   * Set when the store is not this vault's (its marker names another), could not be listed or its
   * references read: nothing was recorded or deleted there.
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

const SYSTEM_DECISION: Pick<Decision, 'allow' | 'reason' | 'via'> = { allow: true, reason: 'system', via: null };

export class OrphanBlobsService {
  private readonly graceMs: number;

  constructor(private readonly o: OrphanBlobsOptions) {
    this.graceMs = o.graceMs ?? ORPHAN_GRACE_MS;
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
    const report: StoreSweepReport = { store: name, listed: 0, unreferenced: 0, newCandidates: 0, waiting: 0, due: 0, nowReferenced: 0, removed: 0, bytesRemoved: 0, failed: 0, heldBack: 0 };
    const repos = this.o.store.repos;
    const now = this.o.sweepClock ? await this.o.sweepClock() : this.o.clock.now();
    const cutoff = new Date(now.getTime() - this.graceMs).toISOString();

    // The listing first, the references after: whatever commits once the listing has begun is seen as named.
    let unreferenced: Set<string>;
    let listed: Set<string>;
    try {
      // Another vault's store (or one that cannot be told to be this vault's) is neither recorded nor touched.
      const claim = await this.o.ownership.confirm(name, blobStore);
      if (claim?.claimed === false) {
        // Only a vault opened for a dry run leaves a store unclaimed: no sweep through it records or deletes there.
        if (!dryRun) throw new Error(`the ${name === 'primary' ? 'blob store' : 'replica'} at ${blobStore.location} is not claimed for this vault (it was opened for a dry run): only a dry run sweeps it`);
        report.wouldClaim = claim.why;
      }
      listed = new Set<string>();
      for await (const id of blobStore.list()) listed.add(id);
      const named = await repos.orphanBlobs.referencedAmong(name, [...listed]);
      unreferenced = new Set([...listed].filter((id) => !named.has(id)));
      if (name === 'replica' && unreferenced.size > 0) {
        if (this.o.replicaBackups === null) throw new Error('the backups on the replica\'s shelf cannot be read');
        const inBackups = await this.o.replicaBackups.among(unreferenced);
        for (const id of inBackups) unreferenced.delete(id);
      }
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
      this.o.logger.error({ err: error, store: name }, 'the orphan blob sweep could not confirm a blob store is this vault\'s, list it or read what names its blobs: nothing there was recorded or deleted');
      return report;
    }
    report.listed = listed.size;
    report.unreferenced = unreferenced.size;

    const known = await repos.orphanBlobs.candidates(name);
    const knownIds = new Set(known.map((c) => c.blobId));
    const fresh = [...unreferenced].filter((id) => !knownIds.has(id));
    // Gone from the store (deleted by its owner), or named now: no longer a candidate. A condemned one is
    // never forgotten, deleted or not: its row is the fence (db/repos/blob-references.ts) that refuses a
    // commit naming it, which an upload stalled past the grace period may still attempt after the delete.
    const dropped = known.filter((c) => c.condemnedAt === null && (!listed.has(c.blobId) || !unreferenced.has(c.blobId)));
    const remaining = known.filter((c) => listed.has(c.blobId) && unreferenced.has(c.blobId));
    const due = remaining.filter((c) => c.condemnedAt !== null || c.firstSeenAt <= cutoff);
    report.newCandidates = fresh.length;
    report.nowReferenced = dropped.filter((c) => listed.has(c.blobId)).length;
    report.due = due.length;
    report.waiting = fresh.length + remaining.length - due.length;
    for (const c of known) {
      if (c.condemnedAt !== null && listed.has(c.blobId) && !unreferenced.has(c.blobId)) {
        this.o.logger.error({ store: name, blobId: c.blobId }, 'a condemned orphan blob is named again: it is kept; look at how');
      }
    }
    // Those condemned already count too: `condemned_at` is a column anyone who can write the database can set.
    const limit = massRemovalLimit(listed.size);
    const massRemoval = due.length > limit && !allowMassRemoval;
    if (massRemoval) {
      report.heldBack = due.length;
      report.error = `${due.length} blobs are due for deletion at once, more than the ${limit} a sweep deletes on its own: `
        + 'check that this database and this store belong together (no other vault uses the store, no older backup was restored over newer files), '
        + 'then run `strongroom storage sweep-orphans --allow-mass-removal`';
      this.o.logger.error({ store: name, due: due.length, limit }, 'orphan blob sweep: too many blobs due at once; none was deleted');
    }
    if (dryRun) return report;

    await repos.orphanBlobs.record(name, fresh, now.toISOString());
    await repos.orphanBlobs.forget(name, dropped.map((c) => c.blobId));

    const condemned = massRemoval ? [] : await this.condemn(name, due, cutoff, now, report);
    // The condemnation is what makes the delete safe (it fences every later reference): on disk first.
    if (condemned.length > 0) await this.o.store.durable();
    const removed: { blobId: string; size: number }[] = [];
    for (const blobId of condemned) {
      const size = await blobStore.size(blobId).catch(() => 0);
      try {
        await blobStore.delete(blobId);
      } catch (error) {
        report.failed += 1;
        this.o.logger.warn({ err: error, store: name, blobId }, 'could not delete an orphan blob; the next sweep tries again');
        continue;
      }
      removed.push({ blobId, size });
      report.removed += 1;
      report.bytesRemoved += size;
    }
    if (removed.length > 0) {
      // Each event lists the blobs it deleted, so `audit verify` can name a version that names one again
      // (domain/audit/orphan-removal-record.ts): a deleted blob's row pointed away and back by hand.
      const at = this.o.clock.now();
      const events: ReturnType<typeof auditEvent>[] = [];
      for (let i = 0; i < removed.length; i += ORPHAN_IDS_PER_EVENT) {
        const part = removed.slice(i, i + ORPHAN_IDS_PER_EVENT);
        events.push(auditEvent(actor, ORPHAN_REMOVAL_ACTION, {
          organisationId: null,
          ids: {
            store: name, removed: String(part.length), bytes: String(part.reduce((sum, r) => sum + r.size, 0)),
            failed: String(i === 0 ? report.failed : 0), blobIds: part.map((r) => r.blobId).sort().join(' '),
          },
        }, SYSTEM_DECISION, at));
      }
      await this.o.store.transaction(async (tx) => tx.audit.insert(events));
      this.o.logger.warn({ store: name, removed: report.removed, bytes: report.bytesRemoved }, 'orphan blobs removed');
    }
    return report;
  }

  /** Condemns each due candidate that one statement still finds named by nothing; forgets the others. */
  private async condemn(name: SweptStore, due: OrphanBlobCandidate[], cutoff: string, now: Date, report: StoreSweepReport): Promise<string[]> {
    const repos = this.o.store.repos;
    const condemned: string[] = [];
    const namedMeanwhile: string[] = [];
    for (const candidate of due) {
      if (candidate.condemnedAt !== null || await repos.orphanBlobs.condemn(name, candidate.blobId, cutoff, now.toISOString())) condemned.push(candidate.blobId);
      else namedMeanwhile.push(candidate.blobId);
    }
    if (namedMeanwhile.length > 0) {
      await repos.orphanBlobs.forget(name, namedMeanwhile);
      report.nowReferenced += namedMeanwhile.length;
      report.due -= namedMeanwhile.length;
    }
    return condemned;
  }
}
