// What became of an upload, as one closed set of cases. Every interface answers an upload by
// switching on this once (REST sendUpload, the web form's describeUpload, WebDAV's PUT, the CLI's
// import), so a new case is a compile error in each of them rather than a silent "uploaded".
import type { UploadResult } from './documents.service.js';

export type UploadOutcome =
  /** Clean: anyone who may read it can have it now. */
  | { kind: 'available' }
  /** Stored, encrypted; the malware check is still running (a job finishes it). */
  | { kind: 'pending_scan' }
  /** Malware: the version is kept encrypted in quarantine and nobody can download it. */
  | { kind: 'infected'; signature: string }
  /** The file policy let it in only quarantined, until a security admin reviews it. */
  | { kind: 'held_for_review'; reason: string };

export function uploadOutcome(result: UploadResult): UploadOutcome {
  if (result.infected) return { kind: 'infected', signature: result.infected.signature };
  if (result.heldForReview) return { kind: 'held_for_review', reason: result.heldForReview.reason };
  return result.version.scanStatus === 'pending' ? { kind: 'pending_scan' } : { kind: 'available' };
}
