// Whether every person's password hash and MFA state (enabled flag and TOTP secret) are what an audited
// change left. Sign-in reads these columns: a database administrator who writes a hash of a password they
// know into `users.password_hash`, or an authenticator secret they hold into `users.mfa_secret` (or clears
// `mfa_enabled`), would sign in as that person, an org admin's too, but for the seals sign-in checks
// (identity/sign-in-seals.ts); `audit verify` names it as well, and names an earlier sealed state put back.
// Each writer's sealed event records a binding of what it wrote (`passwordBinding`, `mfaBinding`), and
// verify compares each person's row with their LATEST such binding.
//
// The bindings reveal nothing usable, though the log is read by more people than the users table: each is
// a SHA-256 of the person's id and an argon2id hash (itself slow and salted: a hash of it is no shortcut to
// the password), or of a TOTP secret of 160 random bits (or HMAC output as strong): neither can be
// guessed from its hash.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './event.js';
import { canonicalJson } from './event.js';

const bind = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('base64url');

/** What sign-in reads of a person's own secrets: for `audit verify` only. */
export interface StoredSignInSecrets {
  id: string;
  organisationId: string;
  passwordHash: string | null;
  mfaEnabled: boolean;
  mfaSecret: string | null;
}

/** Binds a person to their password hash (null: no password, as an invited or federated person). */
export const passwordBinding = (userId: string, passwordHash: string | null): string => bind({ userId, passwordHash });

/**
 * Binds a person to their MFA state: whether it is on, and the authenticator secret (or null) IN CLEAR. The
 * secret is stored sealed since 15 December 2026 (a new nonce each time it is sealed, and sealed again when
 * the upgrade encrypted the secrets stored in clear), so the binding covers what it opens to, which the
 * upgrade does not change; verify reads the secrets opened (UsersRepository.everySignInSecret).
 */
export const mfaBinding = (userId: string, mfaEnabled: boolean, mfaSecret: string | null): string => bind({ userId, mfaEnabled, mfaSecret });

/** Events that write a person's password hash; each carries `passwordBinding` since 5 December 2026. */
export const PASSWORD_ACTIONS = ['user.create', 'user.invitation-accept', 'auth.password-change', 'auth.password-rehash', 'user.password-reset'] as const;
/** Events that write a person's MFA state; each carries `mfaBinding` since 5 December 2026. */
export const MFA_ACTIONS = ['user.create', 'auth.mfa-enrol', 'user.mfa-reset'] as const;
export const PERSON_SECRET_ACTIONS = [...new Set<string>([...PASSWORD_ACTIONS, ...MFA_ACTIONS])];

type Change = Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>;

/** Each person's latest event of `actions` (log order), whether or not it carries a binding. */
function latestByPerson(events: readonly Change[], actions: readonly string[]): Map<string, Change> {
  const latest = new Map<string, Change>();
  for (const e of events) {
    const userId = e.targetIds.userId;
    if (e.decision === 'allow' && userId && actions.includes(e.action)) latest.set(userId, e);
  }
  return latest;
}

const DIRECT = 'it was written into the database directly, not by Strongroom.';

/**
 * The first person whose password hash or MFA state is not what their latest recorded write of it
 * records, said to a person; null when every one matches. `events`: the allowed events of
 * PERSON_SECRET_ACTIONS IN THE ORDER THEY WERE WRITTEN. Linear in people and events.
 *
 * As for group mappings (identity-record.ts), a person whose latest write predates bindings (its event
 * carries none, or the log has no such event: people created before 5 December 2026) is tolerated, for
 * the password and for MFA each, only until that is next written (a password change, invitation, rehash
 * at sign-in, MFA set-up or reset): from then on it is checked like anyone's.
 */
export function unrecordedSignInSecret(people: readonly StoredSignInSecrets[], events: readonly Change[]): string | null {
  for (const [p, recorded] of signInSecretsRecorded(people, events)) {
    const label = `Person ${p.id} (organisation ${p.organisationId})`;
    if (!recorded.password) return `${label}'s password hash is not what their latest recorded password change set: ${DIRECT}`;
    if (!recorded.mfa) return `${label}'s two-factor authentication (on or off, or its secret) is not what their latest recorded set-up or reset left: ${DIRECT}`;
  }
  return null;
}

/**
 * Each person's password hash and MFA state, each said to pass or fail unrecordedSignInSecret's rule (the
 * same arguments): what the upgrade to sign-in seals seals (services/sign-in-seal-upgrade.ts).
 */
export function signInSecretsRecorded(people: readonly StoredSignInSecrets[], events: readonly Change[]): [StoredSignInSecrets, { password: boolean; mfa: boolean }][] {
  const passwords = latestByPerson(events, PASSWORD_ACTIONS);
  const mfa = latestByPerson(events, MFA_ACTIONS);
  return people.map((p) => {
    const password = passwords.get(p.id)?.targetIds.passwordBinding;
    const second = mfa.get(p.id)?.targetIds.mfaBinding;
    return [p, {
      password: password === undefined || password === passwordBinding(p.id, p.passwordHash),
      mfa: second === undefined || second === mfaBinding(p.id, p.mfaEnabled, p.mfaSecret),
    }];
  });
}

/**
 * The first person whose recorded writes show their row put back whole to an earlier state of its own, seal
 * and all (a sign-in seal binds a row to its person, not to a time, so sign-in takes such a state), said to a
 * person; null when none. Two such replays leave a trace here, though each write then recorded matches the
 * row: an invitation taken after the person had a password (an invitation sets only a first password, and
 * only an admin's reset, `user.password-reset`, takes a password back to none: an invitation taken after one
 * is no replay), and MFA set up while it was on (only an admin's
 * reset turns it off). `events`: as for unrecordedSignInSecret, in log order. Only writes that carry their
 * binding (5 December 2026 on) count, so a log from before bindings is judged from then.
 */
export function replayedSignInSecret(events: readonly Change[]): string | null {
  const hadPassword = new Set<string>();
  const mfaOn = new Set<string>();
  for (const e of events) {
    const userId = e.targetIds.userId;
    if (e.decision !== 'allow' || !userId) continue;
    const password = e.targetIds.passwordBinding;
    if (password !== undefined && (PASSWORD_ACTIONS as readonly string[]).includes(e.action)) {
      if (e.action === 'user.invitation-accept' && hadPassword.has(userId)) {
        return `Person ${userId} took an invitation after they had set a password: their row was put back to before their first password, ${REPLAYED}`;
      }
      // An admin's reset to no password (user.password-reset binding null) is the one recorded way back to
      // "no password yet", so the link it makes (mailed, or shown to whoever reset it) may then be taken. A reset
      // binding a hash (the first build of 5 December 2026 set a one-time password) is a password.
      if (password !== passwordBinding(userId, null)) hadPassword.add(userId);
      else if (e.action === 'user.password-reset') hadPassword.delete(userId);
    }
    if (e.targetIds.mfaBinding !== undefined && (MFA_ACTIONS as readonly string[]).includes(e.action)) {
      if (e.action === 'auth.mfa-enrol') {
        if (mfaOn.has(userId)) return `Person ${userId} set up two-factor authentication while it was on: their row was put back to a state with it off, ${REPLAYED}`;
        mfaOn.add(userId);
      } else {
        mfaOn.delete(userId); // created, or reset by an admin: off
      }
    }
  }
  return null;
}

const REPLAYED = 'in the database directly, not by Strongroom.';

