// The retention schedule every organisation's file plan starts from (assets/retention-schedule.csv),
// and the rules a series must keep whoever writes it: the schedule, a records manager or the API.
// Pure: the caller reads the file; this parses and checks it.
import type { ServiceArea } from '../types.js';
import { BUILT_IN_TRIGGERS, DISPOSAL_ACTIONS, MAX_RETAIN_YEARS, SERIES_CODE_PATTERN, TRIGGER_PATTERN, type DisposalAction, type RecordSeries } from './series.js';

/** What a series says, without whose it is or its history: a row of the schedule, or a records manager's form. */
export type SeriesTerms = Pick<RecordSeries, 'code' | 'title' | 'serviceArea' | 'trigger' | 'retainYears' | 'action' | 'authority'>;

/**
 * RFC 4180 CSV: fields separated by commas, optionally in double quotes (a quote inside one doubled),
 * quoted fields may hold commas, semicolons and line breaks. CRLF or LF line ends; blank lines skipped.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
    field = '';
  };
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  while (i < body.length) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      field += c; i += 1; continue;
    }
    if (c === '"' && field === '') { quoted = true; i += 1; continue; }
    if (c === ',') { row.push(field); field = ''; i += 1; continue; }
    if (c === '\r' && body[i + 1] === '\n') { endRow(); i += 2; continue; }
    if (c === '\n' || c === '\r') { endRow(); i += 1; continue; }
    field += c; i += 1;
  }
  if (quoted) throw new RangeError('The CSV ends inside a quoted field.');
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

const SCHEDULE_COLUMNS = ['code', 'series', 'service_area', 'trigger', 'retain_years', 'action', 'authority'] as const;

/**
 * The schedule's rows as series terms, each checked by `seriesProblems`. Columns are found by their
 * header names, so their order may change. Throws, naming the line, on the first row that is wrong
 * (service areas aside: those are the vault's configuration, checked when an organisation is seeded):
 * a schedule that cannot be trusted is not half-loaded.
 */
export function parseRetentionSchedule(text: string): SeriesTerms[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new RangeError('The retention schedule is empty.');
  const index = Object.fromEntries(SCHEDULE_COLUMNS.map((name) => [name, header.map((h) => h.trim().toLowerCase()).indexOf(name)])) as Record<(typeof SCHEDULE_COLUMNS)[number], number>;
  const missing = SCHEDULE_COLUMNS.filter((name) => index[name] < 0);
  if (missing.length) throw new RangeError(`The retention schedule has no ${missing.join(', ')} column.`);
  const seen = new Set<string>();
  return rows.map((cells, n) => {
    const cell = (name: (typeof SCHEDULE_COLUMNS)[number]) => (cells[index[name]] ?? '').trim();
    const years = cell('retain_years');
    const terms: SeriesTerms = {
      code: cell('code'), title: cell('series'), serviceArea: cell('service_area') as ServiceArea, trigger: cell('trigger'),
      retainYears: /^\d+$/.test(years) ? Number(years) : Number.NaN, action: cell('action') as DisposalAction, authority: cell('authority'),
    };
    // Service areas are checked when an organisation is seeded: a vault configured without one skips its rows.
    const problems = seriesProblems(terms, null);
    if (seen.has(terms.code)) problems.push(`the code ${terms.code} appears twice`);
    if (problems.length) throw new RangeError(`Retention schedule line ${n + 2}: ${problems.join('; ')}.`);
    seen.add(terms.code);
    return terms;
  });
}

export const MAX_SERIES_TITLE = 200;
export const MAX_SERIES_AUTHORITY = 500;

/** Everything wrong with a series' terms, in words a records manager understands; empty when it is fine. */
export function seriesProblems(t: SeriesTerms, serviceAreas: readonly string[] | null): string[] {
  const problems: string[] = [];
  if (!SERIES_CODE_PATTERN.test(t.code)) problems.push(`"${t.code}" is not a series code: use capital letters and digits in groups joined by hyphens, such as PAY-01`);
  if (!t.title.trim()) problems.push('a series needs a title');
  else if (t.title.length > MAX_SERIES_TITLE) problems.push(`a series title is at most ${MAX_SERIES_TITLE} characters`);
  if (serviceAreas !== null && !serviceAreas.includes(t.serviceArea)) problems.push(`"${t.serviceArea}" is not a service area: use one of ${serviceAreas.join(', ')}`);
  if (!isKnownTrigger(t.trigger)) {
    problems.push(`"${t.trigger}" is not a trigger: use one of ${BUILT_IN_TRIGGERS.join(', ')}, or name an event in lower-case letters, digits and underscores (such as case_closed)`);
  }
  if (!Number.isInteger(t.retainYears) || t.retainYears < 0 || t.retainYears > MAX_RETAIN_YEARS) problems.push(`the retention period must be a whole number of years from 0 to ${MAX_RETAIN_YEARS}`);
  if (!(DISPOSAL_ACTIONS as readonly string[]).includes(t.action)) problems.push(`the action must be one of ${DISPOSAL_ACTIONS.join(', ')}`);
  if (!t.authority.trim()) problems.push('a series needs its authority (the statute or guidance it rests on)');
  else if (t.authority.length > MAX_SERIES_AUTHORITY) problems.push(`the authority is at most ${MAX_SERIES_AUTHORITY} characters`);
  return problems;
}

/** A built-in trigger, or an event a series names (lower-case letters, digits and underscores). */
export const isKnownTrigger = (trigger: string): boolean => (BUILT_IN_TRIGGERS as readonly string[]).includes(trigger) || TRIGGER_PATTERN.test(trigger);

/** Words for a trigger on pages: "employment end" for employment_end. */
export const triggerWords = (trigger: string): string => trigger.replace(/_/g, ' ');
