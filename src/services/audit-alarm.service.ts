// The audit log's integrity alarm: raised when the log fails a check (the signer, `audit verify`, the
// disposal job), after which nothing more is signed; stored for every process, and shown to those who may
// see the log's checkpoints (where it failed only to the operator).
import type { Actor } from '../domain/types.js';
import type { AuditServiceOptions } from './audit-log-options.js';
import { authorizeOrganisation } from './audit-organisation-access.js';

/** Why signing stopped: the log failed a check. Cleared only by a restart (see docs/operations.md). */
export interface AuditAlarm {
  /**
   * 'signer': it refused a tree that does not extend what it signed; 'verify': `audit verify` failed;
   * 'disposal': the disposal job refused a batch whose approval, decisions or hold releases no event vouches for;
   * 'thumbnail': a version's thumbnail row named a blob another row names (a version's content, another thumbnail).
   */
  source: 'signer' | 'verify' | 'disposal' | 'thumbnail';
  problem: string;
  raisedAt: string;
}

/**
 * The alarm as the signer raised it, stored for every process: with several nodes the signer is a
 * worker, and the web nodes serve the Audit page, /readyz and /metrics the operator looks at.
 * An empty value is none.
 */
const ALARM_KEY = 'audit.integrity_alarm';

/** What an alarm says to those who may not read where the log failed. */
const ALARM_DETAILS_WITHHELD = 'Where the log failed names other organisations\' events, so it is shown to the operator only: it is in the server\'s log and in the output of "strongroom audit verify".';

export class AuditAlarmService {
  private alarm: AuditAlarm | null = null;

  constructor(private readonly o: Pick<AuditServiceOptions, 'store' | 'access' | 'clock' | 'logger'>) {}

  raise(source: AuditAlarm['source'], problem: string): void {
    if (this.alarm) return;
    this.alarm = { source, problem, raisedAt: this.o.clock.now().toISOString() };
    this.o.logger.error({ auditAlarm: this.alarm }, 'AUDIT INTEGRITY ALARM: signing of the audit log has stopped');
    void this.o.store.repos.settings.set(ALARM_KEY, JSON.stringify(this.alarm))
      .catch((err: unknown) => this.o.logger.error({ err }, 'the audit alarm could not be stored for the other processes'));
  }

  /**
   * Raised by a service that found, just before acting on them, rows the log does not vouch for (the
   * disposal job: an approval or a hold release written in the database), or rows nothing Strongroom
   * writes could have left (a thumbnail row naming another version's blob: TextIndexing.thumbnailFailedCheck):
   * the same alarm as any other tampering, so the operator is told the same way and finds the rows
   * (`audit verify` for the first; the problem and the `storage.thumbnail.finding` event name the second).
   */
  raiseTamperingAlarm(source: 'disposal' | 'thumbnail', problem: string): void {
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
    await authorizeOrganisation(this.o, actor, 'audit.checkpoints');
    const alarm = await this.currentAlarm();
    if (!alarm) return null;
    if (await this.o.access.may(actor, 'audit.verify', { kind: 'organisation', organisationId: actor.organisationId ?? '' })) return alarm;
    return { ...alarm, problem: ALARM_DETAILS_WITHHELD };
  }
}
