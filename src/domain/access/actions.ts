// The actions an actor can ask to do, and the arrangement access level each one needs.
import type { AccessLevel } from '../types.js';

/** Actions on documents and collections: the ones arrangements can open to another organisation. */
export const CONTENT_ACTIONS = {
  'collection.list': 'read',
  'collection.create': 'contribute',
  'document.read': 'read',
  'document.download': 'read',
  'document.create': 'contribute',
  'document.version': 'contribute',
  'document.rename': 'manage',
  'document.delete': 'manage',
  'document.restore': 'manage',
  'document.classify': 'manage',
  'document.access-history': 'manage',
} as const satisfies Record<string, AccessLevel>;
export type ContentAction = keyof typeof CONTENT_ACTIONS;

/**
 * Content actions that put something new inside a collection. They are asked of the parent
 * collection, and need the right to see it as well as the level to write to it.
 */
export const CREATE_INSIDE_ACTIONS = ['collection.create', 'document.create'] as const satisfies readonly ContentAction[];
export type CreateInsideAction = (typeof CREATE_INSIDE_ACTIONS)[number];

/** Actions that only ever apply within the actor's own organisation. */
export const ORGANISATION_ACTIONS = [
  // Adding an organisation to the vault: the system's (CLI administration) alone; no user role grants it.
  'organisation.create',
  'organisation.manage-users',
  // Reading the organisation's people (the list, one person's details): whom organisation.manage-users lets change them.
  'organisation.read-users',
  'organisation.manage-collections',
  // Setting the name, colour and logo the organisation's own staff see in the header when signed in.
  'organisation.brand',
  // Connecting the organisation's identity provider (OIDC or SAML), its SCIM provisioning tokens and the
  // directory group → access mapping: whoever holds it decides who can sign in as the organisation's staff.
  'organisation.identity',
  // Reading those settings (its identity providers, the group mapping, its SCIM tokens' names): whom
  // organisation.identity lets change them.
  'organisation.read-identity',
  // Which e-mail domains are an organisation's (a provider makes accounts just in time only inside them):
  // the operator's alone, as it decides which council owns which domain, as it adds councils.
  'organisation.email-domains',
  'audit.read',
  'audit.checkpoints',
  // An organisation's events with inclusion proofs, to take away and check offline.
  'audit.export',
  // Recomputing the whole log now, and reading where it fails: every council's event ids, actions and
  // organisations. The system's (the operator's CLI) alone; no user role grants it. A council's
  // auditors, DPOs and admins see the log's integrity as a yes or no with the checkpoint
  // (`audit.checkpoints`), and check their own organisation's events offline (`audit.export`).
  'audit.verify',
  // Retrying dead-lettered jobs (the whole cluster's queue, every council's work): the system's (the
  // operator's CLI) alone; no user role grants it.
  'jobs.manage',
  // Seeing them without retrying: whom jobs.manage lets retry them (the system's alone).
  'jobs.read',
  'quarantine.list',
  // Being told which file a quarantined version is (its name, its collection's name), asked of the document or
  // collection: the organisation's security admins, up to their clearance. Above it, the list shows a redacted item.
  'quarantine.identify',
  // Releasing asks for clearance too when asked of the document (it vouches for a file others will then open);
  // destroying does not (it reveals nothing, and malware must be removable by whoever is on duty).
  'quarantine.release',
  'quarantine.destroy',
  // Write locks held on the organisation's documents and collections, by anyone (a partner's staff included).
  'lock.list',
  'lock.break',
  // Records management, always of the organisation's own records: a partner's staff never reach them,
  // whatever an arrangement opens. Reading the file plan, the hold register, disposal batches and certificates:
  'records.read',
  // Being told a legal hold's name (e.g. "Smith v Council") where it refuses something: the organisation's own
  // staff; a partner's staff learn only that a hold of the owning organisation is in force.
  'records.hold-names',
  // Editing the file plan, filing collections and documents under series, recording retention events:
  'records.file-plan',
  // Placing, extending and releasing legal holds:
  'records.hold',
  // Proposing disposal batches, deciding their items and approving them. Deciding to destroy or transfer one
  // record is also asked of that record, so a legal hold over it refuses the decision as it refuses the act:
  'records.dispose',
  // Approving a disposal batch, asked of the batch (DisposalBatchResource): its records managers, as records.dispose;
  // but a batch of early destruction (records destroyed before their retention ends) never by the person who
  // proposed it, so that no one person destroys what the file plan keeps.
  'records.approve-disposal',
  // Subject access requests the organisation received: opening one, asking partners to search, extending,
  // closing, and the response package. The organisation's DPOs. Its own part's search is `subject-access.respond`.
  'subject-access.manage',
  // Listing and viewing those requests: whom subject-access.manage lets act on them.
  'subject-access.read',
  // The offsite replica's health as it concerns the organisation: how many of its own versions wait for the
  // replica, and how many of its own have no good copy left (counts only, no names or ids).
  'storage.read',
  // The same counts for the whole vault, every council's versions in them: the system's (the operator's) alone; no
  // user role grants it. One council's admin watching them counted another's uploads as they happened.
  'storage.read-vault',
] as const;
export type OrganisationAction = (typeof ORGANISATION_ACTIONS)[number];

