// The single policy decision point. Every interface and job asks decide(); none decides alone.
// Deny by default: each rule below is an explicit grant, and anything it does not grant is refused.
import type { AccessLevel, Actor, Arrangement, Classification, DisabledBy, DocumentStatus, Role, ScanStatus, ServiceArea } from '../types.js';
import { classificationAtMost, levelAtLeast } from '../types.js';
import type { Action, ArrangementAction, ContentAction, CreateInsideAction, OrganisationAction, PersonAction, SubjectAccessAction } from './actions.js';
import { CONTENT_ACTIONS, isContentAction, onlyReads, ruleActionOf, isCreateInsideAction, isDestructionAction, isFrozenByHold, isOrganisationAction, isPersonAction, isSubjectAccessAction, isSystemAction } from './actions.js';
import type { HoldRef } from '../records/holds.js';
import { LIFECYCLE, acceptancePending, stepAllowedFrom, stepOf } from '../arrangements/lifecycle.js';
import { arrangementCovers, arrangementInForce } from './arrangement-reach.js';

// What arrangements reach is in arrangement-reach.ts; callers keep asking this module for it.
export { arrangementInForce, arrangementReach, reachableOrganisations, type ArrangementReach } from './arrangement-reach.js';

/** A collection, or the parent collection a new document or collection would go into. */
export interface CollectionResource {
  kind: 'collection';
  /** The collection's id: legal holds over it (or above it) are looked up by it. */
  id: string;
  organisationId: string;
  serviceArea: ServiceArea;
  classification: Classification;
  /** The arrangement whose joint workspace this collection is, if any. */
  arrangementId: string | null;
}

export interface DocumentResource {
  kind: 'document';
  /** The document's id: legal holds over it (directly or through its collections) are looked up by it. */
  id: string;
  organisationId: string;
  serviceArea: ServiceArea;
  classification: Classification;
  status: DocumentStatus;
  deleted: boolean;
  arrangementId: string | null;
  /**
   * For a download: the scan verdict of the version asked for, which may be older than the current
   * one. Without it the rule for the document's own status (its current version) is all there is.
   */
  versionScan?: ScanStatus;
}

export interface OrganisationResource {
  kind: 'organisation';
  organisationId: string;
}

export interface ArrangementResource {
  kind: 'arrangement';
  arrangement: Pick<Arrangement, 'id' | 'hostOrganisationId' | 'partnerOrganisationIds' | 'status' | 'acceptedBy' | 'revision' | 'termsRevision'>;
}

/** For `arrangement.accept`: whose consent it is, and the revision of the terms they reviewed. */
export interface Acceptance {
  organisationId: string;
  reviewedRevision: number;
}

/** A person, for actions on their own credentials, and on their account. */
export interface PersonResource {
  kind: 'person';
  userId: string;
  organisationId: string;
  /**
   * For `person.enable`: who switched the account off. Anything but 'directory' (an admin, or not
   * known) is an organisation decision that only an org admin undoes.
   */
  disabledBy?: DisabledBy | null;
  /**
   * For `person.reset-password`: whether the account is switched off, and whether the person's organisation
   * signs in through an enabled identity provider (its staff have no Strongroom password). Not given: unknown,
   * and refused.
   */
  disabled?: boolean;
  signsInThroughProvider?: boolean;
  /**
   * For `person.disable` and `person.remove-org-admin`: whether the person is the only enabled org admin of
   * their organisation (switching them off, or taking their role, would leave nobody to manage its people).
   * Not given: unknown, and refused to a person.
   */
  lastEnabledOrgAdmin?: boolean;
  /**
   * For `person.change-email`: whether the person holds the org admin role (switched on or off). Not given:
   * unknown, and refused to the directory.
   */
  orgAdmin?: boolean;
}

/** One organisation's part of a subject access request: the requester's own, or a partner's it asked to search. */
export interface SubjectAccessResource {
  kind: 'subject-access';
  /** The organisation that received the request and answers it. */
  organisationId: string;
  /** The organisation whose records the part covers. */
  partOrganisationId: string;
}

export type Resource = CollectionResource | DocumentResource | OrganisationResource | ArrangementResource | PersonResource | SubjectAccessResource;

export interface DecisionContext {
  now: Date;
  /**
   * The arrangements that might apply, loaded fresh for this request (never cached, so a
   * suspension or ending takes effect on the next request). Extra ones are harmless.
   */
  arrangements: readonly Arrangement[];
  /**
   * The active legal holds over the documents and collections in question, by document or collection
   * id (a document's include those over any collection above it), loaded fresh for this request like
   * the arrangements. An id absent from the map is under no hold.
   */
  holds: ReadonlyMap<string, readonly HoldRef[]>;
  /**
   * For `document.classify`: the classification asked for. For `collection.create` and
   * `document.create`: the classification the new collection or document will have.
   */
  newClassification?: Classification;
  /** For `arrangement.accept`. */
  acceptance?: Acceptance;
}

