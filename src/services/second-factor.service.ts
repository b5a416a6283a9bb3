// The second factor of web sign-in: a TOTP code or an unused recovery code checked for a session that owes
// one, and setting an authenticator up (its secret derived from the session, the first code confirmed, MFA
// turned on and recovery codes handed out). Each success rotates the session to 'active'.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { generateURI, verifySync } from 'otplib';
import { DomainError, invalid } from '../domain/errors.js';
import type { Actor, User } from '../domain/types.js';
import { auditEvent } from './audit-events.js';
import { mfaIds } from './person-state.js';
import { queueAccountNotice } from './account-notices.js';
import { unsealedSecrets } from './sign-in-seal-alarm.js';
import { auditSignIn } from './sign-in-audit.js';
import { actorFor, type RequestInfo } from './identity.service.js';
import type { WebSession, WebSignInParts } from './web-sessions.service.js';

const RECOVERY_CODES = 10;

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export class SecondFactorService {
  constructor(private readonly o: WebSignInParts) {}

  private get repos() {
    return this.o.store.repos;
  }

  /** The second factor: a TOTP code or an unused recovery code. Rotates the session to 'active'. */
  async verifySecondFactor(session: WebSession, code: string, request: RequestInfo): Promise<string> {
    if (session.stage !== 'mfa') throw invalid('No second factor is owed for this session.');
    const user = session.user;
    const actor = actorFor(user, request);
    const places = await this.o.attempts.requireSecondFactorAttempt(actor, user, 'auth.mfa');
    const state = await this.repos.users.signInState(user.id);
    const badCode = () => invalid('The code is not right. Enter the 6-digit code shown in your authenticator app now, or a recovery code.', { field: 'code' });
    // A secret or recovery codes written into the database directly (or MFA written off meanwhile) are no second factor.
    if (!state?.mfaSealed || !state.passwordSealed) {
      this.o.alarm?.(unsealedSecrets(user.id));
      await auditSignIn(this.o, actor, 'auth.mfa', user, false, 'secrets_not_sealed');
      throw badCode();
    }
    const clean = code.replace(/[\s-]/g, '');
    // The secret is stored sealed (sign-in-seals.ts): opened only here, to check a code.
    const secret = state.mfa_secret === null ? null : this.repos.users.openTotpSecret(user.id, state.mfa_secret);
    if (/^\d{6}$/.test(clean) && secret && (await this.totpValid(user.id, secret, clean))) {
      await this.o.attempts.secondFactorPassed(places);
      // Only if the pending session is still there to claim (see below).
      if (!(await this.repos.sessions.delete(session.idHash))) return this.endedMeanwhile(actor, user);
      const sessionId = await this.o.ids.create(session.user, 'active');
      await auditSignIn(this.o, actor, 'auth.sign-in', user, true, 'password+totp');
      return sessionId;
    }
    // A recovery code: spent, the session made, the sign-in recorded and the person told (security notice) in one
    // transaction, so a code is never spent on a sign-in that did not happen, a notice never tells of one, and
    // one that happened is never untold (a crash between a spend and its notice would leave exactly that).
    // The pending session is claimed first: one ended meanwhile (signed out everywhere by a password change, a
    // reset, a switching off) or claimed by another request with another code spends no code and makes no session.
    const outcome = state.recovery_codes ? await this.o.store.transaction(async (repos) => {
      if (!(await repos.sessions.delete(session.idHash))) return 'ended' as const;
      const left = await repos.users.spendRecoveryCode(user.id, sha256(clean.toLowerCase()));
      if (left === null) throw new RolledBack();
      const made = await this.o.ids.create(session.user, 'active', {}, repos);
      await auditSignIn(this.o, actor, 'auth.sign-in', user, true, 'password+recovery_code', repos);
      await queueAccountNotice(repos, actor, user.id, { change: 'recovery-code-used', recoveryCodesLeft: left }, this.o.clock.now());
      return made;
    }).catch((error: unknown) => {
      if (error instanceof RolledBack) return null;
      throw error;
    }) : null;
    if (outcome === 'ended') return this.endedMeanwhile(actor, user);
    const sessionId = outcome;
    if (!sessionId) {
      await auditSignIn(this.o, actor, 'auth.mfa', user, false, 'bad_code');
      throw badCode();
    }
    await this.o.attempts.secondFactorPassed(places);
    return sessionId;
  }

  /**
   * The authenticator secret a 'mfa_setup' session is shown: this session's own, the same on every reload
   * (the QR code may already be scanned), derived from the session rather than stored, so looking at the
   * page writes nothing. It used to be one pending secret per person, stored and shown to every session at
   * the set-up step: someone with only the password, signed in beside the owner, read the secret the owner
   * then confirmed, and had their second factor from then on.
   */
  async mfaEnrolment(session: WebSession): Promise<{ secret: string; uri: string }> {
    if (session.stage !== 'mfa_setup') throw invalid('Two-factor authentication is already set up.');
    const state = await this.repos.users.signInState(session.user.id);
    if (state?.mfa_enabled) throw alreadySetUp();
    const secret = this.enrolmentSecret(session);
    return { secret, uri: generateURI({ issuer: this.o.issuer ?? 'Strongroom', label: session.user.email, secret }) };
  }

  /**
   * Confirms the first code of this session's secret, turns MFA on, and hands out recovery codes (shown once,
   * stored hashed). Only while MFA is still off, in one statement: a set-up page left open in another
   * browser never replaces an authenticator turned on since (its session is asked for a code instead).
   */
  async completeMfaEnrolment(session: WebSession, code: string, request: RequestInfo): Promise<{ sessionId: string; recoveryCodes: string[] }> {
    if (session.stage !== 'mfa_setup') throw invalid('Two-factor authentication is already set up.');
    const actor = actorFor(session.user, request);
    const places = await this.o.attempts.requireSecondFactorAttempt(actor, session.user, 'auth.mfa-enrol');
    const state = await this.repos.users.signInState(session.user.id);
    // MFA written off by hand must not let this page replace the authenticator in use.
    if (!state?.mfaSealed) {
      this.o.alarm?.(unsealedSecrets(session.user.id));
      await auditSignIn(this.o, actor, 'auth.mfa-enrol', session.user, false, 'secrets_not_sealed');
      throw invalid('The code is not right. Enter the 6-digit code your authenticator app shows for Strongroom.', { field: 'code' });
    }
    if (state.mfa_enabled) {
      await this.o.attempts.givePlacesBack(places);
      await this.repos.sessions.setStage(session.idHash, 'mfa');
      throw alreadySetUp();
    }
    const secret = this.enrolmentSecret(session);
    const clean = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(clean) || !(await this.totpValid(session.user.id, secret, clean))) {
      throw invalid('The code is not right. Enter the 6-digit code your authenticator app shows for Strongroom.', { field: 'code' });
    }
    const recoveryCodes = Array.from({ length: RECOVERY_CODES }, () => randomBytes(5).toString('hex'));
    // Turned on and recorded (with the binding `audit verify` compares the stored state with) in one transaction.
    const enabled = await this.o.store.transaction(async (repos) => {
      if (!(await repos.users.enableMfa(session.user.id, secret, JSON.stringify(recoveryCodes.map(sha256))))) return false;
      const now = this.o.clock.now();
      await repos.audit.insert([auditEvent(actor, 'auth.mfa-enrol', { organisationId: session.user.organisationId, ids: { userId: session.user.id, ...mfaIds(session.user.id, true, secret) } },
        { allow: true, reason: 'totp', via: null }, now)]);
      await queueAccountNotice(repos, actor, session.user.id, { change: 'mfa-on' }, now);
      return true;
    });
    if (!enabled) {
      // Turned on by another session between the read above and now.
      await this.repos.sessions.setStage(session.idHash, 'mfa');
      throw alreadySetUp();
    }
    await this.o.attempts.secondFactorPassed(places);
    const sessionId = await this.o.ids.rotate(session, 'active');
    await auditSignIn(this.o, actor, 'auth.sign-in', session.user, true, 'password+totp');
    return { sessionId, recoveryCodes };
  }

  /** 20 bytes (160 bits, RFC 4226's recommendation) of HMAC over the person and the session, in base32. */
  private enrolmentSecret(session: WebSession): string {
    return base32(createHmac('sha256', this.o.enrolmentKey).update(`mfa enrolment v1\n${session.user.id}\n${session.idHash}`).digest().subarray(0, 20));
  }

  /**
   * A second factor presented on a pending session that ended meanwhile (a password change or reset, a switching
   * off, MFA reset: each signs the person out everywhere; or another request that claimed it): no session is made.
   */
  private async endedMeanwhile(actor: Actor, user: User): Promise<never> {
    await auditSignIn(this.o, actor, 'auth.mfa', user, false, 'session_ended');
    throw invalid('This sign-in ended before the code was checked (you were signed out meanwhile). Sign in again.', { field: 'code' });
  }

  /** Checks a code, then claims its time step in the database so it works once, across restarts and processes. */
  private async totpValid(userId: string, secret: string, token: string): Promise<boolean> {
    const epoch = Math.floor(this.o.clock.now().getTime() / 1000);
    const result = verifySync({ secret, token, epoch, epochTolerance: 30 });
    if (!result.valid) return false;
    const step = 'timeStep' in result && typeof result.timeStep === 'number' ? result.timeStep : Math.floor(epoch / 30) + (result.delta ?? 0);
    return this.repos.users.acceptTotpStep(userId, step);
  }
}

const alreadySetUp = (): DomainError =>
  new DomainError('UNAUTHENTICATED', 'Two-factor authentication has been set up for this account since this page was shown. Enter a code from the authenticator app in use.');

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as authenticator apps read secrets. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Rolls a transaction back without it being an error (a recovery code that is not one, after the session was claimed). */
class RolledBack extends Error {}
