// Composition of the audit log's services, one job each (services/audit-log-options.ts lists them), over
// one set of options: the signer's alarm and sequencer are this process's, shared by the others.
import { AuditAlarmService } from '../services/audit-alarm.service.js';
import type { AuditServiceOptions, AuditServices } from '../services/audit-log-options.js';
import { AuditProofsService } from '../services/audit-proofs.service.js';
import { AuditQueriesService } from '../services/audit-queries.service.js';
import { AuditSequencerService } from '../services/audit-sequencer.service.js';
import { AuditVerificationService } from '../services/audit-verification.service.js';

export function composeAudit(options: AuditServiceOptions): AuditServices {
  const alarm = new AuditAlarmService(options);
  const sequencer = new AuditSequencerService({ ...options, alarm });
  const proofs = new AuditProofsService({ ...options, sequencer });
  const verification = new AuditVerificationService({ ...options, alarm, statements: proofs });
  const queries = new AuditQueriesService({ ...options, sequencer });
  return { sequencer, alarm, verification, proofs, queries };
}
