// Security notices: a person is told by e-mail whenever their sign-in changes (password, two-step verification,
// a new API token or app password, a link to the identity provider, their address, a recovery code used to sign
// in, their account switched back on), queued by the one service operation that makes the change, in its
// transaction, whichever interface asked (docs/email.md "Security notices").
import { sendEmailJob } from '../domain/jobs/kinds.js';
import type { AccountChange, AccountChangedBy } from '../domain/mail/message.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';

export interface AccountNotice {
  change: AccountChange;
  /** The provider's name, or (email-changed) the new address. */
  detail?: string | null;
  /** Who made it, when the actor does not say (a set-password link, a first sign-in through the provider). */
  by?: AccountChangedBy;
  /** The address to tell, when it is not the person's as this transaction reads it (the new one, after an address change). */
  address?: string;
  /** recovery-code-used: how many unused codes the spend left. */
  recoveryCodesLeft?: number;
}

/**
 * Who made the change, as the person is told: themselves, an org admin of theirs (decide() let nobody else's),
 * the operator (the CLI's system actor) or the directory (SCIM).
 */
function changedBy(actor: Actor, userId: string): AccountChangedBy {
  if (actor.kind === 'directory') return 'directory';
  if (actor.kind === 'system') return 'operator';
  return actor.userId === userId ? 'you' : 'administrator';
}

/**
 * Queues one security notice to `userId` with the transaction's job queue (`repos`, the change's own): the change
 * and its notice commit together, or neither. The address is read here, in that transaction, and carried by the
 * job (MailService sends to it whatever the person's address is by then), so a later change of address cannot
 * redirect the notice of an earlier change. A person with no address is told nothing (nothing to send to); a
 * disabled person is still sent it (unlike their other mail: see MailService.deliver). Without SMTP the log mailer
 * writes it to the server log, which is safe: a notice carries no secret and no link.
 */
export async function queueAccountNotice(repos: Repos, actor: Actor, userId: string, notice: AccountNotice, now: Date): Promise<void> {
  const person = await repos.users.byId(userId);
  const address = notice.address ?? person?.email ?? '';
  if (!person || !address) return;
  const organisationName = (await repos.organisations.byId(person.organisationId))?.name ?? '';
  const by = notice.by ?? changedBy(actor, userId);
  const byName = by === 'administrator' && actor.userId ? (await repos.users.byId(actor.userId))?.name ?? null : null;
  await repos.jobs.enqueue(sendEmailJob, {
    userId,
    message: {
      kind: 'account-change', change: notice.change, at: now.toISOString(), by, byName, organisationName,
      clientAddress: actor.clientAddress, detail: notice.detail ?? null, address,
      ...(notice.recoveryCodesLeft === undefined ? {} : { recoveryCodesLeft: notice.recoveryCodesLeft }),
    },
  }, { now, organisationId: person.organisationId });
}
