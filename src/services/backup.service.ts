// Backup, restore and the restore drill, as the audit log sees them: who may (the operator: the
// system actor, as for `audit verify`), and the events that record each. The work itself (the
// database snapshot, the archive files, copying blobs) is done by adapters the composition root
// wires in src/backup.ts; this service decides and records.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DrillReport } from '../domain/backup/manifest.js';
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';

export interface BackupServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  /**
   * Seals the last-backup record (an HMAC key derived from the master key): the record lives in the
   * database, and without the seal whoever can write the database could keep the backup gauge fresh
   * while backups have stopped. Needed by recordScheduled and last.
   */
  recordSealKey?: Buffer;
}

/** The newest scheduled backup in the replica, as recorded when it was written. */
export interface LastBackup {
  id: string;
  /** When it was made (ISO 8601). */
  at: string;
  /** Where it is (a folder, or an s3:// URL without credentials). */
  location: string;
}

const LAST_BACKUP = 'backup.last';
const RECORD_SEAL_DOMAIN = 'strongroom last backup record v1\n';
const LAST_BACKUP_DAY = 'backup.last-day';

export class BackupService {
  constructor(private readonly o: BackupServiceOptions) {}

  /** Only the operator may read the whole database out (the same decision as verifying the whole log). */
  private async authorize(actor: Actor) {
    return this.o.access.requireOrganisation(actor, 'audit.verify', actor.organisationId ?? '');
  }

  /** Recorded before the snapshot, so the backup holds its own event under a signed checkpoint. */
  async recordBackup(actor: Actor, backupId: string, location: string): Promise<void> {
    const decision = await this.authorize(actor);
    await this.o.store.repos.audit.insert([auditEvent(actor, 'storage.backup', { organisationId: null, ids: { backupId, location } }, decision, this.o.clock.now())]);
  }

  /** Recorded in the restored database once its blobs are back: how many came back, and how many did not (missing, or damaged in the replica). */
  async recordRestore(actor: Actor, backupId: string, counts: { copied: number; shredded: number; missing: number; damaged: number }): Promise<void> {
    const decision = await this.authorize(actor);
    const ids = { backupId, copied: String(counts.copied), shredded: String(counts.shredded), missing: String(counts.missing), damaged: String(counts.damaged) };
    await this.o.store.repos.audit.insert([auditEvent(actor, 'storage.restore', { organisationId: null, ids }, decision, this.o.clock.now())]);
  }

  /** Recorded in the LIVE log: the drill's outcome and the hash of its signed report. */
  async recordDrill(actor: Actor, report: DrillReport, reportSha256: string): Promise<void> {
    const decision = await this.authorize(actor);
    const ids = {
      backupId: report.backup.id, reportSha256, sampleSize: String(report.sampleSize), ok: String(report.totals.ok), shredded: String(report.totals.shredded),
      missing: String(report.totals.missing), corrupt: String(report.totals.corrupt), audit: report.audit.ok ? 'verified' : 'failed', passed: String(report.passed),
    };
    await this.o.store.repos.audit.insert([auditEvent(actor, 'storage.restore_drill', { organisationId: null, ids }, decision, this.o.clock.now())]);
  }

  /** Whether the scheduled backup of this UK day was taken already (by any node). */
  async scheduledOn(date: string): Promise<boolean> {
    return (await this.o.store.repos.settings.get(LAST_BACKUP_DAY)) === date;
  }

  /** After a scheduled backup was written (its own `storage.backup` event is in it): the day and where it is. */
  async recordScheduled(date: string, last: LastBackup): Promise<void> {
    const record = { id: last.id, at: last.at, location: last.location };
    await this.o.store.transaction(async (repos) => {
      await repos.settings.set(LAST_BACKUP_DAY, date);
      await repos.settings.set(LAST_BACKUP, JSON.stringify({ ...record, seal: this.seal(record) }));
    });
  }

  /**
   * For /metrics (no actor: the time only, read from the database so every node reports the cluster's).
   * A record without this vault's seal (written or edited in the database) counts as no backup, so the
   * gauge errs towards the alert; an older genuine record put back only makes it older.
   */
  async last(): Promise<LastBackup | null> {
    const stored = await this.o.store.repos.settings.get(LAST_BACKUP);
    if (stored === undefined) return null;
    try {
      const value = JSON.parse(stored) as LastBackup & { seal?: unknown };
      if (typeof value.at !== 'string' || typeof value.id !== 'string' || typeof value.location !== 'string' || typeof value.seal !== 'string') return null;
      const record = { id: value.id, at: value.at, location: value.location };
      const expected = Buffer.from(this.seal(record));
      const given = Buffer.from(value.seal);
      return expected.length === given.length && timingSafeEqual(expected, given) ? record : null;
    } catch {
      return null;
    }
  }

  private seal(record: LastBackup): string {
    if (this.o.recordSealKey === undefined) throw new Error('BackupService: the last-backup record needs recordSealKey.');
    return createHmac('sha256', this.o.recordSealKey).update(RECORD_SEAL_DOMAIN).update(JSON.stringify([record.id, record.at, record.location])).digest('base64url');
  }

  /**
   * The Storage page's view, for an org admin or security admin (`storage.read`): when, not where. The one
   * figure on the page that is the whole service's: there is one backup of the database for every council,
   * and when it last ran says nothing of any council's documents or work.
   */
  async lastFor(actor: Actor): Promise<{ at: string } | null> {
    if (actor.kind !== 'system') await this.o.access.requireOrganisation(actor, 'storage.read', actor.organisationId ?? '');
    const last = await this.last();
    return last === null ? null : { at: last.at };
  }
}
