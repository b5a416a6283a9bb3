// How much search time one person, and one organisation, may spend on this node: each search's time in
// the index is charged to both over a sliding window, and once either has spent its share a further
// search is refused before it runs (RATE_LIMITED, 429 with Retry-After). One person also runs one
// search at a time, and the node a few at once: on PostgreSQL each holds a pooled connection for as long
// as it runs (up to its statement timeout), so without a cap ten people searching together held every
// connection and every other request waited behind them. Per process on purpose, like ConcurrencyLimits: what is bounded is this node's own
// time (on SQLite its search reader's thread, which every search of every council takes turns on), and a second node
// has its own to spend (docs/threat-model.md "Expensive searches").
import { DomainError } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';

export interface SearchBudgetLimits {
  /** Milliseconds of search time one person may spend per window. */
  perPersonMs: number;
  /** Milliseconds of search time one organisation's people together may spend per window. */
  perOrganisationMs: number;
  windowMs: number;
  /** Searches this node runs at once, whoever asks: below the database pool's size, so other requests keep connections. */
  atOnce: number;
  /**
   * Search statements still running that no search waits for any more (SQLite's reader threads
   * replaced past their timeout, which end only when their statement returns): counted against
   * `atOnce`, so timed-out searches cannot stack threads, connections and page caches without end.
   */
  abandoned?: () => number;
}

/** One admitted search: `finish()` charges the time since admission and frees the person's turn. */
export interface SearchCharge {
  finish(): void;
}

interface Spend {
  at: number;
  ms: number;
}

export const SEARCH_RUNNING = 'You already have a search running. Wait for it to finish, then try again.';
export const SEARCHES_BUSY = 'Many searches are running at the moment. Try again in a second.';
export const SLOW_SEARCHES_FINISHING = 'Searches that took too long are still finishing on this server. Try again in a few seconds.';
const secondsText = (seconds: number): string => `${seconds} ${seconds === 1 ? 'second' : 'seconds'}`;
const windowText = (windowMs: number): string => (windowMs === 60_000 ? 'the last minute' : `the last ${secondsText(Math.ceil(windowMs / 1000))}`);
export const personOverBudget = (seconds: number, windowMs: number): string =>
  `You have run many long searches in ${windowText(windowMs)}. Try again in ${secondsText(seconds)}, or use fewer or rarer words.`;
export const organisationOverBudget = (seconds: number, windowMs: number): string =>
  `People in your organisation have run many long searches in ${windowText(windowMs)}. Try again in ${secondsText(seconds)}, or use fewer or rarer words.`;

export class SearchBudget {
  private readonly spent = new Map<string, Spend[]>();
  private readonly running = new Set<string>();
  private inFlight = 0;
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly limits: SearchBudgetLimits, private readonly clock: Clock) {}

  /**
   * Admits `actor`'s search, or throws RATE_LIMITED (charging nothing): their search already running,
   * or they or their organisation over budget. Time is measured with the clock from here to finish(),
   * so the caller admits just before the index is asked and finishes just after, whatever the outcome.
   */
  admit(actor: Actor): SearchCharge {
    const now = this.clock.now().getTime();
    this.sweep(now);
    const person = actor.userId === null ? undefined : `person\0${actor.userId}`;
    const organisation = actor.organisationId === null ? undefined : `organisation\0${actor.organisationId}`;
    if (person !== undefined && this.running.has(person)) {
      throw new DomainError('RATE_LIMITED', SEARCH_RUNNING, { details: { retryAfterSeconds: 1, limit: 'running' } });
    }
    const abandoned = this.limits.abandoned?.() ?? 0;
    if (this.inFlight + abandoned >= this.limits.atOnce) {
      // Said as what it is: an abandoned statement may run on for far longer than a second.
      if (abandoned > 0) throw new DomainError('RATE_LIMITED', SLOW_SEARCHES_FINISHING, { details: { retryAfterSeconds: 5, limit: 'node' } });
      throw new DomainError('RATE_LIMITED', SEARCHES_BUSY, { details: { retryAfterSeconds: 1, limit: 'node' } });
    }
    // Past both shares, the longer wait is the one said: trying again after the shorter would be refused again.
    const waits = ([
      [person, this.limits.perPersonMs, personOverBudget, 'person'],
      [organisation, this.limits.perOrganisationMs, organisationOverBudget, 'organisation'],
    ] as const).map(([key, max, message, limit]) => ({ wait: key === undefined ? 0 : this.waitMs(key, max, now), message, limit }));
    const longest = waits.reduce((a, b) => (b.wait > a.wait ? b : a));
    if (longest.wait > 0) {
      const seconds = Math.max(1, Math.ceil(longest.wait / 1000));
      throw new DomainError('RATE_LIMITED', longest.message(seconds, this.limits.windowMs), { details: { retryAfterSeconds: seconds, limit: longest.limit } });
    }
    if (person !== undefined) this.running.add(person);
    this.inFlight += 1;
    let finished = false;
    return {
      finish: () => {
        if (finished) return;
        finished = true;
        this.inFlight -= 1;
        if (person !== undefined) this.running.delete(person);
        const end = this.clock.now().getTime();
        const ms = Math.max(0, end - now);
        for (const key of [person, organisation]) if (key !== undefined && ms > 0) this.charge(key, { at: end, ms });
      },
    };
  }

  /** Accounts and organisations with spending still in the window (for tests and health reports). */
  tracked(): number {
    return this.spent.size;
  }

  /** Once a window, forgets whoever has not searched within it, so the map holds recent searchers only. */
  private sweep(now: number): void {
    if (now - this.sweptAt < this.limits.windowMs) return;
    this.sweptAt = now;
    for (const key of [...this.spent.keys()]) this.live(key, now);
  }

  /** Milliseconds until `key`'s spending in the window falls below `max` (0: it already is). */
  private waitMs(key: string, max: number, now: number): number {
    const spends = this.live(key, now);
    let total = spends.reduce((n, s) => n + s.ms, 0);
    for (const spend of spends) {
      if (total < max) break;
      total -= spend.ms;
      if (total < max) return spend.at + this.limits.windowMs - now;
    }
    return total < max ? 0 : this.limits.windowMs;
  }

  /** `key`'s spends still inside the window, oldest first; forgets the rest (and the key when none is left). */
  private live(key: string, now: number): Spend[] {
    const spends = (this.spent.get(key) ?? []).filter((s) => s.at > now - this.limits.windowMs);
    if (spends.length === 0) this.spent.delete(key);
    else this.spent.set(key, spends);
    return spends;
  }

  private charge(key: string, spend: Spend): void {
    this.spent.set(key, [...this.live(key, spend.at), spend]);
  }
}
