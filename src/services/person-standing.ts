// Whether the person an actor stands for may still act, read with the repositories given (the Store's, or a
// transaction's): their row (switched off or removed; their roles, teams, clearance and organisation as they are)
// and the credential their request came with (revoked, signed out, a second factor now needed). IdentityService
// asks it for a request that waited (actorNow) and for a records change decided within (actorWithin);
// AccessService.requireWithin asks it in every transaction that decides a change again.
import { DomainError } from '../domain/errors.js';
import { credentialsUsable, mfaRequired } from '../domain/identity/mfa.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, SessionRow } from '../domain/repositories.js';
import type { Actor, User } from '../domain/types.js';
import { unsealedSecrets, type SealAlarm } from './sign-in-seal-alarm.js';

/** How a refusal says what was in flight and what became of it. */
export const REFUSED_MEANWHILE = {
  upload: { meanwhile: 'while this was being sent', outcome: 'so nothing was saved', again: 'send it again', againThis: 'send this again', credential: 'this was sent with was revoked while it was being sent' },
  download: { meanwhile: 'while this was being downloaded', outcome: 'so the download was stopped', again: 'download it again', againThis: 'download this again', credential: 'this download began with was revoked while it was under way' },
  listing: { meanwhile: 'while this folder was being listed', outcome: 'so the listing was stopped', again: 'open the folder again', againThis: 'open this folder again', credential: 'this listing began with was revoked while it was under way' },
  search: { meanwhile: 'while this search was running', outcome: 'so nothing it found was shown', again: 'search again', againThis: 'search again', credential: 'this search was made with was revoked while it was running' },
} as const;

export type During = keyof typeof REFUSED_MEANWHILE;

/** The actor as their person is now, or why they may no longer act: the refusal's reason (for its deny event) and error. */
export type Standing = { actor: Actor } | { reason: string; refused: DomainError };

export class PersonStanding {
  constructor(private readonly o: {
    clock: Clock;
    /** Told (logged at error level) of an MFA state whose seal does not match: someone wrote the database directly. */
    alarm?: SealAlarm;
  }) {}

  /**
   * The person as `repos` reads them now (one read by primary key, and one of the credential after it). Actors
   * that are not a person stand as they are. `during`: what was in flight, for the refusal's words.
   */
  async now(repos: Repos, actor: Actor, during: During = 'upload'): Promise<Standing> {
    if (actor.kind !== 'user' || actor.userId === null) return { actor };
    return this.judge(repos, actor, await repos.users.byId(actor.userId), REFUSED_MEANWHILE[during]);
  }

  /**
   * `now`, inside the caller's transaction, with the person's row held against change until it ends (share-locked
   * on PostgreSQL, in the same read; SQLite has one writer): a switching off or a change of role, teams or clearance
   * committed later waits for this commit, so the change is never made on a person the database no longer has.
   * Shared, so one person's transactions (their concurrent uploads) do not queue behind each other.
   */
  async heldWithin(repos: Repos, actor: Actor): Promise<Standing> {
    if (actor.kind !== 'user' || actor.userId === null) return { actor };
    return this.judge(repos, actor, await repos.users.byIdHeld(actor.userId), REFUSED_MEANWHILE.upload);
  }

  private async judge(repos: Repos, actor: Actor, user: User | undefined, words: (typeof REFUSED_MEANWHILE)[During]): Promise<Standing> {
    if (!user || user.disabled) {
      return { reason: 'account_disabled', refused: new DomainError('UNAUTHENTICATED', `Your account was switched off ${words.meanwhile}, ${words.outcome}.`) };
    }
    if (actor.credential) {
      const credential = actor.credential;
      // A session whose provider vouched for MFA at sign-in has had its second factor, if not Strongroom's.
      let secondFactorDone = false;
      if (credential.kind === 'session') {
        const session = await this.sessionHolding(repos, credential.id, user.id);
        secondFactorDone = session?.providerMfa === true;
        if (!session) {
          return { reason: 'session_ended', refused: new DomainError('UNAUTHENTICATED', `You were signed out ${words.meanwhile}, ${words.outcome}. Sign in and ${words.again}.`) };
        }
      } else {
        const row = await repos.users.credentialById(credential.id);
        if (!row || row.revokedAt !== null || row.userId !== user.id || row.kind !== credential.kind) {
          const what = credential.kind === 'api_token' ? 'API token' : 'app password';
          return { reason: 'credential_revoked', refused: new DomainError('UNAUTHENTICATED', `The ${what} ${words.credential}, ${words.outcome}.`) };
        }
      }
      // The flag that says a second factor is set up is trusted only under its seal (sign-in-seals.ts), as at
      // sign-in: MFA written on by hand would otherwise keep a token of someone who never set it up working.
      if (mfaRequired(user.roles) && !secondFactorDone && !(await repos.users.mfaSealed(user.id))) {
        this.o.alarm?.(unsealedSecrets(user.id, credential.kind === 'session' ? undefined : credential.id));
        return { reason: 'secrets_not_sealed', refused: new DomainError('UNAUTHENTICATED', `Your sign-in was refused ${words.meanwhile}, ${words.outcome}.`) };
      }
      // A web session whose person now needs a second factor is sent to set one up; a token stops working.
      if (!credentialsUsable(user) && !secondFactorDone) {
        return { reason: 'mfa_not_set_up', refused: credential.kind === 'session'
          ? new DomainError('UNAUTHENTICATED', `Your role now needs two-factor authentication, ${words.outcome}. Set it up, then ${words.againThis}.`)
          : mfaNotSetUp() };
      }
    }
    return { actor: { ...actor, organisationId: user.organisationId, roles: user.roles, teams: user.teams, clearance: user.clearance } };
  }

  /** The web session (by the hash of its id) if it still exists, is fully signed in, is the person's, and is within its lifetime. */
  private async sessionHolding(repos: Repos, idHash: string, userId: string): Promise<SessionRow | null> {
    const row = await repos.sessions.byHash(idHash);
    return row !== undefined && row.userId === userId && row.stage === 'active' && Date.parse(row.expiresAt) > this.o.clock.now().getTime() ? row : null;
  }
}

export const mfaNotSetUp = (): DomainError => new DomainError('FORBIDDEN',
  'Your role needs two-factor authentication, which you have not set up yet. Sign in to the web interface to set it up; until then your API tokens and app passwords do not work.');
