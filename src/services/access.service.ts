// Asks the policy decision point with fresh facts, and records every refusal in the audit log.
// Services call this; nothing else decides permissions, and no other service calls decide() itself.
//   require       decide; a refusal is audited and thrown (404, or 423 for what the actor may see)
//   check         decide; a refusal is audited and handed back, for callers that answer it otherwise
//   can/decisions decide many at once, without auditing: for pages, lists and path look-ups
//   recordDenial  the one way a deny event is written, for refusals decided elsewhere (file policy)
import { isFrozenByHold, type Action, type CreateInsideAction } from '../domain/access/actions.js';
import { decide, reachableOrganisations, type Acceptance, type CollectionResource, type Decision, type DecisionContext, type DocumentResource, type PersonResource, type Resource } from '../domain/access/policy.js';
import { DomainError, forbidden, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Arrangement, Classification, Collection, Document, User } from '../domain/types.js';
import { heldMessage, type HoldRef } from '../domain/records/holds.js';
import { readableClassifications, readableScope } from '../domain/access/readable-scope.js';
import type { ReadableScope } from '../domain/search/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import type { PersonStanding, Standing } from './person-standing.js';

export function collectionResource(c: Collection): CollectionResource {
  return { kind: 'collection', id: c.id, organisationId: c.organisationId, serviceArea: c.serviceArea, classification: c.classification, arrangementId: c.arrangementId };
}

export function documentResource(d: Document): DocumentResource {
  return {
    kind: 'document', id: d.id, organisationId: d.organisationId, serviceArea: d.serviceArea, classification: d.classification,
    status: d.status, deleted: d.deletedAt !== null, arrangementId: d.arrangementId,
  };
}

/** A person's account as decide() is asked about it: whose, in which organisation, and who switched it off. */
export function personResource(u: User): PersonResource {
  return { kind: 'person', userId: u.id, organisationId: u.organisationId, disabledBy: u.disabledBy };
}

/**
 * The person as decide() is asked about switching them off or taking their org admin role: with whether they are
 * the only enabled org admin of their organisation (read with `store`'s repositories: in a transaction, after its
 * row locks).
 */
export async function lastAdminResource(store: Pick<Store, 'repos'>, user: User): Promise<PersonResource> {
  const isEnabledAdmin = (u: User) => !u.disabled && u.roles.includes('org_admin');
  const lastEnabledOrgAdmin = isEnabledAdmin(user) && !(await store.repos.users.listByOrganisation(user.organisationId)).some((u) => u.id !== user.id && isEnabledAdmin(u));
  return { ...personResource(user), lastEnabledOrgAdmin };
}

/** Refusals that someone allowed to see the document is told about (423), by decision reason. */
const LOCKED_BECAUSE: Readonly<Record<string, string>> = {
  pending_scan: 'This file is still being checked for malware; it can be used once the check is clean.',
  quarantined: 'This file is in quarantine (malware was found, or it is held for a security review). A security admin can release or destroy it.',
  version_pending: 'This version is still being checked for malware. Try again shortly.',
  version_infected: 'This version has been quarantined as malware and cannot be downloaded.',
  version_blocked: 'This version has been quarantined (its file type is not allowed) and cannot be downloaded.',
  version_held: 'This version is held in quarantine until a security admin reviews it (it could not be checked for viruses).',
};

/**
 * decide()'s refusal to a read-only API token or app password (`credential_scope`), told plainly (403): decide()
 * gives it only to someone who could otherwise do the thing, so it reveals nothing they could not see.
 */
export const CREDENTIAL_SCOPE = 'credential_scope';

function credentialScopeError(actor: Actor): DomainError {
  const what = actor.credential?.kind === 'app_password' ? 'app password' : 'API token';
  return new DomainError('FORBIDDEN', `This ${what} can only read: it cannot make changes. Use one made with full access, or the web interface.`, { details: { reason: CREDENTIAL_SCOPE } });
}

/** A refusal's audit target: a hold's refusal names the hold, so the register's history shows what each hold stopped. */
function denialTarget(target: AuditTarget, decision: Decision): AuditTarget {
  return decision.hold ? { ...target, ids: { ...target.ids, holdId: decision.hold.id } } : target;
}

