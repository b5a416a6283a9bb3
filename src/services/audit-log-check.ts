// Checking the audit log against what was signed: the stored tree against every checkpoint (in the
// database and outside it), every stored event recomputed into the tree, and the rows that are ways in
// (arrangements, credentials, SCIM tokens, identity providers and links) each backed by its event.
// AuditService's signer asks checkHistory before each signature; `audit verify` and the integrity
// page run checkWholeLog.
import { unrecordedArrangement } from '../domain/audit/arrangement-record.js';
import { checkTreeExtends, type HistoryCheck, type SourcedCheckpoint } from '../domain/audit/checkpoint-history.js';
import { unrecordedCredential } from '../domain/audit/credential-record.js';
import { IDENTITY_RECORD_ACTIONS, unrecordedIdentityRow } from '../domain/audit/identity-record.js';
import { HASH_SIZE, treeRoot, type SubtreeHashes } from '../domain/audit/merkle.js';
import { openCheckpoint } from '../domain/audit/signed-note.js';
import { verifyLog, type LogCheck, type LogCheckpoint } from '../domain/audit/verify-log.js';
import { IntegrityError } from '../domain/errors.js';
import type { CheckpointCopies } from '../domain/ports.js';
import type { Repos, UnsequencedAuditEvent } from '../domain/repositories.js';

/** Whose checkpoints these are: the log's verifier key and origin line. */
export interface Signer {
  verifierKey: string;
  origin: string;
}

export type AuditVerification = LogCheck & {
  /** 'matched': offsite copies exist and every check passed; 'mismatch': some check failed. */
  offsite: 'matched' | 'absent' | 'mismatch';
  /** How many offsite checkpoint files were checked. */
  offsiteCheckpoints: number;
};

/** The stored tree of `size` events, checked to extend every given checkpoint; its root when it does. */
export async function checkHistory(checkpoints: SourcedCheckpoint[], size: number, hashes: SubtreeHashes, signer: Signer): Promise<HistoryCheck & { root: Buffer }> {
  let root: Buffer;
  try {
    root = await treeRoot(size, hashes);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return { ok: false, source: 'the stored tree', firstBadSeq: 0, problem: `The stored tree of ${size} events cannot be read: ${err.message}.`, root: Buffer.alloc(0) };
  }
  return { ...(await checkTreeExtends(checkpoints, { size, root, hashes }, signer.verifierKey, signer.origin)), root };
}

/**
 * Recomputes the whole tree from the stored events and checks it against every checkpoint, in the
 * database and outside it (each offsite file, the signer's own copy). `pendingBatch` pending rows are
 * checked for a seal too. The answer names where it failed, which may be any organisation's event.
 */
