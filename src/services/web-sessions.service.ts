// Web sign-in: password, then a TOTP second factor (set up at first sign-in where a role needs it),
// server-side sessions with idle and absolute timeouts, throttling kept in the database, and audit events.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateURI, verifySync } from 'otplib';
import { DomainError, invalid } from '../domain/errors.js';
import { mfaRequired } from '../domain/identity/mfa.js';
import { SIGN_IN_THROTTLE, signInVerdict, type ThrottleRule } from '../domain/identity/sign-in-throttle.js';
import { checkPasswordStrength } from '../domain/passwords.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { Actor, User } from '../domain/types.js';
import type { Repos, Store, ThrottlePlace } from '../domain/repositories.js';
import { auditEvent } from './audit-events.js';
import { newPersonBoundToken, personBoundTokenIsFor, storedPersonBoundToken } from './person-bound-token.js';
import { mfaIds, passwordIds } from './person-state.js';
import { queueAccountNotice } from './account-notices.js';
import { revokeCredentialsOf } from './person-revocation.js';
import { unsealedSecrets, type SealAlarm } from './sign-in-seal-alarm.js';
import { networkKey, secondFactorKey, signInKeys } from './sign-in-throttle-keys.js';
import { actorFor, type IdentityService, type RequestInfo } from './identity.service.js';

export type SessionStage = 'mfa' | 'mfa_setup' | 'active';

export interface WebSession {
  idHash: string;
  user: User;
  stage: SessionStage;
  csrfToken: string;
  createdAt: string;
  /** The identity provider vouched for the second factor at sign-in: MFA was done, though not Strongroom's. */
  providerMfa: boolean;
}

export interface WebSessionsOptions {
  store: Store;
  clock: Clock;
  identity: IdentityService;
  passwords: PasswordHasher;
  /**
   * The key an authenticator being set up is derived under, from the person and the session that set-up
   * page belongs to (HKDF of the master key in production; every process of a deployment has the same).
   */
  enrolmentKey: Buffer;
  /**
   * The key a session's id is made and stored under (person-bound-token.ts): the sessions table can be
   * given no session someone chose, nor one pointed at another person (HKDF of the master key in
   * production; every process has the same).
   */
  sessionKey: Buffer;
  issuer?: string;
  idleMinutes?: number;
  absoluteHours?: number;
  /** How long a half-signed-in session (second factor still owed) lives. */
  pendingMinutes?: number;
  /** How an attempt on an account under attack is made to wait (tests may observe it). */
  sleep?: (ms: number) => Promise<unknown>;
  /** Told (logged at error level) of a password hash or MFA state whose seal does not match: someone wrote the database directly. */
  alarm?: SealAlarm;
}

const RECOVERY_CODES = 10;
/** Ended throttle windows are deleted at most this often (per process; any process may do it). */
const SWEEP_EVERY_MS = 60_000;
/** How long an attempt over a limit waits, each time, for attempts in flight to be judged before it is refused (takePlacesWithin). */
const IN_FLIGHT_WAITS_MS = [100, 300, 900];

/**
 * What a session id is bound to: its person, the stage it was made at and whether a provider vouched for
 * MFA. Stages only ever move down a row without a new id (resolve(): a role that now needs MFA, MFA set up
 * in another browser); a move up (a second factor passed) always makes a new session. So a row whose stage
 * or provider_mfa was written up by hand (someone who knows only the password, past the second factor)
 * is no session.
 */
const sessionSubject = (userId: string, stage: SessionStage, providerMfa: boolean): string => `${userId}\n${stage}\n${providerMfa ? 'provider mfa' : 'no provider mfa'}`;
/** The stages a session made at a stage may have reached without a new id. */
const REACHABLE: Record<SessionStage, readonly SessionStage[]> = { active: ['active', 'mfa_setup', 'mfa'], mfa_setup: ['mfa_setup', 'mfa'], mfa: ['mfa'] };
const STAGES = Object.keys(REACHABLE) as SessionStage[];

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
const newSecret = (): string => randomBytes(32).toString('base64url');

