// Admission control for uploads: how many bodies one account, one client address, one organisation
// and the whole server may be receiving at once. Over a limit the upload is refused at once (429
// with Retry-After) rather than queued: a queue would let a client that stalls its bodies hold
// everyone behind it, and a refused client can simply retry.
import { DomainError } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import { ConcurrencyLimits, isLease, type Lease, type LimitLevel } from './concurrency-limits.js';

export interface UploadLimits {
  perAccount: number;
  perClient: number;
  perOrganisation: number;
  total: number;
  /** Suggested wait sent as Retry-After, in seconds. */
  retryAfterSeconds: number;
}

export class UploadAdmission {
  private readonly limits = new ConcurrencyLimits();

  constructor(private readonly o: UploadLimits) {}

  /** A slot for one upload into `organisationId` by `actor`, or RATE_LIMITED. Release it when the body is done. */
  admit(actor: Actor, organisationId: string): Lease {
    const levels: LimitLevel[] = [
      { scope: 'account', key: actor.userId ?? undefined, max: this.o.perAccount },
      { scope: 'client', key: actor.clientAddress ?? undefined, max: this.o.perClient },
      { scope: 'organisation', key: organisationId, max: this.o.perOrganisation },
      { scope: 'total', key: '', max: this.o.total },
    ];
    const result = this.limits.tryAcquire(levels);
    if (isLease(result)) return result;
    throw new DomainError('RATE_LIMITED', MESSAGES[result.full.scope]?.(result.full.max) ?? MESSAGES.total!(result.full.max), {
      details: { retryAfterSeconds: this.o.retryAfterSeconds, limit: result.full.scope },
    });
  }
}

const MESSAGES: Record<string, (max: number) => string> = {
  account: (max) => `You already have ${max} uploads in progress. Wait for one of them to finish, then try again.`,
  client: (max) => `There are already ${max} uploads in progress from your network address. Wait for one of them to finish, then try again.`,
  organisation: (max) => `Your organisation already has ${max} uploads in progress. Try again in a moment.`,
  total: () => 'The service is receiving as many uploads as it can at the moment. Try again in a moment.',
};
