// Legal holds: placing them over documents and collections, the hold register, and release (with a reason).
// The refusals a hold causes are decide()'s (domain/access/policy.ts), not this service's.
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';

export interface HoldsServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
}

export class HoldsService {
  constructor(protected readonly o: HoldsServiceOptions) {}
}
