// The single policy decision point. Every interface and job asks decide(); none decides alone.
// Deny by default: each rule is an explicit grant, and anything it does not grant is refused. This module
// holds what binds every family (quarantine, the system, the directory, credential scope, legal holds) and
// hands each family to its own rules: content-policy.ts (documents, versions, collections),
// organisation-policy.ts (administration, audit, quarantine, records), person-policy.ts (people and their
// credentials), directory-policy.ts (SCIM), subject-access-policy.ts and arrangement-policy.ts.
import type { Actor } from '../types.js';
import type { Action } from './actions.js';
import { isContentAction, onlyReads, ruleActionOf, isDestructionAction, isFrozenByHold, isOrganisationAction, isPersonAction, isSubjectAccessAction, isSystemAction } from './actions.js';
import { acceptanceRefusal, decideArrangement } from './arrangement-policy.js';
import { decideContent, isQuarantinedScan } from './content-policy.js';
import { allow, deny, type Decision, type DecisionContext } from './decision.js';
import { decideDirectory } from './directory-policy.js';
import { decideDisposalApproval, decideOrganisation, decideQuarantineItem } from './organisation-policy.js';
import { decidePerson, passwordResetRefusal } from './person-policy.js';
import type { Resource } from './resources.js';
import { decideSubjectAccess } from './subject-access-policy.js';

// What arrangements reach is in arrangement-reach.ts; callers keep asking this module for it.
export { arrangementInForce, arrangementReach, reachableOrganisations, type ArrangementReach } from './arrangement-reach.js';
// What decide() is asked about and answers, and the service areas it grants in; callers keep importing them from here.
export type { Acceptance, ArrangementResource, CollectionResource, DisposalBatchResource, DocumentResource, OrganisationResource, PersonResource, Resource, SubjectAccessResource } from './resources.js';
export type { Decision, DecisionContext } from './decision.js';
export { ownServiceAreas } from './content-policy.js';

export function decide(actor: Actor, action: Action, resource: Resource, context: DecisionContext): Decision {
  // A read beside a change (listing the people one may manage) is decided by the change's rule: the same people.
  const decision = decideUnfrozen(actor, ruleActionOf(action), resource, context);
  if (!decision.allow) return decision;
  // A read-only API token or app password does only what reads (ACTION_EFFECTS), whatever its person may. Asked
  // of what would otherwise be allowed, like a hold: so a `credential_scope` refusal (told plainly, 403) only
  // ever reaches someone who could see the thing, and says nothing of what exists out of their reach. Only 'full'
  // opens changes: a scope that is neither (none Strongroom writes) is taken as the lesser, so this fails closed.
  if (actor.credential && actor.credential.scope !== 'full' && !onlyReads(action)) return deny('credential_scope');
  // A legal hold binds everyone, the system's own jobs included. It is asked last, of what would
  // otherwise be allowed: so a `legal_hold` refusal (which names the hold) only ever reaches someone
  // who could see and act on the record, never one the record is hidden from.
  if (!isFrozenByHold(action)) return decision;
  const hold = resource.kind === 'document' || resource.kind === 'collection' ? context.holds.get(resource.id)?.[0] : undefined;
  return hold ? { allow: false, reason: 'legal_hold', via: null, hold } : decision;
}

function decideUnfrozen(actor: Actor, action: Action, resource: Resource, context: DecisionContext): Decision {
  // Quarantine: malware is never handed out, whoever asks and by whatever route.
  if (resource.kind === 'document' && action === 'document.download' && isQuarantinedScan(resource.versionScan)) return deny(`version_${resource.versionScan}`);
  if (actor.kind === 'system') {
    // A reset needs a person who could use a password, whoever asks: the operator's CLI too.
    if (action === 'person.reset-password' && resource.kind === 'person') {
      const refusal = passwordResetRefusal(resource);
      if (refusal) return refusal;
    }
    // So does consent: even an acceptance an administrator records is a pending partner's, to the terms it reviewed.
    const refusal = action === 'arrangement.accept' && resource.kind === 'arrangement' ? acceptanceRefusal(resource.arrangement, context.acceptance) : null;
    return refusal ?? allow('system');
  }
  if (actor.kind === 'directory') return decideDirectory(actor, action, resource);
  if (actor.organisationId === null || actor.userId === null) return deny('no_identity');
  // People approve disposal; only the system's jobs carry it out. Scan verdicts are the scanner's.
  if (isDestructionAction(action) || isSystemAction(action)) return deny('system_only');

  if (isContentAction(action)) {
    return resource.kind === 'collection' || resource.kind === 'document' ? decideContent(actor, action, resource, context) : deny('wrong_resource');
  }
  if (isOrganisationAction(action)) {
    // Approving a disposal batch is asked of the batch: an early one is never its proposer's to approve.
    if (action === 'records.approve-disposal' && resource.kind === 'disposal-batch') return decideDisposalApproval(actor, resource);
    if (action === 'quarantine.identify') return resource.kind === 'document' || resource.kind === 'collection' ? decideQuarantineItem(actor, action, resource) : deny('wrong_resource');
    if (resource.kind === 'organisation') return decideOrganisation(actor, action, resource);
    if ((action === 'quarantine.destroy' || action === 'quarantine.release') && resource.kind === 'document') return decideQuarantineItem(actor, action, resource);
    // A disposal decision on one record is the organisation's records managers' (the hold over it is asked last).
    if (action === 'records.dispose' && resource.kind === 'document') return decideOrganisation(actor, action, { kind: 'organisation', organisationId: resource.organisationId });
    return deny('wrong_resource');
  }
  if (isPersonAction(action)) {
    return resource.kind === 'person' ? decidePerson(actor, action, resource) : deny('wrong_resource');
  }
  if (isSubjectAccessAction(action)) {
    return resource.kind === 'subject-access' ? decideSubjectAccess(actor, action, resource, context) : deny('wrong_resource');
  }
  return resource.kind === 'arrangement' ? decideArrangement(actor, action, resource, context) : deny('wrong_resource');
}
