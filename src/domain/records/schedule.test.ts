// The retention schedule parser: RFC 4180 fields (commas, semicolons, quotes, line breaks inside
// quotes), columns found by name, and a wrong row refused with its line number.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREAS } from '../types.js';
import { parseCsv, parseRetentionSchedule, seriesProblems } from './schedule.js';

const HEADER = 'code,series,service_area,trigger,retain_years,action,authority';

describe('parseCsv', () => {
  it('splits fields on commas, keeps semicolons, and honours quotes', () => {
    expect(parseCsv('a,b;c,"d, e","f ""g"""\r\n\n"h\ni",,\n')).toEqual([['a', 'b;c', 'd, e', 'f "g"'], ['h\ni', '', '']]);
  });
  it('drops a byte-order mark and a missing final line end', () => {
    expect(parseCsv('\uFEFFx,y\nz,w')).toEqual([['x', 'y'], ['z', 'w']]);
  });
  it('refuses a quote left open', () => {
    expect(() => parseCsv('a,"b\n')).toThrow('inside a quoted field');
  });
});

describe('parseRetentionSchedule', () => {
  it('reads the shipped schedule: twelve series, authorities with semicolons intact', () => {
    const schedule = parseRetentionSchedule(readFileSync(new URL('../../../assets/retention-schedule.csv', import.meta.url), 'utf8'));
    expect(schedule).toHaveLength(12);
    expect(schedule.find((s) => s.code === 'PAY-01')).toEqual({
      code: 'PAY-01', title: 'Salary and payroll records', serviceArea: 'payroll', trigger: 'financial_year_end', retainYears: 6, action: 'destroy',
      authority: 'HMRC; council HR retention schedules',
    });
    for (const s of schedule) expect(seriesProblems(s, DEFAULT_SERVICE_AREAS)).toEqual([]);
  });
  it('finds columns by name, in any order', () => {
    expect(parseRetentionSchedule('authority,code,series,service_area,trigger,retain_years,action\n"Act 1; Act 2",X-01,Things,legal,case_closed,0,review\n'))
      .toEqual([{ code: 'X-01', title: 'Things', serviceArea: 'legal', trigger: 'case_closed', retainYears: 0, action: 'review', authority: 'Act 1; Act 2' }]);
  });
  it('refuses a wrong row with its line number, and a missing column', () => {
    expect(() => parseRetentionSchedule(`${HEADER}\nX-01,T,legal,created,1,destroy,A\nX-02,T,legal,created,1.5,burn,A\n`)).toThrow(/^Retention schedule line 3: the retention period .*; the action must be/);
    expect(() => parseRetentionSchedule(`${HEADER}\nX-01,T,legal,created,1,destroy,A\nX-01,T,legal,created,1,destroy,A\n`)).toThrow('line 3: the code X-01 appears twice');
    expect(() => parseRetentionSchedule('code,series\nX-01,T\n')).toThrow('has no service_area, trigger, retain_years, action, authority column');
  });
});

describe('seriesProblems', () => {
  const ok = { code: 'LEG-01', title: 'Case files', serviceArea: 'legal', trigger: 'case_closed', retainYears: 150, action: 'review' as const, authority: 'Limitation Act 1980' };
  it('accepts a good series, and 0 to 150 years', () => {
    expect(seriesProblems(ok, DEFAULT_SERVICE_AREAS)).toEqual([]);
    expect(seriesProblems({ ...ok, retainYears: 0 }, DEFAULT_SERVICE_AREAS)).toEqual([]);
  });
  it.each([
    [{ code: 'leg-01' }, 'is not a series code'],
    [{ title: '  ' }, 'needs a title'],
    [{ serviceArea: 'zoo' }, '"zoo" is not a service area'],
    [{ trigger: 'Case Closed' }, '"Case Closed" is not a trigger'],
    [{ retainYears: 151 }, 'from 0 to 150'],
    [{ retainYears: -1 }, 'from 0 to 150'],
    [{ retainYears: 2.5 }, 'from 0 to 150'],
    [{ action: 'shred' as 'destroy' }, 'the action must be one of destroy, review, transfer'],
    [{ authority: '' }, 'needs its authority'],
  ])('refuses %o', (change, message) => {
    expect(seriesProblems({ ...ok, ...change }, DEFAULT_SERVICE_AREAS).join('; ')).toContain(message);
  });
});