export class WebSessionsService {
  private dummyHash: Promise<string> | null = null;
  private lastSweep = 0;

  /** What a session id is stored as: keyed, so a row written by hand is no session anyone can present (person-bound-token.ts). */
  private storedId(sessionId: string): string {
    return storedPersonBoundToken(this.o.sessionKey, sessionId);
  }

  constructor(private readonly o: WebSessionsOptions) {}

  private get repos() {
    return this.o.store.repos;
  }

  private get idleMs() { return (this.o.idleMinutes ?? 30) * 60_000; }
  private get absoluteMs() { return (this.o.absoluteHours ?? 12) * 3_600_000; }
  private get pendingMs() { return (this.o.pendingMinutes ?? 10) * 60_000; }

  /**
   * Checks e-mail and password. Returns a fresh session (any session presented is destroyed, so a
   * planted id never survives sign-in) at stage 'mfa', 'mfa_setup' or 'active'. Known and unknown
   * e-mail addresses are counted, throttled and answered alike. The attempt is counted before the
   * password is judged (takePlacesWithin), so attempts sent at the same moment cannot all be judged.
   */
  async signIn(email: string, password: string, request: RequestInfo, previousSessionId?: string): Promise<{ sessionId: string; stage: SessionStage; user: User }> {
    if (previousSessionId) await this.repos.sessions.delete(this.storedId(previousSessionId));
    const address = email.trim().toLowerCase();
    const keys = signInKeys(address, request.clientAddress);
    const verdictOn = ([network, accountAtNetwork, account]: ThrottlePlace[]) =>
      signInVerdict({ network: network!.place - 1, accountAtNetwork: accountAtNetwork!.place - 1, account: account!.place - 1 });
    const places = await this.takePlacesWithin([[keys.network, SIGN_IN_THROTTLE.network], [keys.accountAtNetwork, SIGN_IN_THROTTLE.accountAtNetwork], [keys.account, SIGN_IN_THROTTLE.account]], (taken) => !verdictOn(taken).refuse);
    const user = await this.repos.users.byEmail(address);
    const actor = user ? actorFor(user, request) : anonymous(request);
    if (!places) {
      await this.audit(actor, 'auth.sign-in', user ?? null, false, 'throttled');
      throw throttled();
    }
    const [network, , account] = places;
    const verdict = verdictOn(places);
    // Places within the limits (takePlacesWithin): the verdict is a delay, for an account under attack.
    if (!verdict.refuse && verdict.delayMs > 0) await (this.o.sleep ?? sleep)(verdict.delayMs);
    // A failure keeps the places it took: it is already counted.
    const failed = async (reason: string) => {
      await this.audit(actor, 'auth.sign-in', user ?? null, false, reason);
      return badCredentials();
    };
    if (!user) {
      // Spend the same time as a real check, so response times do not reveal which e-mails exist.
      await this.o.passwords.verify(await this.dummy(), password);
      throw await failed('unknown_user');
    }
    const state = await this.repos.users.signInState(user.id);
    const stored = state?.password_hash ?? null;
    // The hash, and the MFA state that decides the stage, count only as Strongroom wrote them (their seals):
    // a hash of the database administrator's own written over an org admin's, or MFA written off, is no way in.
    const sealed = state?.passwordSealed === true && state.mfaSealed;
    // An account without a password (invited, or signing in through its organisation's provider), or whose
    // seals do not match, is checked against the dummy as well, so its answer takes as long as a wrong password's.
    const ok = stored === null || !sealed
      ? await this.o.passwords.verify(await this.dummy(), password).then(() => false)
      : await this.o.passwords.verify(stored, password);
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
    if (stored !== null && this.o.passwords.needsRehash(stored)) {
      const rehashed = await this.o.passwords.hash(password);
      await this.o.store.transaction(async (repos) => {
        if (!(await repos.users.rehashPassword(user.id, stored, rehashed))) return;
        await repos.audit.insert([auditEvent(actor, 'auth.password-rehash', { organisationId: user.organisationId, ids: { userId: user.id, ...passwordIds(user.id, rehashed) } },
          { allow: true, reason: 'hashing_parameters', via: null }, this.o.clock.now())]);
      });
    }
    // Success clears this account's counter at this network, as before, and is not a failure on the others.
    await this.repos.signInThrottles.clear(keys.accountAtNetwork);
    await this.givePlacesBack([network!, account!]);
    const stage: SessionStage = state?.mfa_enabled ? 'mfa' : mfaRequired(user.roles) ? 'mfa_setup' : 'active';
    const sessionId = await this.create(user, stage);
    await this.audit(actor, stage === 'active' ? 'auth.sign-in' : 'auth.password', user, true, stage === 'active' ? 'password' : `password;${stage}`);
    return { sessionId, stage, user };
  }

