// When a record falls due: pure date arithmetic over calendar dates (YYYY-MM-DD, UK local dates).
// A document's retention comes from its series (its own, or inherited from its collection), its
// trigger date (its creation date, or a recorded event) and any extension a records manager set.
import type { DisposalAction, RecordSeries, RetentionTrigger } from './series.js';
import { isEventTrigger } from './series.js';

/** A calendar date, YYYY-MM-DD. Retention is counted in UK calendar days, not instants. */
export type CalendarDate = string;

const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real date written as YYYY-MM-DD (2026-02-30 is not one), between the years 1900 and 2999. */
export function isCalendarDate(value: string): boolean {
  const m = CALENDAR_DATE.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1900 || year > 2999 || month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function parts(date: CalendarDate): [number, number, number] {
  const m = CALENDAR_DATE.exec(date);
  if (!m || !isCalendarDate(date)) throw new RangeError(`Not a calendar date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const format = (year: number, month: number, day: number): CalendarDate =>
  `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

// Made at first use: loading the time zone's rules costs about 20 ms, which every command of the
// CLI would otherwise pay at start-up, most of them without ever dating a record.
let london: Intl.DateTimeFormat | undefined;

/** The UK calendar date of an instant (a document created at 00:30 BST on 1 April is dated 1 April). */
export function ukDate(instant: Date | string): CalendarDate {
  london ??= new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });
  return london.format(typeof instant === 'string' ? new Date(instant) : instant);
}

/**
 * The end of the UK financial year (1 April to 31 March) a date falls in: 31 March of the same year
 * for dates up to and including 31 March, otherwise 31 March of the next year.
 */
export function financialYearEnd(date: CalendarDate): CalendarDate {
  const [year, month] = parts(date);
  return format(month <= 3 ? year : year + 1, 3, 31);
}

/** The same day `years` later; 29 February becomes 28 February in a year that has none. */
export function addYears(date: CalendarDate, years: number): CalendarDate {
  const [year, month, day] = parts(date);
  const target = year + years;
  return format(target, month, Math.min(day, daysInMonth(target, month)));
}

export const compareDates = (a: CalendarDate, b: CalendarDate): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * How a change moves one record's due date, or null when it stays. No due date (null) means awaiting an
 * event: never due. `dated`: from none to a date (the record may now fall due); `undated`: from a date
 * to none. Whether `dated` counts as bringing a record forward is the caller's rule: refiling it under
 * another series does (a period cut short), recording its first trigger event does not (that is how a
 * record awaiting its event gets its date).
 */
export type DueDateMove = 'earlier' | 'later' | 'dated' | 'undated';

export function dueDateMove(oldDueAt: CalendarDate | null, newDueAt: CalendarDate | null): DueDateMove | null {
  if (oldDueAt === newDueAt) return null;
  if (oldDueAt === null) return 'dated';
  if (newDueAt === null) return 'undated';
  return compareDates(newDueAt, oldDueAt) < 0 ? 'earlier' : 'later';
}

export type RetentionFacts =
  /** No series applies: the document is kept until someone files it. */
  | { state: 'unfiled' }
  /** The series' trigger is an event that has not been recorded for this document or its collections. */
  | { state: 'awaiting_event'; seriesCode: string; trigger: RetentionTrigger; action: DisposalAction }
  | {
      state: 'scheduled';
      seriesCode: string;
      trigger: RetentionTrigger;
      /** The date the period counts from: the document's creation date, or the recorded event's date. */
      triggerDate: CalendarDate;
      /** The first day the record may be disposed of. */
      dueAt: CalendarDate;
      action: DisposalAction;
      /** True when a records manager's extension keeps the record beyond its rule (the due date is theirs, not the rule's). */
      extended: boolean;
    };

export interface RetentionInput {
  /** The series that applies (the document's own, or its nearest collection's), or null. */
  series: Pick<RecordSeries, 'code' | 'trigger' | 'retainYears' | 'action'> | null;
  /** When the document was created (an ISO instant). */
  createdAt: string;
  /**
   * The date of the series' trigger event recorded for the document (or inherited from a collection).
   * For a date trigger it replaces the creation date: a migrated record dated before its upload.
   */
  eventDate: CalendarDate | null;
  /** An extension a records manager set at disposal review: the record is kept at least until then. */
  retainUntil: CalendarDate | null;
}

export function retentionOf(input: RetentionInput): RetentionFacts {
  const { series } = input;
  if (!series) return { state: 'unfiled' };
  const base = { seriesCode: series.code, trigger: series.trigger, action: series.action };
  let triggerDate: CalendarDate;
  if (input.eventDate !== null) triggerDate = input.eventDate;
  else if (isEventTrigger(series.trigger)) return { state: 'awaiting_event', ...base };
  else triggerDate = ukDate(input.createdAt);
  const start = series.trigger === 'financial_year_end' ? financialYearEnd(triggerDate) : triggerDate;
  const ruled = addYears(start, series.retainYears);
  // An extension is a minimum: the record is kept until the later of it and its rule's date. So neither an
  // extension decided before its series was lengthened, nor a series shortened or an event re-dated after it,
  // brings the record's disposal forward of either (and awaiting an event, above, keeps it whatever the date).
  if (input.retainUntil !== null && compareDates(input.retainUntil, ruled) > 0) return { state: 'scheduled', ...base, triggerDate, dueAt: input.retainUntil, extended: true };
  return { state: 'scheduled', ...base, triggerDate, dueAt: ruled, extended: false };
}

/** Is a record with these facts due for disposal on `today`? Awaiting an event or unfiled: never. */
export function isDue(facts: RetentionFacts, today: CalendarDate): boolean {
  return facts.state === 'scheduled' && compareDates(facts.dueAt, today) <= 0;
}