/**
 * A change decided before its transaction, refused when decide() was asked again inside it (`requireWithin`): a
 * legal hold placed, or an arrangement suspended, in the moment between; or its person switched off, signed out,
 * their credential revoked or their role, teams or clearance changed. Thrown out of the transaction so it rolls
 * back; `afterRollback` then audits the refusal like any other and answers as `require` would.
 */
export class RefusedWithin extends Error {
  constructor(readonly refusal: {
    /** What the deny event names (the operation's own action: `collection.delete` for a folder). */
    action: string;
    target: AuditTarget;
    decision: Decision;
    /** What the refusal is told of: the document, or the folder being binned or moved (`containing`: for something inside it). */
    told: { kind: 'document' | 'collection'; organisationId: string; containing?: boolean };
    /** The answer to a refusal that is not a hold's (404, or 423 for a document its reader may see; 401 for a person who no longer stands). */
    otherwise: DomainError;
    /** The actor as the transaction read them, whom a hold's refusal is told to (whether it names the hold). */
    decidedOn: Actor;
  }) {
    super(`refused inside the transaction: ${refusal.decision.reason}`);
    this.name = 'RefusedWithin';
  }
}

/** One question for `requireWithin`: the change's action on one document or collection, and how a refusal is recorded and told. */
interface WithinQuestionBase {
  action: Action;
  target: AuditTarget;
  /** The deny event's action, when it is not `action` (a folder's `collection.delete` for a document inside it). */
  auditAs?: string;
  /** For `document.classify`: the classification asked for. */
  newClassification?: Classification;
}

type Told = { kind: 'document' | 'collection'; organisationId: string; containing?: boolean };

/**
 * One question for `requireWithin`. An organisation's action (`records.file-plan` for a refiling made in a
 * move's transaction) names the document or collection a refusal is told of, as absence of it.
 */
export type WithinQuestion = WithinQuestionBase & (
  | {
    resource: CollectionResource | DocumentResource;
    /** What a refusal is told of, when it is not the resource itself (the folder being binned or moved). */
    told?: Told;
  }
  | { resource: Extract<Resource, { kind: 'organisation' }>; told: Told }
);

/** What a refusal of `question` is told of: what it names, else the resource itself. */
function toldOf(question: WithinQuestion): Told {
  return question.told ?? { kind: question.resource.kind as Told['kind'], organisationId: question.resource.organisationId };
}

/** One question for `can`: may this actor do this action on this resource? */
export interface AccessQuestion {
  action: Action;
  resource: Resource;
  newClassification?: Classification;
  /** For `arrangement.accept`: whose consent, to which revision (a page offers the revision it shows). */
  acceptance?: Acceptance;
}

export class AccessService {
  /**
   * Each transaction's reading of its people, by its repositories (a transaction's own set, dropped with it): a
   * transaction that decides again more than once (a copy: read, delete, create) reads its person once.
   */
  readonly #standingWithin = new WeakMap<Repos, Map<string, Standing>>();

  /** The people each transaction held before it locked anything else (`holdActing`, or changeDecidedWithin's lock). */
  readonly #heldFirst = new WeakMap<Repos, Set<string>>();

  /** `standing`: whether a person may still act, read in a transaction (composition gives IdentityService's). */
  constructor(private readonly store: Store, private readonly clock: Clock, private readonly standing: Pick<PersonStanding, 'heldWithin'>) {}

