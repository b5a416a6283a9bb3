// Holding the argon2 calls beneath the process's password-check gate (services/password-check-gate.ts), so a
// test can fill the gate and see what is refused as busy: the calls wait until the test lets them go, no timing.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { PasswordCheckLimits } from '../../src/services/password-check-gate.js';
import { postSignIn } from '../identity/support.js';

/** Counts the argon2 calls running, and holds each one while `holding`. */
export class HeldChecks {
  running = 0;
  mostAtOnce = 0;
  holding = false;
  readonly #held: (() => void)[] = [];
  readonly #watchers: (() => void)[] = [];

  release(): void {
    this.holding = false;
    for (const go of this.#held.splice(0)) go();
  }

  /** Resolves once `condition` holds, looked at again whenever a check starts or `changed` is called. */
  until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const look = () => (condition() ? resolve() : this.#watchers.push(look));
      look();
    });
  }

  changed(): void {
    for (const look of this.#watchers.splice(0)) look();
  }

  readonly counted = async <T>(work: () => Promise<T>): Promise<T> => {
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    try {
      this.changed();
      if (this.holding) await new Promise<void>((go) => this.#held.push(go));
      return await work();
    } finally {
      this.running--;
    }
  };
}

let floods = 0;

/**
 * Fills the gate as a flood of sign-ins for unknown addresses does, each from an address of its own (so no
 * throttle stops it): `limits.running` checks held running and `limits.waiting` waiting, shown full by one more
 * refused as busy. Until `drain()` (which lets them go and waits for every answer) the next hash or check is refused.
 */
export async function fillPasswordGate(app: FastifyInstance, held: HeldChecks, limits: PasswordCheckLimits, domain: string): Promise<{ drain(): Promise<void> }> {
  const flood = ++floods;
  // The dummy hash unknown addresses are checked against is made at the first of them, not in the flood.
  expect((await postSignIn(app, `198.19.${flood}.1`, `nobody@${domain}`, 'a wrong password')).statusCode).toBe(401);
  held.holding = true;
  let answered = 0;
  const answers = Array.from({ length: limits.running + limits.waiting + 1 }, (_, i) => postSignIn(app, `198.18.${flood}.${i + 1}`, `nobody-${flood}-${i}@${domain}`, 'a wrong password').then((response) => {
    answered++;
    held.changed();
    return response;
  }));
  // One answered while every check is held: refused as busy, so the others are all running or waiting.
  await held.until(() => held.running === limits.running && answered === 1);
  return {
    drain: async () => {
      held.release();
      const statuses = (await Promise.all(answers)).map((r) => r.statusCode).sort();
      expect(statuses).toEqual([...Array<number>(limits.running + limits.waiting).fill(401), 503]);
    },
  };
}
