// Whether every person's access-bearing state (organisation, e-mail address, roles, teams, clearance,
// disabled flag) is the state an audited change left. The policy reads these columns, so a database
// administrator who writes `roles = '["org_admin"]'`, raises a clearance, adds a team, moves a person to
// another organisation or switches a disabled account back on gets real access; the e-mail address is
// included because sign-in finds a person by it (a password's, and a provider's first sign-in). Each
// change's sealed event records a binding of the person's state after it; `audit verify` names anyone
// whose stored state is not what their latest such event records.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './event.js';
import { canonicalJson } from './event.js';

/** What the policy and sign-in read of a person (not name, password, MFA or timestamps), and who switched them off. */
export interface StoredPerson {
  id: string;
  organisationId: string;
  email: string;
  roles: readonly string[];
  teams: readonly string[];
  clearance: string;
  disabled: boolean;
  /**
   * Who switched the account off ('directory' or 'admin'; null while on): it decides whether the
   * directory may switch it on (decide()'s `person.enable`), so a Disable rewritten as the directory's
   * is a change too.
   */
  disabledBy?: string | null;
}

/** Events that create or change a person's access-bearing state; each carries `binding` since bindings were recorded. */
export const PERSON_RECORD_ACTIONS = ['user.create', 'user.update', 'user.enable', 'user.disable', 'user.baseline'] as const;
/**
 * Events that act on a person as they are without changing them, recording only the state they found
 * (`before`): a link that sets a password mailed to the address read then. An address rewritten in the
 * database only while such a mail is sent, and put back after, leaves the rows as they were but this
 * event's `before` other than the recorded state: `audit verify` names it like a change that found them changed.
 */
export const PERSON_READ_ACTIONS = ['mail.sign-in-link'] as const;
/** Every event `unrecordedPerson` reads: the changes and the reads. */
export const PERSON_EVENT_ACTIONS = [...PERSON_RECORD_ACTIONS, ...PERSON_READ_ACTIONS] as const;

/** A hash of the person's access-bearing state (roles and teams sorted: they are sets). */
export function personBinding(p: StoredPerson): string {
  const state = {
    id: p.id, organisationId: p.organisationId, email: p.email.toLowerCase(), roles: [...p.roles].sort(), teams: [...p.teams].sort(),
    clearance: p.clearance, disabled: p.disabled,
    // Only the directory's switching off is named: an admin's (or one not known, which counts as an
    // admin's) binds as the flag alone did, so what was recorded before it was kept stays true.
    ...(p.disabled && p.disabledBy === 'directory' ? { disabledBy: 'directory' } : {}),
  };
  return createHash('sha256').update(canonicalJson(state)).digest('base64url');
}

type Change = Pick<AuditEvent, 'action' | 'decision' | 'targetOrganisationId' | 'targetIds'>;

interface Recorded {
  /** The bindings of the person's changes in log order, since the last change recorded without one. */
  bindings: string[];
  /** The organisation of each recorded creation. */
  creations: (string | null)[];
  /**
   * A change found the person other than as the change before it left them (its `before` is not the
   * previous binding): the database changed them in between, and the change that followed read that back.
   */
  foundChanged: boolean;
}

function recordedByPerson(changes: readonly Change[]): Map<string, Recorded> {
  const byPerson = new Map<string, Recorded>();
  for (const e of changes) {
    const userId = e.targetIds.userId;
    if (e.decision !== 'allow' || !userId) continue;
    if ((PERSON_READ_ACTIONS as readonly string[]).includes(e.action)) {
      // A read changes nothing: it only says what it found, which must be what the change before it left.
      const recorded = byPerson.get(userId);
      const previous = recorded?.bindings.at(-1);
      if (recorded && e.targetIds.before !== undefined && previous !== undefined && e.targetIds.before !== previous) recorded.foundChanged = true;
      continue;
    }
    if (!(PERSON_RECORD_ACTIONS as readonly string[]).includes(e.action)) continue;
    const recorded = byPerson.get(userId) ?? { bindings: [], creations: [], foundChanged: false };
    if (e.action === 'user.create') recorded.creations.push(e.targetOrganisationId);
    const previous = recorded.bindings.at(-1);
    if (e.targetIds.binding && e.targetIds.before !== undefined && previous !== undefined && e.targetIds.before !== previous) recorded.foundChanged = true;
    // A change recorded without a binding (before bindings, or by an older build run again) leaves the
    // person as they were before bindings: the bindings before it no longer say what their state is.
    if (e.targetIds.binding) recorded.bindings.push(e.targetIds.binding);
    else recorded.bindings = [];
    byPerson.set(userId, recorded);
  }
  return byPerson;
}

const DIRECT = 'it was written into the database directly, not by Strongroom.';

/**
 * The first person whose stored state no allowed event vouches for, said to a person; null when every
 * one matches. `changes`: the allowed person events in log order, read after `people`. A person's state
 * must be the one their latest binding records, not merely one recorded once: switching a disabled
 * account back on returns it to a state an earlier event recorded.
 *
 * `settled`, when given, is the same events as read before `people` were (a second look, after a first
 * found a difference that a change committed between the two reads could explain): the state read then
 * may be any recorded at or after the latest change `settled` holds.
 *
 * Each change records the state it found as well (`before`, since it was recorded): one that found the
 * person other than as the change before it left them read back a change the database took directly, and
 * is named too, so the next recorded change does not vouch for (launder) a direct one.
 *
 * People whose latest change carries no binding were last changed before bindings were recorded: their
 * creation vouches for their id and organisation only, until `strongroom audit baseline-people` records
 * their state as it stands (peopleBeforeBindings), after which it is checked like anyone's.
 */
export function unrecordedPerson(people: readonly StoredPerson[], changes: readonly Change[], settled?: readonly Change[]): string | null {
  const recorded = recordedByPerson(changes);
  const before = settled === undefined ? undefined : recordedByPerson(settled);
  for (const p of people) {
    const mine = recorded.get(p.id);
    const label = `Person ${p.id} (organisation ${p.organisationId})`;
    if (!mine || mine.creations.length === 0) return `${label} has no creation in the audit log: ${DIRECT}`;
    if (mine.bindings.length === 0) {
      if (!mine.creations.includes(p.organisationId)) return `${label} was created in another organisation, as the audit log records it: ${DIRECT}`;
      continue;
    }
    const from = Math.max(0, (before === undefined ? mine.bindings.length : (before.get(p.id)?.bindings.length ?? 0)) - 1);
    if (!mine.bindings.slice(from).includes(personBinding(p))) {
      return `${label} differs from their latest recorded change (organisation, e-mail address, roles, teams, clearance or disabled): they were changed in the database directly, not by Strongroom.`;
    }
    if (mine.foundChanged) {
      return `${label} was not as their previous recorded change left them when Strongroom next changed them or mailed them a sign-in link (organisation, e-mail address, roles, teams, clearance or disabled): they were changed in the database directly, not by Strongroom.`;
    }
  }
  return null;
}

/**
 * The people whose latest change was recorded before bindings, and whose creation (in their organisation)
 * the log records: those a baseline may record as they stand. Anyone already bound is left out, so a
 * baseline taken again records nothing and cannot vouch for a change made to a bound person since.
 */
export function peopleBeforeBindings<P extends StoredPerson>(people: readonly P[], changes: readonly Change[]): P[] {
  const recorded = recordedByPerson(changes);
  return people.filter((p) => {
    const mine = recorded.get(p.id);
    return mine !== undefined && mine.bindings.length === 0 && mine.creations.includes(p.organisationId);
  });
}
