// Whether every arrangement, as the policy reads it now, is the state an audited change left.
// Arrangements are what open one council's documents to another's staff, so a row inserted or
// edited by whoever can write the database (a partner added, an acceptance, a higher ceiling)
// must not pass `audit verify`. Each change's audit event names the revision it produced and a
// hash of the stored state; the database cannot forge such an event (events are sealed).
import { createHash } from 'node:crypto';
import type { Arrangement } from '../types.js';
import type { AuditEvent } from './event.js';
import { canonicalJson } from './event.js';

/** A hash of everything the policy reads of an arrangement (sets sorted: their order is not meaningful). */
export function arrangementStateHash(a: Arrangement): string {
  const state = { ...a, partnerOrganisationIds: [...a.partnerOrganisationIds].sort(), acceptedBy: [...a.acceptedBy].sort() };
  return createHash('sha256').update(canonicalJson(state)).digest('base64url');
}

/**
 * The first arrangement whose stored state no audited change produced, said to a person; null
 * when every one matches. `changes`: the allowed arrangement events (any order). Events written
 * before state hashes were recorded vouch for their revision only.
 */
export function unrecordedArrangement(arrangements: readonly Arrangement[], changes: readonly Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>[]): string | null {
  const byRevision = new Map<string, (string | null)[]>();
  for (const e of changes) {
    const { arrangementId, revision, state } = e.targetIds;
    if (e.decision !== 'allow' || !e.action.startsWith('arrangement.') || !arrangementId || !revision) continue;
    const key = `${arrangementId}#${revision}`;
    byRevision.set(key, [...(byRevision.get(key) ?? []), state ?? null]);
  }
  for (const a of arrangements) {
    const recorded = byRevision.get(`${a.id}#${a.revision}`);
    if (!recorded) {
      return `Arrangement ${a.id} is at revision ${a.revision}, which no audit event records: it was created or changed in the database directly, not by Strongroom.`;
    }
    const hash = arrangementStateHash(a);
    if (!recorded.some((state) => state === null || state === hash)) {
      return `Arrangement ${a.id} differs from revision ${a.revision} as its audit event records it (partners, acceptances, terms or dates): it was changed in the database directly, not by Strongroom.`;
    }
  }
  return null;
}
