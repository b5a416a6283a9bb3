// One gate in front of every password hash and check this process makes: web sign-in, the dummy check
// that answers for unknown addresses, current-password checks, setting or changing a password. At the
// standard cost each argon2id call holds 64 MiB, runs four lanes on threads of its own, and holds one of
// libuv's four pool threads throughout, the pool every file-system call (an upload's fsync, a blob's
// write, a large read) waits for. Sign-in throttling counts per network and per account, so a stranger
// with a few hundred addresses could keep the pool full of hashes: uploads and downloads of every
// organisation stalled behind them and memory grew by 64 MiB a hash (docs/performance.md "Password checks
// behind one gate"). Past the gate a few run at once and a bounded number wait their turn; the rest are
// refused at once as busy (503 with Retry-After), which every password form shows on itself in words
// (http/ui/form-fields.ts passwordFormStatus; audited by services/sign-in-audit.ts auditedIfBusy).
import { DomainError } from '../domain/errors.js';
import type { PasswordHasher } from '../domain/ports.js';
import { TurnGate, type TurnLimits } from './turn-gate.js';

export interface PasswordCheckLimits extends TurnLimits {
  /** Sent as Retry-After with a refusal. */
  retryAfterSeconds: number;
}

/**
 * One check at once below eight cores, two from eight. A check already spreads over four threads of its
 * own (parallelism 4: about 120 ms of wall time and 175 ms of CPU on this project's 2-core machine), so
 * one at once keeps the checks to about 8 a second with the cores shared, and a second would only
 * share the same cores; never more than two, so at least two of libuv's four threads are always free for
 * file-system calls and the hashes' memory stays at 128 MiB at most. Forty-eight waiting for each running
 * let an office's worth of people pressing "Sign in" in the same instant all in (second-factor-races'
 * forty colleagues), and bound the wait to about six seconds at that speed; a council's morning (hundreds
 * of sign-ins over some minutes, a few a second) finds the queue short and waits well under a second
 * (the arithmetic is in docs/threat-model.md).
 */
export function passwordCheckLimits(cores: number): PasswordCheckLimits {
  const running = Math.min(2, Math.max(1, Math.floor(cores / 8) + 1));
  return { running, waiting: 48 * running, retryAfterSeconds: 5 };
}

export const PASSWORD_CHECKS_BUSY = 'The service is checking many passwords at the moment. Wait a few seconds and try again.';

/** A hash or check refused because the gate's queue was full: nothing was judged, nothing is counted against anyone. */
export class PasswordChecksBusyError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super('UNAVAILABLE', PASSWORD_CHECKS_BUSY, { details: { retryAfterSeconds } });
    this.name = 'PasswordChecksBusyError';
  }
}

/** The gate every password hash and check of this process passes, refusing with PasswordChecksBusyError. */
export class PasswordCheckGate extends TurnGate {
  constructor(override readonly limits: PasswordCheckLimits) {
    super(limits, () => new PasswordChecksBusyError(limits.retryAfterSeconds));
  }
}

/** `inner` with each hash and check run through `around`; needsRehash reads the hash's parameters only (no argon2 work), so directly. */
export function hasherAround(inner: PasswordHasher, around: <T>(work: () => Promise<T>) => Promise<T>): PasswordHasher {
  return {
    hash: (password) => around(() => inner.hash(password)),
    verify: (hash, password) => around(() => inner.verify(hash, password)),
    needsRehash: (hash) => inner.needsRehash(hash),
  };
}
