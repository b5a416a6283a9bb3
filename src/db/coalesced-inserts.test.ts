// Coalesced inserts: what is asked for in one turn goes out in one write, in order; nobody is answered
// before their write is; a caller fails only if its own write fails.
import { describe, expect, it } from 'vitest';
import { CoalescedInserts, MAX_COALESCED_ROWS } from './coalesced-inserts.js';

/** A write that records what it was given, waits for `release`, and fails when `fail` says so. */
function recording(fail?: (callers: string[][]) => Error | undefined) {
  const writes: string[][][] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const inserts = new CoalescedInserts<string>(async (callers) => {
    writes.push(callers);
    await gate;
    const error = fail?.(callers);
    if (error) throw error;
  });
  return { inserts, writes, release };
}

const settled = (promise: Promise<void>) => promise.then(() => 'resolved', (error: Error) => `rejected: ${error.message}`);
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescedInserts', () => {
  it('writes what is asked for in one turn as one write, caller by caller in order, and answers each only when it is done', async () => {
    const { inserts, writes, release } = recording();
    let answered = 0;
    const calls = [inserts.add(['a']), inserts.add(['b', 'c']), inserts.add(['d'])].map((p) => p.then(() => answered++));
    await turn();
    expect(writes).toEqual([[['a'], ['b', 'c'], ['d']]]);
    expect(answered).toBe(0);
    release();
    await Promise.all(calls);
    expect(answered).toBe(3);
  });

  it('starts a new write for what is asked in a later turn', async () => {
    const { inserts, writes, release } = recording();
    release();
    await inserts.add(['a']);
    await Promise.all([inserts.add(['b']), inserts.add(['c'])]);
    await inserts.add(['d']);
    expect(writes).toEqual([[['a']], [['b'], ['c']], [['d']]]);
  });

  it('never lets a write of several callers pass MAX_COALESCED_ROWS rows, nor splits a caller\'s own', async () => {
    const { inserts, writes, release } = recording();
    release();
    const many = Array.from({ length: MAX_COALESCED_ROWS - 1 }, (_, i) => `r${i}`);
    const huge = Array.from({ length: MAX_COALESCED_ROWS + 100 }, (_, i) => `h${i}`);
    await Promise.all([inserts.add(many), inserts.add(['x', 'y']), inserts.add(['z']), inserts.add(huge), inserts.add(['after'])]);
    expect(writes).toEqual([[many], [['x', 'y'], ['z']], [huge], [['after']]]);
  });

  it('when a write of several callers fails, writes each again alone and fails only the caller whose own write fails', async () => {
    const { inserts, writes, release } = recording((callers) => (callers.some((rows) => rows.includes('bad')) ? new Error('index row size exceeds maximum') : undefined));
    release();
    const answers = await Promise.all([settled(inserts.add(['a'])), settled(inserts.add(['bad'])), settled(inserts.add(['c']))]);
    expect(answers).toEqual(['resolved', 'rejected: index row size exceeds maximum', 'resolved']);
    expect(writes).toEqual([[['a'], ['bad'], ['c']], [['a']], [['bad']], [['c']]]);
  });

  it('fails every caller when the database refuses every write', async () => {
    const { inserts, release } = recording(() => new Error('disk I/O error'));
    release();
    const answers = await Promise.all([settled(inserts.add(['a'])), settled(inserts.add(['b']))]);
    expect(answers).toEqual(['rejected: disk I/O error', 'rejected: disk I/O error']);
  });

  it('drained() waits for every write asked for so far, failed ones included', async () => {
    const { inserts, writes, release } = recording((callers) => (callers.length === 1 && callers[0]![0] === 'b' ? new Error('no') : undefined));
    const first = settled(inserts.add(['a']));
    await turn();
    const second = settled(inserts.add(['b']));
    let drained = false;
    const draining = inserts.drained().then(() => {
      drained = true;
    });
    await turn();
    expect(drained).toBe(false);
    release();
    await draining;
    expect(writes).toEqual([[['a']], [['b']]]);
    expect(await Promise.all([first, second])).toEqual(['resolved', 'rejected: no']);
    await inserts.drained();
  });

  it('keeps gathering, over later turns, for as long as gatherBehind holds the batch, then writes it once and says when it is done', async () => {
    const writes: string[][][] = [];
    const events: string[] = [];
    let hold: ((done: () => void) => void) | undefined;
    const held = new Promise<() => void>((resolve) => {
      hold = resolve;
    });
    let asked = 0;
    const inserts = new CoalescedInserts<string>(
      async (callers) => {
        writes.push(callers);
        events.push('written');
      },
      // Only the first batch is held (a sync in flight); later ones are written at once.
      () => (asked++ === 0 ? held : undefined),
    );
    let answered = 0;
    const calls = [inserts.add(['a'])];
    await turn();
    calls.push(inserts.add(['b']));
    await turn();
    calls.push(inserts.add(['c', 'd']));
    await turn();
    for (const call of calls) void call.then(() => answered++);
    expect(writes, 'written while held').toEqual([]);
    hold!(() => events.push('done'));
    await Promise.all(calls);
    expect(writes).toEqual([[['a'], ['b'], ['c', 'd']]]);
    expect(events).toEqual(['written', 'done']);
    expect(answered).toBe(3);
    await inserts.add(['e']);
    expect(writes.at(-1)).toEqual([['e']]);
    expect(asked).toBe(2);
  });

  it('says it is done after a held batch whose write failed, and fails only its own callers', async () => {
    let done = 0;
    const inserts = new CoalescedInserts<string>(
      async () => {
        throw new Error('disk I/O error');
      },
      () => Promise.resolve(() => void done++),
    );
    expect(await Promise.all([settled(inserts.add(['a'])), settled(inserts.add(['b']))])).toEqual(['rejected: disk I/O error', 'rejected: disk I/O error']);
    await inserts.drained();
    expect(done).toBe(1);
  });
});
