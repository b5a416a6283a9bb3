// Who is acting: turns an API token or app password into an Actor, says whether the person an actor stands
// for may still act (now, inside a transaction, or as the CLI's --as), finds a person by address or id, and
// checks a password against its sealed hash. Organisations, adding people, credentials and how people
// are named are organisations, user-creation, credentials and person-names.service.ts's.
import { createHash } from 'node:crypto';
import { DomainError, forbidden, notFound } from '../domain/errors.js';
import { credentialsUsable, mfaRequired } from '../domain/identity/mfa.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { Actor, Channel, CredentialRef, User } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { auditEvent } from './audit-events.js';
import { mfaNotSetUp, type During, type PersonStanding } from './person-standing.js';
import { scimUnauthenticated } from './scim-unauthenticated.js';
import { unsealedSecrets, type SealAlarm } from './sign-in-seal-alarm.js';

export interface RequestInfo {
  channel: Channel;
  clientAddress: string | null;
  requestId: string | null;
}

export function systemActor(channel: Channel = 'cli'): Actor {
  return { kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL-SENSITIVE', channel, clientAddress: null, requestId: null };
}

/** The person as an actor; `credential`: what the request was authenticated with (none for the CLI and jobs). */
export function actorFor(user: User, request: RequestInfo, credential?: CredentialRef): Actor {
  return {
    kind: 'user', userId: user.id, organisationId: user.organisationId, roles: user.roles, teams: user.teams,
    clearance: user.clearance, channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId,
    ...(credential ? { credential } : {}),
  };
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export class IdentityService {
  constructor(private readonly o: {
    store: Store; clock: Clock; passwords: PasswordHasher;
    /** Told (logged at error level) of a credential or MFA state whose seal does not match: someone wrote the database directly. */
    alarm?: SealAlarm;
    /** Whether a person may still act (composition gives the one AccessService.requireWithin asks too). */
    standing: PersonStanding;
  }) {}


  /**
   * The actor as their person is now. A request that waited (an upload whose bytes took a while, a
   * download still flowing) must not act on the roles, teams and clearance it started with, nor at all
   * once its person has been switched off or removed meanwhile (which also revoked every credential
   * they had), nor once the credential it came with no longer signs them in: an API token or app
   * password revoked, a web session signed out, ended by an admin or past its lifetime
   * (`credential_revoked`, `session_ended`), or any credential whose person now needs a second factor
   * they have not set up (`mfa_not_set_up`) or whose MFA state is not sealed (`secrets_not_sealed`). Each is refused, audited as `action` on `target`. One read
   * by primary key for the credential, after the person's. Actors that are not a person are returned as
   * they are. `during`: what was in flight, for the refusal's words (an upload unless told).
   */
  async actorNow(actor: Actor, action: string, target: { organisationId: string | null; ids: Record<string, string> }, during: During = 'upload'): Promise<Actor> {
    if (actor.kind !== 'user' || actor.userId === null) return actor;
    const now = await this.o.standing.now(this.o.store.repos, actor, during);
    if ('refused' in now) throw await this.refuseNow(actor, action, target, now.reason, now.refused);
    return now.actor;
  }

  /**
   * The acting person as the caller's transaction reads them, after it locked their row (PostgreSQL; SQLite has
   * one writer): a change decided on the actor as their request began (an org admin switching someone off, a
   * token being made) must not be made once they were switched off or removed meanwhile, nor once the
   * credential the request came with no longer signs them in: the same checks as actorNow, each refused with
   * its reason (`account_disabled`, `session_ended`, `credential_revoked`, `secrets_not_sealed`,
   * `mfa_not_set_up`), read with the transaction's repositories. So a token being made by a web session that
   * its owner ended (by changing their password) meanwhile is refused, not made after the change. Their roles,
   * organisation and clearance are as they are now, so decide() asked again judges the change on them. A
   * refusal is audited in the transaction and handed back, so the caller commits it and throws it. Actors
   * that are not a person are returned as they are, but a directory only while the SCIM token it acts through
   * is still its organisation's and not revoked (its row held until the commit, so a revocation committed later
   * waits): one revoked meanwhile is refused as a revoked token is at authentication (401, `credential_revoked`).
   */
  async actorWithin(repos: Repos, actor: Actor, action: string, target: { organisationId: string | null; ids: Record<string, string> }): Promise<{ actor: Actor } | { refused: DomainError }> {
    if (actor.kind === 'directory' && 'scimTokenId' in actor && typeof actor.scimTokenId === 'string') {
      const token = await repos.scim.tokenHeld(actor.scimTokenId);
      if (token && token.revokedAt === null && token.organisationId === actor.organisationId) return { actor };
      await repos.audit.insert([auditEvent(actor, action, target, { allow: false, reason: 'credential_revoked', via: null }, this.o.clock.now())]);
      return { refused: scimUnauthenticated() };
    }
    if (actor.kind !== 'user' || actor.userId === null) return { actor };
    const now = await this.o.standing.now(repos, actor);
    if ('actor' in now) return now;
    await repos.audit.insert([auditEvent(actor, action, target, { allow: false, reason: now.reason, via: null }, this.o.clock.now())]);
    return { refused: now.refused };
  }

  private async refuseNow(actor: Actor, action: string, target: { organisationId: string | null; ids: Record<string, string> }, reason: string, error: DomainError): Promise<DomainError> {
    await this.o.store.repos.audit.insert([auditEvent(actor, action, target, { allow: false, reason, via: null }, this.o.clock.now())]);
    return error;
  }

  /**
   * The person an administrator's command acts as (the CLI's `--as EMAIL`), as an actor on `channel`. The
   * operator speaks for them, so what would stop them signing in stops the command too: a person switched
   * off (by an org admin or the directory) is refused, audited as `action` refused (`account_disabled`), as
   * actorNow refuses one switched off mid-request. No credential is involved (the operator holds the data
   * directory), so no second factor is asked; decide() still judges each action on their roles as they are.
   */
  async actingAs(email: string, action: string, request: RequestInfo): Promise<Actor> {
    const user = await this.userByEmail(email);
    const actor = actorFor(user, request);
    if (user.disabled) {
      throw await this.refuseNow(actor, action, { organisationId: user.organisationId, ids: { userId: user.id } }, 'account_disabled',
        forbidden(`The account of ${user.email} is switched off: nothing can be done as them until it is switched on again.`));
    }
    return actor;
  }

  async userByEmail(email: string): Promise<User> {
    const user = await this.o.store.repos.users.byEmail(email.trim().toLowerCase());
    if (!user) throw notFound('user');
    return user;
  }

  userById(id: string): Promise<User | undefined> {
    return this.o.store.repos.users.byId(id);
  }

  /**
   * Resolves a bearer token or app password to its user, and names the credential (for the Actor, so
   * a request that waits can check it again: actorNow). Unknown, revoked or disabled → UNAUTHENTICATED;
   * someone whose roles need a second factor they have not set up → FORBIDDEN (a token would skip it).
   * The user row is read on every request, so disabling someone or resetting their MFA takes effect at once.
   * A row whose seal does not match (written into the database directly: a secret of someone's choosing, or
   * pointed at another person), or a holder whose MFA state, which says whether their credentials are usable,
   * does not, is answered as an unknown credential, and audited as `auth.credential` refused.
   */
  async authenticateSecret(secret: string, allowed: ('api_token' | 'app_password')[]): Promise<{ user: User; credential: CredentialRef }> {
    const found = await this.o.store.repos.users.credentialBySecretHash(hashSecret(secret));
    if (!found || found.credential.revokedAt || !allowed.includes(found.credential.kind)) throw unauthenticated();
    const user = found.holder;
    // Read only for those whose roles need MFA: for anyone else the flag decides nothing here.
    if (!found.sealed || (mfaRequired(user.roles) && !(await this.o.store.repos.users.mfaSealed(user.id)))) {
      this.o.alarm?.(unsealedSecrets(user.id, found.credential.id));
      await this.o.store.repos.audit.insert([auditEvent(systemActor(found.credential.kind === 'api_token' ? 'api' : 'webdav'), 'auth.credential',
        { organisationId: user.organisationId, ids: { userId: user.id, credentialId: found.credential.id } }, { allow: false, reason: 'secrets_not_sealed', via: null }, this.o.clock.now())]);
      throw unauthenticated();
    }
    if (user.disabled) throw unauthenticated();
    if (!credentialsUsable(user)) throw mfaNotSetUp();
    return { user, credential: { kind: found.credential.kind, id: found.credential.id, scope: found.credential.scope } };
  }

  /** Whether `password` is the person's, as Strongroom wrote its hash (a hash whose seal does not match is no one's). */
  async verifyPassword(user: User, password: string): Promise<boolean> {
    const state = await this.o.store.repos.users.signInState(user.id);
    if (!state?.password_hash || !state.passwordSealed) return false;
    return this.o.passwords.verify(state.password_hash, password);
  }
}

export const unauthenticated = (): DomainError => new DomainError('UNAUTHENTICATED', 'Sign in first: a valid API token, app password or session is required.');
