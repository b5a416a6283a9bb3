// The heap setting `strongroom serve` makes takes effect in a running process: with about 45 MB kept
// live and garbage promoted steadily, the old generation stays near twice what is live. Left to V8's
// own choice it reached 210-290 MB in the same churn here (five to six and a half times live).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { describe, expect, it, vi } from 'vitest';
import { tuneHeapForServing } from './server-heap.js';

const MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server-heap.ts');

/** Keeps `live` reachable, promotes garbage in batches, and reports the old space's peak and what stays live. */
const CHURN = `
import v8 from 'node:v8';
import { tuneHeapForServing } from ${JSON.stringify(MODULE)};
tuneHeapForServing();
const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
const live = [];
for (let i = 0; i < 6e5; i++) live.push({ i, s: 'live' + i });
let peak = 0;
let held = [];
for (let round = 0; round < 300; round++) {
  for (let i = 0; i < 20000; i++) held.push({ round, i, s: 'g' + i });
  if (held.length > 200000) held = [];
  peak = Math.max(peak, oldSpace().space_size);
}
held = [];
globalThis.gc();
console.log(JSON.stringify({ peak, live: oldSpace().space_used_size, kept: live.length }));
`;

describe('tuneHeapForServing', () => {
  it('keeps the old generation near twice what is live while garbage is promoted', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHURN], { timeout: 60_000 });
    const { peak, live, kept } = JSON.parse(stdout) as { peak: number; live: number; kept: number };
    expect(kept).toBe(6e5);
    expect(live).toBeGreaterThan(30 * 2 ** 20);
    expect(peak).toBeLessThan(3.5 * live);
  });

  it('leaves the factor an operator set on the command line', () => {
    const set = vi.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    try {
      tuneHeapForServing(['--heap-growing-percent=50']);
      tuneHeapForServing(['--heap_growing_percent', '50']);
      expect(set).not.toHaveBeenCalled();
      tuneHeapForServing(['--max-old-space-size=512']);
      expect(set).toHaveBeenCalledWith('--heap-growing-percent=100');
    } finally {
      set.mockRestore();
    }
  });
});
