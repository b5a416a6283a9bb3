// Decides an organisation's own administration (ORGANISATION_ACTIONS): people and identity settings, the
// file plan, the audit log, quarantine, records (holds, disposal), subject access management, storage and
// locks, each for the roles named, never in another organisation; and quarantine work on one item.
import type { Actor } from '../types.js';
import { classificationAtMost } from '../types.js';
import type { OrganisationAction } from './actions.js';
import { allow, deny, hasRole, type Decision } from './decision.js';
import type { CollectionResource, DisposalBatchResource, DocumentResource, OrganisationResource } from './resources.js';

/**
 * Approving a disposal batch: the organisation's records managers (as `records.dispose`). A batch of early
 * destruction destroys records the file plan still keeps, so it is two people's decision: its proposer may not
 * approve it (`same_person_as_proposer`), and nobody may while the log vouches for no proposer (`not_vouched_for`:
 * who proposed it cannot be told, so whether the approver is a second person cannot either). A due batch is
 * likewise a second person's when its would-be approver brought forward when any of its records fall due (a
 * series shortened, a record refiled or moved under a shorter period, a trigger event recorded or cleared that made
 * it due sooner: `brought_due_date_forward`), else one person could make a kept record due and destroy it alone;
 * nobody may approve it while the log cannot vouch for who did (`not_vouched_for`). An ordinary due batch, whose
 * dates nobody brought forward, is any of the organisation's records managers' (a small council may have one).
 */
export function decideDisposalApproval(actor: Actor, resource: DisposalBatchResource): Decision {
  const role = decideOrganisation(actor, 'records.dispose', { kind: 'organisation', organisationId: resource.organisationId });
  if (!role.allow) return role;
  if (resource.early !== null) {
    if (resource.early.proposedBy === null) return deny('not_vouched_for');
    return resource.early.proposedBy === actor.userId ? deny('same_person_as_proposer') : role;
  }
  // A batch that says neither (an early batch's facts missing) is refused, not taken for an ordinary one.
  if (resource.due === null || resource.due.broughtForwardBy === null) return deny('not_vouched_for');
  return actor.userId !== null && resource.due.broughtForwardBy.includes(actor.userId) ? deny('brought_due_date_forward') : role;
}

/**
 * Quarantine work on one item (a document, or the collection it is in). Who may is the organisation's rule
 * (its security admins). Being told the item's name, or releasing it, also needs clearance for its
 * classification: a name is as classified as the file, and a release vouches for a file its audience will
 * then open. Destroying needs no clearance: it reveals nothing, and malware must be removable by whoever is
 * on duty. Destroying is asked of the document, so the holds over it apply (decide() asks them last).
 */
export function decideQuarantineItem(actor: Actor, action: 'quarantine.identify' | 'quarantine.release' | 'quarantine.destroy', resource: DocumentResource | CollectionResource): Decision {
  const role = decideOrganisation(actor, action === 'quarantine.identify' ? 'quarantine.list' : action, { kind: 'organisation', organisationId: resource.organisationId });
  if (!role.allow || action === 'quarantine.destroy') return role;
  return classificationAtMost(resource.classification, actor.clearance) ? role : deny('clearance');
}

export function decideOrganisation(actor: Actor, action: OrganisationAction, resource: OrganisationResource): Decision {
  // Organisation scoping: no role reaches into another organisation's administration.
  if (resource.organisationId !== actor.organisationId) return deny('other_organisation');
  switch (action) {
    case 'organisation.create':
      // Councils join the vault by administration (the CLI), never by one of them.
    case 'organisation.email-domains':
      // An org admin setting them could claim another council's domain for their own provider.
      return deny('system_only');
    case 'organisation.manage-users':
    case 'organisation.brand':
    case 'organisation.identity':
      return hasRole(actor, 'org_admin') ? allow('org_admin') : deny('role');
    case 'organisation.manage-collections':
      return hasRole(actor, 'org_admin') || hasRole(actor, 'records_manager') ? allow('role') : deny('role');
    case 'audit.read':
    case 'audit.export':
      return hasRole(actor, 'auditor') || hasRole(actor, 'dpo') ? allow('role') : deny('role');
    case 'audit.verify':
      // Its answer names other councils' events, and it reads the whole log: the operator's alone.
    case 'jobs.manage':
      // The job queue is the whole cluster's, every council's work in it: the operator's alone too.
    case 'storage.read-vault':
      // So are the whole vault's storage counts: every council's uploads are in them.
      return deny('system_only');
    case 'audit.checkpoints':
      return hasRole(actor, 'auditor') || hasRole(actor, 'dpo') || hasRole(actor, 'org_admin') ? allow('role') : deny('role');
    case 'quarantine.identify':
      // Asked of the item (decideQuarantineItem), never of the whole organisation.
      return deny('wrong_resource');
    case 'quarantine.list':
    case 'quarantine.release':
    case 'quarantine.destroy':
      return hasRole(actor, 'security_admin') ? allow('security_admin') : deny('role');
    case 'records.hold-names':
      return allow('staff');
    case 'records.read':
      // Auditors and DPOs check what was destroyed and what is held; records managers run it all.
      return hasRole(actor, 'records_manager') || hasRole(actor, 'auditor') || hasRole(actor, 'dpo') ? allow('role') : deny('role');
    case 'records.approve-disposal':
      // Asked of the batch (decideDisposalApproval), which says who proposed it; never of the whole organisation.
      return deny('wrong_resource');
    case 'records.file-plan':
    case 'records.dispose':
      return hasRole(actor, 'records_manager') ? allow('records_manager') : deny('role');
    case 'subject-access.manage':
      // Answering the subject access requests the organisation received is its data protection officers' duty.
      return hasRole(actor, 'dpo') ? allow('dpo') : deny('role');
    case 'records.hold':
      // A DPO holds what an open subject access request covers; records managers hold for litigation and inquiries.
      return hasRole(actor, 'records_manager') || hasRole(actor, 'dpo') ? allow('role') : deny('role');
    case 'storage.read':
      // Whether the council's documents are safely copied offsite is its admins' and security admins' concern (its own documents').
      return hasRole(actor, 'org_admin') || hasRole(actor, 'security_admin') ? allow('role') : deny('role');
    case 'lock.list':
    case 'lock.break':
      // A lock can keep an organisation's own staff out of its own documents; its admins can end that.
      return hasRole(actor, 'org_admin') || hasRole(actor, 'security_admin') ? allow('role') : deny('role');
    default:
      return deny('unknown_action');
  }
}
