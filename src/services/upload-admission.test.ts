// Upload admission and the fair scanner: each level of a share is enforced on its own, a refusal
// takes nothing, and releasing gives every level back.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import type { ScanVerdict, Scanner } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import { FairScanner } from './fair-scanner.js';
import { UploadAdmission } from './upload-admission.js';

const person = (userId: string, clientAddress: string | null = '192.0.2.1'): Actor => ({
  kind: 'user', userId, organisationId: 'org-a', roles: ['member'], teams: [], clearance: 'OFFICIAL', channel: 'api', clientAddress, requestId: null,
});

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('UploadAdmission', () => {
  const limits = { perAccount: 2, perClient: 3, perOrganisation: 4, total: 5, retryAfterSeconds: 7 };

  it('refuses the account over its share with RATE_LIMITED and a Retry-After, taking nothing', () => {
    const admission = new UploadAdmission(limits);
    const leases = [admission.admit(person('u1', 'a'), 'org-a'), admission.admit(person('u1', 'a'), 'org-a')];
    const error = refusal(() => admission.admit(person('u1', 'a'), 'org-a'));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 7, limit: 'account' } });
    // The refused attempt took no client or organisation slot: a colleague on the same address still gets in.
    admission.admit(person('u2', 'a'), 'org-a');
    expect(refusal(() => admission.admit(person('u3', 'a'), 'org-a'))).toMatchObject({ details: { limit: 'client' } });
    leases[0]!.release();
    leases[0]!.release(); // twice is harmless
    admission.admit(person('u1', 'a'), 'org-a');
  });

  it('bounds an organisation and the whole server, whoever the people are', () => {
    const admission = new UploadAdmission(limits);
    for (let i = 0; i < 4; i++) admission.admit(person(`p${i}`, `c${i}`), 'org-a');
    expect(refusal(() => admission.admit(person('p9', 'c9'), 'org-a'))).toMatchObject({ details: { limit: 'organisation' } });
    admission.admit(person('q1', 'd1'), 'org-b');
    expect(refusal(() => admission.admit(person('q2', 'd2'), 'org-c'))).toMatchObject({ details: { limit: 'total' } });
  });

  it('counts people without an address (the CLI) by account only', () => {
    const admission = new UploadAdmission(limits);
    admission.admit(person('u1', null), 'org-a');
    admission.admit(person('u2', null), 'org-a');
    admission.admit(person('u3', null), 'org-a');
    admission.admit(person('u4', null), 'org-a');
  });
});

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