  /**
   * Arrangements that could matter for this actor and these organisations, read fresh (no cached
   * grants). Private (an ES private method, so not reachable at run time either): it returns any
   * organisation's arrangements, drafts included, to whoever asks; only decide() may read them.
   */
  async #arrangementsFor(actor: Actor, organisationIds: (string | null)[], repos: Repos = this.store.repos): Promise<Arrangement[]> {
    const ids = [...new Set([actor.organisationId, ...organisationIds].filter((id): id is string => id !== null))];
    return repos.arrangements.involving(ids);
  }

  /**
   * The active legal holds over the documents and collections asked about, read fresh (a hold placed a
   * moment ago refuses at once). Only questions a hold can refuse need them. Private, like the arrangements.
   */
  async #holdsFor(questions: readonly { action: Action; resource: Resource }[], repos: Repos = this.store.repos): Promise<Map<string, readonly HoldRef[]>> {
    const documentIds: string[] = [];
    const collectionIds: string[] = [];
    for (const { action, resource } of questions) {
      if (!isFrozenByHold(action)) continue;
      if (resource.kind === 'document') documentIds.push(resource.id);
      if (resource.kind === 'collection') collectionIds.push(resource.id);
    }
    const [documents, collections] = await Promise.all([
      repos.holds.activeForDocuments(documentIds), repos.holds.activeForCollections(collectionIds),
    ]);
    return new Map<string, readonly HoldRef[]>([...documents, ...collections]);
  }

  /** What decide() is asked with: now, and the arrangements and holds read fresh. Private, for the same reason. */
  async #context(actor: Actor, questions: readonly { action: Action; resource: Resource }[], extra: { newClassification?: Classification; acceptance?: Acceptance } = {}, repos: Repos = this.store.repos): Promise<DecisionContext> {
    const organisationIds = questions.map(({ resource }) => ('organisationId' in resource ? resource.organisationId : null));
    const [arrangements, holds] = await Promise.all([this.#arrangementsFor(actor, organisationIds, repos), this.#holdsFor(questions, repos)]);
    return { now: this.clock.now(), arrangements, holds, ...extra };
  }

  /**
   * Decides, and on refusal writes a `denied` audit event and throws NOT_FOUND, so a refused
   * actor cannot tell "forbidden" from "does not exist". The Decision it returns (with `via`, the
   * arrangement that allowed a cross-organisation action) is what the caller's event records.
   */
  async require(
    actor: Actor, action: Action, resource: Resource, target: AuditTarget,
    extra: { newClassification?: Classification; /** What a refusal says is missing, when it is not the resource itself (a version, a person). */ missing?: string } = {},
  ): Promise<Decision> {
    const { decision, context } = await this.decideFresh(actor, action, resource, extra.newClassification);
    if (!decision.allow) {
      await this.recordDenial(actor, action, target, decision);
      if (decision.reason === CREDENTIAL_SCOPE) throw credentialScopeError(actor);
      // A hold refuses only what would otherwise be allowed, so whoever meets one may be told which.
      if (decision.hold && (resource.kind === 'collection' || resource.kind === 'document')) {
        throw await this.heldError(actor, resource.kind, resource.organisationId, decision.hold);
      }
      // Someone who may see the document is told why they cannot have it yet; nobody else learns it exists.
      const why = LOCKED_BECAUSE[decision.reason];
      if (resource.kind === 'document' && why && decide(actor, 'document.read', resource, context).allow) throw new DomainError('LOCKED', why);
      throw notFound(extra.missing ?? (resource.kind === 'collection' ? 'collection' : resource.kind === 'document' ? 'document' : 'resource'));
    }
    return decision;
  }

  /** `require` for an organisation action (administration, audit, quarantine, locks) on `organisationId`. */
  async requireOrganisation(actor: Actor, action: Action, organisationId: string, ids: Record<string, string> = {}, extra: { missing?: string } = {}): Promise<Decision> {
    return this.require(actor, action, { kind: 'organisation', organisationId }, { organisationId, ids }, extra);
  }

  /**
   * Decides like `require` and audits a refusal the same way, but hands the refusal back instead of
   * throwing: for callers whose answer to it is not a plain 404 (a name that cannot be used, a
   * folder with something out of reach inside it, an arrangement step whose parties are told why).
   * `acceptance`: for `arrangement.accept`, the consent being given. A read-only credential's refusal is
   * thrown (403) once audited, as `require` throws it: it means the same whatever was asked.
   */
  async check(actor: Actor, action: Action, resource: Resource, target: AuditTarget, extra: { acceptance?: Acceptance } = {}): Promise<Decision> {
    const { decision } = await this.decideFresh(actor, action, resource, undefined, extra.acceptance);
    if (!decision.allow) await this.recordDenial(actor, action, target, decision);
    if (decision.reason === CREDENTIAL_SCOPE) throw credentialScopeError(actor);
    return decision;
  }

  /**
   * `check` inside the caller's transaction: arrangements and holds are read with its repositories (so
   * after the row locks it took, a hold committed a moment ago is seen), and a refusal's audit event is
   * written in it. For the destroying transaction, so no hold can slip between the decision and the act.
   * `auditAs`: the action the refusal's event names, when it is the change's own (`user.enable`), so a
   * refused change sits beside the allowed ones in the log.
   */
  async checkWithin(repos: Repos, actor: Actor, action: Action, resource: Resource, target: AuditTarget, extra: { auditAs?: string } = {}): Promise<Decision> {
    const context = await this.#context(actor, [{ action, resource }], {}, repos);
    const decision = decide(actor, action, resource, context);
    if (!decision.allow) await repos.audit.insert([auditEvent(actor, extra.auditAs ?? action, denialTarget(target, decision), decision, this.clock.now())]);
    return decision;
  }

  /**
   * checkWithin for many questions, with one read of the arrangements and holds for all of them (a hold placed
   * over a thousand records asks about each): decides them in order and stops at the first refusal, which is
   * audited as checkWithin audits it. Returns every decision made, the refused one last.
   */
  async checkAllWithin(repos: Repos, actor: Actor, questions: readonly { action: Action; resource: Resource; target: AuditTarget; auditAs?: string; acceptance?: Acceptance }[]): Promise<Decision[]> {
    if (questions.length === 0) return [];
    const context = await this.#context(actor, questions, {}, repos);
    const decisions: Decision[] = [];
    for (const q of questions) {
      const decision = decide(actor, q.action, q.resource, q.acceptance === undefined ? context : { ...context, acceptance: q.acceptance });
      decisions.push(decision);
      if (!decision.allow) {
        await repos.audit.insert([auditEvent(actor, q.auditAs ?? q.action, denialTarget(q.target, decision), decision, this.clock.now())]);
        break;
      }
    }
    return decisions;
  }

  /**
   * decide() asked again inside the transaction that makes a change decided before it began (a delete, a move,
   * a rename, an upload, what a WebDAV Overwrite bins), after `holds.lockForChanging` locked the rows in question,
   * on the person as the transaction reads them, not as `actor` says (their request began before): their row is
   * held against change until the commit (PersonStanding.heldWithin), and one switched off or removed, signed out,
   * whose token or app password was revoked, or who now needs a second factor, is refused with that reason (401);
   * otherwise every question is decided on their roles, teams, clearance and organisation as they are now. The
   * holds and arrangements are read with the transaction's repositories, so a hold placed in the moment between
   * the first decision and this one refuses (one placed later waits for this commit on PostgreSQL; SQLite has one
   * writer). Nothing is audited here, since the transaction is about to roll back: the first refusal is thrown
   * as RefusedWithin, and the transaction's caller hands it to `afterRollback`. Returns the decisions, all
   * allowed and made on the person as they are now, for the change's own events.
   */
  async requireWithin(repos: Repos, actor: Actor, questions: readonly WithinQuestion[]): Promise<Decision[]> {
    if (questions.length === 0) return [];
    const standing = await this.#standingIn(repos, actor);
    if ('refused' in standing) {
      const question = questions[0]!;
      throw new RefusedWithin({
        action: question.auditAs ?? question.action, target: question.target, decision: { allow: false, reason: standing.reason, via: null },
        told: toldOf(question), otherwise: standing.refused, decidedOn: actor,
      });
    }
    const now = standing.actor;
    const context = await this.#context(now, questions, {}, repos);
    const decisions = questions.map((q) => decide(now, q.action, q.resource, q.newClassification === undefined ? context : { ...context, newClassification: q.newClassification }));
    const refused = decisions.findIndex((d) => !d.allow);
    if (refused === -1) return decisions;
    const question = questions[refused]!;
    const decision = decisions[refused]!;
    const told = toldOf(question);
    // As `require` answers: someone who may see the document is told why they cannot change it yet; nobody else learns it exists.
    const why = LOCKED_BECAUSE[decision.reason];
    const otherwise = decision.reason === CREDENTIAL_SCOPE ? credentialScopeError(now)
      : told.kind === 'document' && question.resource.kind === 'document' && why && decide(now, 'document.read', question.resource, context).allow
        ? new DomainError('LOCKED', why) : notFound(told.kind);
    throw new RefusedWithin({ action: question.auditAs ?? question.action, target: question.target, decision, told, otherwise, decidedOn: now });
  }

  /**
   * Holds the acting person's row (share-locked on PostgreSQL) and reads them, as the first thing a transaction
   * that decides a change again does, before it locks or writes any document, collection or other row. One lock
   * order everywhere, the person first and then the rows: a records change (changeDecidedWithin) locks its person
   * first too, so the same person moving a document while placing a hold on it queues at their own row instead of
   * each holding what the other waits for (a deadlock PostgreSQL ends by failing one). A refusal is not thrown
   * here but kept, and thrown by the transaction's first `requireWithin`, which refuses to read a person this did
   * not hold first (a path that forgot would lock in the other order).
   */
  async holdActing(repos: Repos, actor: Actor): Promise<void> {
    if (actor.kind !== 'user' || actor.userId === null || repos === this.store.repos) return;
    this.heldFirst(repos, actor.userId);
    await this.#standingIn(repos, actor);
  }

  /** Notes that `repos`' transaction locked `userId`'s row before anything else (changeDecidedWithin locks it exclusively itself). */
  heldFirst(repos: Repos, userId: string): void {
    let held = this.#heldFirst.get(repos);
    if (!held) this.#heldFirst.set(repos, held = new Set());
    held.add(userId);
  }

  /** The person as `repos`' transaction reads them, read (and their row held) at its first decision and kept for the rest of it. */
  async #standingIn(repos: Repos, actor: Actor): Promise<Standing> {
    // Only a person is read again; the system and a directory stand as they are, and are never kept (two directories
    // acting in one transaction must not be taken for each other).
    if (actor.kind !== 'user' || actor.userId === null) return { actor };
    // Outside a transaction nothing is held and nothing may be kept: the Store's own repositories are never a key.
    if (repos === this.store.repos) return this.standing.heldWithin(repos, actor);
    // Held only after rows were locked, the person would be locked in the order opposite to a records change's.
    if (this.#heldFirst.get(repos)?.has(actor.userId) !== true) {
      throw new Error('A change was decided again in a transaction that did not hold its person first (AccessService.holdActing).');
    }
    const key = `${actor.userId}:${actor.credential?.kind ?? ''}:${actor.credential?.id ?? ''}`;
    let read = this.#standingWithin.get(repos);
    if (!read) this.#standingWithin.set(repos, read = new Map());
    let standing = read.get(key);
    if (!standing) read.set(key, standing = await this.standing.heldWithin(repos, actor));
    if ('refused' in standing) return standing;
    // What the transaction read of the person, on the actor asking now: the rest (lock tokens, request id) is theirs.
    const { organisationId, roles, teams, clearance } = standing.actor;
    return { actor: { ...actor, organisationId, roles, teams, clearance } };
  }

  /**
   * The error to throw once a transaction rolled back on `error`: a RefusedWithin is audited like every refusal
   * (the deny event names the hold) and becomes what `require` would have thrown (409 naming the hold to whoever
   * could otherwise act, else 404 or 423); any other error is handed back as it is. In a catch:
   * `throw await access.afterRollback(actor, error)`.
   */
  async afterRollback(actor: Actor, error: unknown): Promise<unknown> {
    if (!(error instanceof RefusedWithin)) return error;
    const { action, target, decision, told, otherwise, decidedOn } = error.refusal;
    await this.recordDenial(actor, action, target, decision);
    return decision.hold ? this.heldError(decidedOn, told.kind, told.organisationId, decision.hold, { containing: told.containing === true }) : otherwise;
  }

  /**
   * The refusal a hold causes, told to someone who could otherwise have acted. The hold's name is the
   * owning organisation's to know (`records.hold-names`): anyone else learns that a hold is in force, not what it is called.
   */
  async heldError(actor: Actor, kind: 'document' | 'collection', organisationId: string, hold: HoldRef, options: { containing?: boolean } = {}): Promise<DomainError> {
    const named = (await this.decisionFor(actor, 'records.hold-names', { kind: 'organisation', organisationId })).allow;
    return new DomainError('CONFLICT', heldMessage(kind, hold, { ...options, named }), { details: { holdId: hold.id } });
  }

  private async decideFresh(actor: Actor, action: Action, resource: Resource, newClassification?: Classification, acceptance?: Acceptance): Promise<{ decision: Decision; context: DecisionContext }> {
    const context = await this.#context(actor, [{ action, resource }], {
      ...(newClassification === undefined ? {} : { newClassification }), ...(acceptance === undefined ? {} : { acceptance }),
    });
    return { decision: decide(actor, action, resource, context), context };
  }

  /**
   * Creating inside a collection is decided in two steps. First the action on the collection as it
   * is (refused → 404, so nobody learns of a folder they may not open, and nothing about their input
   * is judged before that). Then this: what would be created must be within the actor's reach too.
   * That refusal is told plainly (403): the actor sees the collection. It takes nothing on trust from
   * its caller: it reads the parent again by id and decides both steps itself (a parent it may not
   * create in at all is refused as not there, 404, audited).
   */
  async requireCreatable(actor: Actor, action: CreateInsideAction, parentId: string, created: Classification): Promise<Decision> {
    return (await this.requireCreatableIn(actor, action, parentId, () => ({ classification: created }))).decision;
  }

  /**
   * `requireCreatable` for a caller that has only the parent's id and works out what it would create
   * from the parent (an upload is classified at least as its collection is). `judge` is called only
   * once the action on the parent as it is was allowed, so nothing about the caller's input is judged
   * or told before that; it may refuse the input by throwing, and what it returns (its classification
   * decides the second step) is handed back with the parent as stored and the decision. One read of
   * the parent and one of the arrangements serve both steps.
   */
  async requireCreatableIn<Created extends { classification: Classification }>(
    actor: Actor, action: CreateInsideAction, parentId: string, judge: (parent: Collection) => Created,
  ): Promise<{ parent: Collection; decision: Decision; created: Created }> {
    const parent = await this.store.repos.collections.byId(parentId);
    if (!parent || parent.deletedAt) throw notFound('collection');
    const resource = collectionResource(parent);
    const context = await this.#context(actor, [{ action, resource }]);
    const asItIs = decide(actor, action, resource, context);
    if (!asItIs.allow) {
      await this.recordDenial(actor, action, { organisationId: parent.organisationId, ids: { collectionId: parent.id } }, asItIs);
      throw asItIs.reason === CREDENTIAL_SCOPE ? credentialScopeError(actor) : notFound('collection');
    }
    const created = judge(parent);
    const { classification } = created;
    const decision = decide(actor, action, resource, { ...context, newClassification: classification });
    if (decision.allow) return { parent, decision, created };
    await this.recordDenial(actor, action, { organisationId: parent.organisationId, ids: { collectionId: parent.id, classification } }, decision);
    throw forbidden(`You cannot create something classified ${classification} here: that is above your clearance, or above what your access to this collection allows.`);
  }

  /**
   * Answers many questions at once, without auditing: for building pages and lists (which buttons,
   * which links, which breadcrumbs). One fresh read of the arrangements for all of them; the
   * answers come from the same decide() that `require` enforces, so a page never offers what the
   * action would refuse. Never use it to let an action through: that is `require`'s job.
   */
  async can(actor: Actor, questions: readonly AccessQuestion[]): Promise<boolean[]> {
    return (await this.decisions(actor, questions)).map((d) => d.allow);
  }

  /**
   * `can` with the whole Decision of each answer, still without auditing: for a caller that keeps a
   * refusal to record later, only if the request ends on it (WebDAV resolving a path), or to filter
   * many items with one read of the arrangements.
   */
  async decisions(actor: Actor, questions: readonly AccessQuestion[]): Promise<Decision[]> {
    if (questions.length === 0) return [];
    const context = await this.#context(actor, questions);
    return questions.map((q) => decide(actor, q.action, q.resource, {
      ...context, ...(q.newClassification === undefined ? {} : { newClassification: q.newClassification }), ...(q.acceptance === undefined ? {} : { acceptance: q.acceptance }),
    }));
  }

  /** `decisions` for a single question. */
  async decisionFor(actor: Actor, action: Action, resource: Resource): Promise<Decision> {
    const [decision] = await this.decisions(actor, [{ action, resource }]);
    return decision!;
  }

  /** Keeps the items the actor may do `action` on (one read of the arrangements, no auditing). */
  async filter<T>(actor: Actor, action: Action, items: readonly T[], resourceOf: (item: T) => Resource): Promise<T[]> {
    const answers = await this.can(actor, items.map((item) => ({ action, resource: resourceOf(item) })));
    return items.filter((_, i) => answers[i]);
  }

  /**
   * Other organisations the actor reaches through arrangements in force now (domain
   * `reachableOrganisations`, on fresh arrangements): which organisations pages, WebDAV folders and
   * "recent documents" look in. It opens nothing: every item found there is still decided.
   */
  async reachableOrganisations(actor: Actor): Promise<string[]> {
    return reachableOrganisations(actor, await this.#arrangementsFor(actor, []), this.clock.now());
  }

  /**
   * What the actor may read, as grants the search index applies inside its query (domain
   * `readableScope`, built from the rules decide() uses, on arrangements read now: a suspension counts
   * at the next search). It opens nothing else: search is the only caller.
   */
  async readableScope(actor: Actor): Promise<ReadableScope> {
    return readableScope(actor, await this.#arrangementsFor(actor, []), this.clock.now());
  }

  /**
   * The classifications of an organisation's documents the actor may read at most (domain
   * `readableClassifications`, on arrangements read now), for a listing to ask its store for those rows only.
   * It opens nothing: every row read is still decided.
   */
  async readableClassifications(actor: Actor, organisationId: string): Promise<readonly Classification[] | 'any'> {
    return readableClassifications(actor, await this.#arrangementsFor(actor, [organisationId]), organisationId, this.clock.now());
  }

  /** `can` for a single question. */
  async may(actor: Actor, action: Action, resource: Resource): Promise<boolean> {
    const [answer] = await this.can(actor, [{ action, resource }]);
    return answer === true;
  }

  /** `may` inside the caller's transaction: the facts are read with its repositories (SQLite has one connection). */
  async mayWithin(repos: Repos, actor: Actor, action: Action, resource: Resource): Promise<boolean> {
    return decide(actor, action, resource, await this.#context(actor, [{ action, resource }], {}, repos)).allow;
  }

  /**
   * Writes the deny event of a refusal: every refusal in the vault is recorded here, in one shape
   * (the Decision's reason, `via` null). Refusals decide() made come through `require`/`check`;
   * others (the file-type policy, a copy of an unscanned version) pass their own reason.
   */
  async recordDenial(actor: Actor, action: string, target: AuditTarget, decision: Decision): Promise<void> {
    // Only refusals: an allow event is written by the service that made the change, in its transaction.
    // Otherwise any holder of AppServices could write an allow event of its choosing (an
    // `arrangement.accepted` vouching for a row edited in the database, say) past `audit verify`.
    if (decision.allow) throw new Error(`recordDenial was handed an allow decision for ${action}: only refusals are recorded here`);
    // A hold's refusal names the hold, so the register's history shows what each hold stopped.
    await this.store.repos.audit.insert([auditEvent(actor, action, denialTarget(target, decision), decision, this.clock.now())]);
  }

  /** `recordDenial` for a refusal another rule made (the file-type policy, an unscanned source), by its reason. */
  async recordRefusal(actor: Actor, action: string, target: AuditTarget, reason: string): Promise<void> {
    await this.recordDenial(actor, action, target, { allow: false, reason, via: null });
  }
}
