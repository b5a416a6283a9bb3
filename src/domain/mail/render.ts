// The one renderer of e-mail: a message (domain data) → subject, plain text and HTML. The HTML follows
// GOV.UK's e-mail pattern (one column, Arial, a plain header bar with the service's name, inline CSS,
// no remote images, no crown), so it reads the same in every mail client and leaks nothing on open.
import type { AccountChangeMessage, MailMessage } from './message.js';
import { INVITATION_DAYS } from './message.js';
import { ukDateTime } from '../uk-time.js';

export interface MailContext {
  /** The deployment's service name (STRONGROOM_SERVICE_NAME). */
  serviceName: string;
  /** Where people reach the service (STRONGROOM_PUBLIC_URL), no trailing slash. */
  publicUrl: string;
  recipientName: string;
  /** The link (with its token) that sets a password; only for invitations and password resets. */
  invitationLink?: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** A paragraph, or a call to action (a link shown as a button in HTML and as an address in text). */
type Block = { p: string } | { action: string; href: string } | { facts: [string, string][] };

interface Draft {
  subject: string;
  heading: string;
  blocks: Block[];
  /** Why they got it, and how to stop it (non-essential only). */
  footer: string;
}

export function renderMail(message: MailMessage, context: MailContext): RenderedMail {
  const draft = compose(message, context);
  return { subject: oneLine(draft.subject), text: asText(draft, context), html: asHtml(draft, context) };
}

const HELD_OR_INFECTED = { infected: 'malware was found in it', held: 'it is held for a security check' } as const;

function compose(m: MailMessage, c: MailContext): Draft {
  const url = (path: string) => `${c.publicUrl}${path}`;
  const optOut = `You can stop these e-mails on your account page: ${url('/account/email')}. You will still see this in ${c.serviceName}.`;
  switch (m.kind) {
    case 'invitation':
      if (m.signInWith) {
        return {
          subject: `You have been invited to ${c.serviceName}`,
          heading: `Sign in to ${c.serviceName} with your ${m.organisationName} account`,
          blocks: [
            { p: `${m.invitedBy ? `${m.invitedBy} has` : 'An administrator has'} added you to ${m.organisationName} in ${c.serviceName}.` },
            { p: `You sign in with your usual ${m.organisationName} account (${m.signInWith.provider}): there is no separate password for ${c.serviceName}.` },
            { action: `Sign in to ${c.serviceName}`, href: url(`/sign-in?org=${encodeURIComponent(m.signInWith.organisationSlug)}`) },
            { p: 'If you did not expect this e-mail, ignore it.' },
          ],
          footer: `You were sent this because an administrator added your e-mail address to ${c.serviceName}.`,
        };
      }
      if (!c.invitationLink) throw new Error('an invitation needs its link');
      return {
        subject: `You have been invited to ${c.serviceName}`,
        heading: `Set your password for ${c.serviceName}`,
        blocks: [
          { p: `${m.invitedBy ? `${m.invitedBy} has` : 'An administrator has'} added you to ${m.organisationName} in ${c.serviceName}.` },
          { p: `Use this link to set your password. It works once, and for ${INVITATION_DAYS} days.` },
          { action: 'Set your password', href: c.invitationLink },
          { p: 'If you did not expect this e-mail, ignore it: nothing happens unless the link is used.' },
        ],
        footer: `You were sent this because an administrator added your e-mail address to ${c.serviceName}.`,
      };
    case 'password-reset':
      if (!c.invitationLink) throw new Error('a password reset needs its link');
      return {
        subject: `Your ${c.serviceName} password was reset`,
        heading: `Set a new password for ${c.serviceName}`,
        blocks: [
          { p: `${m.resetBy ? `${m.resetBy}, your administrator at ${m.organisationName},` : `Your administrator at ${m.organisationName}`} reset your password. Your old password no longer works, and you were signed out everywhere.` },
          { p: `Use this link to set a new password. It works once, and for ${INVITATION_DAYS} days. If you sign in with an authenticator app as well, that is unchanged: you will still need it.` },
          { action: 'Set a new password', href: c.invitationLink },
          { p: 'If you did not ask for this, tell your administrator: nothing happens unless the link is used.' },
        ],
        footer: `You were sent this because an administrator reset your password in ${c.serviceName}.`,
      };
    case 'quarantine-uploader': {
      // Null (or never decided): they may no longer read the document, so neither its name nor a link to it.
      const named = m.documentName ?? null;
      return {
        subject: named === null ? 'A file you uploaded was quarantined' : `Your upload "${named}" was quarantined`,
        heading: 'Your upload was quarantined',
        blocks: [
          named === null
            ? { p: `Version ${m.versionNumber} of a file you uploaded was quarantined because ${HELD_OR_INFECTED[m.verdict]}. You no longer have access to the document, so it is not named here. Nobody can open it; the security admins of the organisation that holds it decide whether to release or destroy it.` }
            : { p: `Version ${m.versionNumber} of "${named}" was quarantined because ${HELD_OR_INFECTED[m.verdict]}. Nobody can open it; your organisation's security admins decide whether to release or destroy it.` },
          { facts: [['Reason', m.detail]] },
          ...(m.verdict === 'infected' ? [{ p: 'If the file came from your computer, tell your IT service desk: the computer may need checking.' }] : []),
          named === null ? { action: `Open ${c.serviceName}`, href: url('/') } : { action: `Open ${c.serviceName}`, href: url(`/documents/${m.documentId}`) },
        ],
        footer: `You were sent this because you uploaded the file. E-mails about your own uploads' safety are always sent.`,
      };
    }
    case 'quarantine-admin': {
      const named = m.file?.name ?? null;
      return {
        subject: named === null ? `Quarantined: ${fileOutline(m.file)}, version ${m.versionNumber}` : `Quarantined: "${named}", version ${m.versionNumber}`,
        heading: 'A file was quarantined',
        blocks: [
          { p: `A version in your organisation was quarantined because ${HELD_OR_INFECTED[m.verdict]}.` },
          { facts: [['Document', `${named ?? fileOutline(m.file)}, version ${m.versionNumber}`], ['Reason', m.detail], ['Size', bytes(m.size)], ['When', when(m.at)]] },
          { action: 'Review the quarantine', href: url('/admin/quarantine') },
        ],
        footer: `You were sent this because you are a security admin. ${optOut}`,
      };
    }
    case 'arrangement-proposal': {
      // Never the terms the job was queued with: only those read from the arrangement when it is sent.
      const terms = m.terms;
      if (!terms) throw new Error('an arrangement proposal is rendered with the terms read when it is sent');
      return {
        subject: `${terms.hostName} asks your organisation to accept a shared-service arrangement`,
        heading: 'An arrangement awaits your acceptance',
        blocks: [
          { p: `${terms.hostName} has ${m.change === 'proposed' ? 'proposed' : m.change === 'amended' ? 'changed the terms of' : 'reinstated'} a shared-service arrangement with your organisation. It gives nobody access until every partner accepts.` },
          { facts: [['Service area', terms.serviceArea], ['Purpose', terms.purpose], ['Terms revision', String(terms.revision)]] },
          { action: 'Review the terms', href: url(`/arrangements/${m.arrangementId}`) },
        ],
        footer: `You were sent this because you are an org admin of a partner organisation. ${optOut}`,
      };
    }
    case 'disposal-review':
      return {
        subject: `${m.items} record${m.items === 1 ? ' is' : 's are'} due for disposal review`,
        heading: 'A disposal batch awaits review',
        blocks: [
          { p: `${m.items} record${m.items === 1 ? ' has' : 's have'} reached the end of ${m.items === 1 ? 'its' : 'their'} retention period (due by ${m.dueBy}).${m.excluded ? ` ${m.excluded} of them ${m.excluded === 1 ? 'is' : 'are'} under a legal hold and excluded.` : ''} Nothing is destroyed until the batch is reviewed and approved.` },
          { action: 'Review the batch', href: url(`/disposal/${m.batchId}`) },
        ],
        footer: `You were sent this because you are a records manager. ${optOut}`,
      };
    case 'subject-access-partner':
      return {
        subject: `${m.requesterName} asks your organisation to search its records for a subject access request`,
        heading: 'A subject access request needs your search',
        blocks: [
          { p: `${m.requesterName} has received a subject access request and shares a service with your organisation, so it asks you to search your organisation's records for the person's data and include what you find. The request's page says who the person is.` },
          { facts: [['Their reference', m.reference], ['Due by', m.dueOn]] },
          { action: 'Open the request', href: url(`/subject-access/${m.requestId}`) },
        ],
        footer: 'You were sent this because you are a data protection officer of a partner organisation. It is sent whatever your e-mail preferences say: the request has a legal deadline.',
      };
    case 'account-change':
      return accountChange(m, c);
    case 'storage-damaged':
      return {
        subject: 'A stored file can no longer be read',
        heading: 'Every stored copy of a file is damaged',
        blocks: [
          { p: `Every stored copy of version ${m.versionNumber} of a document in your organisation is damaged or missing, so nobody can download it. The service's operators have been told; it must be restored from a backup.` },
          { action: 'See the document', href: url(`/documents/${m.documentId}`) },
        ],
        footer: `You were sent this because you are a security admin. ${optOut}`,
      };
  }
}

/**
 * What each change says: a subject, and what happened in the person's words (`detail` is the message's); for some,
 * who did it in other words than `by` says, and what to do if it was them.
 */
interface ChangeWords { subject: string; what: string; by?: string; ifYou?: string }
const ACCOUNT_CHANGE_WORDS: Record<AccountChangeMessage['change'], (detail: string | null, service: string, m: AccountChangeMessage) => ChangeWords> = {
  'password-changed': (_d, s) => ({ subject: `Your ${s} password was changed`, what: 'Your password was changed. Every other session was signed out, and your API tokens and WebDAV app passwords were revoked.' }),
  'password-set': (_d, s) => ({ subject: `Your ${s} password was set`, what: 'A password was set for your account with a set-password link: one e-mailed to this address, or one an administrator was shown to hand to you.' }),
  'mfa-on': (_d, s) => ({ subject: `Two-step verification was turned on for your ${s} account`, what: 'Two-step verification was turned on for your account with a new authenticator app. Signing in now needs a code from that app.' }),
  'mfa-reset': (_d, s) => ({ subject: `Two-step verification was reset on your ${s} account`, what: 'Two-step verification was reset on your account: your authenticator app and recovery codes no longer work, you were signed out everywhere, and an authenticator app is set up again at the next sign-in.' }),
  // Not named: a token's name is whatever its maker typed, and whoever holds a stolen session must not put their words (a
  // "verify here" address) into a notice people are told to trust. The account page lists each with its name.
  'api-token-created': (_d, s) => ({ subject: `A new API token was created for your ${s} account`, what: 'A new API token was created for your account (your account page lists it). It can read and change what you can, without your password.' }),
  'app-password-created': (_d, s) => ({ subject: `A new WebDAV app password was created for your ${s} account`, what: 'A new WebDAV app password was created for your account (your account page lists it). It can read and change your files in a mapped drive, without your password.' }),
  'provider-linked': (d, s) => ({ subject: `Your ${s} account can now be signed into through your organisation's sign-in`, what: `Your account was linked to your organisation's sign-in${d ? ` (${d})` : ''}: signing in there now signs in to your account.` }),
  'email-changed': (d, s) => ({ subject: `The e-mail address of your ${s} account was changed`, what: `The e-mail address of your account was changed from this address${d ? ` to ${d}` : ''}. Notices about your account now go there, not here.` }),
  'email-added': (_d, s) => ({ subject: `This is now the e-mail address of your ${s} account`, what: 'This address is now the e-mail address of your account. Your previous address was told too.' }),
  // The session is the person's, but whoever holds the password and a code is who signed in: "By" says so, not "You".
  'recovery-code-used': (_d, s, m) => ({
    subject: `A recovery code was used to sign in to your ${s} account`,
    what: `Someone signed in to your account with your password and one of your recovery codes, instead of a code from your authenticator app. That recovery code no longer works.${m.recoveryCodesLeft === undefined ? '' : ` ${codesLeft(m.recoveryCodesLeft)}`}`,
    by: 'Whoever had your password and one of your recovery codes',
    ifYou: m.recoveryCodesLeft !== undefined && m.recoveryCodesLeft <= FEW_RECOVERY_CODES
      ? `If this was you: ${m.recoveryCodesLeft === 0 ? 'without a recovery code, losing your authenticator app would leave you unable to sign in' : 'you are running out of recovery codes'}. Ask an administrator of ${m.organisationName} to reset your two-step verification: you then set it up again at your next sign-in, and are given new recovery codes.`
      : 'If this was you, you need do nothing.',
  }),
  'account-enabled': (_d, s) => ({
    subject: `Your ${s} account was switched back on`,
    what: 'Your account had been switched off and was switched on again, so it can be signed into once more. API tokens and WebDAV app passwords revoked when it was switched off stay revoked.',
  }),
};

/** At or below this many unused recovery codes, the notice of one being used says how to get new ones. */
const FEW_RECOVERY_CODES = 3;

function codesLeft(n: number): string {
  return n === 0 ? 'You have no unused recovery codes left.' : `You have ${n} unused recovery code${n === 1 ? '' : 's'} left.`;
}

/** Who made a change, in the person's words. */
function changedBy(m: AccountChangeMessage, words: ChangeWords, c: MailContext): string {
  return words.by ?? (m.by === 'you' ? 'You (signed in as yourself)'
    : m.by === 'administrator' ? `${m.byName ? `${m.byName}, an` : 'An'} administrator of ${m.organisationName}`
      : m.by === 'operator' ? `The operator of ${c.serviceName} (on the server's command line)`
        : m.by === 'directory' ? `${m.organisationName}'s directory (its identity provider's user provisioning)`
          : m.by === 'identity-provider' ? `${m.organisationName}'s identity provider, at a sign-in through it`
            : 'Whoever used the set-password link');
}

/** When, by whom and from which network (if known) a change was made. */
function changeFacts(m: AccountChangeMessage, words: ChangeWords, c: MailContext): [string, string][] {
  const facts: [string, string][] = [['When', when(m.at)], ['By', changedBy(m, words, c)]];
  if (m.clientAddress) facts.push(['From network', m.clientAddress]);
  return facts;
}

const NOT_YOU = (organisationName: string) => `If it was not you, or you did not expect it, tell an administrator of ${organisationName} (or your IT service desk) straight away: someone else may be able to sign in as you. Do not reply to this e-mail, and do not follow links in any e-mail that claims to be about this.`;
const NOTICE_FOOTER = (c: MailContext) => `You were sent this because the sign-in of your ${c.serviceName} account changed. Security notices are always sent, whatever your e-mail preferences say.`;

/** A security notice: what, when, by whom, from where if known, and what to do if it was not them. No link at all. */
function accountChange(m: AccountChangeMessage, c: MailContext): Draft {
  const words = ACCOUNT_CHANGE_WORDS[m.change](m.detail, c.serviceName, m);
  return {
    subject: words.subject,
    heading: 'Your account\'s sign-in changed',
    blocks: [
      { p: words.what },
      { facts: changeFacts(m, words, c) },
      { p: words.ifYou ?? (m.by === 'you' ? 'If this was you, you need do nothing.' : 'If you expected this, you need do nothing.') },
      { p: NOT_YOU(m.organisationName) },
    ],
    footer: NOTICE_FOOTER(c),
  };
}

/**
 * The summary of the security notices held from one window (domain/mail/notice-limits.ts): each change as its own
 * notice would have told it (what, when, by whom, from which network), oldest first, and nothing dropped.
 */
export function renderAccountChangeSummary(changes: readonly AccountChangeMessage[], context: MailContext): RenderedMail {
  const first = changes[0];
  if (!first) throw new Error('a summary of notices needs at least one');
  const count = `${changes.length} more change${changes.length === 1 ? ' was' : 's were'}`;
  const blocks: Block[] = [{ p: `${count} made to your account's sign-in soon after the ones you were already told of. To keep your mailbox usable, they are told together here rather than in one e-mail each.` }];
  changes.forEach((m, i) => {
    const words = ACCOUNT_CHANGE_WORDS[m.change](m.detail, context.serviceName, m);
    blocks.push({ p: `${i + 1}. ${words.what}` }, { facts: changeFacts(m, words, context) });
    if (words.ifYou) blocks.push({ p: words.ifYou });
  });
  blocks.push({ p: NOT_YOU(first.organisationName) });
  const draft: Draft = {
    subject: `${count} made to your ${context.serviceName} account's sign-in`,
    heading: 'Your account\'s sign-in changed several times',
    blocks,
    footer: NOTICE_FOOTER(context),
  };
  return { subject: oneLine(draft.subject), text: asText(draft, context), html: asHtml(draft, context) };
}

/** A quarantined file above the recipient's clearance: what it is and where, never its name (docs/malware.md). */
function fileOutline(file: Extract<MailMessage, { kind: 'quarantine-admin' }>['file']): string {
  if (!file) return 'a file in your organisation';
  const where = file.collection === null ? `a collection classified ${file.classification}` : file.collection;
  return `a file classified ${file.classification} in ${where} (${file.serviceArea})`;
}

function asText(d: Draft, c: MailContext): string {
  const lines = [`${c.serviceName}`, '', `Dear ${oneLine(c.recipientName)},`, '', oneLine(d.heading), ''];
  for (const b of d.blocks) {
    if ('p' in b) lines.push(oneLine(b.p), '');
    else if ('action' in b) lines.push(`${oneLine(b.action)}:`, b.href, '');
    else lines.push(...b.facts.map(([k, v]) => `${k}: ${oneLine(v)}`), '');
  }
  lines.push('--', oneLine(d.footer), '');
  return lines.join('\n');
}

const FONT = 'font-family: Arial, Helvetica, sans-serif;';
const TEXT = `${FONT} font-size: 19px; line-height: 1.32; color: #0b0c0c;`;

function asHtml(d: Draft, c: MailContext): string {
  const body = d.blocks.map((b) => {
    if ('p' in b) return `<p style="${TEXT} margin: 0 0 20px 0;">${escapeHtml(b.p)}</p>`;
    if ('action' in b) {
      return `<p style="margin: 0 0 20px 0;"><a href="${escapeHtml(b.href)}" style="${FONT} font-size: 19px; font-weight: bold; display: inline-block; background: #00703c; color: #ffffff; text-decoration: none; padding: 8px 12px; border-bottom: 2px solid #002d18;">${escapeHtml(b.action)}</a></p>`
        + `<p style="${FONT} font-size: 16px; color: #505a5f; margin: 0 0 20px 0;">Or copy this address into your browser: ${escapeHtml(b.href)}</p>`;
    }
    const rows = b.facts.map(([k, v]) => `<tr><th scope="row" style="${TEXT} text-align: left; padding: 4px 20px 4px 0; vertical-align: top;">${escapeHtml(k)}</th><td style="${TEXT} padding: 4px 0;">${escapeHtml(v)}</td></tr>`).join('');
    return `<table role="presentation" style="border-collapse: collapse; margin: 0 0 20px 0;">${rows}</table>`;
  }).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(oneLine(d.subject))}</title></head>
<body style="margin: 0; padding: 0; background: #ffffff;">
<table role="presentation" width="100%" style="border-collapse: collapse; max-width: 580px;">
<tr><td style="background: #0b0c0c; padding: 12px 20px; border-bottom: 10px solid #1d70b8;"><span style="${FONT} font-size: 24px; font-weight: bold; color: #ffffff;">${escapeHtml(c.serviceName)}</span></td></tr>
<tr><td style="padding: 20px;">
<p style="${TEXT} margin: 0 0 20px 0;">Dear ${escapeHtml(oneLine(c.recipientName))},</p>
<h1 style="${FONT} font-size: 27px; line-height: 1.25; font-weight: bold; color: #0b0c0c; margin: 0 0 20px 0;">${escapeHtml(d.heading)}</h1>
${body}
<hr style="border: 0; border-top: 1px solid #b1b4b6; margin: 30px 0 15px 0;">
<p style="${FONT} font-size: 16px; color: #505a5f; margin: 0;">${escapeHtml(d.footer)}</p>
</td></tr></table>
</body></html>
`;
}

/** Names come from people: no line breaks (a header or a forged paragraph), no control characters. */
function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
}

export function escapeHtml(value: string): string {
  return oneLine(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function when(iso: string): string {
  return Number.isNaN(Date.parse(iso)) ? iso : `${ukDateTime(iso)} (UK time)`;
}
