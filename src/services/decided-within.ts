// A records change (a legal hold, a retention event, a disposal step, a subject access request's step), an
// administrator's change and an arrangement's step (proposed, amended, accepted, suspended, ended, resumed) decided
// before its transaction and decided again inside it, on the actor as the transaction reads them: one switched
// off, signed out or whose token was revoked meanwhile (IdentityService.actorWithin), or whose role, team or
// clearance no longer allows it (decide() asked again), is refused, audited in the transaction, which commits the
// refusal's event and nothing else; the caller then throws it. Other writes decided again in their transaction
// (AccessService.requireWithin) read the person there too, but hold their row shared, and audit a refusal after
// the rollback instead.
import type { Action } from '../domain/access/actions.js';
import type { Acceptance, Decision, Resource } from '../domain/access/policy.js';
import { type DomainError, notFound } from '../domain/errors.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import type { AuditTarget } from './audit-events.js';
import type { IdentityService } from './identity.service.js';

/** What a change decided within needs: its store, the access service and the identity service's actorWithin. */
export interface DecidedWithinParts {
  store: Store;
  access: Pick<AccessService, 'checkAllWithin' | 'heldFirst'>;
  identity: Pick<IdentityService, 'actorWithin'>;
}

/** One decision asked again: `action` on `resource`; a refusal is audited as `auditAs` on `target`, and told as `missing` not there (404). */
export interface DecidedAgain {
  action: Action;
  resource: Resource;
  target: AuditTarget;
  auditAs: string;
  missing: string;
  /**
   * What a refusal throws, where the first decision's refusal was not "not there" (e.g. a partner no arrangement
   * lets be asked: 400), or how it is told from the refusal's reason (an arrangement's step, as its first decision tells it).
   */
  refused?: DomainError | ((decision: Decision) => DomainError);
  /** For `arrangement.accept`: whose consent, to which revision, as the first decision was asked. */
  acceptance?: Acceptance;
}

/** The decisions a change rests on; the first is the one a person's own refusal is audited as. */
export type Questions = readonly [DecidedAgain, ...DecidedAgain[]];

/** The actor as the transaction reads them, and the decisions asked again (in the order asked), for the change's events. */
export interface ActingWithin {
  actor: Actor;
  /** The first question's decision. */
  decision: Decision;
  decisions: Decision[];
}

/**
 * Runs `change` in a transaction that first locks the actor's row (so a switching off or a change of role that
 * comes later waits for this commit on PostgreSQL; SQLite has one writer), reads them as it holds them
 * (actorWithin) and asks each of `questions` again of decide() on them (the first is the one a person's refusal
 * is audited as). Refused: the refusal's event is committed, nothing of the change is written, and the refusal
 * is thrown (as users-admin and scim-tokens refuse). Otherwise `change` writes, with the actor and decisions
 * as they are now; whatever it throws rolls the whole transaction back as before.
 *
 * `questions` given as a function are read inside the transaction, after the actor's row is locked: a change
 * resting on a resource that can change meanwhile (a record moved, reclassified) locks and reads it there, so
 * decide() is asked about it as it is then, not as it was read before the transaction.
 */
export async function changeDecidedWithin<T>(
  parts: DecidedWithinParts, actor: Actor, questions: Questions | ((repos: Repos) => Promise<Questions>), change: (repos: Repos, acting: ActingWithin) => Promise<T>,
): Promise<T> {
  const outcome = await parts.store.transaction(async (repos): Promise<{ refused: DomainError } | { done: T }> => {
    // The person first, then the rows, as every change decided again locks them (AccessService.holdActing).
    if (actor.userId !== null) {
      await repos.users.lock(actor.userId);
      parts.access.heldFirst(repos, actor.userId);
    }
    const asked = typeof questions === 'function' ? await questions(repos) : questions;
    const first = asked[0];
    const acting = await parts.identity.actorWithin(repos, actor, first.auditAs, first.target);
    if ('refused' in acting) return acting;
    // One read of the arrangements and holds for every question (a hold over a thousand records asks a thousand).
    const decisions = await parts.access.checkAllWithin(repos, acting.actor, asked);
    const refused = decisions.findIndex((d) => !d.allow);
    if (refused !== -1) {
      const q = asked[refused]!;
      return { refused: typeof q.refused === 'function' ? q.refused(decisions[refused]!) : q.refused ?? notFound(q.missing) };
    }
    return { done: await change(repos, { actor: acting.actor, decision: decisions[0]!, decisions }) };
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.done;
}

/** The question for an organisation action (`records.hold`, `records.dispose`, `records.file-plan`, `subject-access.manage`). */
export function organisationAction(action: Action, organisationId: string, ids: Record<string, string>, auditAs: string, missing: string): DecidedAgain {
  return { action, resource: { kind: 'organisation', organisationId }, target: { organisationId, ids }, auditAs, missing };
}
