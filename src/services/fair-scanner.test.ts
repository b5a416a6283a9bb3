// The fair scanner (per process, like the clamd it protects): each level of a share is enforced on
// its own, a refusal takes nothing, and releasing gives every level back.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ScanVerdict, Scanner } from '../domain/ports.js';
import { FairScanner } from './fair-scanner.js';

class HeldScanner implements Scanner {
  readonly maxStreamBytes = 1024;
  readonly waiting: Array<() => void> = [];
  async scan(): Promise<ScanVerdict> {
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return { outcome: 'clean', engine: 'test' };
  }
  async version(): Promise<string> {
    return 'test';
  }
}

describe('FairScanner', () => {
  it('answers "scanner busy" at once past a share, reads the refused stream to the end, and frees the share afterwards', async () => {
    const inner = new HeldScanner();
    const fair = new FairScanner(inner, { perAccount: 1, perOrganisation: 2, total: 3 });
    const owner = (accountId: string, organisationId: string) => ({ owner: { accountId, organisationId } });
    const first = fair.scan(Readable.from([Buffer.from('a')]), owner('u1', 'org-a'));
    const source = Readable.from([Buffer.from('b'), Buffer.from('c')]);
    expect(await fair.scan(source, owner('u1', 'org-a'))).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining('scanner busy (account') });
    await expect.poll(() => source.readableEnded).toBe(true);
    const second = fair.scan(Readable.from([]), owner('u2', 'org-a'));
    expect(await fair.scan(Readable.from([]), owner('u3', 'org-a'))).toMatchObject({ reason: expect.stringContaining('organisation') });
    const third = fair.scan(Readable.from([]), owner('v1', 'org-b'));
    // The system's own jobs have no organisation: only the total applies to them.
    expect(await fair.scan(Readable.from([]))).toMatchObject({ reason: expect.stringContaining('total') });
    expect(fair.inUse('total')).toBe(3);
    for (const release of inner.waiting.splice(0)) release();
    await Promise.all([first, second, third]);
    expect(fair.inUse('total')).toBe(0);
    const again = fair.scan(Readable.from([]), owner('u1', 'org-a'));
    await expect.poll(() => inner.waiting.length).toBe(1);
    inner.waiting[0]!();
    expect(await again).toEqual({ outcome: 'clean', engine: 'test' });
  });
});
