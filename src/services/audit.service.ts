// The audit log service: sequences events into the Merkle tree, signs checkpoints (only of a tree
// that extends what it signed before; copies kept outside the database), verifies the whole log
// against every checkpoint (the checks: audit-log-check.ts), raises the integrity alarm, exports
// proofs and answers audit queries.
import { buildBundle, type AuditBundle, type BundleEvent } from '../domain/audit/bundle.js';
import type { AuditEvent } from '../domain/audit/event.js';
import { CompactRange, leafHash } from '../domain/audit/merkle.js';
import { PERSON_RECORD_ACTIONS, peopleBeforeBindings } from '../domain/audit/person-record.js';
import { parseCheckpoint, signCheckpoint, signNote } from '../domain/audit/signed-note.js';
import { isSignedVerification, verificationStatement } from '../domain/audit/verification-statement.js';
import { conflict, IntegrityError, notFound } from '../domain/errors.js';
import type { CheckpointCopies, Clock } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import type { AuditQuery, Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { personStateIds } from './person-state.js';
import { checkHistory, checkWholeLog, memoised, subtreesOf, unsignedTailProblem, type AuditVerification } from './audit-log-check.js';

export interface AuditServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  origin: string;
  signerKey: string;
  verifierKey: string;
  /** The checkpoints kept outside the database (offsite, and the signer's own copy): the signer's memory. */
  copies: CheckpointCopies;
  checkpointEvents: number;
  checkpointSeconds: number;
  logger: { error(details: object, message: string): void };
}

/** Why signing stopped: the log failed a check. Cleared only by a restart (see docs/operations.md). */
export interface AuditAlarm {
  /**
   * 'signer': it refused a tree that does not extend what it signed; 'verify': `audit verify` failed;
   * 'disposal': the disposal job refused a batch whose approval, decisions or hold releases no event vouches for.
   */
  source: 'signer' | 'verify' | 'disposal';
  problem: string;
  raisedAt: string;
}

/**
 * The log's integrity as a council's auditor, DPO or admin sees it: whether it verified, against
 * which checkpoints, and when it was checked. Not where it failed: that names other councils'
 * events (ids, actions, organisations), and is the operator's (`verify`, `audit.verify`).
 */
export interface AuditIntegrity {
  ok: boolean;
  /** When the whole log was last recomputed (by anyone: a user's page, the operator, another process). */
  checkedAt: string;
  /** Events verified, checkpoints verified, newest events not yet signed for: null when it failed. */
  treeSize: number | null;
  checkpoints: number | null;
  unsignedEvents: number | null;
  offsite: AuditVerification['offsite'];
  offsiteCheckpoints: number;
}

/**
 * A recomputation reads every event of every council, so a user's page does not start one each
 * time: it is served the last result, stored in the database (so every process shares it) and
 * signed with the log's key, while that is younger than this. The operator's `audit verify` always recomputes.
 */
export const INTEGRITY_REUSE_SECONDS = 600;
const INTEGRITY_KEY = 'audit.last_verification';
/**
 * The alarm as the signer raised it, stored for every process: with several nodes the signer is a
 * worker, and the web nodes serve the Audit page, /readyz and /metrics the operator looks at.
 * An empty value is none.
 */
const ALARM_KEY = 'audit.integrity_alarm';

/** What an alarm says to those who may not read where the log failed. */
const ALARM_DETAILS_WITHHELD = 'Where the log failed names other organisations\' events, so it is shown to the operator only: it is in the server\'s log and in the output of "strongroom audit verify".';

const INTEGRATE_BATCH = 2000;

export class AuditService {
  private integrating: Promise<number> | null = null;
  private signing: Promise<unknown> = Promise.resolve();
  private lastCheckpointAt = 0;
  private sinceCheckpoint = 0;
  private alarm: AuditAlarm | null = null;
  private recomputing: Promise<{ verification: AuditVerification; checkedAt: string }> | null = null;

  constructor(private readonly o: AuditServiceOptions) {}

  get verifierKey(): string {
    return this.o.verifierKey;
  }

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
        this.raise('signer', `The sequencer stopped: ${err.message}.`);
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
    if (!due || this.alarm) return null;
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
      this.raise('signer', `Refused to sign the audit log at ${size} events. ${check.problem}`);
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
      this.raise('signer', `Refused to sign the audit log at ${size} events. ${unsigned.problem}`);
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

  private raise(source: AuditAlarm['source'], problem: string): void {
    if (this.alarm) return;
    this.alarm = { source, problem, raisedAt: this.o.clock.now().toISOString() };
    this.o.logger.error({ auditAlarm: this.alarm }, 'AUDIT INTEGRITY ALARM: signing of the audit log has stopped');
    void this.o.store.repos.settings.set(ALARM_KEY, JSON.stringify(this.alarm))
      .catch((err: unknown) => this.o.logger.error({ err }, 'the audit alarm could not be stored for the other processes'));
  }

