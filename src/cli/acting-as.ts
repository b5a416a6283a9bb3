// The person a command acts as (`--as EMAIL`): every such command asks IdentityService.actingAs, so a person
// switched off is refused (and the refusal audited) by each alike, instead of each looking the e-mail up itself.
import type { AppServices } from '../services/app-services.js';
import type { Actor } from '../domain/types.js';

/** `action`: what the command is about to do, named in the audited refusal. */
export function actingAs(vault: AppServices, email: string, action: string): Promise<Actor> {
  return vault.identity.actingAs(email, action, { channel: 'cli', clientAddress: null, requestId: null });
}
