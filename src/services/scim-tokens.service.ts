// SCIM provisioning tokens: an org admin (organisation.identity) creates one for the organisation's directory,
// sees the secret once, and can revoke it; each is stored only as a hash, with its last use. A presented token
// becomes the organisation's `directory` actor, which decide() lets manage that organisation's people only.
import { randomBytes, randomUUID } from 'node:crypto';
import { DomainError, invalid, notFound } from '../domain/errors.js';
import type { ScimToken } from '../domain/identity/scim-repositories.js';
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { scimTokenBinding } from '../domain/audit/identity-record.js';
import { auditEvent } from './audit-events.js';
import { hashSecret, systemActor, type IdentityService, type RequestInfo } from './identity.service.js';
import { scimUnauthenticated } from './scim-unauthenticated.js';
import { unsealedScimToken, type SealAlarm } from './sign-in-seal-alarm.js';

/** An organisation's directory, acting through one SCIM token (recorded in every event it causes). */
export interface DirectoryActor extends Actor {
  kind: 'directory';
  organisationId: string;
  scimTokenId: string;
}

export const SCIM_TOKEN_PREFIX = 'srscim_';
/** last_used_at is written at most this often per token, so a busy sync does not write on every request. */
const TOUCH_EVERY_MS = 60_000;

export { scimUnauthenticated };

export class ScimTokensService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService;
    /** Reads the maker again inside the transaction that makes a token (IdentityService.actorWithin). */
    identity: Pick<IdentityService, 'actorWithin'>;
    /** Told (logged at error level) of a token row whose seal does not match: someone wrote the database directly. */
    alarm?: SealAlarm;
  }) {}

  /**
   * A new token for the organisation's directory; the secret is returned once and stored only as a hash. Decided
   * before the transaction and again inside it, on its maker as the transaction reads them (as a token or app
   * password is made: CredentialsService.createCredential).
   */
  async create(actor: Actor, organisationId: string, name: string): Promise<{ token: ScimToken; secret: string }> {
    await this.o.access.requireOrganisation(actor, 'organisation.identity', organisationId, {}, { missing: 'organisation' });
    const label = name.trim();
    if (label === '') throw invalid('Give the token a name that says which directory uses it, like "Entra ID provisioning".', { field: 'name' });
    if (label.length > 100) throw invalid('The token\'s name must be 100 characters or fewer.', { field: 'name' });
    const secret = SCIM_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = this.o.clock.now();
    const token: ScimToken = { id: randomUUID(), organisationId, name: label, createdAt: now.toISOString(), createdBy: actor.userId, lastUsedAt: null, revokedAt: null };
    const target = { organisationId, ids: {} };
    const refused = await this.o.store.transaction(async (repos) => {
      // Its maker as they are now, their row locked: a switching off (or their role taken away) that committed
      // while this request was under way refuses it, audited; one that comes later waits for this commit
      // (PostgreSQL; SQLite has one writer) and then revokes the token made here (revokeScimTokensMadeBy).
      // Otherwise a token made meanwhile would outlive its maker's switching off, and let them switch themselves on.
      if (actor.userId !== null) await repos.users.lock(actor.userId);
      const acting = await this.o.identity.actorWithin(repos, actor, 'scim-token.create', target);
      if ('refused' in acting) return acting.refused;
      const decision = await this.o.access.checkWithin(repos, acting.actor, 'organisation.identity', { kind: 'organisation', organisationId }, target, { auditAs: 'scim-token.create' });
      if (!decision.allow) return notFound('organisation');
      const secretHash = hashSecret(secret);
      await repos.scim.insertToken({ ...token, secretHash });
      // The binding lets `audit verify` tell this token from one written into the database directly.
      const binding = scimTokenBinding({ id: token.id, organisationId, secretHash });
      await repos.audit.insert([auditEvent(acting.actor, 'scim-token.create', { organisationId, ids: { scimTokenId: token.id, binding } }, decision, now)]);
      return null;
    });
    if (refused) throw refused;
    return { token, secret };
  }

  /** The organisation's directory tokens (never a secret): a read, `organisation.read-identity`. */
  async list(actor: Actor, organisationId: string): Promise<ScimToken[]> {
    await this.o.access.requireOrganisation(actor, 'organisation.read-identity', organisationId, {}, { missing: 'organisation' });
    return this.o.store.repos.scim.tokens(organisationId);
  }

  /** Revokes a token at once: the next request made with it is refused (401). */
  async revoke(actor: Actor, organisationId: string, tokenId: string): Promise<void> {
    const decision = await this.o.access.requireOrganisation(actor, 'organisation.identity', organisationId, { scimTokenId: tokenId }, { missing: 'organisation' });
    const token = await this.o.store.repos.scim.token(tokenId);
    // Another organisation's token is answered like one that does not exist.
    if (!token || token.organisationId !== organisationId) throw notFound('SCIM token');
    if (token.revokedAt) throw new DomainError('CONFLICT', 'That SCIM token is already revoked.');
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.scim.revokeToken(tokenId, now.toISOString());
      await repos.audit.insert([auditEvent(actor, 'scim-token.revoke', { organisationId, ids: { scimTokenId: tokenId } }, decision, now)]);
    });
  }

  /** The directory actor of a presented token; unknown or revoked → UNAUTHENTICATED. Read on every request, so revocation is immediate. */
  async authenticate(secret: string, request: RequestInfo): Promise<DirectoryActor> {
    if (!secret.startsWith(SCIM_TOKEN_PREFIX)) throw scimUnauthenticated();
    const token = await this.o.store.repos.scim.tokenBySecretHash(hashSecret(secret));
    if (!token || token.revokedAt) throw scimUnauthenticated();
    // A row written into the database directly (a secret of someone's choosing) is answered as an unknown token.
    if (!token.sealed) {
      this.o.alarm?.(unsealedScimToken(token.id));
      await this.o.store.repos.audit.insert([auditEvent({ ...systemActor('api'), clientAddress: request.clientAddress, requestId: request.requestId }, 'auth.scim-token',
        { organisationId: token.organisationId, ids: { scimTokenId: token.id } }, { allow: false, reason: 'secrets_not_sealed', via: null }, this.o.clock.now())]);
      throw scimUnauthenticated();
    }
    const now = this.o.clock.now();
    if (token.lastUsedAt === null || now.getTime() - Date.parse(token.lastUsedAt) >= TOUCH_EVERY_MS) await this.o.store.repos.scim.touchToken(token.id, now.toISOString());
    return {
      kind: 'directory', userId: null, organisationId: token.organisationId, roles: [], teams: [], clearance: 'OFFICIAL',
      channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId, scimTokenId: token.id,
    };
  }
}
