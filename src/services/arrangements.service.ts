// Shared-service arrangements: the only grant that opens one organisation's documents to another's staff.
// Host proposes, every partner accepts, either side suspends or ends at once; every change is a revision.
import { randomUUID } from 'node:crypto';
import type { ArrangementAction } from '../domain/access/actions.js';
import { decide, type Acceptance } from '../domain/access/policy.js';
import { arrangementStateHash } from '../domain/audit/arrangement-record.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { AccessLevel, Actor, Arrangement, ArrangementStatus, Classification, Collection, Organisation } from '../domain/types.js';
import { ACCESS_LEVELS, ARRANGEMENT_STATUSES, CLASSIFICATIONS } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { CollectionsService } from './collections.service.js';

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
  constructor(private readonly o: { store: Store; access: AccessService; collections: CollectionsService; clock: Clock; serviceAreas: readonly string[] }) {}

  /** The host's org admin proposes (draft); a system actor may create it already approved (`approve`). */
  async propose(actor: Actor, terms: ArrangementTerms, options: { approve?: boolean } = {}): Promise<Arrangement> {
    const clean = await this.validTerms(terms);
    const now = this.o.clock.now().toISOString();
    const approve = options.approve === true;
    if (approve && actor.kind !== 'system') throw invalid('Only an administrator at the command line can create an arrangement already approved by every party.');
    const arrangement: Arrangement = {
      id: randomUUID(), ...clean, status: approve ? 'active' : 'draft', acceptedBy: approve ? [...clean.partnerOrganisationIds] : [],
      revision: 1, termsRevision: 1, createdAt: now, updatedAt: now,
    };
    const decision = decide(actor, 'arrangement.propose', { kind: 'arrangement', arrangement }, { now: this.o.clock.now(), arrangements: [] });
    if (!decision.allow) {
      await this.o.access.recordDenial(actor, 'arrangement.propose', { organisationId: clean.hostOrganisationId, ids: {} }, decision);
      throw invalid('Only an org admin of the host organisation can propose an arrangement.');
    }
    return this.o.store.transaction(async (repos) => {
      await repos.arrangements.insert(arrangement, actor.userId);
      return this.revise(repos, actor, arrangement.id, approve ? 'created (approved by administrator)' : 'proposed', decision.reason);
    });
  }

  /** New terms, in draft only: they become the terms partners accept (termsRevision), and every acceptance is cleared. */
  async amend(actor: Actor, id: string, changes: Partial<Omit<ArrangementTerms, 'hostOrganisationId'>>): Promise<Arrangement> {
    const current = await this.authorize(actor, id, 'arrangement.amend');
    const clean = await this.validTerms({ ...current, ...changes, hostOrganisationId: current.hostOrganisationId });
    const revision = current.revision + 1;
    const updated: Arrangement = { ...current, ...clean, acceptedBy: [], revision, termsRevision: revision, updatedAt: this.o.clock.now().toISOString() };
    return this.commit(actor, current, updated, 'amended (partners must accept again)', 'host_admin');
  }

  /**
   * A partner accepts the terms of the revision it reviewed. People accept for their own
   * organisation; an administrator at the command line records a named partner's acceptance.
   */
  async accept(actor: Actor, id: string, review: { revision: number; partnerOrganisationId?: string }): Promise<Arrangement> {
    if (!Number.isSafeInteger(review.revision) || review.revision < 1) throw invalid('Give the revision of the terms you reviewed, a whole number such as 3.', { field: 'revision' });
    const partnerId = actor.kind === 'system' ? review.partnerOrganisationId : actor.organisationId;
    if (!partnerId) throw invalid('Name the partner organisation whose acceptance you are recording.', { field: 'partner' });
    const acceptance: Acceptance = { organisationId: partnerId, reviewedRevision: review.revision };
    const current = await this.authorize(actor, id, 'arrangement.accept', acceptance);
    const now = this.o.clock.now().toISOString();
    const acceptedBy = [...new Set([...current.acceptedBy, partnerId])].sort();
    const allAccepted = current.partnerOrganisationIds.every((p) => acceptedBy.includes(p));
    const updated: Arrangement = { ...current, acceptedBy, status: allAccepted ? 'active' : 'draft', revision: current.revision + 1, updatedAt: now };
    return this.commit(actor, current, updated, allAccepted ? 'accepted; now active' : 'accepted by one partner', 'partner_admin', {
      partnerOrganisationId: partnerId, reviewedRevision: String(review.revision),
    });
  }

  suspend(actor: Actor, id: string): Promise<Arrangement> {
    return this.transition(actor, id, 'arrangement.suspend', 'suspended', 'suspended');
  }

  end(actor: Actor, id: string): Promise<Arrangement> {
    return this.transition(actor, id, 'arrangement.end', 'ended', 'ended');
  }

  /** Back to draft with every acceptance cleared: reopening access needs the partners' word again. */
  async resume(actor: Actor, id: string): Promise<Arrangement> {
    const current = await this.authorize(actor, id, 'arrangement.resume');
    const updated: Arrangement = { ...current, status: 'draft', acceptedBy: [], revision: current.revision + 1, updatedAt: this.o.clock.now().toISOString() };
    return this.commit(actor, current, updated, 'reinstated as draft (partners must accept again)', 'host_admin');
  }

  private async transition(actor: Actor, id: string, action: ArrangementAction, status: ArrangementStatus, change: string): Promise<Arrangement> {
    const current = await this.authorize(actor, id, action);
    const now = this.o.clock.now().toISOString();
    const updated: Arrangement = { ...current, status, revision: current.revision + 1, updatedAt: now, ...(status === 'ended' && (!current.endsAt || current.endsAt > now) ? { endsAt: now } : {}) };
    return this.commit(actor, current, updated, change, 'party_admin');
  }

  /**
   * Stores `next` (row and parties) in place of `current`, and records the stored result as the new
   * revision, in one transaction: the revision is what the policy will read, never a wish beside it.
   * Refused if anyone changed the arrangement since `current` was read and decided on.
   */
  private commit(actor: Actor, current: Arrangement, next: Arrangement, change: string, reason: string, extraIds: Record<string, string> = {}): Promise<Arrangement> {
    return this.o.store.transaction(async (repos) => {
      if (!(await repos.arrangements.save(next, current.revision, actor.userId))) {
        throw conflict('This arrangement was changed by someone else at the same moment. Reload it, review it and try again.');
      }
      return this.revise(repos, actor, next.id, change, reason, extraIds);
    });
  }

  /** Creates the arrangement's joint workspace: a collection in the host organisation for documents of the service itself. */
  async createWorkspace(actor: Actor, id: string, name: string): Promise<Collection> {
    const arrangement = await this.authorize(actor, id, 'arrangement.workspace');
    return this.o.collections.createWorkspace(actor, arrangement, name);
  }

  async get(actor: Actor, id: string): Promise<{ arrangement: Arrangement; revisions: Awaited<ReturnType<Repos['arrangements']['revisions']>> }> {
    const arrangement = await this.authorize(actor, id, 'arrangement.read');
    return { arrangement, revisions: await this.o.store.repos.arrangements.revisions(id) };
  }

  /** The register: arrangements the actor may see, with optional filters. */
  async list(actor: Actor, filter: { organisationId?: string; serviceArea?: string; region?: string; status?: string }): Promise<Arrangement[]> {
    if (filter.status && !(ARRANGEMENT_STATUSES as readonly string[]).includes(filter.status)) throw invalid(`Status must be one of ${ARRANGEMENT_STATUSES.join(', ')}.`, { field: 'status' });
    const all = await this.o.store.repos.arrangements.list({ ...filter, status: filter.status as ArrangementStatus | undefined });
    const now = this.o.clock.now();
    return all.filter((arrangement) => decide(actor, 'arrangement.read', { kind: 'arrangement', arrangement }, { now, arrangements: [] }).allow);
  }

  /** Savings and partner counts by service area and by region, over arrangements that are active. */
  async report(actor: Actor, filter: { status?: string } = {}): Promise<ArrangementsReport> {
    const arrangements = await this.list(actor, { status: filter.status ?? 'active' });
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

  private async authorize(actor: Actor, id: string, action: ArrangementAction, acceptance?: Acceptance): Promise<Arrangement> {
    const arrangement = await this.o.store.repos.arrangements.byId(id);
    if (!arrangement) throw notFound('arrangement');
    const decision = decide(actor, action, { kind: 'arrangement', arrangement }, { now: this.o.clock.now(), arrangements: [], ...(acceptance ? { acceptance } : {}) });
    if (!decision.allow) {
      const ids: Record<string, string> = { arrangementId: id, ...(acceptance ? { reviewedRevision: String(acceptance.reviewedRevision), termsRevision: String(arrangement.termsRevision) } : {}) };
      await this.o.access.recordDenial(actor, action, { organisationId: arrangement.hostOrganisationId, ids }, decision);
      if (decision.reason === 'not_a_party') throw notFound('arrangement');
      if (decision.reason === 'terms_changed') {
        throw new DomainError('CONFLICT', `The terms of this arrangement changed since you reviewed them (you reviewed revision ${acceptance!.reviewedRevision}; it is now revision ${arrangement.revision}). Review the new terms and accept again.`, { details: { reviewedRevision: acceptance!.reviewedRevision, termsRevision: arrangement.termsRevision, revision: arrangement.revision } });
      }
      if (decision.reason === 'no_such_revision') {
        throw invalid(`This arrangement has no revision ${acceptance!.reviewedRevision} yet (it is at revision ${arrangement.revision}). Review the current terms and accept those.`, { field: 'revision' });
      }
      throw invalid(refusalMessage(action, decision.reason));
    }
    return arrangement;
  }

  /** Snapshots the arrangement as stored (row and parties, as decide() will read it) as its current revision, with an audit event. */
  private async revise(repos: Repos, actor: Actor, id: string, change: string, reason: string, extraIds: Record<string, string> = {}): Promise<Arrangement> {
    const now = this.o.clock.now();
    const stored = await repos.arrangements.byId(id);
    if (!stored) throw notFound('arrangement');
    await repos.arrangements.addRevision({ arrangementId: id, revision: stored.revision, change, snapshot: stored, changedBy: actor.userId, changedAt: now.toISOString() });
    await repos.audit.insert([auditEvent(actor, `arrangement.${change.split(/[ ;(]/)[0]}`, { organisationId: stored.hostOrganisationId, ids: { arrangementId: id, revision: String(stored.revision), state: arrangementStateHash(stored), ...extraIds } }, { allow: true, reason, via: null }, now)]);
    return stored;
  }

  private async validTerms(t: ArrangementTerms): Promise<Omit<Arrangement, 'id' | 'status' | 'acceptedBy' | 'revision' | 'termsRevision' | 'createdAt' | 'updatedAt'>> {
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

function normaliseDate(value: string, what: string, problems: string[]): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    problems.push(`the ${what} date "${value}" is not a date (use YYYY-MM-DD)`);
    return '';
  }
  return new Date(ms).toISOString();
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
  return messages[reason] ?? `You cannot ${action.replace('arrangement.', '')} this arrangement.`;
}
