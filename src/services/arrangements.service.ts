// Shared-service arrangements: the only grant that opens one organisation's documents to another's staff.
// Host proposes, every partner accepts, either side suspends or ends at once; every change is a revision.
import { randomUUID } from 'node:crypto';
import type { ArrangementAction } from '../domain/access/actions.js';
import type { Acceptance, ArrangementResource, Decision } from '../domain/access/policy.js';
import * as lifecycle from '../domain/arrangements/lifecycle.js';
import { ARRANGEMENT_STANDINGS, withStanding, type StandingArrangement } from '../domain/arrangements/standing.js';
import { arrangementStateHash } from '../domain/audit/arrangement-record.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import type { MailMessage } from '../domain/mail/message.js';
import type { Clock } from '../domain/ports.js';
import type { AccessLevel, Actor, Arrangement, ArrangementStatus, Classification, Collection, Organisation } from '../domain/types.js';
import { ACCESS_LEVELS, ARRANGEMENT_STATUSES, CLASSIFICATIONS } from '../domain/types.js';
import type { ArrangementRevision } from '../domain/arrangements/repositories.js';
import type { Repos, Store } from '../domain/repositories.js';
import { instantOf } from '../domain/uk-time.js';
import { collectionResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { CollectionCreationService } from './collection-creation.service.js';
import { changeDecidedWithin, type DecidedAgain } from './decided-within.js';
import { actorFor, type IdentityService } from './identity.service.js';
import type { PersonNamesService } from './person-names.service.js';
import type { MailService } from './mail.service.js';

/** A revision as its reader sees it: `changedBy` null unless they may identify the person (ArrangementsService.get). */
export type ReaderRevision = ArrangementRevision & { changedByName: string | null };

export interface ArrangementTerms {
  hostOrganisationId: string;
  partnerOrganisationIds: string[];
  serviceArea: string;
  purpose: string;
  lawfulBasis: string;
  agreementReference?: string | null;
  accessLevel: string;
  ceiling: string;
  startsAt?: string;
  endsAt?: string | null;
  annualSavingPounds?: number;
}

/** The register's filters: by party, service area, the host's region, lifecycle status or standing now. */
export interface ArrangementFilter {
  organisationId?: string;
  serviceArea?: string;
  region?: string;
  status?: string;
  standing?: string;
}

export interface ReportRow {
  key: string;
  arrangements: number;
  partnerOrganisations: number;
  annualSavingPounds: number;
}

export interface ArrangementsReport {
  byServiceArea: ReportRow[];
  byRegion: ReportRow[];
  totals: { arrangements: number; partnerOrganisations: number; annualSavingPounds: number };
}

export class ArrangementsService {
  constructor(private readonly o: {
    store: Store; access: AccessService; collectionCreation: Pick<CollectionCreationService, 'createWorkspace'>; clock: Clock; serviceAreas: readonly string[];
    /** Tells the partners' org admins, by e-mail, of terms awaiting their acceptance. */
    mail?: MailService;
    /** Who made each revision, as a reader may know them. */
    personNames: Pick<PersonNamesService, 'namesFor'>;
    /** Reads the org admin again inside the transaction that writes a step (changeDecidedWithin). */
    identity: Pick<IdentityService, 'actorWithin'>;
  }) {}

  /** The host's org admin proposes (draft); a system actor may create it already approved (`approve`). */
  async propose(actor: Actor, terms: ArrangementTerms, options: { approve?: boolean } = {}): Promise<StandingArrangement> {
    const clean = await this.validTerms(terms);
    const approve = options.approve === true;
    if (approve && actor.kind !== 'system') throw invalid('Only an administrator at the command line can create an arrangement already approved by every party.');
    const proposal = lifecycle.propose(randomUUID(), clean, this.o.clock.now(), approve);
    const resource = arrangementResource(proposal.next);
    const target = { organisationId: clean.hostOrganisationId, ids: {} };
    const refused = () => invalid('Only an org admin of the host organisation can propose an arrangement.');
    const decision = await this.o.access.check(actor, 'arrangement.propose', resource, target);
    if (!decision.allow) throw refused();
    const awaiting = await this.awaitingAcceptance(proposal);
    // Decided again on the proposer as the transaction reads them: one switched off or no longer an org admin meanwhile proposes nothing.
    const again: DecidedAgain = { action: 'arrangement.propose', resource, target, auditAs: 'arrangement.propose', missing: 'arrangement', refused };
    const stored = await changeDecidedWithin(this.o, actor, [again], async (repos, { actor: acting, decision: decided }) => {
      await repos.arrangements.insert(proposal.next, acting.userId);
      return this.revise(repos, acting, proposal, decided, {}, awaiting);
    });
    return this.standing(stored);
  }

  /** New terms, in draft only: they become the terms partners accept (termsRevision), and every acceptance is cleared. */
  async amend(actor: Actor, id: string, changes: Partial<Omit<ArrangementTerms, 'hostOrganisationId'>>): Promise<StandingArrangement> {
    const { arrangement: current } = await this.authorize(actor, id, 'arrangement.amend');
    const clean = await this.validTerms({ ...current, ...changes, hostOrganisationId: current.hostOrganisationId });
    return this.commit(actor, current, 'arrangement.amend', lifecycle.amend(current, clean, this.o.clock.now()));
  }

  /**
   * A partner accepts the terms of the revision it reviewed. People accept for their own
   * organisation; an administrator at the command line records a named partner's acceptance.
   */
  async accept(actor: Actor, id: string, review: { revision: number; partnerOrganisationId?: string }): Promise<StandingArrangement> {
    if (!Number.isSafeInteger(review.revision) || review.revision < 1) throw invalid('Give the revision of the terms you reviewed, a whole number such as 3.', { field: 'revision' });
    const partnerId = actor.kind === 'system' ? review.partnerOrganisationId : actor.organisationId;
    if (!partnerId) throw invalid('Name the partner organisation whose acceptance you are recording.', { field: 'partner' });
    const acceptance: Acceptance = { organisationId: partnerId, reviewedRevision: review.revision };
    const { arrangement: current } = await this.authorize(actor, id, 'arrangement.accept', acceptance);
    return this.commit(actor, current, 'arrangement.accept', lifecycle.accept(current, partnerId, this.o.clock.now()), {
      partnerOrganisationId: partnerId, reviewedRevision: String(review.revision),
    }, acceptance);
  }

  async suspend(actor: Actor, id: string): Promise<StandingArrangement> {
    const { arrangement } = await this.authorize(actor, id, 'arrangement.suspend');
    return this.commit(actor, arrangement, 'arrangement.suspend', lifecycle.suspend(arrangement, this.o.clock.now()));
  }

  async end(actor: Actor, id: string): Promise<StandingArrangement> {
    const { arrangement } = await this.authorize(actor, id, 'arrangement.end');
    return this.commit(actor, arrangement, 'arrangement.end', lifecycle.end(arrangement, this.o.clock.now()));
  }

  /** Back to draft with every acceptance cleared: reopening access needs the partners' word again. */
  async resume(actor: Actor, id: string): Promise<StandingArrangement> {
    const { arrangement } = await this.authorize(actor, id, 'arrangement.resume');
    return this.commit(actor, arrangement, 'arrangement.resume', lifecycle.resume(arrangement, this.o.clock.now()));
  }

  /**
   * Stores the change (row and parties) in place of `current`, and records the stored result as the new
   * revision, in one transaction: the revision is what the policy will read, never a wish beside it.
   * Refused if anyone changed the arrangement since `current` was read and decided on. The step (`action`, with
   * the partner's `acceptance`) is decided again in that transaction on the actor as it reads them
   * (changeDecidedWithin), on `current`, which the save then finds unchanged: an org admin switched off, signed
   * out, whose token was revoked or whose role was taken away since `authorize` is refused as it would have
   * been there (audited in the transaction), and nothing is written.
   */
  private async commit(actor: Actor, current: Arrangement, action: ArrangementAction, change: lifecycle.Change, extraIds: Record<string, string> = {}, acceptance?: Acceptance): Promise<StandingArrangement> {
    const awaiting = await this.awaitingAcceptance(change);
    const again: DecidedAgain = {
      action, resource: arrangementResource(current), target: this.stepTarget(current, acceptance), auditAs: action, missing: 'arrangement',
      refused: (decision) => refusal(action, decision, current, acceptance), ...(acceptance ? { acceptance } : {}),
    };
    const stored = await changeDecidedWithin(this.o, actor, [again], async (repos, { actor: acting, decision }) => {
      if (!(await repos.arrangements.save(change.next, current.revision, acting.userId))) {
        throw conflict('This arrangement was changed by someone else at the same moment. Reload it, review it and try again.');
      }
      return this.revise(repos, acting, change, decision, extraIds, awaiting);
    });
    return this.standing(stored);
  }

  /** What the arrangement means now (in force, not yet started, past its end), beside its lifecycle status. */
  private standing(arrangement: Arrangement): StandingArrangement {
    return withStanding(arrangement, this.o.clock.now());
  }

  /**
   * Who is e-mailed when a change leaves terms awaiting the partners (proposed, amended, reinstated): each
   * partner's org admins whom decide() lets read the arrangement as it will be. Asked before the
   * transaction (decide() reads the database itself).
   */
  private async awaitingAcceptance(change: lifecycle.Change): Promise<{ userIds: string[]; message: Extract<MailMessage, { kind: 'arrangement-proposal' }> } | null> {
    const kinds = { 'arrangement.proposed': 'proposed', 'arrangement.amended': 'amended', 'arrangement.reinstated': 'reinstated' } as const;
    const kind = kinds[change.event as keyof typeof kinds];
    if (!this.o.mail || kind === undefined || change.next.status !== 'draft') return null;
    const a = change.next;
    const userIds: string[] = [];
    for (const partnerId of a.partnerOrganisationIds.filter((p) => !a.acceptedBy.includes(p))) {
      for (const admin of (await this.o.store.repos.users.listByOrganisation(partnerId)).filter((u) => u.roles.includes('org_admin') && !u.disabled)) {
        const [may] = await this.o.access.can(actorFor(admin, { channel: 'job', clientAddress: null, requestId: null }), [{ action: 'arrangement.read', resource: arrangementResource(a) }]);
        if (may) userIds.push(admin.id);
      }
    }
    // The terms are not queued: MailService reads them from the arrangement when it sends the mail.
    return { userIds, message: { kind: 'arrangement-proposal', arrangementId: a.id, change: kind } };
  }

  /**
   * Creates the arrangement's joint workspace: a collection in the host organisation for documents of
   * the service itself. Asked here first so the parties are told why a step is refused; the
   * collection creation service asks decide() again itself (it trusts no caller's decision).
   */
  async createWorkspace(actor: Actor, id: string, name: string): Promise<Collection> {
    const { arrangement } = await this.authorize(actor, id, 'arrangement.workspace');
    return this.o.collectionCreation.createWorkspace(actor, arrangement, name);
  }

  /** The arrangement's joint workspaces (top-level collections in the host carrying its id) that the actor may list. */
  async workspaces(actor: Actor, arrangement: Arrangement): Promise<Collection[]> {
    const roots = (await this.o.store.repos.collections.children(arrangement.hostOrganisationId, null)).filter((c) => c.arrangementId === arrangement.id && c.deletedAt === null);
    const listable = await this.o.access.can(actor, roots.map((c) => ({ action: 'collection.list' as const, resource: collectionResource(c) })));
    return roots.filter((_, i) => listable[i]);
  }

  /**
   * An arrangement and the revisions the reader may read as each stood (a non-party reading the register
   * sees none of its drafts). Each revision says who made it as the reader may know them
   * (`changedByName`: a name, "someone in <organisation>", or null for the command line); the person's
   * id (`changedBy`) is kept only for those decide() lets identify them (PersonNamesService.namesFor).
   */
  async get(actor: Actor, id: string): Promise<{ arrangement: StandingArrangement; revisions: ReaderRevision[] }> {
    const { arrangement } = await this.authorize(actor, id, 'arrangement.read');
    // Each revision as decide() would let this reader read the arrangement as it then stood: the register
    // opens an arrangement once in force, not the drafts it was negotiated from (a partner dropped on the
    // way, the purpose and saving first proposed), which stay between that draft's parties.
    const stored = await this.o.store.repos.arrangements.revisions(id);
    const readable = await this.o.access.can(actor, stored.map((r) => ({ action: 'arrangement.read' as const, resource: arrangementResource(r.snapshot) })));
    const revisions = stored.filter((_, i) => readable[i]);
    const people = await this.o.personNames.namesFor(actor, revisions.flatMap((r) => (r.changedBy ? [r.changedBy] : [])));
    return {
      arrangement: this.standing(arrangement),
      revisions: revisions.map((r) => {
        const known = r.changedBy ? people.get(r.changedBy) : undefined;
        return { ...r, changedBy: known?.identified ? r.changedBy : null, changedByName: r.changedBy ? (known?.label ?? 'Someone') : null };
      }),
    };
  }

  /**
   * The register: arrangements the actor may see, with optional filters. `status` is the lifecycle
   * status stored; `standing` what it means now, so "in-force" leaves out one past its end date.
   */
  async list(actor: Actor, filter: ArrangementFilter): Promise<StandingArrangement[]> {
    if (filter.status && !(ARRANGEMENT_STATUSES as readonly string[]).includes(filter.status)) throw invalid(`Status must be one of ${ARRANGEMENT_STATUSES.join(', ')}.`, { field: 'status' });
    if (filter.standing && !(ARRANGEMENT_STANDINGS as readonly string[]).includes(filter.standing)) throw invalid(`Standing must be one of ${ARRANGEMENT_STANDINGS.join(', ')}.`, { field: 'standing' });
    const { standing, ...stored } = filter;
    const all = await this.o.store.repos.arrangements.list({ ...stored, status: stored.status as ArrangementStatus | undefined });
    const readable = await this.o.access.can(actor, all.map((arrangement) => ({ action: 'arrangement.read' as const, resource: arrangementResource(arrangement) })));
    return all.filter((_, i) => readable[i]).map((a) => this.standing(a)).filter((a) => standing === undefined || a.standing === standing);
  }

  /**
   * Savings and partner counts by service area and by region, over the arrangements in force unless a
   * status or standing is asked for: one active but past its end date saves nobody anything now.
   */
  async report(actor: Actor, filter: Pick<ArrangementFilter, 'status' | 'standing'> = {}): Promise<ArrangementsReport> {
    const arrangements = await this.list(actor, filter.status || filter.standing ? filter : { standing: 'in-force' });
    const organisations = new Map((await this.o.store.repos.organisations.list()).map((o) => [o.id, o] as [string, Organisation]));
    const group = (keyOf: (a: Arrangement) => string): ReportRow[] => {
      const rows = new Map<string, { arrangements: number; partners: Set<string>; saving: number }>();
      for (const a of arrangements) {
        const key = keyOf(a);
        const row = rows.get(key) ?? { arrangements: 0, partners: new Set<string>(), saving: 0 };
        row.arrangements += 1;
        a.partnerOrganisationIds.forEach((p) => row.partners.add(p));
        row.saving += a.annualSavingPounds;
        rows.set(key, row);
      }
      return [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, r]) => ({ key, arrangements: r.arrangements, partnerOrganisations: r.partners.size, annualSavingPounds: r.saving }));
    };
    const partners = new Set(arrangements.flatMap((a) => a.partnerOrganisationIds));
    return {
      byServiceArea: group((a) => a.serviceArea),
      byRegion: group((a) => organisations.get(a.hostOrganisationId)?.region ?? 'Unknown'),
      totals: { arrangements: arrangements.length, partnerOrganisations: partners.size, annualSavingPounds: arrangements.reduce((s, a) => s + a.annualSavingPounds, 0) },
    };
  }

  /** Asks decide() (through AccessService, which audits a refusal) and tells the parties why a step is refused. */
  private async authorize(actor: Actor, id: string, action: ArrangementAction, acceptance?: Acceptance): Promise<{ arrangement: Arrangement; decision: Decision }> {
    const arrangement = await this.o.store.repos.arrangements.byId(id);
    if (!arrangement) throw notFound('arrangement');
    const decision = await this.o.access.check(actor, action, arrangementResource(arrangement), this.stepTarget(arrangement, acceptance), acceptance ? { acceptance } : {});
    if (decision.allow) {
      // decide() lets an administrator at the command line take any step; the lifecycle still binds them.
      const step = lifecycle.stepOf(action);
      if (step && !lifecycle.stepAllowedFrom(step, arrangement.status)) throw invalid(refusalMessage(action, lifecycle.LIFECYCLE[step].refused));
      return { arrangement, decision };
    }
    throw refusal(action, decision, arrangement, acceptance);
  }

  /** What a step's decision names: the arrangement, and for an acceptance the revision reviewed and the terms' revision. */
  private stepTarget(arrangement: Arrangement, acceptance?: Acceptance): { organisationId: string; ids: Record<string, string> } {
    const ids: Record<string, string> = { arrangementId: arrangement.id, ...(acceptance ? { reviewedRevision: String(acceptance.reviewedRevision), termsRevision: String(arrangement.termsRevision) } : {}) };
    return { organisationId: arrangement.hostOrganisationId, ids };
  }

  /**
   * Snapshots the arrangement as stored (row and parties, as decide() will read it) as its current revision,
   * with an audit event named by the step (typed, never read out of the prose) carrying the decision that allowed it.
   */
  private async revise(
    repos: Repos, actor: Actor, change: lifecycle.Change, decision: Decision, extraIds: Record<string, string> = {},
    awaiting: Awaited<ReturnType<ArrangementsService['awaitingAcceptance']>> = null,
  ): Promise<Arrangement> {
    const now = this.o.clock.now();
    const id = change.next.id;
    const stored = await repos.arrangements.byId(id);
    if (!stored) throw notFound('arrangement');
    await repos.arrangements.addRevision({ arrangementId: id, revision: stored.revision, change: change.change, snapshot: stored, changedBy: actor.userId, changedAt: now.toISOString() });
    await repos.audit.insert([auditEvent(actor, change.event, { organisationId: stored.hostOrganisationId, ids: { arrangementId: id, revision: String(stored.revision), state: arrangementStateHash(stored), ...extraIds } }, decision, now)]);
    if (awaiting) await this.o.mail?.queue(repos.jobs, now, stored.hostOrganisationId, awaiting.userIds, { ...awaiting.message, revision: stored.revision });
    return stored;
  }

  private async validTerms(t: ArrangementTerms): Promise<lifecycle.Terms> {
    const problems: string[] = [];
    if (!this.o.serviceAreas.includes(t.serviceArea)) problems.push(`unknown service area "${t.serviceArea}"`);
    if (!(ACCESS_LEVELS as readonly string[]).includes(t.accessLevel)) problems.push(`access level must be one of ${ACCESS_LEVELS.join(', ')}`);
    if (!(CLASSIFICATIONS as readonly string[]).includes(t.ceiling)) problems.push(`ceiling must be ${CLASSIFICATIONS.join(' or ')}`);
    if (!t.purpose?.trim()) problems.push('a purpose is required');
    if (!t.lawfulBasis?.trim()) problems.push('a lawful basis is required');
    const partners = [...new Set(t.partnerOrganisationIds)];
    if (partners.length === 0) problems.push('at least one partner organisation is required');
    if (partners.includes(t.hostOrganisationId)) problems.push('the host cannot also be a partner');
    for (const id of [t.hostOrganisationId, ...partners]) if (!(await this.o.store.repos.organisations.byId(id))) problems.push(`unknown organisation ${id}`);
    const startsAt = t.startsAt ? normaliseDate(t.startsAt, 'start', problems) : this.o.clock.now().toISOString();
    const endsAt = t.endsAt ? normaliseDate(t.endsAt, 'end', problems) : null;
    if (endsAt && startsAt && endsAt <= startsAt) problems.push('the end must be after the start');
    const saving = t.annualSavingPounds ?? 0;
    if (!Number.isFinite(saving) || saving < 0) problems.push('the annual saving must be a positive number of pounds');
    if (problems.length > 0) throw invalid(`The arrangement is not valid: ${problems.join('; ')}.`);
    return {
      hostOrganisationId: t.hostOrganisationId, partnerOrganisationIds: partners.sort(), serviceArea: t.serviceArea,
      purpose: t.purpose.trim(), lawfulBasis: t.lawfulBasis.trim(), agreementReference: t.agreementReference?.trim() || null,
      accessLevel: t.accessLevel as AccessLevel, ceiling: t.ceiling as Classification, startsAt, endsAt, annualSavingPounds: Math.round(saving),
    };
  }
}

