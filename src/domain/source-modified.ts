// The time a file was last modified at its source (a migrated share), as an uploader or
// `strongroom import` states it. It is metadata the vault keeps, not something it can check, so the
// rule is only that it is a real date and time and not from the future: a day of leeway covers a
// source machine whose clock or time zone is off.
import { invalid } from './errors.js';

const FUTURE_LEEWAY_MS = 24 * 60 * 60 * 1000;
// A calendar date and time with seconds optional, fractions optional, and an explicit zone (Z or ±hh:mm):
// a time without a zone would be read in whatever zone the server runs in.
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export const SOURCE_MODIFIED_FIELD = 'sourceModifiedAt';

/** The stated time, normalised to UTC ISO 8601 with milliseconds; INVALID when not a zoned date-time or more than a day ahead of `now`. */
export function validateSourceModified(raw: string, now: Date): string {
  const m = ISO_DATE_TIME.exec(raw);
  const at = m ? new Date(raw) : null;
  // Date.parse rolls 2024-02-30 over into March; a date that does not round-trip to its own fields is not a date.
  if (!m || !at || Number.isNaN(at.getTime()) || !realCalendarFields(m)) {
    throw invalid(`${SOURCE_MODIFIED_FIELD} must be an ISO 8601 date and time with a time zone, such as 2024-03-01T09:30:00Z.`, { field: SOURCE_MODIFIED_FIELD });
  }
  if (at.getTime() > now.getTime() + FUTURE_LEEWAY_MS) {
    throw invalid(`${SOURCE_MODIFIED_FIELD} is more than a day in the future; check the source machine's clock.`, { field: SOURCE_MODIFIED_FIELD });
  }
  return at.toISOString();
}

function realCalendarFields(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '00'].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day >= 1 && day <= daysInMonth;
}