export const ARRANGEMENT_ACTIONS = [
  'arrangement.read',
  'arrangement.propose',
  'arrangement.amend',
  'arrangement.accept',
  'arrangement.suspend',
  'arrangement.resume',
  'arrangement.end',
  'arrangement.workspace',
] as const;
export type ArrangementAction = (typeof ARRANGEMENT_ACTIONS)[number];

/**
 * Actions on one organisation's part of a subject access request (SubjectAccessResource). `respond`: the
 * part's DPO reads the request and puts their own organisation's records in the response. `receive`: the
 * requesting organisation's DPO takes a partner's records into the response package. Across organisations
 * both need an arrangement in force between the two, so a suspension stops a partner's records going out.
 * `read-part` and `read-received` only read what `respond` and `receive` act on (the request and the part
 * as the part's DPO sees it; the records a part put in, as the requester's DPO sees them), with the same rule.
 */
export const SUBJECT_ACCESS_ACTIONS = ['subject-access.respond', 'subject-access.receive', 'subject-access.read-part', 'subject-access.read-received'] as const;
export type SubjectAccessAction = (typeof SUBJECT_ACCESS_ACTIONS)[number];

/** Actions on one person: their own things (API tokens, WebDAV app passwords) and their identity. */
export const PERSON_ACTIONS = [
  'person.manage-credentials',
  // Listing them (names, scopes, when last used; never a secret): whom person.manage-credentials lets manage them.
  'person.read-credentials',
  // Seeing who a person is (name, e-mail) where their work shows up, such as a lock they hold.
  'person.identify',
  // Switching a switched-off account on again. Asked of the person as they are (who switched them off):
  // an org admin may undo any switching off, never of their own account; the organisation's directory only its own.
  'person.enable',
  // Switching an account off (a person's own, or the last enabled org admin of an organisation, never by a
  // person: the operator may). The directory switches its people off under organisation.manage-users.
  'person.disable',
  // Resetting someone's two-step verification: an org admin of their organisation, never their own (a leaked
  // token plus the password would otherwise let whoever holds them set up their own authenticator).
  'person.reset-mfa',
  // Taking the org admin role from someone: an org admin of their organisation, never from themselves, never
  // from the last enabled org admin (nobody would be left to manage its people): the operator may.
  'person.remove-org-admin',
  // Resetting a forgotten password: an org admin of the person's organisation, for someone who could use a
  // Strongroom password (switched on, their organisation not signing in through its identity provider), not
  // for themselves (their own is changed on their account page, with the current one).
  'person.reset-password',
  // Changing someone's e-mail address (what they are matched by at a first sign-in through a provider, where
  // invitations, reset links and security notices go): the organisation's directory, for its people who are not
  // org admins (whoever holds a SCIM token must not be able to point an administrator's account at a mailbox of
  // theirs); the operator for anyone, though no command does it yet. No person changes an address in Strongroom.
  'person.change-email',
] as const;
export type PersonAction = (typeof PERSON_ACTIONS)[number];

