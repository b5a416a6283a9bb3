// The audit log's signer: sequences pending events into the Merkle tree and signs checkpoints, only of a
// tree that extends what it signed before (copies kept outside the database); a log that fails a check
// raises the alarm (audit-alarm.service.ts) and nothing more is signed.
import { CompactRange, leafHash } from '../domain/audit/merkle.js';
import { signCheckpoint } from '../domain/audit/signed-note.js';
import { IntegrityError } from '../domain/errors.js';
import type { AuditAlarmService } from './audit-alarm.service.js';
import type { AuditServiceOptions } from './audit-log-options.js';
import { checkHistory, subtreesOf, unsignedTailProblem } from './audit-log-check.js';

export const INTEGRATE_BATCH = 2000;

export class AuditSequencerService {
  private integrating: Promise<number> | null = null;
  private signing: Promise<unknown> = Promise.resolve();
  private lastCheckpointAt = 0;
  private sinceCheckpoint = 0;

  constructor(private readonly o: AuditServiceOptions & { alarm: AuditAlarmService }) {}

  /** Sequences pending events into the tree; one run at a time per process, and per database on PostgreSQL. */
  integrate(): Promise<number> {
    this.integrating ??= this.integrateAll().finally(() => {
      this.integrating = null;
    });
    return this.integrating;
  }

  private async integrateAll(): Promise<number> {
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = await this.integrateBatch();
      } catch (err) {
        // The stored tree lost a node it needs to grow, or a pending row was not written by this
        // service: tampering, not an outage. Events stay recorded (unsequenced) and searches keep
        // working; nothing more is signed.
        if (!(err instanceof IntegrityError)) throw err;
        this.o.alarm.raise('signer', `The sequencer stopped: ${err.message}.`);
        return total;
      }
      total += n;
      this.sinceCheckpoint += n;
      if (n < INTEGRATE_BATCH) break;
    }
    await this.checkpointIfDue();
    return total;
  }

  private async integrateBatch(): Promise<number> {
    return this.o.store.transaction(async (repos) => {
      await repos.audit.lockSequencer();
      const pending = await repos.audit.unsequenced(INTEGRATE_BATCH);
      if (pending.length === 0) return 0;
      const size = await repos.audit.treeSize();
      const tree = await CompactRange.load(size, subtreesOf(repos));
      const nodes: { level: number; index: number; hash: Buffer }[] = [];
      for (const row of pending) {
        const seq = tree.size;
        // A row the service never wrote (inserted by whoever can write the database) is never
        // sequenced and signed: it stops the log here and raises the alarm.
        const encoded = repos.audit.writtenByService(row, row.event);
        if (encoded === null) {
          throw new IntegrityError(`the unsequenced event row ${String(row.id)} (${row.event.action}) carries no valid seal: it was written into the database directly, not by Strongroom`);
        }
        // The encoding the seal was checked on, at this event's place: the leaf is of the same bytes.
        const leaf = leafHash(encoded.bytesAt(seq));
        for (const [level, index, hash] of tree.append(leaf)) nodes.push({ level, index, hash });
        await repos.audit.assignSeq(row.id, seq, leaf);
      }
      for (let i = 0; i < nodes.length; i += 500) await repos.audit.putNodes(nodes.slice(i, i + 500));
      await repos.audit.setTreeSize(tree.size);
      return pending.length;
    });
  }

  /** Signs a checkpoint when N events or T seconds have passed since the last one (or when forced). */
  checkpointIfDue(force = false): Promise<string | null> {
    // One signer at a time in this process, so two never race to publish the same size.
    const run = this.signing.then(() => this.signIfDue(force));
    this.signing = run.catch(() => undefined);
    return run;
  }

  private async signIfDue(force: boolean): Promise<string | null> {
    const now = this.o.clock.now().getTime();
    const repos = this.o.store.repos;
    // The event count is the database's (events sequenced past the newest checkpoint, by any process),
    // so N events since the last checkpoint means N however many processes sequenced them; asked only
    // when this process sequenced something, so an idle process does not query every second. The
    // time limit is per process, which is enough: each signer checks within T seconds anyway.
    const due = force || now - this.lastCheckpointAt >= this.o.checkpointSeconds * 1000
      || (this.sinceCheckpoint > 0 && (await this.unsignedEvents()) >= this.o.checkpointEvents);
    if (!due || this.o.alarm.alarmRaised) return null;
    // Read what was signed before, then the database's newest checkpoint, then its tree: a signer in
    // another process publishes only after sequencing, so what it adds meanwhile can only make the
    // tree larger than the checkpoints read before it, never raise a false alarm.
    const previous = await this.o.copies.latest();
    const latest = await repos.audit.latestCheckpoint();
    const size = await repos.audit.treeSize();
    // The tree read may hold a batch another integrate() committed but has not yet synced (flush() racing
    // the sequencing timer). Signed and copied offsite, then lost in a crash, it would leave the database
    // behind its own checkpoint: a false alarm of a rolled-back log (docs/architecture.md "Durability").
    await this.o.store.durable();
    const hashes = subtreesOf(repos);
    const stored = [...previous, ...(latest ? [{ source: `the database's newest checkpoint (size ${latest.treeSize})`, note: latest.note }] : [])];
    const check = await checkHistory(stored, size, hashes, this.o);
    if (!check.ok) {
      this.o.alarm.raise('signer', `Refused to sign the audit log at ${size} events. ${check.problem}`);
      return null;
    }
    if (latest && latest.treeSize >= size) {
      this.lastCheckpointAt = now;
      return null;
    }
    // What it is about to sign is the tree of the events the service wrote and sealed: the tree's
    // nodes, its size and the events' seqs are rows too, which whoever can write the database can write.
    const unsigned = await unsignedTailProblem(repos, hashes, { signedSize: check.signedSize, signedRoot: check.signedRoot, size, root: check.root });
    if (unsigned) {
      this.o.alarm.raise('signer', `Refused to sign the audit log at ${size} events. ${unsigned.problem}`);
      return null;
    }
    const note = signCheckpoint({ origin: this.o.origin, treeSize: size, rootHash: check.root }, this.o.signerKey);
    // Remembered outside the database before it is published in it: the signer's memory is never behind.
    await this.o.copies.remember(size, note);
    await repos.audit.insertCheckpoint({ treeSize: size, rootHash: check.root, note, createdAt: new Date(now).toISOString() });
    this.lastCheckpointAt = now;
    this.sinceCheckpoint = 0;
    return note;
  }

  /** Events sequenced since the database's newest checkpoint. */
  private async unsignedEvents(): Promise<number> {
    const repos = this.o.store.repos;
    const [size, latest] = await Promise.all([repos.audit.treeSize(), repos.audit.latestCheckpoint()]);
    return size - (latest?.treeSize ?? 0);
  }

  /** Integrates everything pending and signs a checkpoint covering it (exports, backups, the CLI, tests). */
  async flush(): Promise<void> {
    // A run already going may have read what was pending before the caller's last event was
    // committed: it is let finish, and then one that starts after this call runs.
    await this.integrating?.catch(() => undefined);
    await this.integrate();
    await this.checkpointIfDue(true);
  }
}
