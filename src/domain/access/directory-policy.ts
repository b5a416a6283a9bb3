// Decides everything an organisation's directory (its SCIM client) asks: managing that organisation's people,
// and nothing else, never in another organisation.
import type { Actor } from '../types.js';
import type { Action } from './actions.js';
import { allow, deny, type Decision } from './decision.js';
import type { Resource } from './resources.js';

/**
 * An organisation's directory (its SCIM client: Entra ID's provisioning service) is not a person. It adds,
 * changes and switches off that organisation's people (`organisation.manage-users`; switching off and taking
 * the org admin role also `person.disable` and `person.remove-org-admin`, never of the last enabled org admin;
 * changing an address also `person.change-email`, never an org admin's),
 * switches on again those it switched off (`person.enable`), and nothing else: no content, no audit log, no
 * identity settings, no credentials, and never another organisation.
 */
export function decideDirectory(actor: Actor, action: Action, resource: Resource): Decision {
  if (actor.organisationId === null) return deny('no_identity');
  if (action === 'person.enable') {
    // The directory switches on only what it switched off. An account an org admin disabled is an
    // organisation decision the directory knows nothing of (Entra re-sends active=true for anyone
    // still assigned to the application): only an org admin undoes it.
    if (resource.kind !== 'person') return deny('wrong_resource');
    if (resource.organisationId !== actor.organisationId) return deny('other_organisation');
    return resource.disabledBy === 'directory' ? allow('directory') : deny('disabled_by_admin');
  }
  if (action === 'person.disable' || action === 'person.remove-org-admin') {
    // Never the last enabled org admin, as for an org admin (adminChangeRefusal): a SCIM token, in whoever's
    // hands, could otherwise switch off or demote the only person who manages the organisation's people,
    // identity settings and provisioning, and lock the council out until the operator stepped in.
    if (resource.kind !== 'person') return deny('wrong_resource');
    if (resource.organisationId !== actor.organisationId) return deny('other_organisation');
    return resource.lastEnabledOrgAdmin === false ? allow('directory') : deny('last_org_admin');
  }
  if (action === 'person.change-email') {
    // An org admin's address is where their invitations, reset links and security notices go, and what a first
    // sign-in through the provider matches: a SCIM token, in whoever's hands, must not point it at a mailbox of
    // its own (nor cut the council's administrators off from their notices). The operator may (no command does it
    // yet): an admin's new address goes through once their role is taken. Not known counts as an org admin (deny by default).
    if (resource.kind !== 'person') return deny('wrong_resource');
    if (resource.organisationId !== actor.organisationId) return deny('other_organisation');
    return resource.orgAdmin === false ? allow('directory') : deny('org_admin_email');
  }
  if (action !== 'organisation.manage-users') return deny('directory_scope');
  if (resource.kind !== 'organisation') return deny('wrong_resource');
  return resource.organisationId === actor.organisationId ? allow('directory') : deny('other_organisation');
}