/**
 * Destroying a document beyond recovery: disposal under its retention schedule, and purging it from
 * the bin. Only the system's jobs do it (after a records manager approved, or the bin period ended),
 * and a legal hold refuses it to them as to anyone.
 */
export const DESTRUCTION_ACTIONS = ['document.dispose', 'document.purge'] as const;
export type DestructionAction = (typeof DESTRUCTION_ACTIONS)[number];

/**
 * Writes only the system's own jobs make. The scan verdict is one: it records what clamd found on a
 * version already stored, so it is not a change a legal hold freezes (a held upload must not stay
 * pending for ever), and no person may write it.
 */
export const SYSTEM_ACTIONS = ['document.scan-verdict'] as const;
export type SystemAction = (typeof SYSTEM_ACTIONS)[number];

/**
 * What a legal hold freezes on a held document (or a collection under a hold, or one with a held
 * document inside, when moving or deleting it): for everyone, the system's own jobs included.
 * Reading, downloading, restoring from the bin and adding new documents to a held collection stay open.
 */
export const FROZEN_BY_HOLD = [
  'document.delete', 'document.version', 'document.rename', 'document.classify', 'document.dispose', 'document.purge', 'quarantine.destroy',
  // Releasing a quarantined version changes the held record: a later version becomes its current content, or
  // a quarantined one becomes readable. The hold keeps the record as it was placed; release the hold first.
  'quarantine.release',
  // Asked of a record: a records manager's decision to destroy or transfer it (asked of the organisation it
  // is the batch's own question, which no hold touches).
  'records.dispose',
] as const satisfies readonly Action[];

export type Action = ContentAction | OrganisationAction | ArrangementAction | PersonAction | SubjectAccessAction | DestructionAction | SystemAction;

/**
 * Whether each action only reads or changes something: a read-only API token or app password (CredentialScope
 * 'read') may ask only the first, and decide() refuses it the rest (`credential_scope`). Making a credential,
 * sharing (an arrangement step), releasing, disposing, recording and managing people or identity all change
 * something. Every action is classified here, so a new one does not compile until it is. A read is asked with
 * a read action even where the same people may also change the thing (listing one's credentials, the
 * organisation's people, its sign-in settings, subject access requests): each has its own, with the rule of
 * the change beside it, so a read-only credential may read what its person may, and still change nothing.
 */
