// The rule for a burst of security notices: a window opens with a notice sent alone, its first `singly` go alone,
// the rest are held for a summary at the window's end, and a notice after the window opens a new one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_CHANGES } from './message.js';
import { NEVER_HELD, noticeFate } from './notice-limits.js';

const limits = { singly: 3, windowMinutes: 15 };
const T0 = '2026-12-06T10:00:00.000Z';
const TOKEN = 'api-token-created';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000);

describe('noticeFate', () => {
  it('opens a window with the first notice, sends the first 3 alone and holds the rest until the window ends', () => {
    expect(noticeFate(limits, at(0), undefined, TOKEN)).toEqual({ held: false, windowOpenedAt: T0 });
    expect(noticeFate(limits, at(1), { openedAt: T0, counted: 2 }, TOKEN)).toEqual({ held: false, windowOpenedAt: T0 });
    expect(noticeFate(limits, at(1), { openedAt: T0, counted: 3 }, TOKEN)).toEqual({ held: true, windowOpenedAt: T0, summaryAt: at(15).toISOString() });
    expect(noticeFate(limits, at(14.99), { openedAt: T0, counted: 50 }, TOKEN).held).toBe(true);
    expect(noticeFate(limits, at(15), { openedAt: T0, counted: 50 }, TOKEN)).toEqual({ held: false, windowOpenedAt: at(15).toISOString() });
  });

  it('never holds the first notice of a window, and sends at most `singly` alone in one', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 60 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 120 * 60_000 }), fc.constantFrom(...ACCOUNT_CHANGES)), { maxLength: 60 }), (singly, windowMinutes, notices) => {
      const rule = { singly, windowMinutes };
      let latest: { openedAt: string; counted: number } | undefined;
      const alone = new Map<string, number>();
      for (const [offset, change] of notices.sort((a, b) => a[0] - b[0])) {
        const fate = noticeFate(rule, new Date(Date.parse(T0) + offset), latest, change);
        if (NEVER_HELD.has(change)) {
          expect(fate.held).toBe(false);
          latest = { openedAt: fate.windowOpenedAt, counted: !latest || fate.windowOpenedAt !== latest.openedAt ? 1 : latest.counted + 1 };
          continue;
        }
        const opened = !latest || fate.windowOpenedAt !== latest.openedAt;
        if (opened) expect(fate.held).toBe(false);
        if (fate.held) expect(Date.parse(fate.summaryAt)).toBeGreaterThan(Date.parse(T0) + offset);
        else alone.set(fate.windowOpenedAt, (alone.get(fate.windowOpenedAt) ?? 0) + 1);
        latest = { openedAt: fate.windowOpenedAt, counted: opened ? 1 : latest!.counted + 1 };
      }
      for (const count of alone.values()) expect(count).toBeLessThanOrEqual(singly);
    }));
  });

  it('never holds a change that hands the account to someone else, however many notices the window counted', () => {
    for (const change of NEVER_HELD) expect(noticeFate(limits, at(1), { openedAt: T0, counted: 50 }, change)).toEqual({ held: false, windowOpenedAt: T0 });
    expect(noticeFate(limits, at(1), { openedAt: T0, counted: 50 }, 'app-password-created').held).toBe(true);
    expect([...NEVER_HELD].sort()).toEqual(['email-changed', 'mfa-on', 'mfa-reset', 'password-changed', 'password-set', 'provider-linked', 'recovery-code-used']);
  });
});
