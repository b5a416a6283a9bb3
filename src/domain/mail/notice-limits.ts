// How many security notices a person is sent one by one: a window opens with a notice sent alone; within it the
// first `singly` go one by one, and the rest are held and sent together in one summary when the window ends.
// The first notice of a burst is never held or delayed (it is the signal), and no notice is dropped. Nor is a change
// that hands the account to someone else or sends its notices elsewhere (NEVER_HELD): otherwise whoever holds a
// stolen session spends the window's singles on three tokens, then changes the address and password unheard of
// for 15 minutes.
import type { AccountChange } from './message.js';

export interface NoticeLimits {
  /** Notices sent one by one in a window (STRONGROOM_ACCOUNT_NOTICES_SINGLY). */
  singly: number;
  /** How long a window lasts, from its first notice (STRONGROOM_ACCOUNT_NOTICE_WINDOW_MINUTES). */
  windowMinutes: number;
}

/**
 * The most held notices one summary lists; more make another summary, sent straight after. A flood (a token in a
 * loop for an hour) listed in one mail made megabytes, which a council's relay refuses every time: retried for a
 * day, then dead-lettered, the owner told of none of it. 100 is about 250 KB of mail.
 */
export const NOTICES_PER_SUMMARY = 100;

export const DEFAULT_NOTICE_LIMITS: NoticeLimits = Object.freeze({ singly: 3, windowMinutes: 15 });

/**
 * Changes always told at once, whatever the window has counted (they count in it too): a new password, two-step
 * verification turned on or reset (the owner locked out, or the attacker's authenticator in), a provider link (a
 * new way in), the address changed (later notices go elsewhere), a sign-in with a recovery code. What a script
 * or a token in a loop makes many of (API tokens, app passwords), the new address's own half of an address
 * change and an account switched back on may wait for the summary.
 */
export const NEVER_HELD: ReadonlySet<AccountChange> = new Set<AccountChange>([
  'password-changed', 'password-set', 'mfa-on', 'mfa-reset', 'provider-linked', 'email-changed', 'recovery-code-used',
]);

/** Where one notice goes: alone now, or held for the summary of its window (sent at `summaryAt`). */
export type NoticeFate = { held: false; windowOpenedAt: string } | { held: true; windowOpenedAt: string; summaryAt: string };

/**
 * The fate of a notice of `change` about to be sent at `now`, given the person's latest window (when it opened and
 * how many notices it counted so far), if any. A window over (its end at or before `now`) opens a new one.
 */
export function noticeFate(limits: NoticeLimits, now: Date, latest: { openedAt: string; counted: number } | undefined, change: AccountChange): NoticeFate {
  const windowMs = limits.windowMinutes * 60_000;
  if (!latest || new Date(latest.openedAt).getTime() + windowMs <= now.getTime()) return { held: false, windowOpenedAt: now.toISOString() };
  if (latest.counted < limits.singly || NEVER_HELD.has(change)) return { held: false, windowOpenedAt: latest.openedAt };
  return { held: true, windowOpenedAt: latest.openedAt, summaryAt: new Date(new Date(latest.openedAt).getTime() + windowMs).toISOString() };
}
