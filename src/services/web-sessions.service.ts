// Web sign-in: password, then a TOTP second factor (set up at first sign-in where a role needs it),
// server-side sessions with idle and absolute timeouts, lockout, rate limiting and audit events.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import { generateSecret, generateURI, verifySync } from 'otplib';
import { DomainError, invalid } from '../domain/errors.js';
import { checkPasswordStrength } from '../domain/passwords.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Role, User } from '../domain/types.js';
import type { Store } from '../db/store.js';
import { auditEvent } from './audit-events.js';
import { actorFor, type IdentityService, type RequestInfo } from './identity.service.js';

export type SessionStage = 'mfa' | 'mfa_setup' | 'active';

export interface WebSession {
  idHash: string;
  user: User;
  stage: SessionStage;
  csrfToken: string;
  createdAt: string;
}

export interface WebSessionsOptions {
  store: Store;
  clock: Clock;
  identity: IdentityService;
  issuer?: string;
  idleMinutes?: number;
  absoluteHours?: number;
  /** How long a half-signed-in session (second factor still owed) lives. */
  pendingMinutes?: number;
  maxFailures?: number;
  lockMinutes?: number;
  /** Sign-in attempts allowed per client address per window. */
  perAddressLimit?: number;
  perAddressWindowSeconds?: number;
}

/** Roles that can change who sees what: they must use a second factor. */
export const MFA_ROLES: readonly Role[] = ['org_admin', 'security_admin', 'records_manager'];
const RECOVERY_CODES = 10;

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
const newSecret = (): string => randomBytes(32).toString('base64url');

