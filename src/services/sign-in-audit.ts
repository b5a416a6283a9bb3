// The audit event of a step of web sign-in (a session, a password, a second factor): the account it was
// for, allowed or refused and why, decided by the credentials rather than decide() (via: null).
import type { Clock } from '../domain/ports.js';
import type { Actor, User } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import { PasswordChecksBusyError } from './password-check-gate.js';

/**
 * Whom a password's hash or check was for: an account, an account not made yet in an organisation (named by
 * the organisation alone: the id it would have had names nobody), or nobody known.
 */
export type PasswordSubject = User | { accountToBeMadeIn: string } | null;

/** `repos`: a transaction's, when the event must commit with the change it records. */
export async function auditSignIn(o: { store: Store; clock: Clock }, actor: Actor, action: string, user: PasswordSubject, allow: boolean, reason: string, repos: Repos = o.store.repos): Promise<void> {
  const target: AuditTarget = user === null ? { organisationId: null, ids: {} }
    : 'accountToBeMadeIn' in user ? { organisationId: user.accountToBeMadeIn, ids: {} }
      : { organisationId: user.organisationId, ids: { userId: user.id } };
  await repos.audit.insert([auditEvent(actor, action, target, { allow, reason, via: null }, o.clock.now())]);
}

/**
 * Runs a password hash or check made for `action`. One refused for want of a turn (this process's password
 * checks all busy: password-check-gate.ts) judged and changed nothing: it is audited as `action` refused
 * `busy` (a flood shows in the log) before the refusal goes on to the person as "try again in a few seconds".
 * Every hash and check a person waits for goes through here: sign-in, a password change, a link that sets
 * one, an account made with one.
 */
export async function auditedIfBusy<T>(o: { store: Store; clock: Clock }, audit: { actor: Actor; action: string; user: PasswordSubject }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PasswordChecksBusyError) await auditSignIn(o, audit.actor, audit.action, audit.user, false, 'busy');
    throw error;
  }
}
