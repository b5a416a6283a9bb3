// Counting semaphores keyed by who holds them (an account, a client address, an organisation, or
// everyone), taken all together or not at all, so one party can never hold more than its share.
// State is per process, on purpose: its one user is the fair scanner, whose streams are this
// process's own clamd's. Upload admission, which must hold across processes, counts in the database.

/** One level of a limit: which counter, its ceiling, and what to tell the caller when it is full. */
export interface LimitLevel {
  /** e.g. "account", "client", "organisation", "total". */
  scope: string;
  /** The counter's key within the scope (a user id, an address…); undefined skips the level. */
  key: string | undefined;
  max: number;
}

export interface Lease {
  /** Gives the slots back; safe to call more than once. */
  release(): void;
}

export class ConcurrencyLimits {
  private readonly held = new Map<string, number>();

  /** Takes one slot at every level, or none: returns the first full level instead. */
  tryAcquire(levels: readonly LimitLevel[]): Lease | { full: LimitLevel } {
    const applicable = levels.filter((level) => level.key !== undefined);
    for (const level of applicable) {
      if ((this.held.get(counter(level)) ?? 0) >= level.max) return { full: level };
    }
    for (const level of applicable) this.held.set(counter(level), (this.held.get(counter(level)) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        for (const level of applicable) {
          const key = counter(level);
          const left = (this.held.get(key) ?? 1) - 1;
          if (left <= 0) this.held.delete(key);
          else this.held.set(key, left);
        }
      },
    };
  }

  /** Slots held at one level (for tests and health reports). */
  inUse(scope: string, key: string): number {
    return this.held.get(`${scope}\0${key}`) ?? 0;
  }
}

const counter = (level: LimitLevel): string => `${level.scope}\0${level.key ?? ''}`;

export function isLease(result: Lease | { full: LimitLevel }): result is Lease {
  return 'release' in result;
}
