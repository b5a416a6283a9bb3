import { describe, expect, it } from 'vitest';
import { instantOf, nextDay, ukDateTime, ukDay, ukDayEnd, ukMidnight } from './uk-time.js';

describe('UK time', () => {
  it('begins a UK day at UK midnight, GMT or BST, either side of both clock changes', () => {
    expect(ukMidnight('2027-01-31')).toBe('2027-01-31T00:00:00.000Z');
    expect(ukMidnight('2027-07-01')).toBe('2027-06-30T23:00:00.000Z');
    // 2026's clocks go forward on 29 March at 01:00 UTC and back on 25 October at 01:00 UTC.
    expect(ukMidnight('2026-03-29')).toBe('2026-03-29T00:00:00.000Z');
    expect(ukMidnight('2026-03-30')).toBe('2026-03-29T23:00:00.000Z');
    expect(ukMidnight('2026-10-25')).toBe('2026-10-24T23:00:00.000Z');
    expect(ukMidnight('2026-10-26')).toBe('2026-10-26T00:00:00.000Z');
  });

  it('refuses what is not a real date written YYYY-MM-DD', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '7 December 2026', '2026-12-07T00:00:00Z', '']) expect(() => ukMidnight(bad)).toThrow(RangeError);
    for (const bad of ['tomorrow', '2026-02-30']) expect(() => nextDay(bad)).toThrow(RangeError);
  });

  it('counts the next day across months and years', () => {
    expect(nextDay('2026-12-31')).toBe('2027-01-01');
    expect(nextDay('2028-02-28')).toBe('2028-02-29');
  });

  it('shows an instant in UK time, and its UK day', () => {
    expect(ukDateTime('2026-12-07T12:59:00.000Z')).toBe('7 December 2026 at 12:59');
    // Half past eleven at night in UTC is half past midnight the next day in BST.
    expect(ukDateTime('2026-06-30T23:30:00.000Z')).toBe('1 July 2026 at 00:30');
    expect(ukDay('2026-06-30T23:30:00.000Z')).toBe('1 July 2026');
    expect(ukDay('2026-12-31T23:30:00.000Z')).toBe('31 December 2026');
    expect(ukDay('2027-07-01')).toBe('1 July 2027');
  });

  it('gives back what is not a time as it was, rather than failing a page', () => {
    expect(ukDateTime('not a time')).toBe('not a time');
    expect(ukDay('2026-02-30')).toBe('2026-02-30');
  });
});

describe('instantOf', () => {
  it('takes a date as the start of its UK day, and a date and time with its offset as that instant', () => {
    expect(instantOf('2027-07-01')).toBe('2027-06-30T23:00:00.000Z');
    expect(instantOf(' 2027-01-31 ')).toBe('2027-01-31T00:00:00.000Z');
    expect(instantOf('2027-07-01T09:30:00+01:00')).toBe('2027-07-01T08:30:00.000Z');
    expect(instantOf('2027-07-01T08:30Z')).toBe('2027-07-01T08:30:00.000Z');
  });

  it('refuses anything else, a date and time without its offset included', () => {
    for (const bad of ['2027-07-01T09:30:00', '1 July 2027', 'July 1, 2027', '2027-02-29', '1719792000000', '']) expect(instantOf(bad)).toBeNull();
  });

  it('ends a UK day where the next begins, and the last writable day nowhere', () => {
    expect(ukDayEnd('2027-06-30')).toBe('2027-06-30T23:00:00.000Z');
    expect(ukDayEnd('2026-12-31')).toBe('2027-01-01T00:00:00.000Z');
    expect(ukDayEnd('9999-12-31')).toBeNull();
    expect(() => ukDayEnd('2026-02-30')).toThrow(RangeError);
  });

  it('keeps every instant it gives within the four-digit years, which sort as text', () => {
    // London kept local mean time (-00:01:15) then: its clock read 31 December 0099, not 1999.
    expect(ukMidnight('0100-01-01')).toBe('0100-01-01T00:01:15.000Z');
    expect(instantOf('9999-12-31T23:00:00-05:00')).toBeNull();
    expect(instantOf('0000-01-01T00:30:00+14:00')).toBeNull();
    expect(instantOf('9999-12-31T18:59:00-05:00')).toBe('9999-12-31T23:59:00.000Z');
  });
});
