// How failed sign-ins are throttled. Counters are kept per client network, per account at that
// network, and per account everywhere; only the first two ever refuse, so a stranger guessing from
// elsewhere can slow an account down but never lock its owner out. Unknown e-mail addresses are
// counted exactly like real ones, so the answers never tell which accounts exist.

export interface ThrottleRule {
  /** Failures (and attempts still being judged) allowed in one window before the rule applies. */
  limit: number;
  windowSeconds: number;
}

export const SIGN_IN_THROTTLE = {
  /** Everything from one network: stops spraying many accounts (a busy office NAT only fails so often). */
  network: { limit: 30, windowSeconds: 300 },
  /** One account from one network: stops guessing one password from one place. */
  accountAtNetwork: { limit: 5, windowSeconds: 900 },
  /** One account from anywhere: past the limit each attempt waits longer, but is still decided on its merits. */
  account: { limit: 10, windowSeconds: 900 },
  /**
   * Second-factor codes (and current-password checks) of one person: only someone who already has
   * the password reaches them, so this one refuses outright whatever the network.
   */
  secondFactor: { limit: 10, windowSeconds: 900 },
} as const satisfies Record<string, ThrottleRule>;

/** Longest wait added to a sign-in attempt on an account under attack from many networks. */
export const MAX_SLOWDOWN_MS = 2_000;

export interface SignInFailures {
  network: number;
  accountAtNetwork: number;
  account: number;
}

export type ThrottleVerdict = { refuse: true } | { refuse: false; delayMs: number };

/**
 * What to do with a password attempt, given the attempts counted before it in each window: failures,
 * and attempts still being judged (each attempt is counted before it is judged, so those racing it
 * are ahead of it or behind it, never beside it).
 */
export function signInVerdict(failures: SignInFailures): ThrottleVerdict {
  if (failures.network >= SIGN_IN_THROTTLE.network.limit) return { refuse: true };
  if (failures.accountAtNetwork >= SIGN_IN_THROTTLE.accountAtNetwork.limit) return { refuse: true };
  const over = failures.account - SIGN_IN_THROTTLE.account.limit;
  // 250 ms, doubling with each further failure, up to the cap.
  return { refuse: false, delayMs: over < 0 ? 0 : Math.min(MAX_SLOWDOWN_MS, 250 * 2 ** Math.min(over, 8)) };
}

/**
 * The network a client address stands for. An IPv6 client usually holds a whole /64 and could
 * rotate through it, so IPv6 addresses count per /64; IPv4 (and IPv4-mapped IPv6) per address.
 */
export function clientNetwork(address: string | null): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
