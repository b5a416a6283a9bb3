// The UK's clock (Europe/London: GMT in winter, BST in summer) for every date and time a person reads or
// types. Councils work to it, so a date typed into a form means a UK day, from UK midnight, and a time shown
// is UK time, as the retention rules (records/retention.ts ukDate) and e-mails already count them. Instants
// are still stored and compared in UTC (ISO 8601); only what people see and type is local.

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

// Made at first use: loading the time zone's rules costs about 20 ms, which every command of the CLI would
// otherwise pay at start-up.
let wallClock: Intl.DateTimeFormat | undefined;
let dayAndTime: Intl.DateTimeFormat | undefined;
let dayOnly: Intl.DateTimeFormat | undefined;

/** What a UK clock reads at `ms`, as if those figures were a UTC time (for working out the offset). */
function ukWallClockAsUtc(ms: number): number {
  wallClock ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
  const parts = Object.fromEntries(wallClock.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999 (London's clock read 0099 at the start of 0100).
  const at = new Date(Date.UTC(2000, 0, 1, Number(parts.hour), Number(parts.minute), Number(parts.second)));
  at.setUTCFullYear(Number(parts.year), Number(parts.month) - 1, Number(parts.day));
  return at.getTime();
}

/**
 * The instant a UK day begins (ISO 8601, UTC): 2027-01-31 is 2027-01-31T00:00:00.000Z, 2027-07-01 is
 * 2027-06-30T23:00:00.000Z (BST). `date` is a real YYYY-MM-DD date; anything else throws RangeError. The UK's
 * clocks change at 01:00 UTC, never at midnight, so every UK day has exactly one midnight.
 */
export function ukMidnight(date: string): string {
  const asUtc = Date.parse(`${realDate(date)}T00:00:00.000Z`);
  // The offset in force at UTC midnight is the one at UK midnight: the clocks never change between the two.
  const offset = ukWallClockAsUtc(asUtc) - asUtc;
  return new Date(asUtc - offset).toISOString();
}

/**
 * The instant the UK day after `date` begins (ISO 8601, UTC): where a window that includes all of `date` ends.
 * Null after 9999-12-31, whose next day cannot be written as a four-digit year: nothing is later.
 */
export function ukDayEnd(date: string): string | null {
  const after = nextDay(date);
  return DATE_ONLY.test(after) ? ukMidnight(after) : null;
}

/** The day after a YYYY-MM-DD date, written the same way (after 9999-12-31, "+010000-01": not a date). */
export function nextDay(date: string): string {
  return new Date(Date.parse(`${realDate(date)}T00:00:00.000Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** `date` if it is a real date written YYYY-MM-DD (2026-02-30 is not one); RangeError otherwise. */
function realDate(date: string): string {
  const m = DATE_ONLY.exec(date);
  const asUtc = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (Number.isNaN(asUtc) || new Date(asUtc).toISOString().slice(0, 10) !== date) throw new RangeError(`Not a date written YYYY-MM-DD: ${date}`);
  return date;
}

/** "7 December 2026 at 12:59" in UK time; what it was given when that is not a time. */
export function ukDateTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  dayAndTime ??= new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', dateStyle: 'long', timeStyle: 'short' });
  return dayAndTime.format(at);
}

/** "7 December 2026": the UK day of an instant, or a YYYY-MM-DD date as written; what it was given when neither. */
export function ukDay(value: string): string {
  let at = new Date(value);
  if (DATE_ONLY.test(value)) {
    try {
      at = new Date(ukMidnight(value));
    } catch {
      return value;
    }
  }
  if (Number.isNaN(at.getTime())) return value;
  dayOnly ??= new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', dateStyle: 'long' });
  return dayOnly.format(at);
}

/** An ISO 8601 date and time that says its offset from UTC (Z or ±hh:mm), so it names one instant wherever it is read. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The instant a date someone gave means (ISO 8601, UTC): a YYYY-MM-DD date is the start of that UK day; a date
 * and time with its offset is that instant. Null for anything else, a date and time without an offset included
 * (it would mean whatever the server's own time zone made of it).
 */
export function instantOf(value: string): string | null {
  const given = value.trim();
  if (DATE_ONLY.test(given)) {
    try {
      return ukMidnight(given);
    } catch {
      return null;
    }
  }
  const ms = INSTANT.test(given) ? Date.parse(given) : Number.NaN;
  if (Number.isNaN(ms)) return null;
  // Instants are stored and compared as text: one an offset carries out of the four-digit years
  // (9999-12-31T23:00:00-05:00 is +010000-01-01T04:00:00.000Z) would sort before every other.
  const instant = new Date(ms).toISOString();
  return /^\d{4}-/.test(instant) ? instant : null;
}
