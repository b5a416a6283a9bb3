import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decidedAgainWhileFlowing } from './decided-while-flowing.js';

/** Six one-byte chunks, each made 4 ms after the one before and let flow before the next is made. */
function ticking(clock: { now: number }): Readable {
  const source = new Readable({ read() {} });
  void (async () => {
    for (let i = 0; i < 6 && !source.destroyed; i++) {
      clock.now = i * 4;
      source.push(Buffer.from([i]));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    source.push(null);
  })();
  return source;
}

async function read(stream: Readable): Promise<number[]> {
  const bytes: number[] = [];
  for await (const chunk of stream) bytes.push(...(chunk as Buffer));
  return bytes;
}

describe('decidedAgainWhileFlowing', () => {
  it('asks again only once the interval has passed since the last decision, and passes every byte while the answer is yes', async () => {
    const clock = { now: 0 };
    const asked: number[] = [];
    const out = decidedAgainWhileFlowing(ticking(clock), { now: () => clock.now, everyMs: 10, decideAgain: async () => void asked.push(clock.now) });
    expect(await read(out)).toEqual([0, 1, 2, 3, 4, 5]);
    // Decided at 0: asked at the chunk made at 12 ms, then not again before 22 ms.
    expect(asked).toEqual([12]);
  });

  it('passes nothing past a refusal, and ends with its error', async () => {
    const clock = { now: 0 };
    const out = decidedAgainWhileFlowing(ticking(clock), { now: () => clock.now, everyMs: 10, decideAgain: async () => { throw new Error('refused'); } });
    const bytes: number[] = [];
    out.on('data', (chunk: Buffer) => bytes.push(...chunk));
    await expect(finished(out)).rejects.toThrow('refused');
    expect(bytes).toEqual([0, 1, 2]);
  });

  it('stops its source when the reader goes away', async () => {
    const source = new Readable({ read() { this.push(Buffer.alloc(1024)); } });
    const out = decidedAgainWhileFlowing(source, { now: () => 0, everyMs: 10, decideAgain: async () => undefined });
    out.once('data', () => out.destroy());
    await finished(source).catch(() => undefined);
    expect(source.destroyed).toBe(true);
  });
});
