// A signed-in person changing their own password on the web: the current one judged (throttled like a second
// factor), the new one checked, and in one transaction under the person's row lock the change, every other
// session ended, their tokens and app passwords revoked, and the change recorded and told to them.
import { invalid, type DomainError } from '../domain/errors.js';
import { checkPasswordStrength } from '../domain/passwords.js';
import { auditEvent } from './audit-events.js';
import { passwordIds } from './person-state.js';
import { queueAccountNotice } from './account-notices.js';
import { revokeCredentialsOf } from './person-revocation.js';
import { unsealedSecrets } from './sign-in-seal-alarm.js';
import { auditSignIn, auditedIfBusy } from './sign-in-audit.js';
import { actorFor, type RequestInfo } from './identity.service.js';
import type { WebSession, WebSignInParts } from './web-sessions.service.js';

export class PasswordChangeService {
  constructor(private readonly o: WebSignInParts) {}

  private get repos() {
    return this.o.store.repos;
  }

  /**
   * Changes the signed-in person's password (at least 12 characters, no composition rules, not a
   * common one). Every other session of theirs ends, and every API token and WebDAV app password they
   * have is revoked (audited): a password changed because someone else learned it must not leave that
   * someone a token made with it. This session is replaced by a fresh id.
   *
   * The current password is judged before the transaction (hashing is slow), so the transaction takes the
   * person's row first, as a reset, a disable and a link that sets a password do, and reads it again: a reset
   * or another change committed in between (the hash no longer the one judged), or a disable, refuses this
   * change and writes nothing. Otherwise a password judged just before an admin's reset would replace the reset
   * (and withdraw its link), and the reset the person's organisation asked for would be lost.
   */
  async changePassword(session: WebSession, current: string, next: string, request: RequestInfo): Promise<string> {
    const actor = actorFor(session.user, request);
    const places = await this.o.attempts.requireSecondFactorAttempt(actor, session.user, 'auth.password-change');
    const state = await this.repos.users.signInState(session.user.id);
    // A hash written into the database directly (its seal not matching) is checked against nothing, as long as a wrong one takes.
    const sealed = state?.passwordSealed === true;
    const ok = await this.o.attempts.judged(places, { actor, action: 'auth.password-change', user: session.user }, async () => sealed && Boolean(state.password_hash)
      ? this.o.passwords.verify(state.password_hash!, current)
      : this.o.passwords.verify(await this.o.dummyHash.value(), current).then(() => false));
    if (!sealed) this.o.alarm?.(unsealedSecrets(session.user.id));
    if (!ok) {
      await auditSignIn(this.o, actor, 'auth.password-change', session.user, false, sealed ? 'bad_password' : 'secrets_not_sealed');
      throw invalid('Your current password is not right.', { field: 'currentPassword' });
    }
    // The right current password is not a failure; it does not clear earlier ones either (it never did).
    await this.o.attempts.givePlacesBack(places);
    checkPasswordStrength(next);
    if (next === current) throw invalid('Choose a password different from your current one.', { field: 'password' });
    const passwordHash = await auditedIfBusy(this.o, { actor, action: 'auth.password-change', user: session.user }, () => this.o.passwords.hash(next));
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.users.lock(session.user.id);
      const person = await repos.users.byId(session.user.id);
      const stored = await repos.users.signInState(session.user.id);
      if (!person || person.disabled || stored?.passwordSealed !== true || stored.password_hash !== state?.password_hash) throw changedMeanwhile();
      // This session ended meanwhile (an admin reset their two-step verification, which signs them out everywhere):
      // the change would otherwise hand back a fresh, fully signed-in session past the set-up the reset asks for.
      if (!(await repos.sessions.byHash(session.idHash))) throw changedMeanwhile();
      await repos.users.update(session.user.id, { passwordHash });
      await repos.sessions.deleteForUser(session.user.id);
      // Any link of theirs to set a password (an invitation's, a reset's) is withdrawn: a password they chose
      // themselves ends whatever someone else was given to set one, and a later reset must not revive it.
      await repos.mail.withdrawInvitations(session.user.id);
      await revokeCredentialsOf(repos, actor, session.user, { allow: true, reason: 'password_changed', via: null }, now);
      // Recorded in the same transaction, with the binding `audit verify` compares the stored hash with.
      await repos.audit.insert([auditEvent(actor, 'auth.password-change', { organisationId: session.user.organisationId, ids: { userId: session.user.id, ...passwordIds(session.user.id, passwordHash) } },
        { allow: true, reason: 'self', via: null }, now)]);
      await queueAccountNotice(repos, actor, session.user.id, { change: 'password-changed' }, now);
    });
    // The second factor this session had (its provider's, for one) still stands for its replacement.
    const sessionId = await this.o.ids.create(session.user, 'active', { providerMfa: session.providerMfa });
    return sessionId;
  }
}

/** A password change whose person was reset, changed elsewhere or switched off after their current password was judged. */
const changedMeanwhile = (): DomainError =>
  invalid('Your password was not changed: it was reset or changed elsewhere, your account was switched off, or you were signed out (your two-step verification reset) while you were changing it. Sign in again; after a reset, use the link you were sent to set a new one.', { field: 'currentPassword' });