export interface Decision {
  allow: boolean;
  /** A stable, machine-readable reason, recorded in the audit event. */
  reason: string;
  /** The arrangement that granted a cross-organisation action. */
  via: string | null;
  /** On a `legal_hold` refusal: the hold that refused, so the refusal can say which. */
  hold?: HoldRef;
}

const allow = (reason: string, via: string | null = null): Decision => ({ allow: true, reason, via });
const deny = (reason: string): Decision => ({ allow: false, reason, via: null });

const hasRole = (actor: Actor, role: Role): boolean => actor.roles.includes(role);

/**
 * The service areas of their own organisation an actor works in: their teams', or all of them for a
 * records manager (who looks after the whole file plan). decide() and readableScope() both ask it.
 */
export function ownServiceAreas(actor: Actor): readonly ServiceArea[] | 'all' {
  return hasRole(actor, 'records_manager') ? 'all' : actor.teams;
}

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

/**
 * An organisation's directory (its SCIM client: Entra ID's provisioning service) is not a person. It adds,
 * changes and switches off that organisation's people (`organisation.manage-users`; switching off and taking
 * the org admin role also `person.disable` and `person.remove-org-admin`, never of the last enabled org admin;
 * changing an address also `person.change-email`, never an org admin's),
 * switches on again those it switched off (`person.enable`), and nothing else: no content, no audit log, no
 * identity settings, no credentials, and never another organisation.
 */
