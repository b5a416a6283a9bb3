import { describe, expect, it } from 'vitest';
import { dueDate } from '../domain/records/subject-access.js';
import { nationOf, ukWorkingDays } from './uk-working-days.js';

describe('UK working days (date-holidays)', () => {
  it('reads the nation from a region', () => {
    expect(nationOf('North West')).toBe('ENG');
    expect(nationOf('Wales')).toBe('ENG');
    expect(nationOf('Scotland')).toBe('SCT');
    expect(nationOf('South of Scotland')).toBe('SCT');
    expect(nationOf('Northern Ireland')).toBe('NIR');
  });

  it('knows each nation’s own bank holidays, and weekends', () => {
    const england = ukWorkingDays('North West');
    const scotland = ukWorkingDays('Scotland');
    const ni = ukWorkingDays('Northern Ireland');
    expect(england('2026-12-28')).toBe(false); // Boxing Day, substitute
    expect(england('2026-12-05')).toBe(false); // Saturday
    expect(england('2026-11-30')).toBe(true);
    expect(scotland('2026-11-30')).toBe(false); // St Andrew's Day
    expect(england('2026-08-03')).toBe(true);
    expect(scotland('2026-08-03')).toBe(false); // Scotland's summer bank holiday
    expect(england('2026-03-17')).toBe(true);
    expect(ni('2026-03-17')).toBe(false); // St Patrick's Day
  });

  it('makes a request received on 30 October due on 1 December in Scotland (St Andrew’s Day falls on the 30th) but 30 November in England', () => {
    expect(dueDate('2026-10-30', ukWorkingDays('North West'))).toBe('2026-11-30');
    expect(dueDate('2026-10-30', ukWorkingDays('Scotland'))).toBe('2026-12-01');
  });
});