  /**
   * Starts a session for someone their organisation's identity provider has just vouched for
   * (services/federated-sign-in.service.ts decided who and at which stage). Like signIn(), any session
   * presented is destroyed first, so a planted id never survives sign-in.
   */
  async startVerifiedSession(user: User, stage: SessionStage, request: RequestInfo, how: string, previousSessionId?: string, options: { providerMfa?: boolean } = {}): Promise<string> {
    if (previousSessionId) await this.repos.sessions.delete(this.storedId(previousSessionId));
    const sessionId = await this.create(user, stage, { providerMfa: options.providerMfa === true && stage === 'active' });
    await this.audit(actorFor(user, request), stage === 'active' ? 'auth.sign-in' : 'auth.federated', user, true, stage === 'active' ? how : `${how};${stage}`);
    return sessionId;
  }

  /** The second factor: a TOTP code or an unused recovery code. Rotates the session to 'active'. */
  async verifySecondFactor(session: WebSession, code: string, request: RequestInfo): Promise<string> {
    if (session.stage !== 'mfa') throw invalid('No second factor is owed for this session.');
    const user = session.user;
    const actor = actorFor(user, request);
    const places = await this.requireSecondFactorAttempt(actor, user, 'auth.mfa');
    const state = await this.repos.users.signInState(user.id);
    const badCode = () => invalid('The code is not right. Enter the 6-digit code shown in your authenticator app now, or a recovery code.', { field: 'code' });
    // A secret or recovery codes written into the database directly (or MFA written off meanwhile) are no second factor.
    if (!state?.mfaSealed || !state.passwordSealed) {
      this.o.alarm?.(unsealedSecrets(user.id));
      await this.audit(actor, 'auth.mfa', user, false, 'secrets_not_sealed');
      throw badCode();
    }
    const clean = code.replace(/[\s-]/g, '');
    // The secret is stored sealed (sign-in-seals.ts): opened only here, to check a code.
    const secret = state.mfa_secret === null ? null : this.repos.users.openTotpSecret(user.id, state.mfa_secret);
    if (/^\d{6}$/.test(clean) && secret && (await this.totpValid(user.id, secret, clean))) {
      await this.secondFactorPassed(places);
      // Only if the pending session is still there to claim (see below).
      if (!(await this.repos.sessions.delete(session.idHash))) return this.endedMeanwhile(actor, user);
      const sessionId = await this.create(session.user, 'active');
      await this.audit(actor, 'auth.sign-in', user, true, 'password+totp');
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
      const made = await this.create(session.user, 'active', {}, repos);
      await this.audit(actor, 'auth.sign-in', user, true, 'password+recovery_code', repos);
      await queueAccountNotice(repos, actor, user.id, { change: 'recovery-code-used', recoveryCodesLeft: left }, this.o.clock.now());
      return made;
    }).catch((error: unknown) => {
      if (error instanceof RolledBack) return null;
      throw error;
    }) : null;
    if (outcome === 'ended') return this.endedMeanwhile(actor, user);
    const sessionId = outcome;
    if (!sessionId) {
      await this.audit(actor, 'auth.mfa', user, false, 'bad_code');
      throw badCode();
    }
    await this.secondFactorPassed(places);
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
    const places = await this.requireSecondFactorAttempt(actor, session.user, 'auth.mfa-enrol');
    const state = await this.repos.users.signInState(session.user.id);
    // MFA written off by hand must not let this page replace the authenticator in use.
    if (!state?.mfaSealed) {
      this.o.alarm?.(unsealedSecrets(session.user.id));
      await this.audit(actor, 'auth.mfa-enrol', session.user, false, 'secrets_not_sealed');
      throw invalid('The code is not right. Enter the 6-digit code your authenticator app shows for Strongroom.', { field: 'code' });
    }
    if (state.mfa_enabled) {
      await this.givePlacesBack(places);
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
    await this.secondFactorPassed(places);
    const sessionId = await this.rotate(session, 'active');
    await this.audit(actor, 'auth.sign-in', session.user, true, 'password+totp');
    return { sessionId, recoveryCodes };
  }