function decideDirectory(actor: Actor, action: Action, resource: Resource): Decision {
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

/**
 * Everyone manages their own credentials; an org admin may manage those of their organisation's people,
 * and reset their passwords (not their own: see passwordResetRefusal for whom a reset is of no use).
 * Colleagues know each other; another organisation's staff are not told who a person is (a partner's
 * admins may be, for locks on their own resources: that is `lock.list`).
 */
function decidePerson(actor: Actor, action: PersonAction, person: PersonResource): Decision {
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
function passwordResetRefusal(person: PersonResource): Decision | null {
  if (person.disabled !== false) return deny('person_disabled');
  if (person.signsInThroughProvider !== false) return deny('signs_in_through_provider');
  return null;
}

/**
 * A part of a subject access request is its organisation's DPOs' to answer (`respond`), and what it puts in
 * the response goes to the requesting organisation's DPOs (`receive`). Between two organisations both need an
 * arrangement in force in which one hosts a service for the other (either way round): the shared service is
 * why one may hold the person's data for the other. Suspended or ended, the partner neither sees the request
 * nor has its records sent.
 */
function decideSubjectAccess(actor: Actor, action: SubjectAccessAction, part: SubjectAccessResource, context: DecisionContext): Decision {
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

function decideContent(
  actor: Actor,
  action: ContentAction,
  resource: CollectionResource | DocumentResource,
  context: DecisionContext,
): Decision {
  return isCreateInsideAction(action) ? decideCreateInside(actor, action, resource, context) : decideOnResource(actor, action, resource, context);
}

/**
 * Creating inside a collection needs the right to see the collection as it is and the level to
 * write to it, and what is created must be something the actor could then see through the same
 * grant. Without the first, a person below a folder's classification (or a partner whose ceiling
 * is below it) could add to a folder they get 404 for; without the second, they could create
 * what they may not read.
 */
function decideCreateInside(
  actor: Actor,
  action: CreateInsideAction,
  parent: CollectionResource | DocumentResource,
  context: DecisionContext,
): Decision {
  if (parent.kind !== 'collection') return deny('wrong_resource');
  const see = decideOnResource(actor, 'collection.list', parent, context);
  if (!see.allow) return see;
  const created = context.newClassification === undefined || classificationAtMost(context.newClassification, parent.classification)
    ? parent
    : { ...parent, classification: context.newClassification };
  return decideOnResource(actor, action, created, context);
}

function decideOnResource(
  actor: Actor,
  action: ContentAction,
  resource: CollectionResource | DocumentResource,
  context: DecisionContext,
): Decision {
  // Status rules come first: they bind everyone, in every organisation.
  if (resource.kind === 'document') {
    const refusal = statusRefusal(actor, action, resource);
    if (refusal) return refusal;
  }
  if (!classificationAtMost(resource.classification, actor.clearance)) return deny('clearance');
  if (action === 'document.classify') {
    const target = context.newClassification;
    if (!target || !classificationAtMost(target, actor.clearance)) return deny('clearance');
  }
  if (resource.kind === 'document' && isUnderReview(resource) && isOwnSecurityAdmin(actor, resource)) {
    return allow('security_admin_review');
  }

  const needed: AccessLevel = CONTENT_ACTIONS[action];

  if (resource.organisationId === actor.organisationId) {
    const areas = ownServiceAreas(actor);
    if (areas === 'all') return allow(actor.teams.includes(resource.serviceArea) ? 'own_team' : 'records_manager');
    if (areas.includes(resource.serviceArea)) return allow('own_team');
  }

  // Another organisation's content (or a joint workspace): only through an arrangement.
  for (const arrangement of context.arrangements) {
    if (!arrangementCovers(arrangement, actor, resource, context.now)) continue;
    if (!levelAtLeast(arrangement.accessLevel, needed)) continue;
    return allow('arrangement', arrangement.id);
  }
  return deny(resource.organisationId === actor.organisationId ? 'not_in_team' : 'no_arrangement');
}

const isQuarantinedScan = (scan: ScanStatus | undefined): boolean => scan === 'infected' || scan === 'blocked' || scan === 'held';

const isUnderReview = (doc: DocumentResource): boolean => doc.status === 'pending_scan' || doc.status === 'quarantined';
const isOwnSecurityAdmin = (actor: Actor, doc: DocumentResource): boolean =>
  doc.organisationId === actor.organisationId && hasRole(actor, 'security_admin');

/** Disposal, deletion, pending scans and quarantine refuse actions whatever else would grant them. */
function statusRefusal(actor: Actor, action: ContentAction, doc: DocumentResource): Decision | null {
  if (doc.status === 'disposed') return deny('disposed');
  if (doc.deleted && action !== 'document.read' && action !== 'document.restore' && action !== 'document.access-history') {
    return deny('deleted');
  }
  if (isUnderReview(doc) && action !== 'document.read') {
    // A pending file may be fetched by its organisation's security admin to decide on it, and only
    // the version under review (not an older one); a quarantined one is downloadable by no one
    // (release it first).
    const reviewDownload = action === 'document.download' && doc.status === 'pending_scan' && isOwnSecurityAdmin(actor, doc) && (doc.versionScan ?? 'pending') === 'pending';
    if (!reviewDownload) return deny(doc.status);
  }
  // An older version still being scanned (a rescan) waits for its verdict like a current one.
  if (action === 'document.download' && doc.versionScan === 'pending' && doc.status !== 'pending_scan') return deny('version_pending');
  return null;
}

/**
 * Quarantine work on one item (a document, or the collection it is in). Who may is the organisation's rule
 * (its security admins). Being told the item's name, or releasing it, also needs clearance for its
 * classification: a name is as classified as the file, and a release vouches for a file its audience will
 * then open. Destroying needs no clearance: it reveals nothing, and malware must be removable by whoever is
 * on duty. Destroying is asked of the document, so the holds over it apply (decide() asks them last).
 */
function decideQuarantineItem(actor: Actor, action: 'quarantine.identify' | 'quarantine.release' | 'quarantine.destroy', resource: DocumentResource | CollectionResource): Decision {
  const role = decideOrganisation(actor, action === 'quarantine.identify' ? 'quarantine.list' : action, { kind: 'organisation', organisationId: resource.organisationId });
  if (!role.allow || action === 'quarantine.destroy') return role;
  return classificationAtMost(resource.classification, actor.clearance) ? role : deny('clearance');
}

function decideOrganisation(actor: Actor, action: OrganisationAction, resource: OrganisationResource): Decision {
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
      // Whether the council's documents are safely copied offsite is its admins' and security admins' concern.
      return hasRole(actor, 'org_admin') || hasRole(actor, 'security_admin') ? allow('role') : deny('role');
    case 'lock.list':
    case 'lock.break':
      // A lock can keep an organisation's own staff out of its own documents; its admins can end that.
      return hasRole(actor, 'org_admin') || hasRole(actor, 'security_admin') ? allow('role') : deny('role');
    default:
      return deny('unknown_action');
  }
}

function decideArrangement(actor: Actor, action: ArrangementAction, resource: ArrangementResource, context: DecisionContext): Decision {
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
function acceptanceRefusal(a: ArrangementResource['arrangement'], acceptance: Acceptance | undefined): Decision | null {
  if (!acceptance) return deny('no_review');
  if (!a.partnerOrganisationIds.includes(acceptance.organisationId)) return deny('not_a_partner');
  if (!acceptancePending(a, acceptance.organisationId)) return deny(LIFECYCLE.accept.refused);
  if (acceptance.reviewedRevision < a.termsRevision) return deny('terms_changed');
  if (acceptance.reviewedRevision > a.revision) return deny('no_such_revision');
  return null;
}
