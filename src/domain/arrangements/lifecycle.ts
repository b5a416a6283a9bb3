// The lifecycle of a shared-service arrangement, once: which steps are legal from which status, which
// party takes each, and what each does to status, acceptances and terms. decide() reads the table to
// judge a step; ArrangementsService applies the step; pages ask decide() (through can()), never this.
import type { Arrangement, ArrangementStatus } from '../types.js';

export const LIFECYCLE_STEPS = ['propose', 'amend', 'accept', 'suspend', 'resume', 'end', 'workspace'] as const;
export type LifecycleStep = (typeof LIFECYCLE_STEPS)[number];

/** Who takes a step (always an org admin of that party, or an administrator at the command line). */
export type StepTaker = 'host' | 'party' | 'pending_partner';

/** The audit event each change writes. Names kept from the first release, so old and new logs search alike. */
export type ArrangementEvent =
  | 'arrangement.created'
  | 'arrangement.proposed'
  | 'arrangement.amended'
  | 'arrangement.accepted'
  | 'arrangement.suspended'
  | 'arrangement.reinstated'
  | 'arrangement.ended';

export interface StepRule {
  /** Statuses the step may be taken from; null: the step makes a new arrangement. */
  from: readonly ArrangementStatus[] | null;
  by: StepTaker;
  /** decide()'s reason for a refusal because of the status (or, for host steps, the party). */
  refused: string;
  /** decide()'s reason for an allowed step. */
  granted: string;
}

const LIVE: readonly ArrangementStatus[] = ['draft', 'active', 'suspended'];

export const LIFECYCLE: Readonly<Record<LifecycleStep, StepRule>> = {
  // Terms are set by the host alone, and only while nobody relies on them.
  propose: { from: null, by: 'host', refused: 'host_only', granted: 'host_admin' },
  amend: { from: ['draft'], by: 'host', refused: 'host_only', granted: 'host_admin' },
  // A partner consents for itself, to the terms it reviewed (decide() checks the review).
  accept: { from: ['draft'], by: 'pending_partner', refused: 'not_pending_for_you', granted: 'partner_admin' },
  // Either side may stop access at once.
  suspend: { from: ['active'], by: 'party', refused: 'not_active', granted: 'party_admin' },
  // Resuming widens access again, so it goes back to draft and every partner must accept anew.
  resume: { from: ['suspended'], by: 'host', refused: 'host_only', granted: 'host_admin' },
  end: { from: LIVE, by: 'party', refused: 'already_ended', granted: 'party_admin' },
  // The joint workspace lives in the host organisation; setting it up changes nothing of the arrangement.
  workspace: { from: LIVE, by: 'host', refused: 'host_only', granted: 'host_admin' },
};

/** The lifecycle step an arrangement action stands for (`arrangement.read` is not a step). */
export function stepOf(action: string): LifecycleStep | null {
  const step = action.startsWith('arrangement.') ? action.slice('arrangement.'.length) : '';
  return (LIFECYCLE_STEPS as readonly string[]).includes(step) ? (step as LifecycleStep) : null;
}

/** May the step be taken from this status? (Who takes it is decide()'s question.) */
export function stepAllowedFrom(step: LifecycleStep, status: ArrangementStatus): boolean {
  const from = LIFECYCLE[step].from;
  return from === null || from.includes(status);
}

/** Is this partner's acceptance still wanted? */
export function acceptancePending(a: Pick<Arrangement, 'status' | 'partnerOrganisationIds' | 'acceptedBy'>, partnerId: string): boolean {
  return stepAllowedFrom('accept', a.status) && a.partnerOrganisationIds.includes(partnerId) && !a.acceptedBy.includes(partnerId);
}

/** A stored change: the arrangement after the step, the audit event, and the words the revision history shows. */
export interface Change {
  next: Arrangement;
  event: ArrangementEvent;
  change: string;
}

export type Terms = Omit<Arrangement, 'id' | 'status' | 'acceptedBy' | 'revision' | 'termsRevision' | 'createdAt' | 'updatedAt'>;

export class LifecycleError extends Error {
  constructor(readonly step: LifecycleStep, readonly status: ArrangementStatus) {
    super(`The step "${step}" cannot be taken from an arrangement that is ${status}.`);
  }
}

function guard(step: LifecycleStep, a: Arrangement): void {
  if (!stepAllowedFrom(step, a.status)) throw new LifecycleError(step, a.status);
}

const bump = (a: Arrangement, now: Date): Pick<Arrangement, 'revision' | 'updatedAt'> => ({ revision: a.revision + 1, updatedAt: now.toISOString() });

/** A new arrangement: a draft for the partners to accept, or (an administrator's) already approved by all of them. */
export function propose(id: string, terms: Terms, now: Date, approved: boolean): Change {
  const at = now.toISOString();
  const next: Arrangement = {
    id, ...terms, partnerOrganisationIds: [...terms.partnerOrganisationIds],
    status: approved ? 'active' : 'draft', acceptedBy: approved ? [...terms.partnerOrganisationIds].sort() : [],
    revision: 1, termsRevision: 1, createdAt: at, updatedAt: at,
  };
  return approved ? { next, event: 'arrangement.created', change: 'created (approved by administrator)' } : { next, event: 'arrangement.proposed', change: 'proposed' };
}

/** New terms: they become the terms partners accept (termsRevision), and every acceptance is cleared. */
export function amend(a: Arrangement, terms: Terms, now: Date): Change {
  guard('amend', a);
  const { revision, updatedAt } = bump(a, now);
  const next: Arrangement = { ...a, ...terms, hostOrganisationId: a.hostOrganisationId, status: 'draft', acceptedBy: [], revision, termsRevision: revision, updatedAt };
  return { next, event: 'arrangement.amended', change: 'amended (partners must accept again)' };
}

/** A pending partner's acceptance; the last one makes the arrangement active. */
export function accept(a: Arrangement, partnerId: string, now: Date): Change {
  guard('accept', a);
  if (!acceptancePending(a, partnerId)) throw new LifecycleError('accept', a.status);
  const acceptedBy = [...new Set([...a.acceptedBy, partnerId])].sort();
  const allAccepted = a.partnerOrganisationIds.every((p) => acceptedBy.includes(p));
  const next: Arrangement = { ...a, acceptedBy, status: allAccepted ? 'active' : 'draft', ...bump(a, now) };
  return { next, event: 'arrangement.accepted', change: allAccepted ? 'accepted; now active' : 'accepted by one partner' };
}

export function suspend(a: Arrangement, now: Date): Change {
  guard('suspend', a);
  return { next: { ...a, status: 'suspended', ...bump(a, now) }, event: 'arrangement.suspended', change: 'suspended' };
}

/** Back to draft with every acceptance cleared: reopening access needs the partners' word again. */
export function resume(a: Arrangement, now: Date): Change {
  guard('resume', a);
  return { next: { ...a, status: 'draft', acceptedBy: [], ...bump(a, now) }, event: 'arrangement.reinstated', change: 'reinstated as draft (partners must accept again)' };
}

/** Ended now: an end date still in the future (or none) becomes now. */
export function end(a: Arrangement, now: Date): Change {
  guard('end', a);
  const at = now.toISOString();
  const endsAt = a.endsAt === null || Date.parse(a.endsAt) > now.getTime() ? at : a.endsAt;
  return { next: { ...a, status: 'ended', endsAt, ...bump(a, now) }, event: 'arrangement.ended', change: 'ended' };
}
