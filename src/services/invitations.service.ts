// Invitation links: a person added while e-mail is configured gets a link (mail.service.ts makes it)
// that lets them set their first password, once, within INVITATION_DAYS; so does a person whose password an
// admin reset (UsersAdminService.resetPassword leaves them with none, as a new person has). Only a keyed hash of the token
// is stored, and a token works only for its person (person-bound-token.ts).
import { signInLinkId } from '../domain/audit/sign-in-link-record.js';
import { DomainError } from '../domain/errors.js';
import { checkPasswordStrength } from '../domain/passwords.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { UsersRepository } from '../domain/identity/account-repositories.js';
import type { MailRepository } from '../domain/mail/repositories.js';
import type { Store } from '../domain/repositories.js';
import type { Actor, User } from '../domain/types.js';
import { queueAccountNotice } from './account-notices.js';
import { auditEvent } from './audit-events.js';
import { passwordIds } from './person-state.js';
import { actorFor, systemActor, type RequestInfo } from './identity.service.js';
import { newPersonBoundToken, personBoundTokenIsFor, storedPersonBoundToken } from './person-bound-token.js';
import { accountAtNetworkKey } from './sign-in-throttle-keys.js';
import { unsealedSecrets, type SealAlarm } from './sign-in-seal-alarm.js';
import { auditedIfBusy } from './sign-in-audit.js';

/** One answer for a link never issued, used, replaced or expired: the link tells nobody which. */
export const invitationNotValid = (): DomainError =>
  new DomainError('NOT_FOUND', 'This invitation link does not work: it has been used, has expired or was replaced by a newer one. Ask your administrator to invite you again, or to reset your password.');

/**
 * Whether the person's organisation signs in through an enabled identity provider: its staff never have a
 * Strongroom password (UserCreationService.addUser). `store`: the Store, or a transaction's repositories as `{ repos }`.
 */
export async function signsInThroughProvider(store: Pick<Store, 'repos'>, user: Pick<User, 'organisationId'>): Promise<boolean> {
  return (await store.repos.federation.providers(user.organisationId)).some((p) => p.enabled);
}

/**
 * Whether the person has no password yet as Strongroom wrote that ('none': a null hash whose seal matches),
 * has one ('set'), or has a null hash Strongroom did not write ('unsealed'). A null written into the database
 * over someone's password is no "no password yet": a link mailed for it (a send-email job is a row too) would
 * let whoever reads the mail set their password, sealed and audited as Strongroom's own write. Every decision
 * on "has a password" for an invitation asks this; 'unsealed' is refused like a link that does not work, with
 * the seal alarm and an audited `secrets_not_sealed` refusal (`refuseUnsealed`).
 */
export async function passwordStanding(users: UsersRepository, userId: string): Promise<'none' | 'set' | 'unsealed'> {
  const state = await users.signInState(userId);
  if (!state || state.password_hash !== null) return 'set';
  return state.passwordSealed ? 'none' : 'unsealed';
}

/**
 * Makes the person's link to set a password, working once until `expiresAt`, in place of any earlier one
 * (`mail`: the caller's transaction's), and returns its path and the id its issuing event records
 * (sign-in-link-record.ts). For a password reset without e-mail, whose link is shown to whoever reset it; an
 * e-mailed link is made the same way when its mail is sent (MailService.deliver).
 */
export async function issueInvitationLink(mail: MailRepository, invitationKey: Buffer, userId: string, now: Date, expiresAt: Date): Promise<{ path: string; link: string }> {
  const token = newPersonBoundToken(invitationKey, userId);
  const tokenHash = storedPersonBoundToken(invitationKey, token);
  await mail.replaceInvitation({ tokenHash, userId, createdAt: now.toISOString(), expiresAt: expiresAt.toISOString() });
  return { path: `/invitation/${token}`, link: signInLinkId(tokenHash) };
}

/** An invitation refused because the person's null password is not sealed: audited as `action` refused, the alarm raised. */
export async function refuseUnsealed(store: Store, clock: Clock, alarm: SealAlarm | undefined, actor: Actor, action: string, user: User): Promise<void> {
  alarm?.(unsealedSecrets(user.id));
  await store.repos.audit.insert([auditEvent(actor, action, { organisationId: user.organisationId, ids: { userId: user.id } }, { allow: false, reason: 'secrets_not_sealed', via: null }, clock.now())]);
}

