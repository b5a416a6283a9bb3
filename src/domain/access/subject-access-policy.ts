// Decides the steps of a subject access request across organisations (SUBJECT_ACCESS_ACTIONS): answering a
// part, and receiving what a part puts in the response, each by the DPOs of the organisation concerned.
import type { Actor, Arrangement } from '../types.js';
import type { SubjectAccessAction } from './actions.js';
import { arrangementInForce } from './arrangement-reach.js';
import { allow, deny, hasRole, type Decision, type DecisionContext } from './decision.js';
import type { SubjectAccessResource } from './resources.js';

/**
 * A part of a subject access request is its organisation's DPOs' to answer (`respond`), and what it puts in
 * the response goes to the requesting organisation's DPOs (`receive`). Between two organisations both need an
 * arrangement in force in which one hosts a service for the other (either way round): the shared service is
 * why one may hold the person's data for the other. Suspended or ended, the partner neither sees the request
 * nor has its records sent.
 */
export function decideSubjectAccess(actor: Actor, action: SubjectAccessAction, part: SubjectAccessResource, context: DecisionContext): Decision {
  const org = actor.organisationId ?? '';
  const side = action === 'subject-access.respond' ? part.partOrganisationId : part.organisationId;
  if (side !== org) return deny('other_organisation');
  if (!hasRole(actor, 'dpo')) return deny('role');
  if (part.partOrganisationId === part.organisationId) return allow('dpo');
  const other = action === 'subject-access.respond' ? part.organisationId : part.partOrganisationId;
  // One hosts the other's service: two partners of a third council's arrangement share nothing with each
  // other (its host serves each of them; neither holds the other's data), so neither may be asked by the other.
  const serves = (host: string, served: string, a: Arrangement): boolean => a.hostOrganisationId === host && a.partnerOrganisationIds.includes(served);
  const between = context.arrangements.find((a) => (serves(org, other, a) || serves(other, org, a)) && arrangementInForce(a, context.now));
  return between ? allow('dpo', between.id) : deny('no_arrangement');
}