  /** 20 bytes (160 bits, RFC 4226's recommendation) of HMAC over the person and the session, in base32. */
  private enrolmentSecret(session: WebSession): string {
    return base32(createHmac('sha256', this.o.enrolmentKey).update(`mfa enrolment v1\n${session.user.id}\n${session.idHash}`).digest().subarray(0, 20));
  }

  /**
   * The session behind a cookie, or null when unknown, expired, idle too long, or its user is
   * disabled or gone (the user row is read on every request, so disabling takes effect at once).
   */
  async resolve(sessionId: string | undefined): Promise<WebSession | null> {
    if (!sessionId || sessionId.length > 200) return null;
    const idHash = this.storedId(sessionId);
    const row = await this.repos.sessions.byHash(idHash);
    if (!row) return null;
    const now = this.o.clock.now().getTime();
    const user = await this.repos.users.byId(row.userId);
    // A row pointed at someone else by hand is no session of theirs, nor one whose stage or provider MFA was written up (sessionSubject).
    if (!user || user.disabled || !STAGES.some((made) => REACHABLE[made].includes(row.stage as SessionStage) && personBoundTokenIsFor(this.o.sessionKey, sessionId, sessionSubject(row.userId, made, row.providerMfa)))
      || Date.parse(row.expiresAt) <= now || Date.parse(row.lastSeenAt) + this.idleMs <= now) {
      await this.repos.sessions.delete(idHash);
      return null;
    }
    // The stage moves below on whether MFA is on, and a session short of 'active' is about to act on it
    // (set it up, or check a code): trusted only as Strongroom wrote it (its seal), else no session.
    const trustsMfaState = row.stage !== 'active' || (mfaRequired(user.roles) && !user.mfaEnabled && !row.providerMfa);
    if (trustsMfaState && !(await this.repos.users.mfaSealed(user.id))) {
      await this.repos.sessions.delete(idHash);
      this.o.alarm?.(unsealedSecrets(user.id));
      await this.audit(actorFor(user, { channel: 'web', clientAddress: null, requestId: null }), 'auth.session', user, false, 'secrets_not_sealed');
      return null;
    }
    // Someone given an MFA role while signed in must set MFA up before going on, unless their provider did MFA at this sign-in.
    if (row.stage === 'active' && mfaRequired(user.roles) && !user.mfaEnabled && !row.providerMfa) {
      await this.repos.sessions.setStage(idHash, 'mfa_setup');
      row.stage = 'mfa_setup';
    }
    // A session still at the set-up step once MFA is on (set up in another browser meanwhile) owes a code:
    // its set-up page must never replace the authenticator now in use.
    if (row.stage === 'mfa_setup' && user.mfaEnabled) {
      await this.repos.sessions.setStage(idHash, 'mfa');
      row.stage = 'mfa';
    }
    // Write the idle clock at most once a minute.
    if (now - Date.parse(row.lastSeenAt) > 60_000) await this.repos.sessions.touch(idHash, new Date(now).toISOString());
    return { idHash, user, stage: row.stage as SessionStage, csrfToken: row.csrfToken, createdAt: row.createdAt, providerMfa: row.providerMfa };
  }

