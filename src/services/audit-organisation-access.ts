// Who may read the audit log's part about their own organisation: decide() asked for `audit.read` (its
// events) or `audit.checkpoints` (its checkpoints and integrity) on the actor's organisation.
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';

/** The actor's organisation, once decide() let them; a refusal throws. */
export async function authorizeOrganisation(o: { access: AccessService }, actor: Actor, action: 'audit.read' | 'audit.checkpoints'): Promise<string> {
  const organisationId = actor.organisationId ?? '';
  await o.access.requireOrganisation(actor, action, organisationId);
  return organisationId;
}
