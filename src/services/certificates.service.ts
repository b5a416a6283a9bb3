// Certificates of destruction: issued when a disposal batch has been carried out, with the inclusion
// proofs of its destruction events against a signed checkpoint, so anyone can check one offline.
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import type { AuditService } from './audit.service.js';

export interface CertificatesServiceOptions {
  store: Store;
  access: AccessService;
  audit: AuditService;
  clock: Clock;
}

export class CertificatesService {
  constructor(protected readonly o: CertificatesServiceOptions) {}
}
