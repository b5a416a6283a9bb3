// A person's API tokens and WebDAV app passwords: making one (its secret shown once, stored as a hash), listing
// them and revoking one. Using one to sign in is IdentityService.authenticateSecret's.
import { randomBytes, randomUUID } from 'node:crypto';
import { credentialBinding } from '../domain/audit/credential-record.js';
import { invalid, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, CredentialScope } from '../domain/types.js';
import { CREDENTIAL_SCOPES } from '../domain/types.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import { queueAccountNotice } from './account-notices.js';
import { auditEvent } from './audit-events.js';
import { hashSecret, type IdentityService } from './identity.service.js';

export class CredentialsService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService;
    /** Reads the maker and the holder again inside the transaction that makes a credential. */
    identity: Pick<IdentityService, 'actorWithin'>;
  }) {}

  /**
   * Creates an API token or WebDAV app password, with everything its person may do (`full`) or only what reads
   * (`read`, for a system that only pulls documents). The secret is returned once and stored only as a hash.
   * Making one is a change (decide()'s `person.manage-credentials`), so a read-only credential cannot make another.
   */
  async createCredential(actor: Actor, userId: string, kind: 'api_token' | 'app_password', name: string, scope: CredentialScope = 'full'): Promise<{ id: string; secret: string }> {
    if (!(CREDENTIAL_SCOPES as readonly string[]).includes(scope)) throw invalid(`The scope must be one of ${CREDENTIAL_SCOPES.join(', ')}.`, { field: 'scope' });
    const { user, decision } = await this.requireCredentialsOf(actor, userId);
    const prefix = kind === 'api_token' ? 'srt_' : 'srp_';
    const secret = prefix + randomBytes(32).toString('base64url');
    const id = randomUUID();
    const now = this.o.clock.now();
    const action = kind === 'api_token' ? 'token.create' : 'app-password.create';
    const target = { organisationId: user.organisationId, ids: { userId } };
    const refused = await this.o.store.transaction(async (repos) => {
      // Its holder (and whoever makes it) as they are now, their rows locked in a fixed order: a switching off
      // that committed while this request was under way refuses it; one that comes later waits for this commit
      // and then revokes what was made here (revokePersonAccess). Otherwise it would outlive the switching off.
      for (const id of [...new Set([userId, actor.userId ?? userId])].sort()) await repos.users.lock(id);
      const acting = await this.o.identity.actorWithin(repos, actor, action, target);
      if ('refused' in acting) return acting.refused;
      const holder = await repos.users.byId(userId);
      if (!holder || holder.disabled) {
        await repos.audit.insert([auditEvent(actor, action, target, { allow: false, reason: 'person_disabled', via: null }, now)]);
        return holder ? invalid('This account is switched off: no API token or app password can be made for it.') : notFound('user');
      }
      const secretHash = hashSecret(secret);
      await repos.users.insertCredential({ id, userId, kind, name: name.trim() || kind, scope, secretHash, createdAt: now.toISOString(), lastUsedAt: null, revokedAt: null });
      // The binding lets `audit verify` tell this credential from one written into the database directly.
      const binding = credentialBinding({ id, userId, kind, secretHash });
      await repos.audit.insert([auditEvent(actor, action, { organisationId: user.organisationId, ids: { userId, credentialId: id, binding, scope } }, decision, now)]);
      await queueAccountNotice(repos, actor, userId, { change: kind === 'api_token' ? 'api-token-created' : 'app-password-created' }, now);
      return null;
    });
    if (refused) throw refused;
    return { id, secret };
  }

  /** The person's credentials, never a secret: a read (`person.read-credentials`), so a read-only credential may list them. */
  async listCredentials(actor: Actor, userId: string) {
    await this.requireCredentialsOf(actor, userId, 'person.read-credentials');
    return this.o.store.repos.users.listCredentials(userId);
  }

  /** Revokes one of the actor's own credentials. */
  async revokeCredential(actor: Actor, credentialId: string): Promise<void> {
    const { decision } = await this.requireCredentialsOf(actor, actor.userId ?? '');
    const mine = await this.o.store.repos.users.listCredentials(actor.userId ?? '');
    if (!mine.some((c) => c.id === credentialId)) throw notFound('credential');
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.users.revokeCredential(credentialId, now.toISOString());
      await repos.audit.insert([auditEvent(actor, 'credential.revoke', { organisationId: actor.organisationId, ids: { credentialId } }, decision, now)]);
    });
  }

  private async requireCredentialsOf(actor: Actor, userId: string, action: 'person.manage-credentials' | 'person.read-credentials' = 'person.manage-credentials') {
    const user = await this.o.store.repos.users.byId(userId);
    if (!user) throw notFound('user');
    const decision = await this.o.access.require(actor, action, { kind: 'person', userId: user.id, organisationId: user.organisationId }, { organisationId: user.organisationId, ids: { userId } });
    return { user, decision };
  }
}
