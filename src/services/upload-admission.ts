// Admission control for uploads: how many bodies one account, one client address, one organisation
// and the whole service may be receiving at once, counted across every process through the database
// (upload_slots), so N web processes behind a load balancer still admit each limit once, not N times.
// Over a limit the upload is refused at once (429 with Retry-After) rather than queued: a queue would
// let a client that stalls its bodies hold everyone behind it, and a refused client can simply retry.
// A slot is a lease renewed while its body arrives, so a crashed process's slots lapse on their own.
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Store, UploadSlotScope } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';

export interface UploadLimits {
  perAccount: number;
  perClient: number;
  perOrganisation: number;
  total: number;
  /** Suggested wait sent as Retry-After, in seconds. */
  retryAfterSeconds: number;
}

export interface UploadAdmissionOptions {
  store: Store;
  clock: Clock;
  /** How long a slot counts without a heartbeat (default 60 s); renewed every third of that. */
  leaseMs?: number;
  /** Told when a heartbeat or a release fails (the slot then lapses when its lease ends). */
  onError?: (error: unknown, what: 'renew' | 'release') => void;
}

/** One admitted upload's slot. */
export interface UploadLease {
  /** Gives the slot back and stops its heartbeat; safe to call more than once; never rejects. */
  release(): Promise<void>;
}

const ORDER: UploadSlotScope[] = ['account', 'client', 'organisation', 'total'];

export class UploadAdmission {
  /** This process's name on the slots it holds. */
  readonly holder = randomUUID();
  private readonly leaseMs: number;

  constructor(private readonly limits: UploadLimits, private readonly o: UploadAdmissionOptions) {
    this.leaseMs = o.leaseMs ?? 60_000;
  }

  /** A slot for one upload into `organisationId` by `actor`, or RATE_LIMITED (taking nothing). Release it when the body is done. */
  async admit(actor: Actor, organisationId: string): Promise<UploadLease> {
    const keys = { accountId: actor.userId, clientAddress: actor.clientAddress, organisationId };
    const max: Record<UploadSlotScope, number> = {
      account: this.limits.perAccount, client: this.limits.perClient, organisation: this.limits.perOrganisation, total: this.limits.total,
    };
    const id = randomUUID();
    // Lock, count and take in one short transaction: no other process counts in between.
    const full = await this.o.store.transaction(async (repos) => {
      await repos.uploadSlots.lockAdmission();
      const now = this.o.clock.now();
      await repos.uploadSlots.deleteExpired(now.toISOString());
      const live = await repos.uploadSlots.liveCounts(keys, now.toISOString());
      const scope = ORDER.find((s) => (s !== 'account' || keys.accountId !== null) && (s !== 'client' || keys.clientAddress !== null) && live[s] >= max[s]);
      if (scope) return scope;
      await repos.uploadSlots.insert({ id, holder: this.holder, ...keys, acquiredAt: now.toISOString(), expiresAt: this.expiry() });
      return undefined;
    });
    if (full) {
      throw new DomainError('RATE_LIMITED', MESSAGES[full](max[full]), { details: { retryAfterSeconds: this.limits.retryAfterSeconds, limit: full } });
    }
    return this.lease(id);
  }

  private lease(id: string): UploadLease {
    const heartbeat = setInterval(() => {
      this.o.store.repos.uploadSlots.renew(id, this.expiry()).catch((error: unknown) => this.o.onError?.(error, 'renew'));
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    heartbeat.unref();
    let released: Promise<void> | undefined;
    return {
      release: () => {
        clearInterval(heartbeat);
        released ??= this.o.store.repos.uploadSlots.delete(id).then(() => undefined, (error: unknown) => this.o.onError?.(error, 'release'));
        return released;
      },
    };
  }

  private expiry(): string {
    return new Date(this.o.clock.now().getTime() + this.leaseMs).toISOString();
  }
}

const MESSAGES: Record<UploadSlotScope, (max: number) => string> = {
  account: (max) => `You already have ${max} uploads in progress. Wait for one of them to finish, then try again.`,
  client: (max) => `There are already ${max} uploads in progress from your network address. Wait for one of them to finish, then try again.`,
  organisation: (max) => `Your organisation already has ${max} uploads in progress. Try again in a moment.`,
  total: () => 'The service is receiving as many uploads as it can at the moment. Try again in a moment.',
};
