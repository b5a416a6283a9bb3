// E-mail messages as domain data: what kind of message, and the facts it carries (ids, counts, names a
// recipient may read). Never document content. The renderer (render.ts) turns one into text and HTML.
import { z } from 'zod';
import { CLASSIFICATIONS, type Role } from '../types.js';

/**
 * What an account-change notice tells of. `email-changed` goes to the old address (naming the new one),
 * `email-added` to the new; `provider-linked`: an existing account can now be signed into through the
 * organisation's identity provider; `recovery-code-used`: someone signed in with the password and one of the
 * recovery codes (how many are left is the message's `recoveryCodesLeft`); `account-enabled`: a switched-off
 * account was switched on again (by an org admin or the directory).
 */
export const ACCOUNT_CHANGES = [
  'password-changed', 'password-set', 'mfa-on', 'mfa-reset', 'api-token-created', 'app-password-created', 'provider-linked', 'email-changed', 'email-added',
  'recovery-code-used', 'account-enabled',
] as const;
export type AccountChange = (typeof ACCOUNT_CHANGES)[number];

/**
 * Who made it: the person themselves; an org admin of their organisation (`byName`); the operator (the CLI);
 * the organisation's directory (SCIM); its identity provider (a first sign-in through it); or whoever used a
 * set-password link e-mailed to the person (which could be someone who saw the link, not the person).
 */
export const ACCOUNT_CHANGED_BY = ['you', 'administrator', 'operator', 'directory', 'identity-provider', 'link'] as const;
export type AccountChangedBy = (typeof ACCOUNT_CHANGED_BY)[number];

/**
 * `essential` messages go to a person whatever their preference (they are how they get in, or about their
 * own account's or upload's safety); the others respect the per-person opt-out (docs/email.md).
 */
export const mailMessageSchema = z.discriminatedUnion('kind', [
  /**
   * A new person's way in. With `signInWith` (their organisation signs in through its identity provider) the
   * link is the organisation's sign-in page and no password is ever set; otherwise the link (with a
   * single-use token to set a password) is made when the mail is sent, never stored.
   */
  z.object({
    kind: z.literal('invitation'), organisationName: z.string(), invitedBy: z.string().nullable(),
    signInWith: z.object({ provider: z.string(), organisationSlug: z.string() }).nullable().default(null),
  }),
  /**
   * To a person whose password an administrator reset (UsersAdminService.resetPassword): a link to set a new
   * one, made when the mail is sent like an invitation's (the reset left them with no password, which is what
   * an invitation link sets). `resetBy`: the admin's name, null for the operator.
   */
  z.object({ kind: z.literal('password-reset'), organisationName: z.string(), resetBy: z.string().nullable() }),
  /**
   * To the person whose upload was quarantined: they named the file, so it is named — if they may still read
   * the document when the mail is sent (a rescan can find an old upload long after they were moved off its
   * team, below its classification, or their arrangement was suspended). Queued without the name;
   * `documentName` is filled in when it is sent (MailService asks document.read then), null when they may not.
   */
  z.object({
    kind: z.literal('quarantine-uploader'), documentId: z.string(), documentName: z.string().nullable().optional(), versionNumber: z.number().int(),
    verdict: z.enum(['infected', 'held']), detail: z.string(),
  }),
  /**
   * To the organisation's security admins: what their quarantine page shows them. Queued without the file's
   * name; `file` is filled in when it is sent, for that recipient (MailService asks quarantine.identify then,
   * with their clearance then): the name, or only the classification, above their clearance.
   */
  z.object({
    kind: z.literal('quarantine-admin'), documentId: z.string(), versionNumber: z.number().int(),
    verdict: z.enum(['infected', 'held']), detail: z.string(), size: z.number().int().nonnegative(), at: z.string(),
    file: z.object({
      name: z.string().nullable(), collection: z.string().nullable(), classification: z.enum(CLASSIFICATIONS), serviceArea: z.string(),
    }).optional(),
  }),
  /**
   * To each partner organisation's org admins: terms await their acceptance. Queued with the arrangement's id
   * and what happened to it only; `terms` (the host's name, service area, purpose and revision) are read from
   * the arrangement as it is when the mail is sent (MailService), since an amendment or a renamed host may
   * come between. `hostName`, `serviceArea`, `purpose` and `revision` at the top are what jobs queued before
   * 5 December 2026 carried: accepted so those jobs still parse, never shown.
   */
  z.object({
    kind: z.literal('arrangement-proposal'), arrangementId: z.string(), change: z.enum(['proposed', 'amended', 'reinstated']),
    terms: z.object({ hostName: z.string(), serviceArea: z.string(), purpose: z.string(), revision: z.number().int() }).optional(),
    hostName: z.string().optional(), serviceArea: z.string().optional(), purpose: z.string().optional(), revision: z.number().int().optional(),
  }),
  /** To the organisation's records managers: a disposal batch awaits review (counts, never record names). */
  z.object({ kind: z.literal('disposal-review'), batchId: z.string(), dueBy: z.string(), items: z.number().int(), excluded: z.number().int() }),
  /** To the organisation's security admins: every stored copy of a version is damaged (as their in-app notice, no name). */
  z.object({ kind: z.literal('storage-damaged'), documentId: z.string(), versionNumber: z.number().int() }),
  /**
   * To a partner organisation's DPOs: another council asks them to search their records for a subject access
   * request. The requester, its reference and the date due; never the person's name (the request's page
   * shows it to whoever may answer it, after signing in).
   */
  z.object({ kind: z.literal('subject-access-partner'), requestId: z.string(), requesterName: z.string(), reference: z.string(), dueOn: z.string() }),
  /**
   * A security notice to a person whose sign-in changed (services/account-notices.ts queues it in the change's
   * transaction): what changed, when, by whom, from which network if known. Never a secret and never a link.
   * `address` is the one the person had when the change was made, read in its transaction, and the mail goes
   * there whatever their address is when it is sent: a takeover that changes the password and then the
   * address must not take the first notice with it (every other kind reads the address when it is sent).
   */
  z.object({
    kind: z.literal('account-change'), change: z.enum(ACCOUNT_CHANGES), at: z.string(),
    by: z.enum(ACCOUNT_CHANGED_BY), byName: z.string().nullable(), organisationName: z.string(), clientAddress: z.string().nullable(),
    /** The provider's name, or (email-changed) the new address; null for the rest (a token's name is its maker's words). */
    detail: z.string().nullable(), address: z.string(),
    /** recovery-code-used: the unused recovery codes left after it (absent for every other change, and in jobs queued before 5 December 2026). */
    recoveryCodesLeft: z.number().int().nonnegative().optional(),
  }),
]);

