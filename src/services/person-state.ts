// The binding a change to a person records in its audit event (domain/audit/person-record.ts): of the
// person as the caller's transaction has just written them, read back rather than assumed, so a change
// made meanwhile to another of their columns is in it too (the row stays locked until the commit).
import { personBinding } from '../domain/audit/person-record.js';
import { mfaBinding, passwordBinding } from '../domain/audit/person-secrets-record.js';
import { notFound } from '../domain/errors.js';
import type { Repos } from '../domain/repositories.js';

/** `{ binding }`, for the ids of the event recording a change to the person just written in `repos`' transaction. */
export async function personStateIds(repos: Repos, userId: string): Promise<{ binding: string }> {
  const user = await repos.users.byId(userId);
  if (!user) throw notFound('user');
  return { binding: personBinding(user) };
}

/**
 * `{ before }`, the binding of the person as the caller's transaction finds them, read before it changes
 * them (the row held until the commit): for the same event as personStateIds. `audit verify` names a person
 * whose change found them other than as their previous change left them, so a change the database took
 * directly is not vouched for by the next change Strongroom records (which reads back what it left).
 */
export async function personBeforeIds(repos: Repos, userId: string): Promise<{ before: string } | Record<string, never>> {
  await repos.users.lock(userId);
  const user = await repos.users.byId(userId);
  return user ? { before: personBinding(user) } : {};
}

/**
 * `{ passwordBinding }`, for the event recording a write of the person's password hash (null: none), in the
 * same transaction: `audit verify` names a hash that is not their latest recorded one (person-secrets-record.ts).
 */
export const passwordIds = (userId: string, passwordHash: string | null): { passwordBinding: string } => ({ passwordBinding: passwordBinding(userId, passwordHash) });

/** `{ mfaBinding }`, for the event recording a write of the person's MFA state (on or off, and the secret), likewise. */
export const mfaIds = (userId: string, enabled: boolean, secret: string | null): { mfaBinding: string } => ({ mfaBinding: mfaBinding(userId, enabled, secret) });

/** Both, for a new person's `user.create`: their password hash (null: invited, federated or from the directory) and MFA off. */
export const signInSecretIds = (userId: string, passwordHash: string | null): { passwordBinding: string; mfaBinding: string } => ({ ...passwordIds(userId, passwordHash), ...mfaIds(userId, false, null) });
