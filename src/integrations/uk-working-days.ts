// Which days a UK council works: not Saturdays or Sundays, nor the bank holidays of its nation
// (England and Wales share theirs; Scotland and Northern Ireland have their own). From the
// well-kept date-holidays package, loaded at first use so commands that date nothing do not pay for it.
import { createRequire } from 'node:module';
import type { CalendarDate } from '../domain/records/retention.js';
import type { WorkingDays } from '../domain/records/subject-access.js';

type HolidaysCtor = new (country: string, state: string) => { isHoliday(date: Date): false | { type: string }[] };

const require = createRequire(import.meta.url);
const calendars = new Map<string, InstanceType<HolidaysCtor>>();

/** The bank-holiday nation of an organisation's region: free text such as "Scotland" or "North West". */
export function nationOf(region: string): 'SCT' | 'NIR' | 'ENG' {
  if (/scotland/i.test(region)) return 'SCT';
  if (/northern\s+ireland/i.test(region)) return 'NIR';
  return 'ENG';
}

/** The working days of an organisation in this region. */
export function ukWorkingDays(region: string): WorkingDays {
  const nation = nationOf(region);
  return (date: CalendarDate) => {
    const noon = new Date(`${date}T12:00:00Z`);
    const weekday = noon.getUTCDay();
    if (weekday === 0 || weekday === 6) return false;
    let calendar = calendars.get(nation);
    if (!calendar) {
      const Holidays = require('date-holidays') as HolidaysCtor;
      calendar = new Holidays('GB', nation);
      calendars.set(nation, calendar);
    }
    const holidays = calendar.isHoliday(noon);
    return !(holidays && holidays.some((h) => h.type === 'public' || h.type === 'bank'));
  };
}
