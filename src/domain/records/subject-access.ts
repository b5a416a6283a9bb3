// Subject access requests (UK GDPR article 15): a person asks a council for the personal data it holds
// about them. The council that received the request (the controller) answers it; the organisations it
// shares services with may hold that person's data for it (a payroll provider's joint workspace, say),
// so the controller's DPO asks each of them to search its own records too. Each organisation's part
// covers its own records only, and everything a part puts in the response stays under a legal hold
// until the request is closed. Plain data and date arithmetic; nothing here does I/O.
import type { CalendarDate } from './retention.js';

export const SUBJECT_ACCESS_STATUSES = ['open', 'closed'] as const;
export type SubjectAccessStatus = (typeof SUBJECT_ACCESS_STATUSES)[number];

/** How a request ended: answered with records, answered that none are held, refused (manifestly unfounded or excessive), or withdrawn. */
export const SUBJECT_ACCESS_OUTCOMES = ['disclosed', 'nothing-held', 'refused', 'withdrawn'] as const;
export type SubjectAccessOutcome = (typeof SUBJECT_ACCESS_OUTCOMES)[number];

export interface SubjectAccessRequest {
  id: string;
  /** The organisation that received the request and answers it. */
  organisationId: string;
  /** The council's own case reference. */
  reference: string;
  /** Who the request is about, as the DPO recorded them: shown only to the DPOs of the parts. */
  subjectName: string;
  /** What tells them apart: former names, employee or payroll numbers, addresses, dates. */
  subjectDetails: string;
  /** When the request (with any identification needed) was received: the clock starts that day. */
  receivedOn: CalendarDate;
  /** One month from receipt (dueDate). */
  dueOn: CalendarDate;
  /** Up to two further months, for complex or numerous requests, with the reason told to the person. */
  extendedDueOn: CalendarDate | null;
  extensionReason: string | null;
  status: SubjectAccessStatus;
  outcome: SubjectAccessOutcome | null;
  closeNote: string | null;
  openedBy: string | null;
  openedAt: string;
  closedBy: string | null;
  closedAt: string | null;
}

/** One organisation's part of a request: the controller's own, or a partner's it asked to search. */
export interface SubjectAccessPart {
  requestId: string;
  organisationId: string;
  askedBy: string | null;
  askedAt: string;
  /** The legal hold that keeps this part's records as they are while the request is open (made with its first record). */
  holdId: string | null;
  /** Set when the part's DPO says their search is finished. */
  searchedAt: string | null;
  searchedBy: string | null;
}

/** A record a part puts in the response: one version of one of its organisation's documents. */
export interface SubjectAccessItem {
  id: string;
  requestId: string;
  organisationId: string;
  documentId: string;
  versionId: string;
  addedBy: string | null;
  addedAt: string;
  removedBy: string | null;
  removedAt: string | null;
}

export const isRequestOpen = (r: Pick<SubjectAccessRequest, 'status'>): boolean => r.status === 'open';

/** The date the response is due by now: the extended date once extended. */
export const currentDueOn = (r: Pick<SubjectAccessRequest, 'dueOn' | 'extendedDueOn'>): CalendarDate => r.extendedDueOn ?? r.dueOn;

/** Whether a day is one the council works (not a weekend, not a bank holiday where it is). */
export type WorkingDays = (date: CalendarDate) => boolean;

const parts = (date: CalendarDate): [number, number, number] => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return [y, m, d];
};
const format = (y: number, m: number, d: number): CalendarDate => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
const daysIn = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();

/**
 * The same day `months` later; where that month has no such day (31 January plus one month), its last
 * day. The ICO's rule for the one-month limit and its extension.
 */
export function addCalendarMonths(date: CalendarDate, months: number): CalendarDate {
  const [y, m, d] = parts(date);
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return format(year, month, Math.min(d, daysIn(year, month)));
}

const nextDay = (date: CalendarDate): CalendarDate => {
  const [y, m, d] = parts(date);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
};

/** The date itself if the council works that day, otherwise the next day it does. */
export function onOrAfterWorkingDay(date: CalendarDate, working: WorkingDays): CalendarDate {
  let day = date;
  // A fortnight of holidays in a row does not happen; the bound only keeps a faulty calendar from looping.
  for (let i = 0; i < 14 && !working(day); i++) day = nextDay(day);
  return day;
}

/**
 * When the response is due: the corresponding day of the month after receipt (its last day where there
 * is none), moved on to the next working day if it falls on a weekend or bank holiday. Extended, the
 * same rule three months after receipt: the one month plus at most two more.
 */
export function dueDate(receivedOn: CalendarDate, working: WorkingDays, options: { extended?: boolean } = {}): CalendarDate {
  return onOrAfterWorkingDay(addCalendarMonths(receivedOn, options.extended ? 3 : 1), working);
}

/** Whole days from `today` to `due` (negative when overdue). */
export function daysLeft(due: CalendarDate, today: CalendarDate): number {
  const [y1, m1, d1] = parts(today);
  const [y2, m2, d2] = parts(due);
  return Math.round((Date.UTC(y2, m2 - 1, d2) - Date.UTC(y1, m1 - 1, d1)) / 86_400_000);
}

/** Limits on what a DPO types, so a page and an audit export stay readable. */
export const SUBJECT_ACCESS_LIMITS = { reference: 100, subjectName: 200, subjectDetails: 2000, reason: 2000, itemsAtOnce: 200 } as const;

/** An extension and a refusal or withdrawal must say why (the person is told); as a hold's release must. */
export const SUBJECT_ACCESS_REASON_MIN = 10;

/** The name of the legal hold a part's records are kept under while the request is open. */
export const subjectAccessHoldName = (reference: string): string => `Subject access request ${reference}`;

const words = (s: string): string[] => s.toLocaleLowerCase('en-GB').split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);

/**
 * Whether a reference names the person the request is about (any word of their name of three letters or
 * more, one of four or more run into other letters or digits, or their whole name). The reference goes where the name must not: the e-mail and notification to
 * a partner's DPOs, and the name of each part's legal hold, which the part's staff are told when it refuses them.
 */
export function referenceNamesSubject(reference: string, subjectName: string): boolean {
  const inReference = new Set(words(reference));
  const name = words(subjectName);
  // Run together ("SAR-SamSmith", "SMITH4411"), a name is as plain as standing alone: a word of four letters or
  // more, or the whole name, anywhere in the reference's letters and digits (separators dropped) names them.
  const solid = words(reference).join('');
  return name.some((w) => (w.length >= 3 && inReference.has(w)) || (w.length >= 4 && solid.includes(w))) || (name.length > 0 && solid.includes(name.join('')));
}
