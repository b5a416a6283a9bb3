// Admission control for uploads: how many bodies one account, one client address, one organisation
// and the whole service may be receiving at once, counted across every process through the database
// (upload_slots), so N web processes behind a load balancer still admit each limit once, not N times.
// Over a limit the upload is refused at once (429 with Retry-After) rather than queued: a queue would
// let a client that stalls its bodies hold everyone behind it, and a refused client can simply retry.
// A slot is a lease renewed while its upload runs, so a crashed process's slots lapse on their own. It is
// given back in the transaction that stores the upload (releaseWith), so an upload costs one commit for
// its slot and one for its write, not a third for the release (docs/architecture.md, "Upload admission").
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store, UploadSlotScope } from '../domain/repositories.js';
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
  /**
   * Runs `work` in one transaction that also gives the slot back, so the upload's write and the
   * release are one commit. If the transaction fails, the slot is given back on its own before the
   * error is rethrown. Once the slot is given back, later calls run `work` alone.
   */
  releaseWith<T>(work: (repos: Repos) => Promise<T>): Promise<T>;
  /** Gives the slot back (its own statement) and stops its heartbeat; safe to call more than once, also after releaseWith; never rejects. */
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
      // Committed is enough: the slot is visible to every process at commit, and only a crash of the
      // machine could lose it before the sync — which ends every upload the slot counted too. The
      // upload's own write, and the answer, wait for a sync that covers it.
    }, { awaitDurable: false });
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
    const release = (): Promise<void> => {
      clearInterval(heartbeat);
      released ??= this.o.store.repos.uploadSlots.delete(id).then(() => undefined, (error: unknown) => this.o.onError?.(error, 'release'));
      return released;
    };
    return {
      release,
      releaseWith: async (work) => {
        if (released) return this.o.store.transaction(work);
        try {
          const result = await this.o.store.transaction(async (repos) => {
            const value = await work(repos);
            await repos.uploadSlots.delete(id);
            return value;
          });
          // Committed: the slot is gone with the write. A heartbeat that renewed it meanwhile matched no row.
          clearInterval(heartbeat);
          released = Promise.resolve();
          return result;
        } catch (error) {
          await release();
          throw error;
        }
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
