// Whole-log verification for `strongroom audit verify`: streams every event in seq order,
// rebuilds the Merkle tree with a compact range (O(log n) memory, however long the log) and
// checks it against every signed checkpoint. On failure it names the earliest sequence
// number that may be bad, so an investigation knows where to start.

import { DomainError, invalid } from '../errors.js';
import { canonicalEventBytes, type AuditEvent } from './event.js';
import { CompactRange, leafHash } from './merkle.js';
import { assertVerifierKey, openCheckpoint } from './signed-note.js';

export interface LogCheckpoint {
  treeSize: number;
  /** The signed note as stored. */
  note: string;
}

export type LogCheck =
  | {
      ok: true;
      treeSize: number;
      /** How many checkpoints were verified. */
      checkpoints: number;
      /** Events after the newest checkpoint: present and well formed, but not yet signed for. */
      unsignedEvents: number;
    }
  | { ok: false; firstBadSeq: number; problem: string };

export interface VerifyLogOptions {
  /** The log's origin; by default the first checkpoint's origin, which all others must share. */
  origin?: string;
}

/**
 * Verifies the log. `events` must be ordered by seq; `storedLeafHash`, when given, is the leaf
 * hash the database kept for a seq, compared with the recomputed one to pin down an altered
 * event more exactly than a checkpoint interval can.
 */
export async function verifyLog(
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>,
  checkpoints: readonly LogCheckpoint[],
  verifierKey: string,
  storedLeafHash?: (seq: number) => Promise<Buffer | undefined>,
  options: VerifyLogOptions = {},
): Promise<LogCheck> {
  assertVerifierKey(verifierKey);
  for (const c of checkpoints) {
    if (!Number.isSafeInteger(c.treeSize) || c.treeSize < 0) throw invalid(`Checkpoint tree size ${String(c.treeSize)} is not a size.`);
  }
  const pending = [...checkpoints].sort((a, b) => a.treeSize - b.treeSize);
  let nextCheckpoint = 0;
  let origin = options.origin;
  let verifiedCheckpoints = 0;
  const tree = new CompactRange();
  // The first seq not yet vouched for by a matching checkpoint.
  let intervalStart = 0;
  // The first seq whose stored leaf hash disagreed, kept until its interval's checkpoint tells
  // us whether the event or the stored hash was changed.
  let storedMismatch: { seq: number; missing: boolean } | undefined;

  const fail = (firstBadSeq: number, problem: string): LogCheck => ({ ok: false, firstBadSeq, problem });

  const openOne = (c: LogCheckpoint): string | { rootHash: Buffer } => {
    let cp;
    try {
      cp = openCheckpoint(c.note, verifierKey);
    } catch (err) {
      if (err instanceof DomainError) return `the checkpoint for size ${c.treeSize} does not verify: ${err.message}`;
      throw err;
    }
    if (cp.treeSize !== c.treeSize) return `the checkpoint stored for size ${c.treeSize} is signed for size ${cp.treeSize}`;
    origin ??= cp.origin;
    if (cp.origin !== origin) return `the checkpoint for size ${c.treeSize} is for log "${cp.origin}", not "${origin}"`;
    return cp;
  };

  /** Checks every checkpoint for the tree as it now stands; returns a failure or undefined. */
  const checkpointsAt = (size: number): LogCheck | undefined => {
    const roots: Buffer[] = [];
    while (nextCheckpoint < pending.length && pending[nextCheckpoint]!.treeSize === size) {
      const opened = openOne(pending[nextCheckpoint]!);
      nextCheckpoint += 1;
      if (typeof opened === 'string') return fail(intervalStart, `${capitalise(opened)}; events from seq ${intervalStart} cannot be vouched for.`);
      roots.push(opened.rootHash);
    }
    if (roots.length === 0) return undefined;
    if (roots.some((r) => !r.equals(roots[0]!))) {
      // Only the key holder can do this: it signed two histories.
      return fail(intervalStart, `Validly signed checkpoints give different roots for size ${size}: the log's key signed a forked history; events from seq ${intervalStart} cannot be vouched for.`);
    }
    if (!tree.root().equals(roots[0]!)) {
      if (storedMismatch) {
        return fail(storedMismatch.seq, `Event ${storedMismatch.seq} ${describeMismatch(storedMismatch.missing)}, and the events up to seq ${size - 1} no longer match the signed checkpoint for size ${size}: the event was altered.`);
      }
      return fail(intervalStart, `The events from seq ${intervalStart} to ${size - 1} do not match the signed checkpoint for size ${size}: at least one was altered, inserted or removed; seq ${intervalStart} is the earliest that may be bad.`);
    }
    if (storedMismatch) {
      return fail(storedMismatch.seq, `Event ${storedMismatch.seq} ${describeMismatch(storedMismatch.missing)}, but the events match the signed checkpoint for size ${size}: the stored leaf hash, not the event, was changed.`);
    }
    verifiedCheckpoints += roots.length;
    intervalStart = size;
    return undefined;
  };

  let result = checkpointsAt(0);
  if (result) return result;

  let expected = 0;
  for await (const event of events) {
    const seq = (event as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      return fail(expected, `${expected === 0 ? 'The first event' : `The event after seq ${expected - 1}`} has no valid seq.`);
    }
    if (seq < expected) return fail(seq, `Seq ${seq} appears again (or out of order) after seq ${expected - 1}.`);
    if (seq > expected) {
      const missing = seq - 1 === expected ? `Seq ${expected} is missing` : `Seqs ${expected} to ${seq - 1} are missing`;
      return fail(expected, `${missing}: the next event present is seq ${seq}.`);
    }
    let leaf: Buffer;
    try {
      leaf = leafHash(canonicalEventBytes(event));
    } catch (err) {
      if (err instanceof DomainError) return fail(seq, `Event ${seq} is malformed: ${err.message}`);
      throw err;
    }
    if (storedLeafHash && !storedMismatch) {
      const stored = await storedLeafHash(seq);
      if (!stored || !leaf.equals(stored)) storedMismatch = { seq, missing: !stored };
    }
    tree.append(leaf);
    expected += 1;
    result = checkpointsAt(expected);
    if (result) return result;
  }

  // Checkpoints beyond the end: a signed size the log no longer reaches means it lost events.
  if (nextCheckpoint < pending.length) {
    for (const c of pending.slice(nextCheckpoint)) {
      const opened = openOne(c);
      if (typeof opened === 'string') return fail(intervalStart, `${capitalise(opened)}; events from seq ${intervalStart} cannot be vouched for.`);
    }
    const newest = pending[pending.length - 1]!.treeSize;
    return fail(expected, `The log ends after seq ${expected - 1}, but a checkpoint is signed for ${newest} events: seq ${expected} onwards is missing (truncated or rolled back).`);
  }

  if (storedMismatch) {
    return fail(storedMismatch.seq, `Event ${storedMismatch.seq} ${describeMismatch(storedMismatch.missing)}; no checkpoint covers it yet, so either may have been changed.`);
  }

  return { ok: true, treeSize: expected, checkpoints: verifiedCheckpoints, unsignedEvents: expected - intervalStart };
}

function describeMismatch(missing: boolean): string {
  return missing ? 'has no stored leaf hash' : 'does not match its stored leaf hash';
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
