// Backup, restore and the restore drill, as the audit log sees them: who may (the operator: the
// system actor, as for `audit verify`), and the events that record each. The work itself (the
// database snapshot, the archive files, copying blobs) is done by adapters the composition root
// wires in src/backup.ts; this service decides and records.
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
}

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

  /** Recorded in the restored database once its blobs are back. */
  async recordRestore(actor: Actor, backupId: string, counts: { copied: number; shredded: number; missing: number }): Promise<void> {
    const decision = await this.authorize(actor);
    const ids = { backupId, copied: String(counts.copied), shredded: String(counts.shredded), missing: String(counts.missing) };
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
}
