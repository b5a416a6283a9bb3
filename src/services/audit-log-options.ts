// What the audit log's services are built from (one set, compose/audit.ts builds them all), and
// `AuditServices`, the set `vault.audit` holds: one service per job over the one log.
import type { CheckpointCopies, Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import type { AuditAlarmService } from './audit-alarm.service.js';
import type { AuditProofsService } from './audit-proofs.service.js';
import type { AuditQueriesService } from './audit-queries.service.js';
import type { AuditSequencerService } from './audit-sequencer.service.js';
import type { AuditVerificationService } from './audit-verification.service.js';

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

export interface AuditServices {
  /** Sequencing events into the Merkle tree and signing checkpoints of it (the signer); `flush` for exports, backups, the CLI, tests. */
  sequencer: AuditSequencerService;
  /**
   * The integrity alarm: raised when the log fails a check, stored for every process, shown to those who may see it.
   * Without `raise`, which only the signer and verification (given it by composeAudit) call: a service that finds
   * rows the log does not vouch for raises it as `raiseTamperingAlarm('disposal', …)`, as before the split.
   */
  alarm: Omit<AuditAlarmService, 'raise'>;
  /** Recomputing the whole log against every checkpoint (`verify`, the operator's), the councils' integrity page, the people baseline. */
  verification: AuditVerificationService;
  /** What the log vouches for, checked offline: an organisation's export, events proven for a certificate, statements signed with its key. */
  proofs: AuditProofsService;
  /** Searching an organisation's events and reading its checkpoints. */
  queries: AuditQueriesService;
}