export class InvitationsService {
  constructor(private readonly o: {
    store: Store; clock: Clock; passwords: PasswordHasher;
    /** The key links are made and stored under (person-bound-token.ts), the mail service's: a row written by hand is no link anyone can follow. */
    invitationKey: Buffer;
    /** Told of a person whose null password is not sealed (compose/identity.ts logs it). */
    alarm?: SealAlarm;
  }) {}

  /** The person a live link is for (to greet them on the page); NOT_FOUND otherwise. */
  async check(token: string): Promise<Pick<User, 'name' | 'email'>> {
    const { user } = await this.live(token);
    return { name: user.name, email: user.email };
  }

  /**
   * Sets the person's first password (or their first since an admin's reset) and uses the link up, in one
   * transaction with its audit event, which names the link taken (sign-in-link-record.ts). The person has just
   * shown they hold the mailbox (or the link handed to them) and chosen a password: their account's counter of
   * failed passwords at this network is cleared, as a right password clears it, so they sign in with it at once.
   *
   * What `live` found is asked again inside the transaction, which takes the person's row FIRST, as a reset, a
   * disable, a password change and a mailed link do (taking the link's row before it would deadlock with a reset
   * on PostgreSQL): the link still theirs, unused, unexpired and not withdrawn, the person still enabled, still
   * with no password, and their organisation still not signing in through its identity provider. A reset, a
   * disable or a provider switched on between the page and this refuses it and sets nothing; a reset that comes
   * after waits for this and then sees the password it set.
   */
  async accept(token: string, password: string, request: RequestInfo): Promise<void> {
    const { user } = await this.live(token);
    checkPasswordStrength(password);
    // Hashed before the link is taken: refused as busy (password-check-gate.ts), the link is still theirs to use.
    const passwordHash = await auditedIfBusy(this.o, { actor: actorFor(user, request), action: 'user.invitation-accept', user }, () => this.o.passwords.hash(password));
    const now = this.o.clock.now();
    const tokenHash = storedPersonBoundToken(this.o.invitationKey, token);
    await this.o.store.transaction(async (repos) => {
      await repos.users.lock(user.id);
      const person = await repos.users.byId(user.id);
      if (!person || person.disabled || (await signsInThroughProvider({ repos }, person))) throw invitationNotValid();
      // The one statement that decides: of two requests with the same link, one sets the password; a link
      // withdrawn (deleted) meanwhile is not there to use.
      if (!(await repos.mail.useInvitation(tokenHash, now.toISOString()))) throw invitationNotValid();
      // A link sets a first password, never replaces one (a password set meanwhile, by another link or an admin,
      // wins), and never over a null not sealed (`live` refused that already, audited; read again here as it decides).
      if ((await passwordStanding(repos.users, user.id)) !== 'none') throw invitationNotValid();
      await repos.users.update(user.id, { passwordHash });
      // Only this account's counter at this network: the network's own counter, and the account's from
      // elsewhere (which slows a guesser on many networks), stay as they are (docs/identity.md).
      await repos.signInThrottles.clear(accountAtNetworkKey(person.email, request.clientAddress));
      await repos.audit.insert([auditEvent(actorFor(person, request), 'user.invitation-accept', { organisationId: person.organisationId, ids: { userId: user.id, link: signInLinkId(tokenHash), ...passwordIds(user.id, passwordHash) } }, { allow: true, reason: 'invitation', via: null }, now)]);
      // Whoever had the link set it: the person, or someone who saw the link (a forwarded mail, a proxy's log).
      await queueAccountNotice(repos, actorFor(person, request), user.id, { change: 'password-set', by: 'link' }, now);
    });
  }

  private async live(token: string): Promise<{ user: User }> {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) throw invitationNotValid();
    const row = await this.o.store.repos.mail.invitationByHash(storedPersonBoundToken(this.o.invitationKey, token));
    if (!row || row.usedAt !== null || row.expiresAt <= this.o.clock.now().toISOString()) throw invitationNotValid();
    const user = await this.o.store.repos.users.byId(row.userId);
    if (!user || user.disabled || !personBoundTokenIsFor(this.o.invitationKey, token, user.id)) throw invitationNotValid();
    const standing = await passwordStanding(this.o.store.repos.users, user.id);
    if (standing === 'unsealed') await refuseUnsealed(this.o.store, this.o.clock, this.o.alarm, systemActor('web'), 'user.invitation-accept', user);
    if (standing !== 'none') throw invitationNotValid();
    // Nor for someone whose organisation signs in through its identity provider (mail.service.ts makes them none).
    if (await signsInThroughProvider(this.o.store, user)) throw invitationNotValid();
    return { user };
  }
}
