// Decides what a person may do to a person (PERSON_ACTIONS): their own credentials, an org admin's changes to
// their colleagues' accounts (switching on and off, resets, the org admin role), and who may be told who
// someone is. The directory's own rules are directory-policy.ts's.
import type { Actor } from '../types.js';
import type { PersonAction } from './actions.js';
import { allow, deny, hasRole, type Decision } from './decision.js';
import type { PersonResource } from './resources.js';

/**
 * Everyone manages their own credentials; an org admin may manage those of their organisation's people,
 * and reset their passwords (not their own: see passwordResetRefusal for whom a reset is of no use).
 * Colleagues know each other; another organisation's staff are not told who a person is (a partner's
 * admins may be, for locks on their own resources: that is `lock.list`).
 */
export function decidePerson(actor: Actor, action: PersonAction, person: PersonResource): Decision {
  // An address is changed by the directory or the operator, never through a person's own request.
  if (action === 'person.change-email') return deny('directory_or_operator');
  if (ADMIN_CHANGES.has(action)) {
    // Who may first (so another organisation's person is refused as such, whatever their state), then never
    // one's own account, then whether the change could be made to this person.
    if (person.organisationId !== actor.organisationId) return deny('other_person');
    if (!hasRole(actor, 'org_admin')) return deny('role');
    if (person.userId === actor.userId) return deny('self');
    return adminChangeRefusal(action, person) ?? allow('org_admin');
  }
  if (person.userId === actor.userId) return allow('self');
  if (action === 'person.identify' && person.organisationId === actor.organisationId) return allow('colleague');
  if (person.organisationId === actor.organisationId && hasRole(actor, 'org_admin')) return allow('org_admin');
  return deny('other_person');
}

/**
 * What an org admin may do to a person of their organisation, never to themselves (reason `self`). Switching
 * on: a switched-off person signs in nowhere, but a request of theirs authenticated before the switching off
 * may still be under way (the service also asks again of the actor as they are, inside its transaction).
 * Switching off: one's own is for another org admin. Resetting two-step verification: an API token (or a
 * session left open) plus the password would otherwise reset the second factor and let whoever holds them
 * set up an authenticator of their own. A password: one's own is changed on one's account page. The org admin
 * role: one's own is taken by another org admin (so an organisation never loses its last by a slip).
 */
const ADMIN_CHANGES: ReadonlySet<PersonAction> = new Set(['person.enable', 'person.disable', 'person.reset-mfa', 'person.reset-password', 'person.remove-org-admin']);

/** Why an org admin's change (ADMIN_CHANGES) cannot be made to this person, or null. */
function adminChangeRefusal(action: PersonAction, person: PersonResource): Decision | null {
  // Never the last enabled org admin of the organisation, switched off or their role taken away, which would
  // leave nobody to manage its people (two admins switching each other off, or demoting each other, at once):
  // the operator may. Not known counts as the last (deny by default).
  if (action === 'person.disable' || action === 'person.remove-org-admin') return person.lastEnabledOrgAdmin !== false ? deny('last_org_admin') : null;
  return action === 'person.reset-password' ? passwordResetRefusal(person) : null;
}

/**
 * Why a password reset would be of no use to this person, or null: a switched-off account signs in nowhere
 * (enable it first), and the staff of an organisation that signs in through its identity provider have no
 * Strongroom password to reset. A fact not given counts as refusing (deny by default).
 */
export function passwordResetRefusal(person: PersonResource): Decision | null {
  if (person.disabled !== false) return deny('person_disabled');
  if (person.signsInThroughProvider !== false) return deny('signs_in_through_provider');
  return null;
}
