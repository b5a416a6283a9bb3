import { describe, expect, it } from 'vitest';
import { addCalendarMonths, daysLeft, dueDate, onOrAfterWorkingDay, type WorkingDays } from './subject-access.js';

// Weekends off, and two made-up holidays: enough to see each rule without a real calendar.
const HOLIDAYS = new Set(['2026-12-25', '2026-12-28']);
const working: WorkingDays = (date) => {
  const day = new Date(`${date}T12:00:00Z`).getUTCDay();
  return day !== 0 && day !== 6 && !HOLIDAYS.has(date);
};

describe('subject access due dates (the ICO’s calendar-month rule)', () => {
  it('is the corresponding day of the next month, or its last day where there is none', () => {
    expect(addCalendarMonths('2026-01-15', 1)).toBe('2026-02-15');
    expect(addCalendarMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addCalendarMonths('2028-01-31', 1)).toBe('2028-02-29');
    expect(addCalendarMonths('2026-12-31', 1)).toBe('2027-01-31');
    expect(addCalendarMonths('2026-11-30', 3)).toBe('2027-02-28');
  });

  it('moves a due date on a weekend or holiday to the next working day', () => {
    // 24 November + 1 month = 24 December, a Thursday: due that day.
    expect(dueDate('2026-11-24', working)).toBe('2026-12-24');
    // 25 December (holiday, Friday), then the weekend, then 28 December (holiday): Tuesday 29th.
    expect(dueDate('2026-11-25', working)).toBe('2026-12-29');
    // 31 January + 1 month = 28 February 2026, a Saturday: Monday 2 March.
    expect(dueDate('2026-01-31', working)).toBe('2026-03-02');
  });

  it('extends to three months after receipt, by the same rule', () => {
    expect(dueDate('2026-10-31', working, { extended: true })).toBe('2027-02-01');
    expect(dueDate('2026-11-15', working, { extended: true })).toBe('2027-02-15');
  });

  it('gives up looking for a working day after a fortnight rather than looping on a faulty calendar', () => {
    expect(onOrAfterWorkingDay('2026-06-01', () => false)).toBe('2026-06-15');
  });

  it('counts whole days left, negative once overdue, across a change of clocks', () => {
    expect(daysLeft('2026-12-24', '2026-12-05')).toBe(19);
    expect(daysLeft('2026-03-30', '2026-03-28')).toBe(2);
    expect(daysLeft('2026-12-01', '2026-12-05')).toBe(-4);
  });
});