export type MailMessage = z.infer<typeof mailMessageSchema>;
export type MailKind = MailMessage['kind'];
export type AccountChangeMessage = Extract<MailMessage, { kind: 'account-change' }>;

// A partner's part of a subject access request has a legal deadline the requester cannot meet without it.
// A security notice is how a person learns their account is in someone else's hands: nobody may opt out of it.
const ESSENTIAL: ReadonlySet<MailKind> = new Set<MailKind>(['invitation', 'password-reset', 'account-change', 'quarantine-uploader', 'subject-access-partner']);

/** Essential mail is sent whatever the person's opt-out says. */
export function isEssential(kind: MailKind): boolean {
  return ESSENTIAL.has(kind);
}

/**
 * The role a notice is for. Queued in the transaction of the change, sent later by the job: a person who lost
 * the role in between (an org admin demoted, a security admin moved on) is no longer its audience.
 */
export const RECIPIENT_ROLE: Partial<Record<MailKind, Role>> = {
  'quarantine-admin': 'security_admin',
  'storage-damaged': 'security_admin',
  'arrangement-proposal': 'org_admin',
  'disposal-review': 'records_manager',
  'subject-access-partner': 'dpo',
};

/** Every kind, essential first, for the preferences page and docs. */
export const MAIL_KINDS: readonly { kind: MailKind; essential: boolean; description: string }[] = [
  { kind: 'invitation', essential: true, description: 'Your invitation to set a password and sign in' },
  { kind: 'password-reset', essential: true, description: 'Your administrator reset your password: a link to set a new one' },
  { kind: 'account-change', essential: true, description: 'Your password, two-step verification, API tokens, app passwords or e-mail address changed, a recovery code was used to sign in, or your account was switched back on' },
  { kind: 'quarantine-uploader', essential: true, description: 'A file you uploaded was quarantined' },
  { kind: 'subject-access-partner', essential: true, description: 'DPOs: another organisation asks yours to search its records for a subject access request' },
  { kind: 'quarantine-admin', essential: false, description: 'Security admins: a file in your organisation was quarantined' },
  { kind: 'arrangement-proposal', essential: false, description: 'Org admins: a shared-service arrangement awaits your organisation\'s acceptance' },
  { kind: 'disposal-review', essential: false, description: 'Records managers: a disposal batch awaits review' },
  { kind: 'storage-damaged', essential: false, description: 'Security admins: every stored copy of a file is damaged and it must be restored from a backup' },
];

/** One person's mail, as the send-email job carries it. */
export const sendEmailPayloadSchema = z.object({ userId: z.string().min(1), message: mailMessageSchema });
export type SendEmailPayload = z.infer<typeof sendEmailPayloadSchema>;

/** How long an invitation link works (a password reset's e-mailed link too). */
export const INVITATION_DAYS = 7;

/**
 * How long the link a password reset without e-mail shows to whoever reset it works (once). Shorter than an
 * e-mailed link: it is handed over directly, to someone waiting to get back in, and until it is taken it is a
 * way into their account held by somebody else (the admin, and whatever channel carried it). Another reset
 * makes a new one.
 */
export const SHOWN_RESET_LINK_HOURS = 24;
