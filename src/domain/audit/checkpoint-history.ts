// Whether a Merkle tree extends every signed checkpoint it is compared with: the signer's check
// before it signs (against what it signed before, kept outside the database) and part of
// `audit verify` (against every stored and offsite checkpoint). Pure: proofs come through the
// SubtreeHashes port and are verified here (RFC 9162 2.1.4.2), never trusted as given.

import { DomainError, IntegrityError } from '../errors.js';
import { EMPTY_ROOT, consistencyProof, verifyConsistency, type SubtreeHashes } from './merkle.js';
import { openCheckpoint } from './signed-note.js';

/** A signed checkpoint and where it was found, so a failure can name it. */
export interface SourcedCheckpoint {
  /** Said to a person: e.g. "offsite checkpoint 000000000120.note". */
  source: string;
  note: string;
  /** The size its location claims (an offsite file's name); must match the signed size. */
  claimedSize?: number;
}

/** The tree to check: its size and root, and the stored subtree hashes proofs are built from. */
export interface TreeUnderCheck {
  size: number;
  root: Buffer;
  hashes: SubtreeHashes;
}

export type HistoryCheck =
  | {
      ok: true;
      checkpoints: number;
      /** The largest size any of the checkpoints is signed for (0 for none): the tree's signed prefix. */
      signedSize: number;
      /** The root signed for signedSize (the empty tree's for none). */
      signedRoot: Buffer;
    }
  | {
      ok: false;
      /** The checkpoint that failed, as named in its SourcedCheckpoint. */
      source: string;
      /** The earliest leaf that may be bad: the largest checkpoint size that still checked out. */
      firstBadSeq: number;
      problem: string;
    };

/**
 * Checks every checkpoint's signature and origin, then that `tree` extends it (a consistency
 * proof from its size and root to the tree's, or an equal root at equal size). Reports the
 * unverifiable checkpoint first, otherwise the smallest one the tree does not extend.
 *
 * Only an IntegrityError from `hashes` (a node the store should hold is missing) counts as a
 * failed check; any other error (the database is unreachable) propagates, so an outage is never
 * mistaken for tampering.
 */
export async function checkTreeExtends(
  checkpoints: readonly SourcedCheckpoint[],
  tree: TreeUnderCheck,
  verifierKey: string,
  origin: string,
): Promise<HistoryCheck> {
  const opened: { source: string; treeSize: number; rootHash: Buffer }[] = [];
  for (const c of checkpoints) {
    let cp;
    try {
      cp = openCheckpoint(c.note, verifierKey, origin);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return { ok: false, source: c.source, firstBadSeq: 0, problem: `${capitalise(c.source)} does not verify with the log's key: ${err.message}` };
    }
    if (c.claimedSize !== undefined && c.claimedSize !== cp.treeSize) {
      return { ok: false, source: c.source, firstBadSeq: 0, problem: `${capitalise(c.source)} is signed for ${cp.treeSize} events, not the ${c.claimedSize} its name claims.` };
    }
    opened.push({ source: c.source, treeSize: cp.treeSize, rootHash: cp.rootHash });
  }
  opened.sort((a, b) => a.treeSize - b.treeSize);

  // Many sources hold the same checkpoint (database row, offsite file, the signer's own copy).
  const verdicts = new Map<string, boolean>();
  let lastGood = 0;
  let lastGoodRoot: Buffer = Buffer.from(EMPTY_ROOT);
  for (const c of opened) {
    if (c.treeSize > tree.size) {
      return {
        ok: false, source: c.source, firstBadSeq: tree.size,
        problem: `${capitalise(c.source)} is signed for ${c.treeSize} events, but the stored tree has only ${tree.size}: events from seq ${tree.size} were removed, or the database was restored from before it was signed.`,
      };
    }
    const key = `${c.treeSize}:${c.rootHash.toString('hex')}`;
    let extended = verdicts.get(key);
    if (extended === undefined) {
      extended = await extends_(c.treeSize, c.rootHash, tree);
      verdicts.set(key, extended);
    }
    if (!extended) {
      return {
        ok: false, source: c.source, firstBadSeq: lastGood,
        problem: `The stored tree of ${tree.size} events is not an extension of ${c.source}, signed for ${c.treeSize} events: the history it vouched for was rewritten; seq ${lastGood} is the earliest that may be bad.`,
      };
    }
    lastGood = c.treeSize;
    lastGoodRoot = c.rootHash;
  }
  return { ok: true, checkpoints: opened.length, signedSize: lastGood, signedRoot: lastGoodRoot };
}

async function extends_(oldSize: number, oldRoot: Buffer, tree: TreeUnderCheck): Promise<boolean> {
  let proof: Buffer[];
  try {
    proof = await consistencyProof(oldSize, tree.size, tree.hashes);
  } catch (err) {
    // A missing node is part of what was tampered with: no proof, so no extension.
    if (err instanceof IntegrityError) return false;
    throw err;
  }
  return verifyConsistency(oldSize, tree.size, oldRoot, tree.root, proof);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
