// A Scanner that shares the real scanner's streams out fairly: at most so many at once per account,
// per organisation and in all, the total kept below clamd's queue (MaxQueue) so that no one party
// can fill it and make everyone else's scans wait. A scan over its owner's share is not queued: it
// is 'unavailable' at once, which the upload pipeline already treats as "store as pending_scan and
// let the scan job check it" (fail closed: nobody reads it meanwhile).
import type { Readable } from 'node:stream';
import type { ScanOwner, ScanVerdict, Scanner } from '../domain/ports.js';
import { ConcurrencyLimits, isLease } from './concurrency-limits.js';

export interface ScanStreamLimits {
  perAccount: number;
  perOrganisation: number;
  total: number;
}

export const SCANNER_BUSY = 'scanner busy';

export class FairScanner implements Scanner {
  private readonly limits = new ConcurrencyLimits();

  constructor(
    private readonly inner: Scanner,
    private readonly o: ScanStreamLimits,
  ) {}

  get maxStreamBytes(): number {
    return this.inner.maxStreamBytes;
  }

  version(): Promise<string> {
    return this.inner.version();
  }

  async scan(source: Readable | AsyncIterable<Uint8Array>, options: { signal?: AbortSignal; owner?: ScanOwner } = {}): Promise<ScanVerdict> {
    const owner = options.owner ?? { organisationId: null, accountId: null };
    const lease = this.limits.tryAcquire([
      { scope: 'account', key: owner.accountId ?? undefined, max: this.o.perAccount },
      { scope: 'organisation', key: owner.organisationId ?? undefined, max: this.o.perOrganisation },
      { scope: 'total', key: '', max: this.o.total },
    ]);
    if (!isLease(lease)) {
      discard(source, options.signal);
      return { outcome: 'unavailable', reason: `${SCANNER_BUSY} (${lease.full.scope} share of ${lease.full.max} streams in use)` };
    }
    try {
      return await this.inner.scan(source, options);
    } finally {
      lease.release();
    }
  }

  /** Streams in use at one level, e.g. ('organisation', id). */
  inUse(scope: 'account' | 'organisation' | 'total', key = ''): number {
    return this.limits.inUse(scope, key);
  }
}

/** Reads and drops the rest of a tee's branch so the other branches never wait for it. */
function discard(source: Readable | AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): void {
  void (async () => {
    try {
      for await (const _chunk of source) {
        if (signal?.aborted) return;
      }
    } catch {
      // the source's owner sees its errors on its own side of the tee
    }
  })();
}
