// The audit event of a step of web sign-in (a session, a password, a second factor): the account it was
// for, allowed or refused and why, decided by the credentials rather than decide() (via: null).
import type { Clock } from '../domain/ports.js';
import type { Actor, User } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { auditEvent } from './audit-events.js';

/** `repos`: a transaction's, when the event must commit with the change it records. */
export async function auditSignIn(o: { store: Store; clock: Clock }, actor: Actor, action: string, user: User | null, allow: boolean, reason: string, repos: Repos = o.store.repos): Promise<void> {
  await repos.audit.insert([
    auditEvent(actor, action, { organisationId: user?.organisationId ?? null, ids: user ? { userId: user.id } : {} }, { allow, reason, via: null }, o.clock.now()),
  ]);
}
