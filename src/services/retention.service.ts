// The file plan and retention: record series (versioned, audited), where collections and documents are
// filed, retention events, and each document's retention facts (series, trigger, due date, action, holds).
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';

export interface RetentionServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  serviceAreas: readonly string[];
}

export class RetentionService {
  constructor(protected readonly o: RetentionServiceOptions) {}
}
