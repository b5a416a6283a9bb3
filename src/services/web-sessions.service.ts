// Web sessions: the session behind a cookie (idle and absolute timeouts, the stage it has reached), signing
// out, CSRF tokens, and a session started for someone their identity provider vouched for. Signing in with a
// password, the second factor and changing a password are their own services (password-sign-in.service.ts,
// second-factor.service.ts, password-change.service.ts), built with this one from the same parts (composeWebSignIn).
import { timingSafeEqual } from 'node:crypto';
import { mfaRequired } from '../domain/identity/mfa.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { User } from '../domain/types.js';
import type { Store } from '../domain/repositories.js';
import type { DummyPasswordHash } from './dummy-password-hash.js';
import { personBoundTokenIsFor } from './person-bound-token.js';
import { unsealedSecrets, type SealAlarm } from './sign-in-seal-alarm.js';
import type { SignInAttempts } from './sign-in-attempts.js';
import { auditSignIn } from './sign-in-audit.js';
import { actorFor, type IdentityService, type RequestInfo } from './identity.service.js';
import { REACHABLE, STAGES, sessionSubject, type WebSessionIds } from './web-session-ids.js';

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

/**
 * What each web sign-in service is built from: the options, and the parts they share, made once per process
 * (composeWebSignIn): the session ids, the attempts counted against the throttles (one sweep a minute for all)
 * and the dummy hash an answer without a real one is checked against.
 */
export interface WebSignInParts extends WebSessionsOptions {
  ids: WebSessionIds;
  attempts: SignInAttempts;
  dummyHash: DummyPasswordHash;
}

export class WebSessionsService {
  constructor(private readonly o: WebSignInParts) {}

  private get repos() {
    return this.o.store.repos;
  }

  private get idleMs() { return (this.o.idleMinutes ?? 30) * 60_000; }

  /**
   * Starts a session for someone their organisation's identity provider has just vouched for
   * (services/federated-sign-in.service.ts decided who and at which stage). Like signIn(), any session
   * presented is destroyed first, so a planted id never survives sign-in.
   */
  async startVerifiedSession(user: User, stage: SessionStage, request: RequestInfo, how: string, previousSessionId?: string, options: { providerMfa?: boolean } = {}): Promise<string> {
    if (previousSessionId) await this.repos.sessions.delete(this.o.ids.storedId(previousSessionId));
    const sessionId = await this.o.ids.create(user, stage, { providerMfa: options.providerMfa === true && stage === 'active' });
    await auditSignIn(this.o, actorFor(user, request), stage === 'active' ? 'auth.sign-in' : 'auth.federated', user, true, stage === 'active' ? how : `${how};${stage}`);
    return sessionId;
  }

  /**
   * The session behind a cookie, or null when unknown, expired, idle too long, or its user is
   * disabled or gone (the user row is read on every request, so disabling takes effect at once).
   */
  async resolve(sessionId: string | undefined): Promise<WebSession | null> {
    if (!sessionId || sessionId.length > 200) return null;
    const idHash = this.o.ids.storedId(sessionId);
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
      await auditSignIn(this.o, actorFor(user, { channel: 'web', clientAddress: null, requestId: null }), 'auth.session', user, false, 'secrets_not_sealed');
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
    await auditSignIn(this.o, actorFor(session.user, request), 'auth.sign-out', session.user, true, 'user');
  }

  csrfValid(session: Pick<WebSession, 'csrfToken'>, token: unknown): boolean {
    return typeof token === 'string' && equal(token, session.csrfToken);
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
