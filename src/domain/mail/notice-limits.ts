// How many security notices a person is sent one by one: a window opens with a notice sent alone; within it the
// first `singly` go one by one, and the rest are held and sent together in one summary when the window ends.
// The first notice of a burst is never held or delayed (it is the signal), and no notice is dropped.

export interface NoticeLimits {
  /** Notices sent one by one in a window (STRONGROOM_ACCOUNT_NOTICES_SINGLY). */
  singly: number;
  /** How long a window lasts, from its first notice (STRONGROOM_ACCOUNT_NOTICE_WINDOW_MINUTES). */
  windowMinutes: number;
}

export const DEFAULT_NOTICE_LIMITS: NoticeLimits = Object.freeze({ singly: 3, windowMinutes: 15 });

/** Where one notice goes: alone now, or held for the summary of its window (sent at `summaryAt`). */
export type NoticeFate = { held: false; windowOpenedAt: string } | { held: true; windowOpenedAt: string; summaryAt: string };

/**
 * The fate of a notice about to be sent at `now`, given the person's latest window (when it opened and how many
 * notices it counted so far), if any. A window over (its end at or before `now`) opens a new one.
 */
export function noticeFate(limits: NoticeLimits, now: Date, latest: { openedAt: string; counted: number } | undefined): NoticeFate {
  const windowMs = limits.windowMinutes * 60_000;
  if (!latest || new Date(latest.openedAt).getTime() + windowMs <= now.getTime()) return { held: false, windowOpenedAt: now.toISOString() };
  if (latest.counted < limits.singly) return { held: false, windowOpenedAt: latest.openedAt };
  return { held: true, windowOpenedAt: latest.openedAt, summaryAt: new Date(new Date(latest.openedAt).getTime() + windowMs).toISOString() };
}
