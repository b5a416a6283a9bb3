// The file plan: record series an organisation files its records under, each with the rule that says
// how long its records are kept and what happens to them then. Plain data; nothing here does I/O.
import type { ServiceArea } from '../types.js';

/**
 * What starts a series' retention period. `created` and `financial_year_end` are known from the
 * document itself; every other trigger is an event a records manager records (for a document or a
 * whole collection). A series may name an event of its own (a lower-case code such as `case_closed`).
 */
export const BUILT_IN_TRIGGERS = ['created', 'financial_year_end', 'employment_end', 'contract_end', 'product_end', 'process_complete'] as const;
export type BuiltInTrigger = (typeof BUILT_IN_TRIGGERS)[number];
/** A built-in trigger, or the code of an event the series names. */
export type RetentionTrigger = string;

/** Triggers that need no recorded event: the document's own dates start the period. */
export const DATE_TRIGGERS: readonly RetentionTrigger[] = ['created', 'financial_year_end'];
export const isEventTrigger = (trigger: RetentionTrigger): boolean => !DATE_TRIGGERS.includes(trigger);

/** A trigger code: a built-in one, or an event name of lower-case letters, digits and underscores. */
export const TRIGGER_PATTERN = /^[a-z][a-z0-9_]{1,39}$/;

export const DISPOSAL_ACTIONS = ['destroy', 'review', 'transfer'] as const;
/** What happens when the period ends: destroy, review (a person decides), or transfer to an archive. */
export type DisposalAction = (typeof DISPOSAL_ACTIONS)[number];

/** A series code: upper-case letters and digits in groups, e.g. `PAY-01`. */
export const SERIES_CODE_PATTERN = /^[A-Z][A-Z0-9]{0,9}(-[A-Z0-9]{1,10}){0,3}$/;

export const MAX_RETAIN_YEARS = 150;

export interface RecordSeries {
  organisationId: string;
  code: string;
  title: string;
  serviceArea: ServiceArea;
  trigger: RetentionTrigger;
  /** Whole years after the trigger date (0 allowed: due on the trigger date). */
  retainYears: number;
  action: DisposalAction;
  /** The statute or guidance the rule rests on. */
  authority: string;
  /** Bumped by every change; each revision is kept. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** A stored revision of a series: what it was set to, by whom, and why. */
export interface SeriesRevision {
  revision: number;
  snapshot: RecordSeries;
  reason: string;
  changedBy: string | null;
  changedAt: string;
}