export const ACTION_EFFECTS = {
  // Content.
  'collection.list': 'read',
  'collection.create': 'change',
  'document.read': 'read',
  'document.download': 'read',
  'document.create': 'change',
  'document.version': 'change',
  'document.rename': 'change',
  'document.delete': 'change',
  'document.restore': 'change',
  'document.classify': 'change',
  'document.access-history': 'read',
  // Organisation.
  'organisation.create': 'change',
  'organisation.manage-users': 'change',
  'organisation.read-users': 'read',
  'organisation.manage-collections': 'change',
  'organisation.brand': 'change',
  'organisation.identity': 'change',
  'organisation.read-identity': 'read',
  'organisation.email-domains': 'change',
  'audit.read': 'read',
  'audit.checkpoints': 'read',
  'audit.export': 'read',
  'audit.verify': 'read',
  'jobs.manage': 'change',
  'jobs.read': 'read',
  'quarantine.list': 'read',
  'quarantine.identify': 'read',
  'quarantine.release': 'change',
  'quarantine.destroy': 'change',
  'lock.list': 'read',
  'lock.break': 'change',
  'records.read': 'read',
  'records.hold-names': 'read',
  'records.file-plan': 'change',
  'records.hold': 'change',
  'records.dispose': 'change',
  'records.approve-disposal': 'change',
  // Opening, extending and closing requests, and building their response package.
  'subject-access.manage': 'change',
  'subject-access.read': 'read',
  'storage.read': 'read',
  'storage.read-vault': 'read',
  // Arrangements.
  'arrangement.read': 'read',
  'arrangement.propose': 'change',
  'arrangement.amend': 'change',
  'arrangement.accept': 'change',
  'arrangement.suspend': 'change',
  'arrangement.resume': 'change',
  'arrangement.end': 'change',
  'arrangement.workspace': 'change',
  // Subject access parts: both put records into a response.
  'subject-access.respond': 'change',
  'subject-access.receive': 'change',
  'subject-access.read-part': 'read',
  'subject-access.read-received': 'read',
  // People. Managing credentials includes making one, which from a read-only credential would be an escalation.
  'person.manage-credentials': 'change',
  'person.read-credentials': 'read',
  'person.identify': 'read',
  'person.enable': 'change',
  'person.disable': 'change',
  'person.reset-mfa': 'change',
  'person.remove-org-admin': 'change',
  'person.reset-password': 'change',
  'person.change-email': 'change',
  // Destruction and the system's own writes.
  'document.dispose': 'change',
  'document.purge': 'change',
  'document.scan-verdict': 'change',
} as const satisfies Record<Action, 'read' | 'change'>;

/**
 * Reads asked beside a change the same people may make, each with the change whose rule it follows: decide()
 * answers the read exactly as it would the change (same roles, organisation, arrangement; same reason), and
 * only the credential's scope tells them apart. A page deciding which buttons to offer keeps asking the change.
 */
export const READS_BESIDE_CHANGES = {
  'person.read-credentials': 'person.manage-credentials',
  'organisation.read-users': 'organisation.manage-users',
  'organisation.read-identity': 'organisation.identity',
  'subject-access.read': 'subject-access.manage',
  'subject-access.read-part': 'subject-access.respond',
  'subject-access.read-received': 'subject-access.receive',
  'jobs.read': 'jobs.manage',
} as const satisfies Partial<Record<Action, Action>>;
export type ReadBesideChange = keyof typeof READS_BESIDE_CHANGES;

/** The action whose rule decides this one: the change beside a read (READS_BESIDE_CHANGES), or the action itself. */
export function ruleActionOf(action: Action): Action {
  return Object.hasOwn(READS_BESIDE_CHANGES, action) ? READS_BESIDE_CHANGES[action as ReadBesideChange] : action;
}

/** Whether the action only reads (ACTION_EFFECTS): all a read-only credential may ask. */
export function onlyReads(action: Action): boolean {
  return ACTION_EFFECTS[action] === 'read';
}

export function isContentAction(action: Action): action is ContentAction {
  return Object.hasOwn(CONTENT_ACTIONS, action);
}

export function isCreateInsideAction(action: Action): action is CreateInsideAction {
  return (CREATE_INSIDE_ACTIONS as readonly string[]).includes(action);
}

export function isOrganisationAction(action: Action): action is OrganisationAction {
  return (ORGANISATION_ACTIONS as readonly string[]).includes(action);
}

export function isSubjectAccessAction(action: Action): action is SubjectAccessAction {
  return (SUBJECT_ACCESS_ACTIONS as readonly string[]).includes(action);
}

export function isPersonAction(action: Action): action is PersonAction {
  return (PERSON_ACTIONS as readonly string[]).includes(action);
}

export function isDestructionAction(action: Action): action is DestructionAction {
  return (DESTRUCTION_ACTIONS as readonly string[]).includes(action);
}

export function isSystemAction(action: Action): action is SystemAction {
  return (SYSTEM_ACTIONS as readonly string[]).includes(action);
}

export function isFrozenByHold(action: Action): boolean {
  return (FROZEN_BY_HOLD as readonly string[]).includes(action);
}
