import { describe, expect, it } from 'vitest';
import { Progress, duration, emptyTally, eta } from './progress.js';

function sink(tty: boolean) {
  const written: string[] = [];
  const stream = { write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream;
  return { stream, written, tty };
}

describe('import progress', () => {
  it('states files, bytes, rates, time left and trouble in one line', () => {
    let now = 0;
    const tally = { ...emptyTally(), imported: 40, skipped: 8, refused: 1, failed: 1, bytes: 50 * 1024 };
    const p = new Progress(tally, { ...sink(false), total: { files: 200, bytes: 200 * 1024 }, now: () => now });
    now = 10_000;
    expect(p.line()).toBe('[######..................]  25% 50/200 files · 50 KiB/200 KiB · 5.0 files/s · 5 KiB/s · ETA 30s · 2 refused or failed, 0 held');
  });

  it('redraws in place on a terminal and keeps messages above the bar', () => {
    const out = sink(true);
    const tally = emptyTally();
    const p = new Progress(tally, { ...out, total: { files: 2, bytes: 10 }, intervalMs: 5 });
    p.start();
    return new Promise<void>((resolve) => setTimeout(() => {
      p.say('✗ a.txt: refused');
      p.stop();
      const text = out.written.join('');
      expect(text.startsWith('\r\x1b[2K[')).toBe(true);
      expect(text).toContain('\r\x1b[2K✗ a.txt: refused\n\r\x1b[2K[');
      expect(text.endsWith('\n')).toBe(true);
      resolve();
    }, 30));
  });

  it('prints plain lines, never escape codes, when not on a terminal', () => {
    const out = sink(false);
    const p = new Progress(emptyTally(), { ...out, total: null, intervalMs: 5 });
    p.start();
    return new Promise<void>((resolve) => setTimeout(() => {
      p.say('✗ b.txt: refused');
      p.stop();
      expect(out.written.length).toBeGreaterThan(1);
      for (const line of out.written) expect(line).not.toContain('\x1b');
      expect(out.written.filter((l) => l.startsWith('import: 0 files · 0 bytes · ')).length).toBe(out.written.length - 1);
      resolve();
    }, 30));
  });

  it('estimates time left from whichever of files and bytes is slower', () => {
    expect(eta(10, 1000, { files: 100, bytes: 2000 }, 10)).toBe(90);
    expect(eta(50, 100, { files: 100, bytes: 1000 }, 10)).toBe(90);
    expect(duration(59)).toBe('59s');
    expect(duration(61)).toBe('1m01s');
    expect(duration(3720)).toBe('1h02m');
  });
});
