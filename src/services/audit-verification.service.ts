// Verifying the audit log: the whole tree recomputed from the stored events and checked against every
// checkpoint (the checks: audit-log-check.ts), for the operator (`audit verify`) and, as yes or no, for a
// council's integrity page; and the baseline of people's state that lets `audit verify` check everyone.
import { PERSON_RECORD_ACTIONS, peopleBeforeBindings } from '../domain/audit/person-record.js';
import { isSignedVerification, verificationStatement } from '../domain/audit/verification-statement.js';
import type { Actor } from '../domain/types.js';
import type { AuditAlarmService } from './audit-alarm.service.js';
import { auditEvent } from './audit-events.js';
import type { AuditServiceOptions } from './audit-log-options.js';
import { authorizeOrganisation } from './audit-organisation-access.js';
import type { AuditProofsService } from './audit-proofs.service.js';
import { INTEGRATE_BATCH } from './audit-sequencer.service.js';
import { personStateIds } from './person-state.js';
import { checkWholeLog, type AuditVerification } from './audit-log-check.js';

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

export class AuditVerificationService {
  private recomputing: Promise<{ verification: AuditVerification; checkedAt: string }> | null = null;

  constructor(private readonly o: AuditServiceOptions & { alarm: AuditAlarmService; statements: Pick<AuditProofsService, 'signStatement'> }) {}

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
    await authorizeOrganisation(this.o, actor, 'audit.checkpoints');
    const last = await this.lastIntegrity();
    // Reused only while it is recent by this process's clock (one dated in the future is not), and
    // never while this process's signer has raised the alarm. lastIntegrity has checked its signature.
    const age = last ? this.o.clock.now().getTime() - Date.parse(last.checkedAt) : Number.NaN;
    if (last && !this.o.alarm.alarmRaised && age >= 0 && age < INTEGRITY_REUSE_SECONDS * 1000) return last;
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
    if (!result.ok) this.o.alarm.raise('verify', `audit verify failed at sequence number ${result.firstBadSeq}: ${result.problem}`);
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
      const signature = this.o.statements.signStatement(verificationStatement(this.o.origin, { ...summary }));
      await this.o.store.repos.settings.set(INTEGRITY_KEY, JSON.stringify({ ...summary, signature }));
      return { verification, checkedAt };
    }).finally(() => {
      this.recomputing = null;
    });
    return this.recomputing;
  }
}
