// RFC 6962 / RFC 9162 Merkle tree hashing for the audit log: leaf and node hashes, tree roots,
// inclusion and consistency proofs (generation and verification) and the compact range used to append.
//
// Trees are addressed by perfect subtrees: node (level, index) is the hash of the 2^level leaves
// starting at leaf index * 2^level. A store that keeps those nodes (at most log n new ones per
// append, see CompactRange) answers any proof or root with O(log n) look-ups; the non-perfect
// subtrees on the right edge of a tree are folded from perfect ones here, never stored, because
// they change with every append.
//
// Sizes and indices are plain numbers and must be safe integers; no bitwise operators are used,
// because JavaScript's are 32-bit and an audit log may outgrow that.

import { createHash } from 'node:crypto';

export const HASH_SIZE = 32;

/** A perfect subtree: the 2^level leaves starting at leaf index * 2^level. */
export type NodeId = readonly [level: number, index: number];

/** A node to persist after an append. */
export type StoredNode = [level: number, index: number, hash: Buffer];

/** Answers the hash of any perfect subtree of the tree in question (level 0 = leaf hashes). */
export interface SubtreeHashes {
  hash(level: number, index: number): Promise<Buffer> | Buffer;
}

/**
 * A proof (or root) before the hashes are fetched: each element is the list of perfect
 * subtrees, left to right, whose right fold gives that proof element. Exposed so a database
 * adapter can fetch every node of a proof in one query.
 */
export type ProofPlan = NodeId[][];

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({}) — the root of the empty tree is the hash of the empty string. */
export const EMPTY_ROOT: Buffer = sha256();

/** SHA-256(0x00 ‖ bytes): the domain-separation byte stops a leaf being passed off as a node. */
export function leafHash(bytes: Uint8Array): Buffer {
  return sha256(LEAF_PREFIX, bytes);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

function isHash(h: unknown): h is Buffer {
  return Buffer.isBuffer(h) && h.length === HASH_SIZE;
}

function assertHash(h: unknown, what: string): asserts h is Buffer {
  if (!isHash(h)) throw new TypeError(`${what} must be a ${HASH_SIZE}-byte Buffer`);
}

function assertSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/** The largest power of two strictly less than n (n >= 2): the split point k of RFC 9162 2.1.1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH over a list of leaf hashes, computed straight from the recursive definition in
 * RFC 9162 2.1.1. Deliberately independent of CompactRange so each can check the other.
 */
export function rootFromLeafHashes(hashes: readonly Buffer[]): Buffer {
  hashes.forEach((h, i) => assertHash(h, `leaf hash ${i}`));
  if (hashes.length === 0) return Buffer.from(EMPTY_ROOT);
  const mth = (start: number, n: number): Buffer => {
    if (n === 1) return hashes[start]!;
    const k = splitPoint(n);
    return nodeHash(mth(start, k), mth(start + k, n - k));
  };
  return mth(0, hashes.length);
}

/**
 * The perfect subtrees, largest first, that make up leaves [start, end). Only called for
 * subtrees of the RFC recursion, where start is a multiple of a power of two larger than the
 * range, so every piece is aligned.
 */
function rangeNodes(start: number, end: number): NodeId[] {
  const nodes: NodeId[] = [];
  let pos = start;
  let remaining = end - start;
  let size = 1;
  let level = 0;
  while (size * 2 <= remaining) {
    size *= 2;
    level += 1;
  }
  for (; remaining > 0; size /= 2, level -= 1) {
    if (size <= remaining) {
      nodes.push([level, pos / size]);
      pos += size;
      remaining -= size;
    }
  }
  return nodes;
}

/** The perfect subtrees on the right edge of a tree of `size` leaves, largest first. */
export function frontierNodes(size: number): NodeId[] {
  assertSize(size, 'tree size');
  return rangeNodes(0, size);
}

/** The nodes behind PATH(index, D[treeSize]) of RFC 9162 2.1.3.1, leaf end first. */
export function inclusionProofNodes(index: number, treeSize: number): ProofPlan {
  assertSize(index, 'leaf index');
  assertSize(treeSize, 'tree size');
  if (index >= treeSize) throw new RangeError(`leaf index ${index} is outside a tree of size ${treeSize}`);
  const plan: ProofPlan = [];
  let m = index;
  let start = 0;
  let n = treeSize;
  // Walk from the root down, collecting the sibling at each level; the proof lists them leaf first.
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      plan.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      plan.push(rangeNodes(start, start + k));
      m -= k;
      start += k;
      n -= k;
    }
  }
  return plan.reverse();
}

