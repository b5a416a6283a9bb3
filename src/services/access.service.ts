// Asks the policy decision point with fresh facts, and records every refusal in the audit log.
// Services call this; nothing else decides permissions.
import type { Action } from '../domain/access/actions.js';
import { decide, type CollectionResource, type Decision, type DecisionContext, type DocumentResource, type Resource } from '../domain/access/policy.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Arrangement, Classification, Collection, Document } from '../domain/types.js';
import type { Repos, Store } from '../db/store.js';
import { auditEvent, type AuditTarget } from './audit-events.js';

export function collectionResource(c: Collection): CollectionResource {
  return { kind: 'collection', organisationId: c.organisationId, serviceArea: c.serviceArea, classification: c.classification, arrangementId: c.arrangementId };
}

export function documentResource(d: Document): DocumentResource {
  return {
    kind: 'document', organisationId: d.organisationId, serviceArea: d.serviceArea, classification: d.classification,
    status: d.status, deleted: d.deletedAt !== null, legalHold: d.legalHold, arrangementId: d.arrangementId,
  };
}

export class AccessService {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  /** Arrangements that could matter for this actor and these organisations, read fresh (no cached grants). */
  async arrangementsFor(actor: Actor, organisationIds: (string | null)[], repos: Repos = this.store.repos): Promise<Arrangement[]> {
    const ids = [...new Set([actor.organisationId, ...organisationIds].filter((id): id is string => id !== null))];
    return repos.arrangements.involving(ids);
  }

  async context(actor: Actor, organisationIds: (string | null)[], extra: { newClassification?: Classification } = {}): Promise<DecisionContext> {
    return { now: this.clock.now(), arrangements: await this.arrangementsFor(actor, organisationIds), ...extra };
  }

  /**
   * Decides, and on refusal writes a `denied` audit event and throws NOT_FOUND, so a refused
   * actor cannot tell "forbidden" from "does not exist".
   */
  async require(actor: Actor, action: Action, resource: Resource, target: AuditTarget, extra: { newClassification?: Classification } = {}): Promise<Decision> {
    const organisationId = 'organisationId' in resource ? resource.organisationId : null;
    const context = await this.context(actor, [organisationId], extra);
    const decision = decide(actor, action, resource, context);
    if (!decision.allow) {
      await this.recordDenial(actor, action, target, decision);
      // Someone who may see the document is told why they cannot have it yet; nobody else learns it exists.
      if (resource.kind === 'document' && (decision.reason === 'pending_scan' || decision.reason === 'quarantined') && decide(actor, 'document.read', resource, context).allow) {
        throw new DomainError('LOCKED', decision.reason === 'pending_scan'
          ? 'This file is still being checked for malware; it can be used once the check is clean.'
          : 'This file is in quarantine (malware was found, or it is held for a security review). A security admin can release or destroy it.');
      }
      throw notFound(resource.kind === 'collection' ? 'collection' : resource.kind === 'document' ? 'document' : 'resource');
    }
    return decision;
  }

  async recordDenial(actor: Actor, action: string, target: AuditTarget, decision: Decision): Promise<void> {
    await this.store.repos.audit.insert([auditEvent(actor, action, target, decision, this.clock.now())]);
  }
}
