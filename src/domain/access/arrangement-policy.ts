// Decides the arrangement actions (ARRANGEMENT_ACTIONS): who may read an arrangement (the parties, and the
// register of those in force), and who takes each step of its lifecycle, consent included.
import type { Actor } from '../types.js';
import type { ArrangementAction } from './actions.js';
import { LIFECYCLE, acceptancePending, stepAllowedFrom, stepOf } from '../arrangements/lifecycle.js';
import { allow, deny, hasRole, type Decision, type DecisionContext } from './decision.js';
import type { Acceptance, ArrangementResource } from './resources.js';

export function decideArrangement(actor: Actor, action: ArrangementAction, resource: ArrangementResource, context: DecisionContext): Decision {
  const a = resource.arrangement;
  const org = actor.organisationId ?? '';
  const isHost = a.hostOrganisationId === org;
  const isPartner = a.partnerOrganisationIds.includes(org);
  if (action === 'arrangement.read') {
    // The register of arrangements in force is open to every signed-in user, like the LGA's
    // shared-services map; drafts stay between the parties, and so does a proposal that ended (declined
    // or withdrawn) before every partner accepted it: it never came into force. (One reinstated as a
    // draft and ended before the partners accepted again leaves the register too: on the safe side.)
    if (isHost || isPartner) return allow(isHost ? 'host' : 'partner');
    const everyPartnerAccepted = a.partnerOrganisationIds.every((p) => a.acceptedBy.includes(p));
    return a.status === 'draft' || !everyPartnerAccepted ? deny('not_a_party') : allow('register');
  }
  if (!isHost && !isPartner) return deny('not_a_party');
  if (!hasRole(actor, 'org_admin')) return deny('role');
  // Which status allows which step, and who takes it, is the lifecycle's table (domain/arrangements).
  const step = stepOf(action);
  if (step === null) return deny('unknown_action');
  const rule = LIFECYCLE[step];
  if (rule.by === 'pending_partner') {
    // A person accepts for their own organisation only.
    if (context.acceptance && context.acceptance.organisationId !== org) return deny('not_pending_for_you');
    return acceptanceRefusal(a, context.acceptance) ?? allow(rule.granted);
  }
  if (rule.by === 'host' && !isHost) return deny(rule.refused);
  return stepAllowedFrom(step, a.status) ? allow(rule.granted) : deny(rule.refused);
}

/**
 * Consent is given by a partner still to accept, while the arrangement is a draft, to the terms it
 * reviewed: a review of revision n covers the terms now proposed only if no amendment came after n.
 * Revisions that only record acceptances or status changes leave the terms, and so the review, as they were.
 */
export function acceptanceRefusal(a: ArrangementResource['arrangement'], acceptance: Acceptance | undefined): Decision | null {
  if (!acceptance) return deny('no_review');
  if (!a.partnerOrganisationIds.includes(acceptance.organisationId)) return deny('not_a_partner');
  if (!acceptancePending(a, acceptance.organisationId)) return deny(LIFECYCLE.accept.refused);
  if (acceptance.reviewedRevision < a.termsRevision) return deny('terms_changed');
  if (acceptance.reviewedRevision > a.revision) return deny('no_such_revision');
  return null;
}
