// The attempts of web sign-in counted against the throttles kept in the database (sign-in-throttle.ts's
// limits): each attempt takes its place before it is judged, a failure keeps it, a success or a refusal
// gives it back. Shared by every web sign-in service, built once per process (one sweep a minute for all).
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../domain/errors.js';
import { SIGN_IN_THROTTLE, type ThrottleRule } from '../domain/identity/sign-in-throttle.js';
import type { Actor, User } from '../domain/types.js';
import type { ThrottlePlace } from '../domain/repositories.js';
import { PasswordChecksBusyError } from './password-check-gate.js';
import { auditSignIn, auditedIfBusy } from './sign-in-audit.js';
import { networkKey, secondFactorKey } from './sign-in-throttle-keys.js';
import type { WebSessionsOptions } from './web-sessions.service.js';

/** Ended throttle windows are deleted at most this often (per process; any process may do it). */
const SWEEP_EVERY_MS = 60_000;
/** How long an attempt over a limit waits, each time, for attempts in flight to be judged before it is refused (takePlacesWithin). */
const IN_FLIGHT_WAITS_MS = [100, 300, 900];

export class SignInAttempts {
  private lastSweep = 0;

  constructor(private readonly o: Pick<WebSessionsOptions, 'store' | 'clock' | 'sleep'>) {}

  private get repos() {
    return this.o.store.repos;
  }

  /**
   * Counts a second-factor or current-password attempt before it is judged, and refuses it once this
   * person (from any network) or this network has used up its attempts; returns the places taken,
   * which a failure keeps and a success gives back.
   */
  async requireSecondFactorAttempt(actor: Actor, user: User, action: string): Promise<ThrottlePlace[]> {
    const places = await this.takePlacesWithin([[networkKey(actor.clientAddress), SIGN_IN_THROTTLE.network], [secondFactorKey(user.id), SIGN_IN_THROTTLE.secondFactor]],
      ([network, mine]) => network!.place <= SIGN_IN_THROTTLE.network.limit && mine!.place <= SIGN_IN_THROTTLE.secondFactor.limit);
    if (!places) {
      await auditSignIn(this.o, actor, action, user, false, 'throttled');
      throw throttled();
    }
    return places;
  }

  /** A right code clears the person's second-factor counter, and is not a failure of the network. */
  async secondFactorPassed([network, mine]: ThrottlePlace[]): Promise<void> {
    await this.repos.signInThrottles.clear(mine!.key);
    await this.givePlacesBack([network!]);
  }

  /**
   * Counts an attempt in each counter BEFORE it is judged, each in one statement that also says how
   * many attempts came first. Reading the counts, judging, and only then counting a failure let
   * attempts sent at the same moment all read the same count and all be judged, far past the limit.
   * An attempt in flight therefore holds its place; a failure keeps it, a success or a refusal gives
   * it back. A process that dies mid-attempt leaves its place counted until the window ends (errs
   * towards refusing).
   */
  private async takePlaces(counters: [string, ThrottleRule][]): Promise<ThrottlePlace[]> {
    const now = this.o.clock.now();
    const places: ThrottlePlace[] = [];
    for (const [key, rule] of counters) {
      places.push(await this.repos.signInThrottles.takePlace(key, now.toISOString(), new Date(now.getTime() + rule.windowSeconds * 1000).toISOString()));
    }
    if (now.getTime() - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = now.getTime();
      await this.repos.signInThrottles.sweep(now.toISOString());
    }
    return places;
  }

  /**
   * `takePlaces` that a limit refuses only once attempts in flight have had a moment to be judged.
   * Counting each attempt before it is judged bounds the guesses, but it also counts the right
   * answers still being checked: people of one office (one network) or one person in several tabs
   * signing in at the same moment would refuse each other. So a count over a limit gives its places
   * back and tries again after a short wait, a few times: a right answer gives its place back once
   * judged, a failure keeps it, so a guesser gains nothing by waiting. Null: still over a limit.
   */
  async takePlacesWithin(counters: [string, ThrottleRule][], within: (places: ThrottlePlace[]) => boolean): Promise<ThrottlePlace[] | null> {
    for (let retry = 0; ; retry++) {
      const places = await this.takePlaces(counters);
      if (within(places)) return places;
      // A refused attempt was never judged, so it does not count as a failure: its places go back.
      await this.givePlacesBack(places);
      const wait = IN_FLIGHT_WAITS_MS[retry];
      if (wait === undefined) return null;
      await (this.o.sleep ?? sleep)(wait);
    }
  }

  /**
   * Runs a password check of an attempt that holds `places`. A check refused for want of a turn (this
   * process's password checks all busy: password-check-gate.ts) judged nothing, so it counts against no
   * one: its places go back, and it is audited as `busy` (a flood shows in the log) before the refusal
   * goes on to the person as "try again in a few seconds".
   */
  async judged<T>(places: ThrottlePlace[], audit: { actor: Actor; action: string; user: User | null }, check: () => Promise<T>): Promise<T> {
    return auditedIfBusy(this.o, audit, async () => {
      try {
        return await check();
      } catch (error) {
        if (error instanceof PasswordChecksBusyError) await this.givePlacesBack(places);
        throw error;
      }
    });
  }

  async givePlacesBack(places: ThrottlePlace[]): Promise<void> {
    for (const place of places) await this.repos.signInThrottles.givePlaceBack(place);
  }
}

export const throttled = (): DomainError =>
  new DomainError('RATE_LIMITED', 'Too many failed sign-in attempts. Wait 15 minutes and try again, or ask your administrator for help.');
