import { describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../domain/ports.js';
import { PASSWORD_CHECKS_BUSY, PasswordCheckGate, hasherAround, passwordCheckLimits } from './password-check-gate.js';

/** A hasher whose calls each wait until the test ends them, in the order they started. */
function heldHasher() {
  const started: { password: string; end: (ok: boolean) => void; fail: (error: Error) => void }[] = [];
  const hasher: PasswordHasher = {
    hash: (password) => new Promise((resolve, reject) => started.push({ password, end: () => resolve(`hash of ${password}`), fail: reject })),
    verify: (_hash, password) => new Promise((resolve, reject) => started.push({ password, end: resolve, fail: reject })),
    needsRehash: (hash) => hash === 'old',
  };
  return { hasher, started };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PasswordCheckGate', () => {
  it('runs `running` calls at once, lets `waiting` wait in order, and refuses the next at once as busy', async () => {
    const { hasher, started } = heldHasher();
    const gate = hasherAround(hasher, new PasswordCheckGate({ running: 2, waiting: 2, retryAfterSeconds: 5 }).inTurn);
    const calls = Promise.allSettled(['a', 'b', 'c', 'd'].map((p) => gate.verify('h', p)));
    await expect(gate.hash('e')).rejects.toMatchObject({ code: 'UNAVAILABLE', message: PASSWORD_CHECKS_BUSY, details: { retryAfterSeconds: 5 } });
    await settle();
    expect(started.map((s) => s.password)).toEqual(['a', 'b']);
    started[1]!.end(true);
    await settle();
    expect(started.map((s) => s.password)).toEqual(['a', 'b', 'c']);
    // Work that fails gives its turn on as well.
    started[0]!.fail(new Error('libargon2 failed'));
    await settle();
    expect(started.map((s) => s.password)).toEqual(['a', 'b', 'c', 'd']);
    started[2]!.end(false);
    started[3]!.end(true);
    expect(await calls).toMatchObject([{ status: 'rejected' }, { value: true }, { value: false }, { value: true }]);
    // All turns given back: two run at once again.
    const again = [gate.hash('f'), gate.hash('g'), gate.hash('h')];
    await settle();
    expect(started.slice(4).map((s) => s.password)).toEqual(['f', 'g']);
    for (const s of started.slice(4)) s.end(true);
    await settle();
    started[6]!.end(true);
    expect(await Promise.all(again)).toEqual(['hash of f', 'hash of g', 'hash of h']);
  });

  it('answers needsRehash without a turn', () => {
    const { hasher } = heldHasher();
    const gate = hasherAround(hasher, new PasswordCheckGate({ running: 1, waiting: 0, retryAfterSeconds: 5 }).inTurn);
    void gate.verify('h', 'a').catch(() => undefined);
    expect(gate.needsRehash('old')).toBe(true);
  });

  it('allows one check at once below eight cores and two from eight, never more, with forty-eight waiting for each', () => {
    expect([1, 2, 4, 7, 8, 16, 64].map((cores) => passwordCheckLimits(cores))).toEqual([1, 1, 1, 1, 2, 2, 2].map((running) => ({ running, waiting: 48 * running, retryAfterSeconds: 5 })));
  });
});