  /**
   * Raised by a service that found, just before acting on them, rows the log does not vouch for (the
   * disposal job: an approval or a hold release written in the database): the same alarm as any other
   * tampering, so the operator is told the same way and runs `audit verify`, which names the rows.
   */
  raiseTamperingAlarm(source: 'disposal', problem: string): void {
    this.raise(source, problem);
  }

  /** Whether this process raised the alarm (its signer stopped). */
  get alarmRaised(): boolean {
    return this.alarm !== null;
  }

  /**
   * The alarm this process raised, else the one a signer in another process stored, for metrics,
   * readiness and the Audit page on any node. A database that does not answer reads as none here
   * (readiness reports the database itself).
   */
  async currentAlarm(): Promise<AuditAlarm | null> {
    if (this.alarm) return this.alarm;
    const stored = await this.o.store.repos.settings.get(ALARM_KEY).catch(() => undefined);
    if (!stored) return null;
    try {
      const value = JSON.parse(stored) as AuditAlarm;
      return typeof value.problem === 'string' && typeof value.raisedAt === 'string' ? value : null;
    } catch {
      return null;
    }
  }

  /**
   * A signer starting afresh clears the stored alarm, as a restart clears its own: if the log is
   * still bad, its next checkpoint raises it again within seconds.
   */
  async clearStoredAlarm(): Promise<void> {
    if (this.alarm) return;
    if (await this.o.store.repos.settings.get(ALARM_KEY)) await this.o.store.repos.settings.set(ALARM_KEY, '');
  }

  /**
   * The alarm, for those who may see the log's checkpoints. What went wrong names other councils'
   * events, so only those decide() lets verify the log (`audit.verify`: the operator) read it.
   */
  async integrityAlarm(actor: Actor): Promise<AuditAlarm | null> {
    await this.authorizeOrganisation(actor, 'audit.checkpoints');
    const alarm = await this.currentAlarm();
    if (!alarm) return null;
    if (await this.o.access.may(actor, 'audit.verify', { kind: 'organisation', organisationId: actor.organisationId ?? '' })) return alarm;
    return { ...alarm, problem: ALARM_DETAILS_WITHHELD };
  }

  /** Integrates everything pending and signs a checkpoint covering it (exports, backups, the CLI, tests). */
  async flush(): Promise<void> {
    // A run already going may have read what was pending before the caller's last event was
    // committed: it is let finish, and then one that starts after this call runs.
    await this.integrating?.catch(() => undefined);
    await this.integrate();
    await this.checkpointIfDue(true);
  }

  /**
   * Recomputes the whole tree from the stored events and checks it against every checkpoint, in
   * the database and outside it (each offsite file, the signer's own copy): signatures, and that
   * the stored tree extends each one. A database restored behind a checkpoint, or rewritten
   * under one, is caught and the first bad checkpoint named. A failure raises the alarm.
   * The operator's (`audit.verify`, the system actor): the answer names any council's events.
   */
  async verify(actor: Actor): Promise<AuditVerification> {
    await this.o.access.requireOrganisation(actor, 'audit.verify', actor.organisationId ?? '');
    return (await this.recompute()).verification;
  }

  /**
   * Records the state of each person last changed before people's state was bound (`user.baseline`, one
   * event each, with the binding a change would record: domain/audit/person-record.ts), so that from
   * now on `audit verify` checks them as it checks everyone else. The operator's (`audit.verify`), once
   * after upgrading and after `audit verify` passed: it vouches for the rows as they are. People already
   * bound are left alone, so taking it again records nothing new. Returns how many were recorded.
   */
  async baselinePeople(actor: Actor): Promise<number> {
    const decision = await this.o.access.requireOrganisation(actor, 'audit.verify', actor.organisationId ?? '');
    const now = this.o.clock.now();
    return this.o.store.transaction(async (repos) => {
      const changes = await repos.audit.allowedEvents(PERSON_RECORD_ACTIONS, { logOrder: true });
      const people = peopleBeforeBindings(await repos.users.everyone(), changes);
      for (const person of people) {
        // Held, then read again: a change committed meanwhile is what the baseline records (after its own event).
        await repos.users.lock(person.id);
        const ids = { userId: person.id, ...(await personStateIds(repos, person.id)) };
        await repos.audit.insert([auditEvent(actor, 'user.baseline', { organisationId: person.organisationId, ids }, decision, now)]);
      }
      return people.length;
    });
  }

