// A gate for costly work that must not pile up: a few pieces run at once, a bounded number wait their
// turn, the rest are refused at once (the caller's busy error, a 503 with Retry-After). Password hashes
// and checks pass one (password-check-gate.ts), SAML answers' checks another (compose/identity.ts).

export interface TurnLimits {
  /** Pieces of work running at once. */
  running: number;
  /** Pieces waiting for a turn; one more is refused. */
  waiting: number;
}

/** Lets `limits.running` pieces of work run at once, first come first served, and `limits.waiting` wait. */
export class TurnGate {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /** `busy`: the error a piece of work is refused with when the queue is full. */
  constructor(readonly limits: TurnLimits, private readonly busy: () => Error) {}

  /** Runs `work` in its turn, or refuses it at once (the busy error) when the queue is full. */
  readonly inTurn = async <T>(work: () => Promise<T>): Promise<T> => {
    if (this.#running < this.limits.running) this.#running++;
    else if (this.#waiting.length >= this.limits.waiting) throw this.busy();
    // Its turn is handed over by a piece of work that ends (below), which leaves #running as it is.
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  };
}
