import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { validateSourceModified } from './source-modified.js';

const now = new Date('2026-12-04T12:00:00.000Z');
const refusal = (raw: string): string => {
  try {
    validateSourceModified(raw, now);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('INVALID');
    return (error as DomainError).message;
  }
  throw new Error(`${raw} was accepted`);
};
const NOT_A_DATE = 'sourceModifiedAt must be an ISO 8601 date and time with a time zone, such as 2024-03-01T09:30:00Z.';

describe('validateSourceModified', () => {
  it('accepts a zoned ISO date-time and normalises it to UTC', () => {
    expect(validateSourceModified('2019-06-01T08:15:30Z', now)).toBe('2019-06-01T08:15:30.000Z');
    expect(validateSourceModified('2019-06-01T09:15:30.25+01:00', now)).toBe('2019-06-01T08:15:30.250Z');
    expect(validateSourceModified('2024-02-29T00:00Z', now)).toBe('2024-02-29T00:00:00.000Z');
  });

  it('allows a day of clock skew ahead, no more', () => {
    expect(validateSourceModified('2026-12-05T11:59:59Z', now)).toBe('2026-12-05T11:59:59.000Z');
    expect(refusal('2026-12-05T12:00:01Z')).toBe("sourceModifiedAt is more than a day in the future; check the source machine's clock.");
  });

  it.each(['', 'yesterday', '2024-03-01', '2024-03-01T09:30:00', '2023-02-29T10:00:00Z', '2024-13-01T00:00:00Z', '2024-04-31T00:00:00Z',
    '2024-03-01T24:00:00Z', '2024-03-01T09:60:00Z', '1709285400', '2024-03-01T09:30:00Z; drop table', ' 2024-03-01T09:30:00Z'])('refuses %j', (raw) => {
    expect(refusal(raw)).toBe(NOT_A_DATE);
  });
});
