// Disposal review: sweeps propose batches of records past due, the owning organisation's records manager
// decides each item and approves, and a job carries the batch out (crypto-shredding every copy).
import type { Actor } from '../domain/types.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import type { CertificatesService } from './certificates.service.js';
import type { DocumentLifecycle } from './lifecycle.js';
import type { RetentionService } from './retention.service.js';

export interface DisposalServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  blobs: EncryptedBlobs;
  lifecycle: DocumentLifecycle;
  retention: RetentionService;
  certificates: CertificatesService;
  /** The actor the sweep and execution jobs act as. */
  system: Actor;
}

export class DisposalService {
  constructor(protected readonly o: DisposalServiceOptions) {}
}