export class WebSessionsService {
  private readonly attempts = new Map<string, number[]>();
  /** Last accepted TOTP time step per user, so a code cannot be replayed (per process). */
  private readonly lastStep = new Map<string, number>();
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly o: WebSessionsOptions) {}

  private get repos() {
    return this.o.store.repos;
  }

  private get idleMs() { return (this.o.idleMinutes ?? 30) * 60_000; }
  private get absoluteMs() { return (this.o.absoluteHours ?? 12) * 3_600_000; }
  private get pendingMs() { return (this.o.pendingMinutes ?? 10) * 60_000; }

  mfaRequired(user: User): boolean {
    return user.roles.some((r) => MFA_ROLES.includes(r));
  }

  /**
   * Checks e-mail and password. Returns a fresh session (any session presented is destroyed, so a
   * planted id never survives sign-in) at stage 'mfa', 'mfa_setup' or 'active'.
   */
  async signIn(email: string, password: string, request: RequestInfo, previousSessionId?: string): Promise<{ sessionId: string; stage: SessionStage; user: User }> {
    if (previousSessionId) await this.repos.sessions.delete(sha256(previousSessionId));
    this.rateLimit(request.clientAddress ?? 'unknown');
    const user = await this.repos.users.byEmail(email.trim().toLowerCase());
    if (!user) {
      // Spend the same time as a real check, so response times do not reveal which e-mails exist.
      await argon2.verify(await this.dummy(), password).catch(() => false);
      this.noteFailure(request.clientAddress);
      await this.audit(anonymous(request), 'auth.sign-in', null, false, 'unknown_user');
      throw badCredentials();
    }
    const actor = actorFor(user, request);
    const state = await this.repos.users.signInState(user.id);
    const now = this.o.clock.now();
    if (state?.locked_until && Date.parse(state.locked_until) > now.getTime()) {
      await this.audit(actor, 'auth.sign-in', user, false, 'locked');
      throw locked(state.locked_until);
    }
    const ok = Boolean(state?.password_hash) && (await argon2.verify(state!.password_hash!, password).catch(() => false));
    if (!ok || user.disabled) {
      if (!ok) await this.recordFailure(actor, user, state?.failed_sign_ins ?? 0);
      else await this.audit(actor, 'auth.sign-in', user, false, 'disabled');
      throw badCredentials();
    }
    const stage: SessionStage = state?.mfa_enabled ? 'mfa' : this.mfaRequired(user) ? 'mfa_setup' : 'active';
    if (stage === 'active') await this.repos.users.update(user.id, { failedSignIns: 0, lockedUntil: null });
    const sessionId = await this.create(user, stage);
    await this.audit(actor, stage === 'active' ? 'auth.sign-in' : 'auth.password', user, true, stage === 'active' ? 'password' : `password;${stage}`);
    return { sessionId, stage, user };
  }

  /** The second factor: a TOTP code or an unused recovery code. Rotates the session to 'active'. */
  async verifySecondFactor(session: WebSession, code: string, request: RequestInfo): Promise<string> {
    if (session.stage !== 'mfa') throw invalid('No second factor is owed for this session.');
    this.rateLimit(request.clientAddress ?? 'unknown');
    const user = session.user;
    const actor = actorFor(user, request);
    const state = await this.repos.users.signInState(user.id);
    const now = this.o.clock.now();
    if (state?.locked_until && Date.parse(state.locked_until) > now.getTime()) throw locked(state.locked_until);
    const clean = code.replace(/[\s-]/g, '');
    let how: string | null = null;
    if (/^\d{6}$/.test(clean) && state?.mfa_secret && this.totpValid(user.id, state.mfa_secret, clean)) how = 'totp';
    else if (state?.recovery_codes) {
      const codes = JSON.parse(state.recovery_codes) as string[];
      const hash = sha256(clean.toLowerCase());
      if (codes.includes(hash)) {
        await this.repos.users.update(user.id, { recoveryCodes: JSON.stringify(codes.filter((c) => c !== hash)) });
        how = 'recovery_code';
      }
    }
    if (!how) {
      await this.recordFailure(actor, user, state?.failed_sign_ins ?? 0, 'auth.mfa');
      throw invalid('The code is not right. Enter the 6-digit code shown in your authenticator app now, or a recovery code.', { field: 'code' });
    }
    await this.repos.users.update(user.id, { failedSignIns: 0, lockedUntil: null });
    const sessionId = await this.rotate(session, 'active');
    await this.audit(actor, 'auth.sign-in', user, true, `password+${how}`);
    return sessionId;
  }

  /** A pending authenticator secret for a 'mfa_setup' session (kept until confirmed, reused on reload). */
  async mfaEnrolment(session: WebSession): Promise<{ secret: string; uri: string }> {
    if (session.stage !== 'mfa_setup') throw invalid('Two-factor authentication is already set up.');
    const state = await this.repos.users.signInState(session.user.id);
    let secret = state?.mfa_secret ?? null;
    if (!secret || state?.mfa_enabled) {
      secret = generateSecret();
      await this.repos.users.update(session.user.id, { mfaSecret: secret, mfaEnabled: false });
    }
    return { secret, uri: generateURI({ issuer: this.o.issuer ?? 'Strongroom', label: session.user.email, secret }) };
  }

  /** Confirms the first code, turns MFA on, and hands out recovery codes (shown once, stored hashed). */
  async completeMfaEnrolment(session: WebSession, code: string, request: RequestInfo): Promise<{ sessionId: string; recoveryCodes: string[] }> {
    if (session.stage !== 'mfa_setup') throw invalid('Two-factor authentication is already set up.');
    this.rateLimit(request.clientAddress ?? 'unknown');
    const state = await this.repos.users.signInState(session.user.id);
    const clean = code.replace(/\s/g, '');
    if (!state?.mfa_secret || !/^\d{6}$/.test(clean) || !this.totpValid(session.user.id, state.mfa_secret, clean)) {
      this.noteFailure(request.clientAddress);
      throw invalid('The code is not right. Enter the 6-digit code your authenticator app shows for Strongroom.', { field: 'code' });
    }
    const recoveryCodes = Array.from({ length: RECOVERY_CODES }, () => randomBytes(5).toString('hex'));
    await this.repos.users.update(session.user.id, { mfaEnabled: true, recoveryCodes: JSON.stringify(recoveryCodes.map(sha256)), failedSignIns: 0, lockedUntil: null });
    const sessionId = await this.rotate(session, 'active');
    const actor = actorFor(session.user, request);
    await this.audit(actor, 'auth.mfa-enrol', session.user, true, 'totp');
    await this.audit(actor, 'auth.sign-in', session.user, true, 'password+totp');
    return { sessionId, recoveryCodes };
  }

  /**
   * The session behind a cookie, or null when unknown, expired, idle too long, or its user is
   * disabled or gone (the user row is read on every request, so disabling takes effect at once).
   */
  async resolve(sessionId: string | undefined): Promise<WebSession | null> {
    if (!sessionId || sessionId.length > 200) return null;
    const idHash = sha256(sessionId);
    const row = await this.repos.sessions.byHash(idHash);
    if (!row) return null;
    const now = this.o.clock.now().getTime();
    const user = await this.repos.users.byId(row.userId);
    if (!user || user.disabled || Date.parse(row.expiresAt) <= now || Date.parse(row.lastSeenAt) + this.idleMs <= now) {
      await this.repos.sessions.delete(idHash);
      return null;
    }
    // Someone given an MFA role while signed in must set MFA up before going on.
    if (row.stage === 'active' && this.mfaRequired(user) && !user.mfaEnabled) {
      await this.repos.sessions.setStage(idHash, 'mfa_setup');
      row.stage = 'mfa_setup';
    }
    // Write the idle clock at most once a minute.
    if (now - Date.parse(row.lastSeenAt) > 60_000) await this.repos.sessions.touch(idHash, new Date(now).toISOString());
    return { idHash, user, stage: row.stage as SessionStage, csrfToken: row.csrfToken, createdAt: row.createdAt };
  }

  async signOut(session: WebSession, request: RequestInfo): Promise<void> {
    await this.repos.sessions.delete(session.idHash);
    await this.audit(actorFor(session.user, request), 'auth.sign-out', session.user, true, 'user');
  }

  /**
   * Changes the signed-in person's password (at least 12 characters, no composition rules, not a
   * common one). Every other session of theirs ends; this one is replaced by a fresh id.
   */
  async changePassword(session: WebSession, current: string, next: string, request: RequestInfo): Promise<string> {
    const actor = actorFor(session.user, request);
    const state = await this.repos.users.signInState(session.user.id);
    const ok = Boolean(state?.password_hash) && (await argon2.verify(state!.password_hash!, current).catch(() => false));
    if (!ok) {
      await this.recordFailure(actor, session.user, state?.failed_sign_ins ?? 0, 'auth.password-change');
      throw invalid('Your current password is not right.', { field: 'currentPassword' });
    }
    checkPasswordStrength(next);
    if (next === current) throw invalid('Choose a password different from your current one.', { field: 'password' });
    const passwordHash = await argon2.hash(next, { type: argon2.argon2id });
    await this.repos.users.update(session.user.id, { passwordHash, failedSignIns: 0, lockedUntil: null });
    await this.repos.sessions.deleteForUser(session.user.id);
    const sessionId = await this.create(session.user, 'active');
    await this.audit(actor, 'auth.password-change', session.user, true, 'self');
    return sessionId;
  }

  /** Ends every session of a user (disabled, MFA reset, password changed). */
  async endAllFor(userId: string): Promise<void> {
    await this.repos.sessions.deleteForUser(userId);
  }

  csrfValid(session: Pick<WebSession, 'csrfToken'>, token: unknown): boolean {
    return typeof token === 'string' && equal(token, session.csrfToken);
  }

  private async create(user: User, stage: SessionStage): Promise<string> {
    const sessionId = newSecret();
    const now = this.o.clock.now();
    const lifetime = stage === 'active' ? this.absoluteMs : this.pendingMs;
    await this.repos.sessions.insert({
      idHash: sha256(sessionId), userId: user.id, csrfToken: newSecret(), stage,
      createdAt: now.toISOString(), lastSeenAt: now.toISOString(), expiresAt: new Date(now.getTime() + lifetime).toISOString(),
    });
    return sessionId;
  }

  private async rotate(session: WebSession, stage: SessionStage): Promise<string> {
    await this.repos.sessions.delete(session.idHash);
    return this.create(session.user, stage);
  }

  private totpValid(userId: string, secret: string, token: string): boolean {
    const epoch = Math.floor(this.o.clock.now().getTime() / 1000);
    const result = verifySync({ secret, token, epoch, epochTolerance: 30 });
    if (!result.valid) return false;
    const step = 'timeStep' in result && typeof result.timeStep === 'number' ? result.timeStep : Math.floor(epoch / 30) + (result.delta ?? 0);
    if ((this.lastStep.get(userId) ?? -1) >= step) return false;
    this.lastStep.set(userId, step);
    return true;
  }

  private async recordFailure(actor: Actor, user: User, previous: number, action = 'auth.sign-in'): Promise<void> {
    this.noteFailure(actor.clientAddress);
    const failures = previous + 1;
    const max = this.o.maxFailures ?? 5;
    const lockedUntil = failures >= max ? new Date(this.o.clock.now().getTime() + (this.o.lockMinutes ?? 15) * 60_000).toISOString() : null;
    await this.repos.users.update(user.id, { failedSignIns: lockedUntil ? 0 : failures, ...(lockedUntil ? { lockedUntil } : {}) });
    await this.audit(actor, action, user, false, action === 'auth.mfa' ? 'bad_code' : 'bad_password');
    if (lockedUntil) await this.audit(actor, 'auth.lockout', user, false, `failures:${failures}`);
  }

  /** Refuses an address that has failed too often lately (only failures count, so a shared office NAT is not punished for busy mornings). */
  private rateLimit(address: string): void {
    const now = this.o.clock.now().getTime();
    const windowMs = (this.o.perAddressWindowSeconds ?? 300) * 1000;
    const recent = (this.attempts.get(address) ?? []).filter((t) => t > now - windowMs);
    this.attempts.set(address, recent);
    if (recent.length >= (this.o.perAddressLimit ?? 30)) {
      throw new DomainError('RATE_LIMITED', 'Too many failed sign-in attempts from your network. Wait a few minutes and try again.');
    }
  }

  private noteFailure(address: string | null): void {
    const key = address ?? 'unknown';
    const recent = this.attempts.get(key) ?? [];
    recent.push(this.o.clock.now().getTime());
    this.attempts.set(key, recent);
    if (this.attempts.size > 10_000) this.attempts.delete(this.attempts.keys().next().value as string);
  }

  private async dummy(): Promise<string> {
    this.dummyHash ??= argon2.hash(newSecret(), { type: argon2.argon2id });
    return this.dummyHash;
  }

  private async audit(actor: Actor, action: string, user: User | null, allow: boolean, reason: string): Promise<void> {
    await this.repos.audit.insert([
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

const badCredentials = (): DomainError => new DomainError('UNAUTHENTICATED', 'Enter a correct e-mail address and password.');

const locked = (until: string): DomainError =>
  new DomainError('LOCKED', `This account is locked after too many failed attempts. Try again after ${new Date(until).toISOString().slice(11, 16)} UTC, or ask your administrator.`);
