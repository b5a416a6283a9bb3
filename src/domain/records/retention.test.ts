import { describe, expect, it } from 'vitest';
import { addYears, dueDateMove, financialYearEnd, isCalendarDate, isDue, retentionOf, ukDate } from './retention.js';

const PAY_01 = { code: 'PAY-01', trigger: 'financial_year_end', retainYears: 6, action: 'destroy' as const };
const HR_01 = { code: 'HR-01', trigger: 'employment_end', retainYears: 7, action: 'review' as const };
const FIN_CREATED = { code: 'X-01', trigger: 'created', retainYears: 1, action: 'destroy' as const };

describe('calendar dates', () => {
  it.each([
    ['2026-05-10', true], ['2024-02-29', true], ['2025-02-29', false], ['2026-13-01', false], ['2026-04-31', false],
    ['2026-4-1', false], ['26-04-01', false], ['1899-12-31', false], ['2026-04-01T00:00:00Z', false], ['', false],
  ])('%s is a calendar date: %s', (value, expected) => expect(isCalendarDate(value)).toBe(expected));

  it.each([
    ['2026-05-10', '2027-03-31'], ['2026-03-31', '2026-03-31'], ['2026-04-01', '2027-03-31'],
    ['2026-01-01', '2026-03-31'], ['2026-12-31', '2027-03-31'], ['2024-02-29', '2024-03-31'],
  ])('the financial year of %s ends %s', (date, end) => expect(financialYearEnd(date)).toBe(end));

  it.each([
    ['2024-02-29', 1, '2025-02-28'], ['2024-02-29', 4, '2028-02-29'], ['2027-03-31', 6, '2033-03-31'], ['2026-09-30', 7, '2033-09-30'], ['2026-01-15', 0, '2026-01-15'],
  ])('%s plus %i years is %s', (date, years, expected) => expect(addYears(date, years)).toBe(expected));

  it('dates an instant by the UK calendar (BST and GMT)', () => {
    expect(ukDate('2026-03-31T23:30:00Z')).toBe('2026-04-01'); // 00:30 BST on 1 April
    expect(ukDate('2026-12-31T23:30:00Z')).toBe('2026-12-31'); // GMT
  });
});

describe('retentionOf', () => {
  it('a PAY-01 payslip with trigger date 10 May 2026 is due 31 March 2033', () => {
    expect(retentionOf({ series: PAY_01, createdAt: '2026-05-10T09:00:00Z', eventDate: null, retainUntil: null })).toEqual({
      state: 'scheduled', seriesCode: 'PAY-01', trigger: 'financial_year_end', triggerDate: '2026-05-10', dueAt: '2033-03-31', action: 'destroy', extended: false,
    });
  });

  it('a payslip dated 31 March is in the financial year ending that day', () => {
    const facts = retentionOf({ series: PAY_01, createdAt: '2026-03-31T12:00:00Z', eventDate: null, retainUntil: null });
    expect(facts).toMatchObject({ triggerDate: '2026-03-31', dueAt: '2032-03-31' });
  });

  it('an HR-01 file awaits employment end, then is due seven years after it', () => {
    expect(retentionOf({ series: HR_01, createdAt: '2020-01-01T00:00:00Z', eventDate: null, retainUntil: null })).toEqual({
      state: 'awaiting_event', seriesCode: 'HR-01', trigger: 'employment_end', action: 'review',
    });
    expect(retentionOf({ series: HR_01, createdAt: '2020-01-01T00:00:00Z', eventDate: '2026-09-30', retainUntil: null })).toMatchObject({
      state: 'scheduled', triggerDate: '2026-09-30', dueAt: '2033-09-30',
    });
  });

  it('a recorded date replaces the creation date of a date-triggered record (a migrated record)', () => {
    expect(retentionOf({ series: PAY_01, createdAt: '2026-11-30T00:00:00Z', eventDate: '2019-06-01', retainUntil: null })).toMatchObject({
      triggerDate: '2019-06-01', dueAt: '2026-03-31',
    });
  });

  it('an extension beyond the rule sets the due date and says so', () => {
    expect(retentionOf({ series: FIN_CREATED, createdAt: '2020-01-01T00:00:00Z', eventDate: null, retainUntil: '2030-01-01' })).toMatchObject({
      dueAt: '2030-01-01', extended: true,
    });
  });

  it('an extension is a minimum: a rule that keeps the record longer wins, and an event not yet recorded keeps it whatever the date', () => {
    expect(retentionOf({ series: FIN_CREATED, createdAt: '2020-01-01T00:00:00Z', eventDate: null, retainUntil: '2021-01-01' })).toMatchObject({ dueAt: '2021-01-01', extended: false });
    expect(retentionOf({ series: FIN_CREATED, createdAt: '2020-01-01T00:00:00Z', eventDate: null, retainUntil: '2020-06-01' })).toMatchObject({ dueAt: '2021-01-01', extended: false });
    expect(retentionOf({ series: { ...FIN_CREATED, trigger: 'employment_end' }, createdAt: '2020-01-01T00:00:00Z', eventDate: null, retainUntil: '2030-01-01' })).toMatchObject({ state: 'awaiting_event' });
  });

  it('an unfiled document is never due', () => {
    const facts = retentionOf({ series: null, createdAt: '2000-01-01T00:00:00Z', eventDate: null, retainUntil: null });
    expect(facts).toEqual({ state: 'unfiled' });
    expect(isDue(facts, '2999-12-31')).toBe(false);
  });

  it('is due on its due date, not the day before', () => {
    const facts = retentionOf({ series: FIN_CREATED, createdAt: '2024-02-29T12:00:00Z', eventDate: null, retainUntil: null });
    expect(facts).toMatchObject({ dueAt: '2025-02-28' });
    expect(isDue(facts, '2025-02-27')).toBe(false);
    expect(isDue(facts, '2025-02-28')).toBe(true);
  });
});


describe('dueDateMove', () => {
  it('tells earlier and later between dates, and gaining or losing a date apart from both', () => {
    expect(dueDateMove('2033-03-31', '2030-03-31')).toBe('earlier');
    expect(dueDateMove('2030-03-31', '2033-03-31')).toBe('later');
    expect(dueDateMove(null, '2030-03-31')).toBe('dated');
    expect(dueDateMove('2030-03-31', null)).toBe('undated');
    expect(dueDateMove('2030-03-31', '2030-03-31')).toBeNull();
    expect(dueDateMove(null, null)).toBeNull();
  });
});
