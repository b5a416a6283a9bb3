// Web sign-in with an e-mail address and password: throttled in the database, answered alike for known and
// unknown addresses, audited, and ending in a fresh session at the stage the person has reached ('mfa',
// 'mfa_setup' or 'active'; the second factor is second-factor.service.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../domain/errors.js';
import { mfaRequired } from '../domain/identity/mfa.js';
import { SIGN_IN_THROTTLE, signInVerdict } from '../domain/identity/sign-in-throttle.js';
import type { Actor, User } from '../domain/types.js';
import type { ThrottlePlace } from '../domain/repositories.js';
import { auditEvent } from './audit-events.js';
import { PasswordChecksBusyError } from './password-check-gate.js';
import { passwordIds } from './person-state.js';
import { unsealedSecrets } from './sign-in-seal-alarm.js';
import { throttled } from './sign-in-attempts.js';
import { auditSignIn } from './sign-in-audit.js';
import { signInKeys } from './sign-in-throttle-keys.js';
import { actorFor, type RequestInfo } from './identity.service.js';
import type { SessionStage, WebSignInParts } from './web-sessions.service.js';

export class PasswordSignInService {
  constructor(private readonly o: WebSignInParts) {}

  private get repos() {
    return this.o.store.repos;
  }

  /**
   * Checks e-mail and password. Returns a fresh session (any session presented is destroyed, so a
   * planted id never survives sign-in) at stage 'mfa', 'mfa_setup' or 'active'. Known and unknown
   * e-mail addresses are counted, throttled and answered alike. The attempt is counted before the
   * password is judged (takePlacesWithin), so attempts sent at the same moment cannot all be judged.
   */
  async signIn(email: string, password: string, request: RequestInfo, previousSessionId?: string): Promise<{ sessionId: string; stage: SessionStage; user: User }> {
    if (previousSessionId) await this.repos.sessions.delete(this.o.ids.storedId(previousSessionId));
    const address = email.trim().toLowerCase();
    const keys = signInKeys(address, request.clientAddress);
    const verdictOn = ([network, accountAtNetwork, account]: ThrottlePlace[]) =>
      signInVerdict({ network: network!.place - 1, accountAtNetwork: accountAtNetwork!.place - 1, account: account!.place - 1 });
    const places = await this.o.attempts.takePlacesWithin([[keys.network, SIGN_IN_THROTTLE.network], [keys.accountAtNetwork, SIGN_IN_THROTTLE.accountAtNetwork], [keys.account, SIGN_IN_THROTTLE.account]], (taken) => !verdictOn(taken).refuse);
    const user = await this.repos.users.byEmail(address);
    const actor = user ? actorFor(user, request) : anonymous(request);
    if (!places) {
      await auditSignIn(this.o, actor, 'auth.sign-in', user ?? null, false, 'throttled');
      throw throttled();
    }
    const [network, , account] = places;
    const verdict = verdictOn(places);
    // Places within the limits (takePlacesWithin): the verdict is a delay, for an account under attack.
    if (!verdict.refuse && verdict.delayMs > 0) await (this.o.sleep ?? sleep)(verdict.delayMs);
    // A failure keeps the places it took: it is already counted.
    const failed = async (reason: string) => {
      await auditSignIn(this.o, actor, 'auth.sign-in', user ?? null, false, reason);
      return badCredentials();
    };
    // Known or not, the check waits its turn at the same gate (password-check-gate.ts), and is refused alike when it is full.
    const judged = <T>(check: () => Promise<T>) => this.o.attempts.judged(places, { actor, action: 'auth.sign-in', user: user ?? null }, check);
    if (!user) {
      // Spend the same time as a real check, so response times do not reveal which e-mails exist.
      await judged(async () => this.o.passwords.verify(await this.o.dummyHash.value(), password));
      throw await failed('unknown_user');
    }
    const state = await this.repos.users.signInState(user.id);
    const stored = state?.password_hash ?? null;
    // The hash, and the MFA state that decides the stage, count only as Strongroom wrote them (their seals):
    // a hash of the database administrator's own written over an org admin's, or MFA written off, is no way in.
    const sealed = state?.passwordSealed === true && state.mfaSealed;
    // An account without a password (invited, or signing in through its organisation's provider), or whose
    // seals do not match, is checked against the dummy as well, so its answer takes as long as a wrong password's.
    const ok = await judged(async () => stored === null || !sealed
      ? this.o.passwords.verify(await this.o.dummyHash.value(), password).then(() => false)
      : this.o.passwords.verify(stored, password));
    if (!sealed) {
      this.o.alarm?.(unsealedSecrets(user.id));
      throw await failed('secrets_not_sealed');
    }
    // A disabled account answers like a wrong password (and counts like one), whatever was typed.
    if (!ok || user.disabled) throw await failed(ok ? 'disabled' : 'bad_password');
    // A hash made under another setting (test-only-weak, or older parameters) is made again now that
    // the password is known; only if it is still the stored one, so a password changed meanwhile stays.
    // Recorded, with its binding, in the same transaction: `audit verify` compares the stored hash with
    // the latest recorded one (person-secrets-record.ts), so an unrecorded rehash would look like tampering.
    // A rehash refused for want of a turn (password-check-gate.ts) is left for a later sign-in: this one has passed.
    const rehashed = stored !== null && this.o.passwords.needsRehash(stored) ? await this.o.passwords.hash(password).catch(notIfBusy) : null;
    if (stored !== null && rehashed !== null) {
      await this.o.store.transaction(async (repos) => {
        if (!(await repos.users.rehashPassword(user.id, stored, rehashed))) return;
        await repos.audit.insert([auditEvent(actor, 'auth.password-rehash', { organisationId: user.organisationId, ids: { userId: user.id, ...passwordIds(user.id, rehashed) } },
          { allow: true, reason: 'hashing_parameters', via: null }, this.o.clock.now())]);
      });
    }
    // Success clears this account's counter at this network, as before, and is not a failure on the others.
    await this.repos.signInThrottles.clear(keys.accountAtNetwork);
    await this.o.attempts.givePlacesBack([network!, account!]);
    const stage: SessionStage = state?.mfa_enabled ? 'mfa' : mfaRequired(user.roles) ? 'mfa_setup' : 'active';
    const sessionId = await this.o.ids.create(user, stage);
    await auditSignIn(this.o, actor, stage === 'active' ? 'auth.sign-in' : 'auth.password', user, true, stage === 'active' ? 'password' : `password;${stage}`);
    return { sessionId, stage, user };
  }
}

function anonymous(request: RequestInfo): Actor {
  return { kind: 'user', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL', channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId };
}

const notIfBusy = (error: unknown): null => {
  if (error instanceof PasswordChecksBusyError) return null;
  throw error;
};

const badCredentials = (): DomainError => new DomainError('UNAUTHENTICATED', 'Enter a correct e-mail address and password.');