  /**
   * The log's integrity for a council's auditors, DPOs and admins (`audit.checkpoints`): yes or no,
   * with what was checked and when, never where it failed. Served from the last recomputation
   * (stored in the database) while it is younger than INTEGRITY_REUSE_SECONDS, so asking again and
   * again, from any organisation or process, does not make the server read the whole log each time.
   */
  async integrity(actor: Actor): Promise<AuditIntegrity> {
    await this.authorizeOrganisation(actor, 'audit.checkpoints');
    const last = await this.lastIntegrity();
    // Reused only while it is recent by this process's clock (one dated in the future is not), and
    // never while this process's signer has raised the alarm. lastIntegrity has checked its signature.
    const age = last ? this.o.clock.now().getTime() - Date.parse(last.checkedAt) : Number.NaN;
    if (last && !this.alarm && age >= 0 && age < INTEGRITY_REUSE_SECONDS * 1000) return last;
    const result = await this.recompute();
    return this.summarise(result.verification, result.checkedAt);
  }

  /**
   * The stored result, if the log's key signed exactly what it claims (verificationStatement). Whoever
   * can write the database can write this row, so one without a valid signature is no result: the
   * caller recomputes (and the recomputation, not the row, decides what the page shows). A result
   * claiming more events than the stored tree holds is none either. Not covered: the row put back, as
   * it was, to a genuine result under INTEGRITY_REUSE_SECONDS old (a replay inside the reuse window).
   */
  private async lastIntegrity(): Promise<AuditIntegrity | null> {
    const stored = await this.o.store.repos.settings.get(INTEGRITY_KEY);
    if (!stored) return null;
    let value: unknown;
    try {
      value = JSON.parse(stored);
    } catch {
      return null;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const { signature, ...result } = value as Record<string, unknown>;
    if (!isSignedVerification(result, signature, this.o.origin, this.o.verifierKey)) {
      // A row stored before results were signed has no signature; one with a signature that fails was rewritten.
      if (signature !== undefined) this.o.logger.error({ setting: INTEGRITY_KEY }, 'the stored audit verification result fails its signature check (written into the database directly?): recomputing');
      return null;
    }
    const integrity = result as unknown as AuditIntegrity;
    if (typeof integrity.checkedAt !== 'string' || !Number.isFinite(Date.parse(integrity.checkedAt))) return null;
    if (integrity.treeSize !== null && integrity.treeSize > (await this.o.store.repos.audit.treeSize())) return null;
    return integrity;
  }

  /** The whole log checked (audit-log-check.ts); a failure raises the alarm. */
  private async recomputeLog(): Promise<AuditVerification> {
    const result = await checkWholeLog({ repos: this.o.store.repos, copies: this.o.copies, signer: this.o, pendingBatch: INTEGRATE_BATCH });
    if (!result.ok) this.raise('verify', `audit verify failed at sequence number ${result.firstBadSeq}: ${result.problem}`);
    return result;
  }

  /** What a council is told of a recomputation: yes or no, and what was checked, never where it failed. */
  private summarise(result: AuditVerification, checkedAt: string): AuditIntegrity {
    return {
      ok: result.ok, checkedAt,
      treeSize: result.ok ? result.treeSize : null, checkpoints: result.ok ? result.checkpoints : null, unsignedEvents: result.ok ? result.unsignedEvents : null,
      offsite: result.offsite, offsiteCheckpoints: result.offsiteCheckpoints,
    };
  }

  /**
   * One recomputation at a time in this process (concurrent askers share it). Its summary is stored
   * for every process, signed with the log's key (see lastIntegrity); the caller is answered from the
   * recomputation itself, never from the row it just wrote.
   */
  private recompute(): Promise<{ verification: AuditVerification; checkedAt: string }> {
    this.recomputing ??= this.recomputeLog().then(async (verification) => {
      const checkedAt = this.o.clock.now().toISOString();
      const summary = this.summarise(verification, checkedAt);
      const signature = this.signStatement(verificationStatement(this.o.origin, { ...summary }));
      await this.o.store.repos.settings.set(INTEGRITY_KEY, JSON.stringify({ ...summary, signature }));
      return { verification, checkedAt };
    }).finally(() => {
      this.recomputing = null;
    });
    return this.recomputing;
  }

  /** An organisation's events with inclusion proofs against the newest checkpoint, for offline checking. */
  async exportOrganisation(actor: Actor, organisationId: string, options: { sinceSize?: number } = {}): Promise<AuditBundle> {
    // decide() lets the system (the CLI) and the organisation's own auditors and DPOs export it.
    const decision = await this.o.access.requireOrganisation(actor, 'audit.export', organisationId, { organisationId });
    // The export itself is an event, and is in the bundle it produces.
    await this.o.store.repos.audit.insert([auditEvent(actor, 'audit.export', { organisationId, ids: { organisationId } }, decision, this.o.clock.now())]);
    await this.flush();
    const repos = this.o.store.repos;
    const latest = await repos.audit.latestCheckpoint();
    if (!latest) throw notFound('checkpoint');
    const events = (await repos.audit.forOrganisation(organisationId)).filter((e) => e.seq < latest.treeSize);
    const earlier = (await repos.audit.checkpoints()).filter((c) => c.treeSize < latest.treeSize && c.treeSize > 0).slice(-20).map((c) => c.note);
    return buildBundle({
      organisationId,
      checkpoint: latest.note,
      verifierKey: this.o.verifierKey,
      events,
      subtrees: subtreesOf(repos),
      earlierCheckpoints: earlier,
      consistencyFromSizes: options.sinceSize ? [options.sinceSize] : [],
    });
  }

  /**
   * Sequences everything pending, makes sure a signed checkpoint covers it, and returns the events of
   * `organisationId` with one of `actions` since `from` that `match` picks, each with its inclusion
   * proof against that checkpoint. For certificates of destruction: no actor, because it discloses
   * nothing by itself; whoever is shown the result was authorised by the caller.
   */
  async proveEvents(organisationId: string, criteria: { actions: readonly string[]; from: string; match: (event: AuditEvent) => boolean }): Promise<{ checkpoint: string; events: BundleEvent[] }> {
    await this.flush();
    const repos = this.o.store.repos;
    const latest = await repos.audit.latestCheckpoint();
    const events: AuditEvent[] = [];
    for (const action of criteria.actions) {
      events.push(...(await repos.audit.query({ organisationId, action, from: criteria.from, limit: 1_000_000 })).filter(criteria.match));
    }
    const unsigned = events.filter((e) => !latest || e.seq >= latest.treeSize);
    if (!latest || unsigned.length > 0) {
      // Only when signing has stopped (the alarm) or another signer has not yet published.
      throw conflict(`The audit log has not yet signed a checkpoint covering event ${unsigned[0]?.seq ?? 0}: the certificate cannot be proven yet. Try again in a minute; if it persists, see "strongroom audit verify".`);
    }
    // Proofs of neighbouring events share most of their nodes: fetch each once.
    const bundle = await buildBundle({ organisationId, checkpoint: latest.note, verifierKey: this.o.verifierKey, events, subtrees: memoised(subtreesOf(repos)) });
    return { checkpoint: bundle.checkpoint, events: bundle.events };
  }

  /**
   * Signs a statement (note text) with the log's key, e.g. the digest of a certificate of destruction.
   * Never a checkpoint: those are signed only by the signer above, after it checked that the tree extends
   * everything signed before, so text that would read as a checkpoint is refused.
   */
  signStatement(text: string): string {
    let readsAsCheckpoint = true;
    try {
      parseCheckpoint(text);
    } catch {
      readsAsCheckpoint = false;
    }
    if (readsAsCheckpoint) throw new IntegrityError('Refused to sign a statement that reads as a checkpoint.');
    return signNote(text, this.o.signerKey);
  }

  async latestCheckpoint(actor: Actor): Promise<{ treeSize: number; note: string; createdAt: string }> {
    const latest = await this.newestCheckpoint(actor);
    if (!latest) throw notFound('checkpoint');
    return latest;
  }

  /** The newest signed checkpoint, or null before the first is signed (a refusal still throws). */
  async newestCheckpoint(actor: Actor): Promise<{ treeSize: number; note: string; createdAt: string } | null> {
    await this.authorizeOrganisation(actor, 'audit.checkpoints');
    return (await this.o.store.repos.audit.latestCheckpoint()) ?? null;
  }

  async checkpointsSince(actor: Actor, afterSize: number): Promise<{ treeSize: number; note: string; createdAt: string }[]> {
    await this.authorizeOrganisation(actor, 'audit.checkpoints');
    return (await this.o.store.repos.audit.checkpoints()).filter((c) => c.treeSize > afterSize);
  }

  async search(actor: Actor, query: Omit<AuditQuery, 'organisationId'>): Promise<AuditEvent[]> {
    const organisationId = await this.authorizeOrganisation(actor, 'audit.read');
    await this.integrate();
    return this.o.store.repos.audit.query({ ...query, organisationId });
  }

  private async authorizeOrganisation(actor: Actor, action: 'audit.read' | 'audit.checkpoints'): Promise<string> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, action, organisationId);
    return organisationId;
  }
}