/** What decide() is asked about an arrangement: its parties, status, acceptances and revisions. */
export function arrangementResource(a: Arrangement): ArrangementResource {
  return {
    kind: 'arrangement',
    arrangement: { id: a.id, hostOrganisationId: a.hostOrganisationId, partnerOrganisationIds: a.partnerOrganisationIds, status: a.status, acceptedBy: a.acceptedBy, revision: a.revision, termsRevision: a.termsRevision },
  };
}

/** A start or end date as the instant it means: a YYYY-MM-DD date is UK midnight at its start (domain/uk-time.ts). */
function normaliseDate(value: string, what: string, problems: string[]): string {
  const instant = instantOf(value);
  if (instant === null) {
    problems.push(`the ${what} date "${value}" is not a date (use YYYY-MM-DD, or a date and time with its offset such as 2027-04-01T09:00:00Z)`);
    return '';
  }
  return instant;
}

/** How a refused step on `arrangement` is told: not there to a non-party, a stale or unknown revision to its acceptor, else why. */
function refusal(action: ArrangementAction, decision: Decision, arrangement: Arrangement, acceptance?: Acceptance): DomainError {
  if (decision.reason === 'not_a_party') return notFound('arrangement');
  if (decision.reason === 'terms_changed') {
    return new DomainError('CONFLICT', `The terms of this arrangement changed since you reviewed them (you reviewed revision ${acceptance!.reviewedRevision}; it is now revision ${arrangement.revision}). Review the new terms and accept again.`, { details: { reviewedRevision: acceptance!.reviewedRevision, termsRevision: arrangement.termsRevision, revision: arrangement.revision } });
  }
  if (decision.reason === 'no_such_revision') {
    return invalid(`This arrangement has no revision ${acceptance!.reviewedRevision} yet (it is at revision ${arrangement.revision}). Review the current terms and accept those.`, { field: 'revision' });
  }
  return invalid(refusalMessage(action, decision.reason));
}

function refusalMessage(action: ArrangementAction, reason: string): string {
  const messages: Record<string, string> = {
    role: 'Only an org admin of a party can do that.',
    host_only: 'Only the host organisation can change the terms, and only while the arrangement is a draft.',
    not_pending_for_you: 'This arrangement is not waiting for your organisation\'s acceptance.',
    not_a_partner: 'Only a partner organisation of this arrangement can accept it.',
    not_active: 'Only an active arrangement can be suspended.',
    already_ended: 'This arrangement has already ended.',
  };
  if (reason === 'host_only' && action === 'arrangement.resume') return 'Only the host organisation can reinstate an arrangement, and only a suspended one.';
  if (reason === 'host_only' && action === 'arrangement.workspace') return 'Only the host organisation can set up a joint workspace, and not once the arrangement has ended.';
  return messages[reason] ?? `You cannot ${action.replace('arrangement.', '')} this arrangement.`;
}