export async function checkWholeLog(o: { repos: Repos; copies: CheckpointCopies; signer: Signer; pendingBatch: number }): Promise<AuditVerification> {
  const { repos, signer } = o;
  // Outside copies, then stored checkpoints, then the tree: the same order as the signer, for the same reason.
  const outside = await o.copies.all();
  const stored = (await repos.audit.checkpoints()).map((c): SourcedCheckpoint => ({ source: `stored checkpoint for size ${c.treeSize}`, note: c.note, claimedSize: c.treeSize }));
  const everyCheckpoint = [...outside.offsite, ...outside.newest, ...outside.signer, ...stored];
  const history = await checkHistory(everyCheckpoint, await repos.audit.treeSize(), memoised(subtreesOf(repos)), signer);

  const leafHashes = new Map<number, Buffer>();
  let nextSeq = 0;
  // The document id a row is filed under is a column beside the event, not part of it (so not under
  // its hash): changed, it would take an event out of the document's history, or put one in another's.
  let misfiled: LogCheck | null = null;
  async function* events() {
    for await (const { event, leafHash, filedUnderDocumentId } of repos.audit.sequenced()) {
      if (leafHash) {
        leafHashes.set(event.seq, leafHash);
        if (leafHashes.size > 10_000) leafHashes.delete(leafHashes.keys().next().value as number);
      }
      // (A row whose target ids are not an object of strings fails as malformed in verifyLog.)
      const documentId = typeof event.targetIds === 'object' && event.targetIds !== null ? (event.targetIds.documentId ?? null) : null;
      if (misfiled === null && filedUnderDocumentId !== documentId) {
        misfiled = { ok: false, firstBadSeq: event.seq, problem: `Event ${event.seq} is filed under document ${filedUnderDocumentId ?? 'none'} but concerns ${documentId === null ? 'no document' : `document ${documentId}`}: its row was changed in the database directly, so the document's history shows it wrongly.` };
      }
      nextSeq = event.seq + 1;
      yield event;
    }
  }
  let result: LogCheck;
  try {
    result = await verifyLog(events(), forLog(everyCheckpoint, signer.verifierKey), signer.verifierKey, async (seq) => leafHashes.get(seq), { origin: signer.origin });
  } catch (err) {
    // A row that cannot even be read as an event (its target ids are not JSON).
    if (!(err instanceof IntegrityError)) throw err;
    result = { ok: false, firstBadSeq: nextSeq, problem: `${sentence(err.message)}.` };
  }
  if (result.ok && misfiled) result = misfiled;
  // Read after the events, so concurrent sequencing can only make it larger: an event numbered
  // beyond the sequencer's tree was never sequenced (written straight into the database).
  const sequencedSize = await repos.audit.treeSize();
  if (result.ok && result.treeSize > sequencedSize) {
    result = { ok: false, firstBadSeq: sequencedSize, problem: `Events from seq ${sequencedSize} to ${result.treeSize - 1} carry sequence numbers the sequencer never assigned (its tree has ${sequencedSize} events): they were written into the database directly.` };
  }
  if (result.ok && history.ok) {
    try {
      result = (await rowsNotVouchedFor(repos, { signedSize: history.signedSize, sequencedSize, pendingBatch: o.pendingBatch })) ?? result;
    } catch (err) {
      // A row that cannot even be read as an event (its target ids are not JSON).
      if (!(err instanceof IntegrityError)) throw err;
      result = { ok: false, firstBadSeq: sequencedSize, problem: `${sentence(err.message)}.` };
    }
  }
  if (!history.ok) {
    // The events say more exactly where the damage starts; the history names the checkpoint it contradicts.
    result = result.ok
      ? { ok: false, firstBadSeq: history.firstBadSeq, problem: history.problem }
      : { ok: false, firstBadSeq: result.firstBadSeq, problem: `${history.problem} Recomputed from the events: ${result.problem}` };
  }
    const offsite = outside.offsite.length === 0 ? 'absent' : result.ok ? 'matched' : 'mismatch';
  return { ...result, offsite, offsiteCheckpoints: outside.offsite.length };
}


/** An error's message (which the sequencer's alarm puts mid-sentence) as the start of a sentence. */
const sentence = (message: string): string => `${message.charAt(0).toUpperCase()}${message.slice(1)}`;

/**
 * The first row the log does not vouch for, if there is one: a sequenced event past the signed
 * prefix without a valid seal, a pending one, or an arrangement, credential or identity row no
 * event records. Each check runs only if those before it passed.
 */
async function rowsNotVouchedFor(repos: Repos, o: { signedSize: number; sequencedSize: number; pendingBatch: number }): Promise<LogCheck | null> {
  const fail = (firstBadSeq: number, problem: string): LogCheck => ({ ok: false, firstBadSeq, problem });
  const unsealed = await firstUnsealedSequenced(repos, o.signedSize, o.sequencedSize);
  if (unsealed) return fail(unsealed.seq, unsealed.problem);
  const forged = await firstForgedPending(repos, o.pendingBatch);
  if (forged) return fail(o.sequencedSize, forged);
  // Arrangements read before their changes: a change committed in between adds its event too.
  const arrangements = await repos.arrangements.list({});
  const unrecordedChange = unrecordedArrangement(arrangements, await repos.audit.arrangementChanges());
  if (unrecordedChange) return fail(o.sequencedSize, unrecordedChange);
  // Credentials read before their creations, for the same reason.
  const credentials = await repos.users.usableCredentials();
  const unrecordedCredentialRow = unrecordedCredential(credentials, await repos.audit.credentialCreations());
  if (unrecordedCredentialRow) return fail(o.sequencedSize, unrecordedCredentialRow);
  // SCIM tokens, identity providers and subject links: ways in too. Rows read before their events, as above.
  const rows = { scimTokens: await repos.scim.usableTokens(), providers: await repos.federation.everyProvider(), links: await repos.federation.everyIdentity() };
  const unrecordedIdentity = unrecordedIdentityRow(rows, await repos.audit.allowedEvents(IDENTITY_RECORD_ACTIONS));
  return unrecordedIdentity ? fail(o.sequencedSize, unrecordedIdentity) : null;
}

