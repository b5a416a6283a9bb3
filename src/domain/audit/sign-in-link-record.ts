// Whether every link that set a password (an invitation's, or a password reset's) was one Strongroom issued
// and had not seen used. A link's row holds only a keyed hash of its token, and its seal-free row binds it to
// its person, not to a time: a database administrator who puts back an old, used link's row (one still in the
// person's mailbox, or shown to an admin at an earlier reset) after a reset has left the person with no
// password, gets a link that works, and its use is an ordinary recorded write. So each issuance records the
// link's id (`mail.sign-in-link` for a mailed link, `user.password-reset` for one shown to whoever reset it),
// and each use records the id of the link it took (`user.invitation-accept`); `audit verify` names a use of a
// link that is not the person's latest issued one, or was used already.
//
// The id is a hash of the stored hash, which is itself keyed (person-bound-token.ts): it tells nobody the
// token, and nothing looks a link up by it.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './event.js';

/** The id a link is recorded by, from the keyed hash of its token the invitations table stores. */
export const signInLinkId = (tokenHash: string): string => createHash('sha256').update(`set-password link v1\n${tokenHash}`).digest('base64url');

/** The events that issue, withdraw or use a person's link to set a password, as this rule reads them. */
export const SIGN_IN_LINK_ACTIONS = ['mail.sign-in-link', 'user.password-reset', 'user.invitation-accept', 'user.disable', 'auth.password-change'] as const;

type Change = Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>;

/**
 * The first use of a link that its person's trail does not show issued since their links were last withdrawn
 * or replaced, or shows used already, said to a person; null when none. `events`: the allowed events of
 * SIGN_IN_LINK_ACTIONS in the order they were written.
 *
 * A person has at most one live link: each issuance replaces the one before (MailRepository.replaceInvitation),
 * a reset withdraws every earlier one (and records the link it shows, if it shows one; a mailed one is recorded
 * when it is sent), and a use spends it. A disable and a password change withdraw links too: after either, no
 * link is live until the next issuance, so the withdrawn link's row put back (after the person is switched on
 * again, or their password reset) is named when taken. Judged only from a recorded issuance that names its link
 * (from 5 December 2026): before it a person's live link is not known, and a use is let pass.
 */
export function unissuedLinkTaken(events: readonly Change[]): string | null {
  const live = new Map<string, string | null | 'not known'>();
  for (const e of events) {
    const userId = e.targetIds.userId;
    if (e.decision !== 'allow' || !userId) continue;
    const link = e.targetIds.link;
    if (e.action === 'mail.sign-in-link') {
      live.set(userId, link ?? 'not known');
    } else if (e.action === 'user.password-reset') {
      // A reset by e-mail issues its link when the mail is sent (its own mail.sign-in-link); one shown names it here.
      live.set(userId, link ?? (e.targetIds.delivery === 'e-mail' ? null : 'not known'));
    } else if (e.action === 'user.disable' || e.action === 'auth.password-change') {
      // Withdrawn (person-revocation.ts, PasswordChangeService.changePassword); known only once a link was recorded by its id.
      if (live.has(userId) && live.get(userId) !== 'not known') live.set(userId, null);
    } else if (e.action === 'user.invitation-accept') {
      const issued = live.get(userId);
      if (link !== undefined && issued !== undefined && issued !== 'not known' && issued !== link) {
        return `Person ${userId} set a password with a link that was not their latest one issued, or that was used already: its row was put back in the database directly, not by Strongroom.`;
      }
      live.set(userId, link === undefined ? 'not known' : null);
    }
  }
  return null;
}