/** The nodes behind PROOF(oldSize, D[newSize]) of RFC 9162 2.1.4.1; empty when there is nothing to prove. */
export function consistencyProofNodes(oldSize: number, newSize: number): ProofPlan {
  assertSize(oldSize, 'old tree size');
  assertSize(newSize, 'new tree size');
  if (oldSize > newSize) throw new RangeError(`old size ${oldSize} is larger than new size ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const plan: ProofPlan = [];
  let m = oldSize;
  let start = 0;
  let n = newSize;
  let completeSubtree = true; // the "b" flag of SUBPROOF
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      plan.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      plan.push(rangeNodes(start, start + k));
      m -= k;
      start += k;
      n -= k;
      completeSubtree = false;
    }
  }
  // When the old tree is not a whole subtree of the new one, the verifier also needs its last piece.
  if (!completeSubtree) plan.push(rangeNodes(start, start + m));
  return plan.reverse();
}

function foldRight(hashes: readonly Buffer[]): Buffer {
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** Fetches every node of a plan (concurrently) and folds each element into one hash. */
export async function resolveProofPlan(plan: ProofPlan, store: SubtreeHashes): Promise<Buffer[]> {
  const fetched = await Promise.all(
    plan.map((group) =>
      Promise.all(
        group.map(async ([level, index]) => {
          const h = await store.hash(level, index);
          // A store returning the wrong thing must not yield a plausible-looking proof.
          assertHash(h, `subtree hash (${level}, ${index})`);
          return h;
        }),
      ),
    ),
  );
  return fetched.map(foldRight);
}

/** The inclusion proof for the leaf at `index` in the tree of `treeSize` leaves. */
export async function inclusionProof(index: number, treeSize: number, store: SubtreeHashes): Promise<Buffer[]> {
  return resolveProofPlan(inclusionProofNodes(index, treeSize), store);
}

/** The consistency proof from the tree of `oldSize` leaves to the tree of `newSize` leaves. */
export async function consistencyProof(oldSize: number, newSize: number, store: SubtreeHashes): Promise<Buffer[]> {
  return resolveProofPlan(consistencyProofNodes(oldSize, newSize), store);
}

/** The root of the tree of `size` leaves, from its frontier: at most log n look-ups. */
export async function treeRoot(size: number, store: SubtreeHashes): Promise<Buffer> {
  if (size === 0) return Buffer.from(EMPTY_ROOT);
  const [hashes] = await resolveProofPlan([frontierNodes(size)], store);
  return hashes!;
}

/**
 * RFC 9162 2.1.3.2. Returns false (never throws) for any malformed input, so a caller
 * holding untrusted data needs only one check.
 */
export function verifyInclusion(
  leaf: Buffer,
  index: number,
  treeSize: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false;
  let r = leaf;
  const walked = walkProof(index, treeSize - 1, proof, {
    left: (p) => { r = nodeHash(p, r); },
    right: (p) => { r = nodeHash(r, p); },
  });
  return walked && r.equals(root);
}

/**
 * RFC 9162 2.1.4.2, plus the trivial cases the algorithm leaves out: equal sizes need equal
 * roots and an empty proof; an old size of 0 needs the empty-tree root and an empty proof.
 * Returns false for any malformed input.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Buffer,
  newRoot: Buffer,
  proof: readonly Buffer[],
): boolean {
  if (!isHash(oldRoot) || !isHash(newRoot) || !proof.every(isHash)) return false;
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && oldRoot.equals(newRoot);
  // Stricter than some verifiers: the empty tree has exactly one root, so hold a size-0 checkpoint to it.
  if (oldSize === 0) return proof.length === 0 && oldRoot.equals(EMPTY_ROOT);
  if (proof.length === 0) return false;

  const path = [...proof];
  if (isPowerOfTwo(oldSize)) path.unshift(oldRoot);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  const walked = walkProof(fn, sn, path.slice(1), {
    left: (c) => { fr = nodeHash(c, fr); sr = nodeHash(c, sr); },
    right: (c) => { sr = nodeHash(sr, c); },
  });
  return walked && fr.equals(oldRoot) && sr.equals(newRoot);
}

/**
 * The walk up the tree both verifications share (RFC 9162 2.1.3.2 and 2.1.4.2, steps with `fn` and
 * `sn`): each proof hash is a sibling on the `left` or the `right` of the node reached so far. False
 * when the proof is longer or shorter than the path from `fn` to the root (`sn` must reach 0 with it).
 */
function walkProof(fn: number, sn: number, proof: readonly Buffer[], combine: { left(sibling: Buffer): void; right(sibling: Buffer): void }): boolean {
  for (const sibling of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      combine.left(sibling);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      combine.right(sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0;
}

function isPowerOfTwo(n: number): boolean {
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}

/** The root of a tree given its frontier (perfect right-edge subtree hashes, largest first). */
export function rootOfFrontier(frontier: readonly Buffer[]): Buffer {
  frontier.forEach((h, i) => assertHash(h, `frontier hash ${i}`));
  return frontier.length === 0 ? Buffer.from(EMPTY_ROOT) : foldRight(frontier);
}

function popCount(n: number): number {
  let count = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) count += x % 2;
  return count;
}

/**
 * The frontier of a growing tree: one hash per set bit of its size. Appending is O(log n)
 * and returns exactly the nodes that became complete, which is all a store ever needs to
 * keep to answer proofs later. Memory is O(log n), so it also serves the streaming verifier.
 */
export class CompactRange {
  #size: number;
  readonly #hashes: Buffer[];

  constructor(size = 0, frontier: readonly Buffer[] = []) {
    assertSize(size, 'tree size');
    if (frontier.length !== popCount(size)) {
      throw new RangeError(`a tree of size ${size} has ${popCount(size)} frontier hashes, got ${frontier.length}`);
    }
    frontier.forEach((h, i) => assertHash(h, `frontier hash ${i}`));
    this.#size = size;
    this.#hashes = frontier.map((h) => Buffer.from(h));
  }

  /** Loads the frontier of a stored tree (frontierNodes(size) look-ups). */
  static async load(size: number, store: SubtreeHashes): Promise<CompactRange> {
    const nodes = frontierNodes(size);
    const hashes = await resolveProofPlan(
      nodes.map((n) => [n]),
      store,
    );
    return new CompactRange(size, hashes);
  }

  get size(): number {
    return this.#size;
  }

  /** A copy of the frontier, largest subtree first. */
  get frontier(): Buffer[] {
    return this.#hashes.map((h) => Buffer.from(h));
  }

  /**
   * Adds one leaf. Returns the new nodes to store: the leaf itself at level 0, then every
   * parent it completes (one per trailing 1-bit of the old size).
   */
  append(leaf: Buffer): StoredNode[] {
    assertHash(leaf, 'leaf hash');
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('tree is full');
    let hash: Buffer = Buffer.from(leaf);
    let level = 0;
    let index = this.#size;
    const added: StoredNode[] = [[level, index, hash]];
    // An odd index means a complete left sibling is waiting on the frontier: merge upwards.
    while (index % 2 === 1) {
      hash = nodeHash(this.#hashes.pop()!, hash);
      level += 1;
      index = (index - 1) / 2;
      added.push([level, index, hash]);
    }
    this.#hashes.push(hash);
    this.#size += 1;
    return added;
  }

  root(): Buffer {
    return rootOfFrontier(this.#hashes);
  }
}

/**
 * Every perfect subtree hash of a list of leaves, held in memory: O(n) space, for the
 * offline verifier, bundle building from a small export and tests.
 */
export class MemorySubtreeHashes implements SubtreeHashes {
  readonly #levels: Buffer[][];

  constructor(leafHashes: readonly Buffer[]) {
    leafHashes.forEach((h, i) => assertHash(h, `leaf hash ${i}`));
    this.#levels = [leafHashes.map((h) => Buffer.from(h))];
    for (let below = this.#levels[0]!; below.length >= 2; ) {
      const level: Buffer[] = [];
      for (let i = 0; i + 1 < below.length; i += 2) level.push(nodeHash(below[i]!, below[i + 1]!));
      this.#levels.push(level);
      below = level;
    }
  }

  get size(): number {
    return this.#levels[0]!.length;
  }

  hash(level: number, index: number): Buffer {
    const h = this.#levels[level]?.[index];
    if (!h) throw new RangeError(`no complete subtree (${level}, ${index}) in a tree of ${this.size} leaves`);
    return h;
  }

  root(): Buffer {
    return rootOfFrontier(frontierNodes(this.size).map(([l, i]) => this.hash(l, i)));
  }
}
