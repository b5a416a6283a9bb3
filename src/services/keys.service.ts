// Key management: rotating an organisation's key-encryption key. New versions are wrapped under
// the new key at once; existing data keys stay wrapped under the old one, which is kept for reading.
import type { Clock } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';

export interface KeyRotator {
  rotateOrganisationKey(organisationId: string): Promise<{ keyId: string }>;
}

export class KeysService {
  constructor(private readonly o: { store: Store; access: AccessService; clock: Clock; keys: KeyRotator }) {}

  async rotate(actor: Actor, organisationId: string): Promise<string> {
    const decision = await this.o.access.require(actor, 'organisation.manage-users', { kind: 'organisation', organisationId }, { organisationId, ids: {} });
    const { keyId } = await this.o.keys.rotateOrganisationKey(organisationId);
    await this.o.store.repos.audit.insert([auditEvent(actor, 'key.rotate', { organisationId, ids: { organisationId, keyId } }, decision, this.o.clock.now())]);
    return keyId;
  }
}