  async signOut(session: WebSession, request: RequestInfo): Promise<void> {
    await this.repos.sessions.delete(session.idHash);
    await this.audit(actorFor(session.user, request), 'auth.sign-out', session.user, true, 'user');
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
    const places = await this.requireSecondFactorAttempt(actor, session.user, 'auth.password-change');
    const state = await this.repos.users.signInState(session.user.id);
    // A hash written into the database directly (its seal not matching) is checked against nothing, as long as a wrong one takes.
    const sealed = state?.passwordSealed === true;
    const ok = sealed && Boolean(state.password_hash) ? await this.o.passwords.verify(state.password_hash!, current)
      : await this.o.passwords.verify(await this.dummy(), current).then(() => false);
    if (!sealed) this.o.alarm?.(unsealedSecrets(session.user.id));
    if (!ok) {
      await this.audit(actor, 'auth.password-change', session.user, false, sealed ? 'bad_password' : 'secrets_not_sealed');
      throw invalid('Your current password is not right.', { field: 'currentPassword' });
    }
    // The right current password is not a failure; it does not clear earlier ones either (it never did).
    await this.givePlacesBack(places);
    checkPasswordStrength(next);
    if (next === current) throw invalid('Choose a password different from your current one.', { field: 'password' });
    const passwordHash = await this.o.passwords.hash(next);
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
    const sessionId = await this.create(session.user, 'active', { providerMfa: session.providerMfa });
    return sessionId;
  }

  csrfValid(session: Pick<WebSession, 'csrfToken'>, token: unknown): boolean {
    return typeof token === 'string' && equal(token, session.csrfToken);
  }

  private async create(user: User, stage: SessionStage, options: { providerMfa?: boolean } = {}, repos: Repos = this.repos): Promise<string> {
    const sessionId = newPersonBoundToken(this.o.sessionKey, sessionSubject(user.id, stage, options.providerMfa === true));
    const now = this.o.clock.now();
    const lifetime = stage === 'active' ? this.absoluteMs : this.pendingMs;
    await repos.sessions.insert({
      idHash: this.storedId(sessionId), userId: user.id, csrfToken: newSecret(), stage,
      createdAt: now.toISOString(), lastSeenAt: now.toISOString(), expiresAt: new Date(now.getTime() + lifetime).toISOString(), providerMfa: options.providerMfa === true,
    });
    return sessionId;
  }

  /**
   * A second factor presented on a pending session that ended meanwhile (a password change or reset, a switching
   * off, MFA reset: each signs the person out everywhere; or another request that claimed it): no session is made.
   */
  private async endedMeanwhile(actor: Actor, user: User): Promise<never> {
    await this.audit(actor, 'auth.mfa', user, false, 'session_ended');
    throw invalid('This sign-in ended before the code was checked (you were signed out meanwhile). Sign in again.', { field: 'code' });
  }

  /** `repos`: a transaction's, when the new session must commit with the change that earned it. */
  private async rotate(session: WebSession, stage: SessionStage, repos: Repos = this.repos): Promise<string> {
    await repos.sessions.delete(session.idHash);
    return this.create(session.user, stage, {}, repos);
  }

  /** Checks a code, then claims its time step in the database so it works once, across restarts and processes. */
  private async totpValid(userId: string, secret: string, token: string): Promise<boolean> {
    const epoch = Math.floor(this.o.clock.now().getTime() / 1000);
    const result = verifySync({ secret, token, epoch, epochTolerance: 30 });
    if (!result.valid) return false;
    const step = 'timeStep' in result && typeof result.timeStep === 'number' ? result.timeStep : Math.floor(epoch / 30) + (result.delta ?? 0);
    return this.repos.users.acceptTotpStep(userId, step);
  }

  /**
   * Counts a second-factor or current-password attempt before it is judged, and refuses it once this
   * person (from any network) or this network has used up its attempts; returns the places taken,
   * which a failure keeps and a success gives back.
   */
  private async requireSecondFactorAttempt(actor: Actor, user: User, action: string): Promise<ThrottlePlace[]> {
    const places = await this.takePlacesWithin([[networkKey(actor.clientAddress), SIGN_IN_THROTTLE.network], [secondFactorKey(user.id), SIGN_IN_THROTTLE.secondFactor]],
      ([network, mine]) => network!.place <= SIGN_IN_THROTTLE.network.limit && mine!.place <= SIGN_IN_THROTTLE.secondFactor.limit);
    if (!places) {
      await this.audit(actor, action, user, false, 'throttled');
      throw throttled();
    }
    return places;
  }

