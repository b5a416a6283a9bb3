// The rule for a burst of security notices: a window opens with a notice sent alone, its first `singly` go alone,
// the rest are held for a summary at the window's end, and a notice after the window opens a new one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noticeFate } from './notice-limits.js';

const limits = { singly: 3, windowMinutes: 15 };
const T0 = '2026-12-06T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000);

describe('noticeFate', () => {
  it('opens a window with the first notice, sends the first 3 alone and holds the rest until the window ends', () => {
    expect(noticeFate(limits, at(0), undefined)).toEqual({ held: false, windowOpenedAt: T0 });
    expect(noticeFate(limits, at(1), { openedAt: T0, counted: 2 })).toEqual({ held: false, windowOpenedAt: T0 });
    expect(noticeFate(limits, at(1), { openedAt: T0, counted: 3 })).toEqual({ held: true, windowOpenedAt: T0, summaryAt: at(15).toISOString() });
    expect(noticeFate(limits, at(14.99), { openedAt: T0, counted: 50 }).held).toBe(true);
    expect(noticeFate(limits, at(15), { openedAt: T0, counted: 50 })).toEqual({ held: false, windowOpenedAt: at(15).toISOString() });
  });

  it('never holds the first notice of a window, and sends at most `singly` alone in one', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 60 }), fc.array(fc.integer({ min: 0, max: 120 * 60_000 }), { maxLength: 60 }), (singly, windowMinutes, offsets) => {
      const rule = { singly, windowMinutes };
      let latest: { openedAt: string; counted: number } | undefined;
      const alone = new Map<string, number>();
      for (const offset of offsets.sort((a, b) => a - b)) {
        const fate = noticeFate(rule, new Date(Date.parse(T0) + offset), latest);
        const opened = !latest || fate.windowOpenedAt !== latest.openedAt;
        if (opened) expect(fate.held).toBe(false);
        if (fate.held) expect(Date.parse(fate.summaryAt)).toBeGreaterThan(Date.parse(T0) + offset);
        else alone.set(fate.windowOpenedAt, (alone.get(fate.windowOpenedAt) ?? 0) + 1);
        latest = { openedAt: fate.windowOpenedAt, counted: opened ? 1 : latest!.counted + 1 };
      }
      for (const count of alone.values()) expect(count).toBeLessThanOrEqual(singly);
    }));
  });
});
