// Sealing the events sequenced before seals existed (migration 202611300112), so that every event that vouches
// for a row does so under its seal (db/repos/audit.repo.ts #vouching; migration 202612271940). A migration holds
// no key, so the open that applies it seals them in its transaction (compose/sign-in-seals.ts); the open that
// applies the sign-in seals' migration does it first too, since that upgrade seals what these events vouch for.
//
// Only what signed checkpoints vouch for is sealed: the tree is rebuilt from the events, in order of seq, and an
// unsealed event is sealed once the root at a checkpoint's size, signed with the log's key, is the root of the
// events up to there: it says what it said when it was signed. The rebuilding stops at the first event that does
// not follow (a seq missing or repeated, a row that is not an event) or the first checkpoint it does not give, so
// an event rewritten in the database before the upgrade, or numbered past every checkpoint, stays unsealed and
// vouches for nothing; `audit verify` names it. Running it again (the migration's record deleted by hand) seals
// nothing a checkpoint does not vouch for, so it needs no watching.
import { DomainError } from '../domain/errors.js';
import { canonicalEvent, type AuditEvent } from '../domain/audit/event.js';
import { CompactRange, leafHash } from '../domain/audit/merkle.js';
import { openCheckpoint } from '../domain/audit/signed-note.js';
import type { Repos } from '../domain/repositories.js';
import { auditEvent } from './audit-events.js';
import { systemActor } from './identity.service.js';

/** The event the upgrade records when it found events to seal. */
export const EVENT_SEALS_ACTION = 'audit.event-seals';

export interface EventSealingCounts {
  /** Events in the tree found without a seal. */
  found: number;
  sealed: number;
  /** Left unsealed: no signed checkpoint vouches for what they say. */
  left: number;
}

/** Whose checkpoints vouch for the events: the log's verifier key and origin. */
export interface CheckpointSigner {
  verifierKey: string;
  origin: string;
}

/** The roots signed for each size by the stored checkpoints that open under the log's key; a size signed with two roots gives none. */
async function signedRoots(repos: Repos, signer: CheckpointSigner): Promise<Map<number, Buffer | null>> {
  const roots = new Map<number, Buffer | null>();
  for (const stored of await repos.audit.checkpoints()) {
    let checkpoint;
    try {
      checkpoint = openCheckpoint(stored.note, signer.verifierKey, signer.origin);
    } catch (err) {
      if (err instanceof DomainError) continue;
      throw err;
    }
    const before = roots.get(checkpoint.treeSize);
    roots.set(checkpoint.treeSize, before === undefined || (before !== null && before.equals(checkpoint.rootHash)) ? checkpoint.rootHash : null);
  }
  return roots;
}

/** Seals, in the caller's transaction (a migration's), the unsealed events in the tree that signed checkpoints vouch for; records one event with the counts (none when none was found). */
export async function sealSequencedEventsFound(repos: Repos, signer: CheckpointSigner, now: Date): Promise<EventSealingCounts> {
  const unsealed = await repos.audit.unsealedSequenced();
  if (unsealed === null) return { found: 0, sealed: 0, left: 0 };
  const roots = await signedRoots(repos, signer);
  const tree = new CompactRange();
  // Unsealed events read since the last checkpoint the tree gave: sealed when the next one vouches for them.
  let waiting: { id: number; event: Omit<AuditEvent, 'seq'> }[] = [];
  let sealed = 0;
  try {
    for await (const row of repos.audit.sequenced()) {
      const { seq, ...event } = row.event;
      // A negative seq is none the sequencer gave (verify names it).
      if (seq < 0) continue;
      if (seq !== tree.size) break;
      tree.append(leafHash(canonicalEvent(event).bytesAt(seq)));
      if (row.seal === null) waiting.push({ id: row.id, event });
      const root = roots.get(tree.size);
      if (root === undefined) continue;
      if (root === null || !root.equals(tree.root())) break;
      await repos.audit.sealSequencedAsFound(waiting);
      sealed += waiting.length;
      waiting = [];
      if (seq >= unsealed.lastSeq) break;
    }
  } catch (err) {
    // A row that cannot be read as an event (IntegrityError, or INVALID from its encoding): nothing from it on is vouched for.
    if (!(err instanceof DomainError)) throw err;
  }
  const counts = { found: unsealed.count, sealed, left: unsealed.count - sealed };
  await repos.audit.insert([auditEvent(systemActor(), EVENT_SEALS_ACTION, { organisationId: null, ids: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, String(v)])) }, { allow: true, reason: 'upgrade', via: null }, now)]);
  return counts;
}
