// Coalesced inserts: what is asked for in one turn goes out in one write, in order; nobody is answered
// before their write is; one caller's bad input fails only that caller.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { CoalescedInserts, MAX_COALESCED_ROWS } from './coalesced-inserts.js';

function recording(fail?: (rows: string[]) => Error | undefined) {
  const writes: string[][] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const inserts = new CoalescedInserts<string>(async (rows) => {
    writes.push(rows);
    await gate;
    const error = fail?.(rows);
    if (error) throw error;
  });
  return { inserts, writes, release };
}

const settled = (promise: Promise<void>) => promise.then(() => 'resolved', (error: Error) => `rejected: ${error.message}`);

describe('CoalescedInserts', () => {
  it('writes the rows asked for in one turn as one write, in order, and answers each caller only when it is done', async () => {
    const { inserts, writes, release } = recording();
    let answered = 0;
    const calls = [inserts.add(['a']), inserts.add(['b', 'c']), inserts.add(['d'])].map((p) => p.then(() => answered++));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([['a', 'b', 'c', 'd']]);
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
    expect(writes).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('caps a write at about MAX_COALESCED_ROWS rows without splitting a caller\'s own', async () => {
    const { inserts, writes, release } = recording();
    release();
    const many = Array.from({ length: MAX_COALESCED_ROWS - 1 }, (_, i) => `r${i}`);
    await Promise.all([inserts.add(many), inserts.add(['x', 'y']), inserts.add(['z'])]);
    expect(writes.map((rows) => rows.length)).toEqual([MAX_COALESCED_ROWS + 1, 1]);
    expect(writes[1]).toEqual(['z']);
  });

  it('fails only the caller whose rows are bad input, writing the others', async () => {
    const { inserts, writes, release } = recording((rows) => (rows.includes('bad') ? new DomainError('INVALID', 'bad row') : undefined));
    release();
    const answers = await Promise.all([settled(inserts.add(['a'])), settled(inserts.add(['bad'])), settled(inserts.add(['c']))]);
    expect(answers).toEqual(['resolved', 'rejected: bad row', 'resolved']);
    expect(writes).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('fails every caller of a write the database refused, trying nothing again', async () => {
    const { inserts, writes, release } = recording(() => new Error('disk I/O error'));
    release();
    const answers = await Promise.all([settled(inserts.add(['a'])), settled(inserts.add(['b']))]);
    expect(answers).toEqual(['rejected: disk I/O error', 'rejected: disk I/O error']);
    expect(writes).toEqual([['a', 'b']]);
  });
});
