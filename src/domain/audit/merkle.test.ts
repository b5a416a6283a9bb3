// Merkle hashing against the RFC 6962 / transparency-dev published vectors, plus property tests
// that every generated proof verifies and every corrupted one does not.

import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CompactRange,
  EMPTY_ROOT,
  MemorySubtreeHashes,
  consistencyProof,
  consistencyProofNodes,
  frontierNodes,
  inclusionProof,
  inclusionProofNodes,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  rootOfFrontier,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  type SubtreeHashes,
} from './merkle.js';

const h = (hex: string) => Buffer.from(hex, 'hex');

// transparency-dev/merkle proof/verify_test.go (from certificate-transparency's RFC 6962 tests).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(h);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(h);
// Leaf numbers in the Go vectors are 1-based.
const INCLUSION_VECTORS = [
  { leaf: 1, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { leaf: 6, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { leaf: 2, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { leaf: 1, size: 1, proof: [] },
];
const CONSISTENCY_VECTORS = [
  { size1: 1, size2: 1, proof: [] },
  { size1: 1, size2: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { size1: 6, size2: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { size1: 6, size2: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const SOME_HASH = h('abacaba000000000000000000000000000000000000000000060061e00123456');

const LEAF_HASHES = LEAVES.map(leafHash);
const hex = (bufs: Buffer[]) => bufs.map((b) => b.toString('hex'));
const flipBit = (b: Buffer, bit = 3): Buffer => {
  const c = Buffer.from(b);
  c[0]! ^= 1 << bit;
  return c;
};

/** Leaf hashes that are all different, so a proof for one position cannot pass for another. */
const distinctLeaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));

describe('RFC 6962 test vectors', () => {
  it('hashes the empty tree as SHA-256 of nothing', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(rootFromLeafHashes([])).toEqual(EMPTY_ROOT);
    expect(new CompactRange().root()).toEqual(EMPTY_ROOT);
  });

  it('separates leaves from nodes with the 0x00 / 0x01 prefix', () => {
    expect(leafHash(Buffer.alloc(0))).toEqual(createHash('sha256').update(Buffer.from([0])).digest());
    const [a, b] = [LEAF_HASHES[0]!, LEAF_HASHES[1]!];
    expect(nodeHash(a, b)).toEqual(createHash('sha256').update(Buffer.from([1])).update(a).update(b).digest());
    expect(nodeHash(a, b)).not.toEqual(leafHash(Buffer.concat([a, b])));
  });

  it.each(ROOTS.map((root, i) => [i + 1, root] as const))('gives the published root for %i leaves, by every route', async (size, root) => {
    const leaves = LEAF_HASHES.slice(0, size);
    expect(rootFromLeafHashes(leaves).toString('hex')).toBe(root.toString('hex'));
    const range = new CompactRange();
    for (const l of leaves) range.append(l);
    expect(range.root()).toEqual(root);
    const store = new MemorySubtreeHashes(leaves);
    expect(store.root()).toEqual(root);
    expect(await treeRoot(size, store)).toEqual(root);
  });

  it.each(INCLUSION_VECTORS)('generates and verifies the published inclusion proof for leaf $leaf of $size', async ({ leaf, size, proof }) => {
    const store = new MemorySubtreeHashes(LEAF_HASHES.slice(0, size));
    const generated = await inclusionProof(leaf - 1, size, store);
    expect(hex(generated)).toEqual(proof);
    const root = ROOTS[size - 1]!;
    expect(verifyInclusion(LEAF_HASHES[leaf - 1]!, leaf - 1, size, proof.map(h), root)).toBe(true);
  });

  it.each(INCLUSION_VECTORS.filter((v) => v.proof.length > 0))(
    'rejects every corruption Go tries on the proof for leaf $leaf of $size',
    ({ leaf, size, proof: proofHex }) => {
      const proof = proofHex.map(h);
      const root = ROOTS[size - 1]!;
      const lh = LEAF_HASHES[leaf - 1]!;
      const i = leaf - 1;
      const probes: Array<[string, Buffer, number, number, Buffer[], Buffer]> = [
        ['index - 1', lh, i - 1, size, proof, root],
        ['index + 1', lh, i + 1, size, proof, root],
        ['index ^ 2', lh, i ^ 2, size, proof, root],
        ['size * 2', lh, i, size * 2, proof, root],
        ['size / 2', lh, i, Math.floor(size / 2), proof, root],
        ['wrong leaf', leafHash(Buffer.from('WrongLeaf')), i, size, proof, root],
        ['empty root', lh, i, size, proof, EMPTY_ROOT],
        ['random root', lh, i, size, proof, SOME_HASH],
        ['trailing root', lh, i, size, [...proof, root], root],
        ['preceding root', lh, i, size, [root, ...proof], root],
        ['removed component', lh, i, size, proof.slice(0, -1), root],
        ['inserted component', lh, i, size, [proof[0]!, SOME_HASH, ...proof.slice(1)], root],
        ...proof.map((_, k): [string, Buffer, number, number, Buffer[], Buffer] => [
          `proof[${k}] bit flipped`, lh, i, size, proof.map((p, j) => (j === k ? flipBit(p) : p)), root,
        ]),
      ];
      const accepted = probes.filter(([, l, idx, sz, p, r]) => verifyInclusion(l, idx, sz, p, r)).map(([d]) => d);
      expect(accepted).toEqual([]);
    },
  );

  it('rejects malformed inclusion inputs instead of throwing', () => {
    expect(verifyInclusion(LEAF_HASHES[0]!, 0, 0, [], EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(LEAF_HASHES[0]!, 1, 1, [], LEAF_HASHES[0]!)).toBe(false);
    expect(verifyInclusion(LEAF_HASHES[0]!, 0, 1, [], LEAF_HASHES[0]!)).toBe(true);
    expect(verifyInclusion(Buffer.alloc(0), 0, 1, [], LEAF_HASHES[0]!)).toBe(false);
    expect(verifyInclusion(LEAF_HASHES[0]!, 0, 2, [Buffer.alloc(31)], ROOTS[1]!)).toBe(false);
    expect(verifyInclusion(LEAF_HASHES[0]!, -1, 2, [LEAF_HASHES[1]!], ROOTS[1]!)).toBe(false);
    expect(verifyInclusion(LEAF_HASHES[0]!, 0.5, 2, [LEAF_HASHES[1]!], ROOTS[1]!)).toBe(false);
  });

  it.each(CONSISTENCY_VECTORS)('generates and verifies the published consistency proof $size1 → $size2', async ({ size1, size2, proof }) => {
    const store = new MemorySubtreeHashes(LEAF_HASHES.slice(0, size2));
    expect(hex(await consistencyProof(size1, size2, store))).toEqual(proof);
    expect(verifyConsistency(size1, size2, ROOTS[size1 - 1]!, ROOTS[size2 - 1]!, proof.map(h))).toBe(true);
  });

  it.each(CONSISTENCY_VECTORS.filter((v) => v.proof.length > 0))(
    'rejects every corruption Go tries on the consistency proof $size1 → $size2',
    ({ size1, size2, proof: proofHex }) => {
      const proof = proofHex.map(h);
      const r1 = ROOTS[size1 - 1]!;
      const r2 = ROOTS[size2 - 1]!;
      const probes: Array<[string, number, number, Buffer, Buffer, Buffer[]]> = [
        ['size1 - 1', size1 - 1, size2, r1, r2, proof],
        ['size1 + 1', size1 + 1, size2, r1, r2, proof],
        ['size1 ^ 2', size1 ^ 2, size2, r1, r2, proof],
        ['size2 * 2', size1, size2 * 2, r1, r2, proof],
        ['size2 / 2', size1, Math.floor(size2 / 2), r1, r2, proof],
        ['wrong root1', size1, size2, SOME_HASH, r2, proof],
        ['wrong root2', size1, size2, r1, SOME_HASH, proof],
        ['swapped roots', size1, size2, r2, r1, proof],
        ['empty proof', size1, size2, r1, r2, []],
        ['trailing root1', size1, size2, r1, r2, [...proof, r1]],
        ['trailing root2', size1, size2, r1, r2, [...proof, r2]],
        ['preceding root1', size1, size2, r1, r2, [r1, ...proof]],
        ['preceding root2', size1, size2, r1, r2, [r2, ...proof]],
        ['preceding proof[0]', size1, size2, r1, r2, [proof[0]!, ...proof]],
        ['truncated proof', size1, size2, r1, r2, proof.slice(0, -1)],
        ...proof.map((_, k): [string, number, number, Buffer, Buffer, Buffer[]] => [
          `proof[${k}] bit flipped`, size1, size2, r1, r2, proof.map((p, j) => (j === k ? flipBit(p, 4) : p)),
        ]),
      ];
      const accepted = probes.filter(([, s1, s2, a, b, p]) => verifyConsistency(s1, s2, a, b, p)).map(([d]) => d);
      expect(accepted).toEqual([]);
    },
  );

  it('handles the trivial consistency cases strictly', () => {
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(true);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, ROOTS[4]!, [])).toBe(true);
    expect(verifyConsistency(0, 5, SOME_HASH, ROOTS[4]!, [])).toBe(false); // a size-0 tree has one root
    expect(verifyConsistency(0, 5, EMPTY_ROOT, ROOTS[4]!, [EMPTY_ROOT])).toBe(false);
    expect(verifyConsistency(3, 3, ROOTS[2]!, ROOTS[2]!, [])).toBe(true);
    expect(verifyConsistency(3, 3, ROOTS[2]!, ROOTS[3]!, [])).toBe(false);
    expect(verifyConsistency(3, 3, ROOTS[2]!, ROOTS[2]!, [EMPTY_ROOT])).toBe(false);
    expect(verifyConsistency(4, 3, ROOTS[3]!, ROOTS[2]!, [])).toBe(false); // time travel
  });
});

describe('generated proofs (property tests)', () => {
  const sizeAndIndex = fc.integer({ min: 1, max: 300 }).chain((size) => fc.tuple(fc.constant(size), fc.nat({ max: size - 1 })));

  it('every inclusion proof verifies, and any corruption fails', async () => {
    await fc.assert(
      fc.asyncProperty(sizeAndIndex, fc.nat(), fc.nat({ max: 31 }), async ([size, index], pick, byte) => {
        const leaves = distinctLeaves(size);
        const store = new MemorySubtreeHashes(leaves);
        const root = rootFromLeafHashes(leaves);
        const proof = await inclusionProof(index, size, store);
        expect(proof.length).toBe(inclusionProofNodes(index, size).length);
        expect(verifyInclusion(leaves[index]!, index, size, proof, root)).toBe(true);

        if (proof.length > 0) {
          const k = pick % proof.length;
          const bad = proof.map((p, j) => (j === k ? Buffer.from(p) : p));
          bad[k]![byte]! ^= 0x01;
          expect(verifyInclusion(leaves[index]!, index, size, bad, root)).toBe(false);
          expect(verifyInclusion(leaves[index]!, index, size, proof.slice(1), root)).toBe(false);
        }
        expect(verifyInclusion(leaves[index]!, index, size, [...proof, root], root)).toBe(false);
        const other = (index + 1 + (pick % Math.max(1, size - 1))) % size;
        if (other !== index) expect(verifyInclusion(leaves[index]!, other, size, proof, root)).toBe(false);
        if (other !== index) expect(verifyInclusion(leaves[other]!, index, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaves[index]!, index, size * 2, proof, root)).toBe(false);
        if (index < Math.floor(size / 2)) expect(verifyInclusion(leaves[index]!, index, Math.floor(size / 2), proof, root)).toBe(false);
        const flippedRoot = Buffer.from(root);
        flippedRoot[byte]! ^= 0x80;
        expect(verifyInclusion(leaves[index]!, index, size, proof, flippedRoot)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies, and any corruption fails', async () => {
    const sizes = fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));
    await fc.assert(
      fc.asyncProperty(sizes, fc.nat(), fc.nat({ max: 31 }), async ([m, n], pick, byte) => {
        const leaves = distinctLeaves(n);
        const store = new MemorySubtreeHashes(leaves);
        const oldRoot = rootFromLeafHashes(leaves.slice(0, m));
        const newRoot = rootFromLeafHashes(leaves);
        const proof = await consistencyProof(m, n, store);
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
        if (m === n) {
          expect(proof).toEqual([]);
          return;
        }
        const k = pick % proof.length;
        const bad = proof.map((p, j) => (j === k ? Buffer.from(p) : p));
        bad[k]![byte]! ^= 0x01;
        expect(verifyConsistency(m, n, oldRoot, newRoot, bad)).toBe(false);
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof.slice(0, -1))).toBe(false);
        expect(verifyConsistency(m, n, oldRoot, newRoot, [...proof, newRoot])).toBe(false);
        expect(verifyConsistency(m, n, newRoot, oldRoot, proof)).toBe(false);
        // A different old tree (one leaf rewritten) must not be provably a prefix.
        const rewritten = leaves.slice(0, m);
        rewritten[pick % m] = leafHash(Buffer.from('rewritten'));
        expect(verifyConsistency(m, n, rootFromLeafHashes(rewritten), newRoot, proof)).toBe(false);
        if (m > 1) expect(verifyConsistency(m - 1, n, oldRoot, newRoot, proof)).toBe(false);
        if (m + 1 < n) expect(verifyConsistency(m + 1, n, oldRoot, newRoot, proof)).toBe(false);
        expect(verifyConsistency(m, n * 2, oldRoot, newRoot, proof)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('CompactRange', () => {
  it('matches rootFromLeafHashes and the stored subtrees for every size 0..300', async () => {
    const leaves = distinctLeaves(300);
    const store = new MemorySubtreeHashes(leaves);
    const range = new CompactRange();
    expect(range.root()).toEqual(rootFromLeafHashes([]));
    for (let n = 1; n <= 300; n++) {
      const added = range.append(leaves[n - 1]!);
      expect(range.size).toBe(n);
      expect(range.root().equals(rootFromLeafHashes(leaves.slice(0, n)))).toBe(true);
      expect(rootOfFrontier(range.frontier)).toEqual(range.root());
      // The nodes it hands back are exactly the perfect subtrees that just became complete.
      expect(added[0]).toEqual([0, n - 1, leaves[n - 1]]);
      for (const [level, index, hash] of added) expect(hash.equals(store.hash(level, index))).toBe(true);
      expect(added.length).toBe(1 + trailingOnes(n - 1));
      expect(added.length).toBeLessThanOrEqual(1 + Math.log2(n));
      // Re-loading from a store gives the same frontier, so a restarted writer carries on correctly.
      const loaded = await CompactRange.load(n, new MemorySubtreeHashes(leaves.slice(0, n)));
      expect(loaded.frontier).toEqual(range.frontier);
    }
  });

  it('refuses a frontier of the wrong length or hash size', () => {
    expect(() => new CompactRange(3, [LEAF_HASHES[0]!])).toThrow(RangeError);
    expect(() => new CompactRange(1, [Buffer.alloc(31)])).toThrow(TypeError);
    expect(() => new CompactRange().append(Buffer.alloc(33))).toThrow(TypeError);
  });

  it('is not changed by mutating what it returned', () => {
    const range = new CompactRange();
    range.append(LEAF_HASHES[0]!);
    const before = range.root();
    range.frontier[0]!.fill(0);
    expect(range.root()).toEqual(before);
  });
});

function trailingOnes(n: number): number {
  let count = 0;
  for (let x = n; x % 2 === 1; x = (x - 1) / 2) count++;
  return count;
}

describe('proofs from a node store', () => {
  /**
   * A virtual tree in which every leaf is the same, so any perfect subtree's hash depends only on
   * its level: lets us test sizes far beyond 2^32 without building them.
   */
  class UniformTree implements SubtreeHashes {
    readonly byLevel: Buffer[] = [leafHash(Buffer.from('same'))];
    lookups = 0;
    hash(level: number): Buffer {
      this.lookups++;
      while (this.byLevel.length <= level) {
        const below = this.byLevel[this.byLevel.length - 1]!;
        this.byLevel.push(nodeHash(below, below));
      }
      return this.byLevel[level]!;
    }
  }

  it('needs O(log n) look-ups and copes with sizes beyond 32 bits', async () => {
    const size = 2 ** 45 + 12_345_679;
    const store = new UniformTree();
    const root = await treeRoot(size, store);
    for (const index of [0, 1, 2 ** 33 + 7, size - 2, size - 1]) {
      store.lookups = 0;
      const proof = await inclusionProof(index, size, store);
      expect(store.lookups).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)));
      expect(verifyInclusion(store.byLevel[0]!, index, size, proof, root)).toBe(true);
    }
    for (const old of [1, 2 ** 40, 2 ** 45 + 1, size - 1]) {
      store.lookups = 0;
      const proof = await consistencyProof(old, size, store);
      expect(store.lookups).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)));
      expect(verifyConsistency(old, size, await treeRoot(old, store), root, proof)).toBe(true);
      expect(verifyConsistency(old, size, await treeRoot(old - 1 || 2, store), root, proof)).toBe(false);
    }
  });

  it('exposes the node plans so a database can fetch a proof in one query', () => {
    expect(frontierNodes(0)).toEqual([]);
    expect(frontierNodes(13)).toEqual([[3, 0], [2, 2], [0, 12]]);
    // Leaf 2 of 5: sibling leaf 3, the pair (0,1), then the right-edge leaf 4.
    expect(inclusionProofNodes(2, 5)).toEqual([[[0, 3]], [[1, 0]], [[0, 4]]]);
    // 6 → 7: the old tree's right piece (4,5), leaf 6, then the first four leaves.
    expect(consistencyProofNodes(6, 7)).toEqual([[[1, 2]], [[0, 6]], [[2, 0]]]);
    expect(consistencyProofNodes(4, 8)).toEqual([[[2, 1]]]);
    expect(consistencyProofNodes(0, 8)).toEqual([]);
    expect(() => inclusionProofNodes(5, 5)).toThrow(RangeError);
    expect(() => consistencyProofNodes(6, 5)).toThrow(RangeError);
  });

  it('rejects a store that answers with something other than a hash', async () => {
    const broken: SubtreeHashes = { hash: () => Buffer.alloc(4) };
    await expect(inclusionProof(0, 4, broken)).rejects.toThrow(TypeError);
  });

  it('refuses to invent subtrees the memory store does not have', () => {
    const store = new MemorySubtreeHashes(LEAF_HASHES.slice(0, 5));
    expect(store.hash(2, 0)).toEqual(nodeHash(nodeHash(LEAF_HASHES[0]!, LEAF_HASHES[1]!), nodeHash(LEAF_HASHES[2]!, LEAF_HASHES[3]!)));
    expect(() => store.hash(1, 2)).toThrow(RangeError);
    expect(() => store.hash(3, 0)).toThrow(RangeError);
  });
});
