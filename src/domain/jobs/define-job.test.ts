// A job's weight in its lane's turns, from the bytes it processes (define-job.ts jobWeight).
import { describe, expect, it } from 'vitest';
import { JOB_WEIGHT_BYTES, jobWeight, MAX_JOB_WEIGHT } from './define-job.js';

describe('jobWeight', () => {
  it('is 1 for no bytes and for anything under a MiB, plus a unit for each whole MiB', () => {
    expect([undefined, 0, 1, JOB_WEIGHT_BYTES - 1].map(jobWeight)).toEqual([1, 1, 1, 1]);
    expect([JOB_WEIGHT_BYTES, 50 * 1000 * 1000, 1024 ** 3, 16 * 1024 ** 3].map(jobWeight)).toEqual([2, 48, 1025, 16385]);
  });

  it('is at most MAX_JOB_WEIGHT, however large the size', () => {
    expect([MAX_JOB_WEIGHT * JOB_WEIGHT_BYTES, 2 ** 60, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE].map(jobWeight)).toEqual([MAX_JOB_WEIGHT, MAX_JOB_WEIGHT, MAX_JOB_WEIGHT, MAX_JOB_WEIGHT]);
    expect(jobWeight((MAX_JOB_WEIGHT - 1) * JOB_WEIGHT_BYTES - 1)).toBe(MAX_JOB_WEIGHT - 1);
  });

  it('refuses what is not a size', () => {
    for (const bytes of [-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(() => jobWeight(bytes)).toThrow(`a job's bytes must be a size in bytes, not ${bytes}`);
  });
});
