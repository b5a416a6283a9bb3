// Whether every usable API token and app password is one an audited creation made. A database
// administrator who inserts a credential row (or swaps a row's secret hash for one of their own, or writes
// 'full' over a read-only one's scope) would act as anyone but for its seal, which authentication checks
// (identity/sign-in-seals.ts); `audit verify` names it as well. Each creation's event records a binding of the
// credential's id, person, kind and secret hash, and the scope it was made with; the database cannot forge
// that event (events are sealed).
import { createHash } from 'node:crypto';
import type { CredentialScope } from '../types.js';
import type { AuditEvent } from './event.js';
import { canonicalJson } from './event.js';

export interface StoredCredential {
  id: string;
  userId: string;
  kind: string;
  secretHash: string;
}

export const CREDENTIAL_CREATIONS = ['token.create', 'app-password.create'] as const;

/** Binds a credential's id to its person, kind and secret hash; reveals nothing usable (the secret hash is itself a hash of 256 random bits). */
export function credentialBinding(c: StoredCredential): string {
  return createHash('sha256').update(canonicalJson({ id: c.id, userId: c.userId, kind: c.kind, secretHash: c.secretHash })).digest('base64url');
}

type Creation = Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>;

function creationsById(creations: readonly Creation[]): Map<string, Record<string, string>[]> {
  const byId = new Map<string, Record<string, string>[]>();
  for (const e of creations) {
    const id = e.targetIds.credentialId;
    if (e.decision !== 'allow' || !(CREDENTIAL_CREATIONS as readonly string[]).includes(e.action) || !id) continue;
    byId.set(id, [...(byId.get(id) ?? []), e.targetIds]);
  }
  return byId;
}

const vouchedFor = (c: StoredCredential, recorded: readonly Record<string, string>[]): boolean => {
  const binding = credentialBinding(c);
  return recorded.some((ids) => ids.userId === c.userId && (ids.binding === undefined || ids.binding === binding));
};

/**
 * The scope the creations vouching for a credential made it with: one that recorded no scope (every one before
 * scopes) made a full credential; one that recorded anything else but 'full', the lesser: 'read'.
 */
const recordedScope = (vouching: readonly Record<string, string>[]): CredentialScope =>
  vouching.every((ids) => ids.scope === undefined || ids.scope === 'full') ? 'full' : 'read';

/**
 * The credentials unrecordedCredential's rule vouches for (the same arguments): what the upgrade to sign-in seals
 * seals, each with the scope its creation recorded, which the seal is made over. Not the row's scope, which is
 * in no binding: a read-only token whose row was written up to full would otherwise be sealed as full (the seal
 * then matches the row and the token does everything its person may). A creation that recorded no scope (every one
 * before scopes) made a full credential; one that recorded anything else but 'full', the lesser: 'read'.
 */
export function recordedCredentials(credentials: readonly StoredCredential[], creations: readonly Creation[]): (StoredCredential & { scope: CredentialScope })[] {
  const byId = creationsById(creations);
  return credentials.flatMap((c) => {
    const vouching = (byId.get(c.id) ?? []).filter((ids) => vouchedFor(c, [ids]));
    if (vouching.length === 0) return [];
    return [{ ...c, scope: recordedScope(vouching) }];
  });
}

/**
 * The first usable credential no allowed creation event vouches for, or whose scope (when given) is not the one
 * its creation recorded, said to a person; null when every one matches. Creations recorded before bindings vouch
 * for the id and person only.
 */
export function unrecordedCredential(credentials: readonly (StoredCredential & { scope?: string })[], creations: readonly Creation[]): string | null {
  const byId = creationsById(creations);
  for (const c of credentials) {
    const recorded = byId.get(c.id) ?? [];
    if (!vouchedFor(c, recorded)) {
      return `Credential ${c.id} (${c.kind}, person ${c.userId}) ${recorded.length === 0 ? 'has no creation in the audit log' : 'differs from its recorded creation (person, kind or secret)'}: it was written into the database directly, not by Strongroom.`;
    }
    const made = recordedScope(recorded.filter((ids) => vouchedFor(c, [ids])));
    if (c.scope !== undefined && c.scope !== made) {
      return `Credential ${c.id} (${c.kind}, person ${c.userId}) has the scope ${JSON.stringify(c.scope.slice(0, 32))} where its recorded creation made it ${JSON.stringify(made)}: it was written into the database directly, not by Strongroom.`;
    }
  }
  return null;
}