/**
 * The first event from seq `from` up to (not including) `to` whose row carries no valid seal, if
 * there is one. The sequencer numbers only sealed rows, so such an event was numbered by whoever can
 * write the database (its leaf and the tree's nodes written by hand): the signer refuses to sign
 * over it, and verify names it. Events under a checkpoint were checked before it was signed (or
 * sequenced before seals existed, and signed by the builds of that time). A row that cannot be read
 * as an event is named too.
 */
export async function firstUnsealedSequenced(repos: Repos, from: number, to: number): Promise<{ seq: number; problem: string } | null> {
  if (from >= to) return null;
  let expected = from;
  try {
    for await (const row of repos.audit.sequenced({ from })) {
      const seq = row.event.seq;
      if (seq >= to) break;
      const { seq: _seq, ...unsequenced } = row.event;
      if (repos.audit.writtenByService(row, unsequenced) === null) {
        return { seq, problem: `Event ${seq} (${row.event.action}) carries no valid seal: it was numbered and written into the tree in the database directly, not by Strongroom's sequencer.` };
      }
      expected = seq + 1;
    }
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return { seq: expected, problem: `${sentence(err.message)}.` };
  }
  return null;
}

/** Why the first pending event the service did not write is refused, if there is one. */
async function firstForgedPending(repos: Repos, batch: number): Promise<string | null> {
  let pending: UnsequencedAuditEvent[];
  try {
    pending = await repos.audit.unsequenced(batch);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return `${sentence(err.message)}; it will not be sequenced.`;
  }
  for (const row of pending) {
    if (repos.audit.writtenByService(row, row.event) === null) {
      return `The pending event row ${String(row.id)} (${row.event.action}) carries no valid seal: it was written into the database directly, not by Strongroom, and will not be sequenced.`;
    }
  }
  return null;
}


/** One entry per distinct note, at the size it is signed for (or filed under, if it does not open: verifyLog then says so). */
function forLog(checkpoints: SourcedCheckpoint[], verifierKey: string): LogCheckpoint[] {
  const bySize = new Map<string, LogCheckpoint>();
  for (const c of checkpoints) {
    if (bySize.has(c.note)) continue;
    let treeSize = c.claimedSize;
    try {
      treeSize = openCheckpoint(c.note, verifierKey).treeSize;
    } catch {
      // Reported by the history check, which names the source.
    }
    if (treeSize !== undefined) bySize.set(c.note, { treeSize, note: c.note });
  }
  return [...bySize.values()];
}


export function subtreesOf(repos: Repos): SubtreeHashes {
  return {
    hash: async (level, index) => {
      const hash = await repos.audit.node(level, index);
      // Missing or malformed is what tampering leaves behind, not an outage: the checks say so.
      if (!hash || hash.length !== HASH_SIZE) throw new IntegrityError(`audit tree node ${level}/${index} is ${hash ? 'malformed' : 'missing'}`);
      return hash;
    },
  };
}

/** Verification asks for the same left-edge nodes once per checkpoint; fetch each once. */
export function memoised(store: SubtreeHashes): SubtreeHashes {
  const seen = new Map<string, Promise<Buffer>>();
  return {
    hash: (level, index) => {
      const key = `${level}/${index}`;
      let hash = seen.get(key);
      if (!hash) {
        hash = Promise.resolve(store.hash(level, index));
        seen.set(key, hash);
      }
      return hash;
    },
  };
}