  /** A right code clears the person's second-factor counter, and is not a failure of the network. */
  private async secondFactorPassed([network, mine]: ThrottlePlace[]): Promise<void> {
    await this.repos.signInThrottles.clear(mine!.key);
    await this.givePlacesBack([network!]);
  }

  /**
   * Counts an attempt in each counter BEFORE it is judged, each in one statement that also says how
   * many attempts came first. Reading the counts, judging, and only then counting a failure let
   * attempts sent at the same moment all read the same count and all be judged, far past the limit.
   * An attempt in flight therefore holds its place; a failure keeps it, a success or a refusal gives
   * it back. A process that dies mid-attempt leaves its place counted until the window ends (errs
   * towards refusing).
   */
  private async takePlaces(counters: [string, ThrottleRule][]): Promise<ThrottlePlace[]> {
    const now = this.o.clock.now();
    const places: ThrottlePlace[] = [];
    for (const [key, rule] of counters) {
      places.push(await this.repos.signInThrottles.takePlace(key, now.toISOString(), new Date(now.getTime() + rule.windowSeconds * 1000).toISOString()));
    }
    if (now.getTime() - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = now.getTime();
      await this.repos.signInThrottles.sweep(now.toISOString());
    }
    return places;
  }

  /**
   * `takePlaces` that a limit refuses only once attempts in flight have had a moment to be judged.
   * Counting each attempt before it is judged bounds the guesses, but it also counts the right
   * answers still being checked: people of one office (one network) or one person in several tabs
   * signing in at the same moment would refuse each other. So a count over a limit gives its places
   * back and tries again after a short wait, a few times: a right answer gives its place back once
   * judged, a failure keeps it, so a guesser gains nothing by waiting. Null: still over a limit.
   */
  private async takePlacesWithin(counters: [string, ThrottleRule][], within: (places: ThrottlePlace[]) => boolean): Promise<ThrottlePlace[] | null> {
    for (let retry = 0; ; retry++) {
      const places = await this.takePlaces(counters);
      if (within(places)) return places;
      // A refused attempt was never judged, so it does not count as a failure: its places go back.
      await this.givePlacesBack(places);
      const wait = IN_FLIGHT_WAITS_MS[retry];
      if (wait === undefined) return null;
      await (this.o.sleep ?? sleep)(wait);
    }
  }

  private async givePlacesBack(places: ThrottlePlace[]): Promise<void> {
    for (const place of places) await this.repos.signInThrottles.givePlaceBack(place);
  }

  private async dummy(): Promise<string> {
    this.dummyHash ??= this.o.passwords.hash(newSecret());
    return this.dummyHash;
  }

  private async audit(actor: Actor, action: string, user: User | null, allow: boolean, reason: string, repos: Repos = this.repos): Promise<void> {
    await repos.audit.insert([
      auditEvent(actor, action, { organisationId: user?.organisationId ?? null, ids: user ? { userId: user.id } : {} }, { allow, reason, via: null }, this.o.clock.now()),
    ]);
  }
}

function anonymous(request: RequestInfo): Actor {
  return { kind: 'user', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL', channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId };
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
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

const badCredentials = (): DomainError => new DomainError('UNAUTHENTICATED', 'Enter a correct e-mail address and password.');

/** A password change whose person was reset, changed elsewhere or switched off after their current password was judged. */
/** Rolls a transaction back without it being an error (a recovery code that is not one, after the session was claimed). */
class RolledBack extends Error {}

const changedMeanwhile = (): DomainError =>
  invalid('Your password was not changed: it was reset or changed elsewhere, your account was switched off, or you were signed out (your two-step verification reset) while you were changing it. Sign in again; after a reset, use the link you were sent to set a new one.', { field: 'currentPassword' });

const throttled = (): DomainError =>
  new DomainError('RATE_LIMITED', 'Too many failed sign-in attempts. Wait 15 minutes and try again, or ask your administrator for help.');

