// Builds audit events from an actor and what they did. Ids only: never names, content or personal details.
import type { Decision } from '../domain/access/policy.js';
import type { Actor } from '../domain/types.js';
import type { PendingAuditEvent } from '../domain/repositories.js';

export interface AuditTarget {
  organisationId: string | null;
  ids: Record<string, string>;
}

export function auditEvent(
  actor: Actor,
  action: string,
  target: AuditTarget,
  decision: Pick<Decision, 'allow' | 'reason' | 'via'>,
  time: Date,
): PendingAuditEvent {
  return {
    time: time.toISOString(),
    actorUserId: actor.userId,
    actorOrganisationId: actor.organisationId,
    action,
    targetOrganisationId: target.organisationId,
    targetIds: target.ids,
    decision: decision.allow ? 'allow' : 'deny',
    reason: decision.reason,
    arrangementId: decision.via,
    channel: actor.channel,
    clientAddress: actor.clientAddress,
    requestId: actor.requestId,
  };
}
