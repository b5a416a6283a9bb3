import { describe, expect, it } from 'vitest';
import { lockApplies, lockConflicts, lockCovers, type LockOn, type Place } from './coverage.js';

// A file plan: root ⊃ a ⊃ b; document d1 in b, d2 in a; sibling collection s under root.
const root: Place = { documentId: null, collectionId: 'root', ancestors: [] };
const a: Place = { documentId: null, collectionId: 'a', ancestors: ['root'] };
const b: Place = { documentId: null, collectionId: 'b', ancestors: ['a', 'root'] };
const s: Place = { documentId: null, collectionId: 's', ancestors: ['root'] };
const d1: Place = { documentId: 'd1', collectionId: null, ancestors: ['b', 'a', 'root'] };
const d2: Place = { documentId: 'd2', collectionId: null, ancestors: ['a', 'root'] };
const lock = (place: Place, depth: '0' | 'infinity' = '0'): LockOn => ({ place, depth });

describe('lock coverage by ancestry', () => {
  it('covers a document by its own lock or an infinite lock above it, never a depth-0 one above it', () => {
    expect(lockCovers(lock(d1), { kind: 'content', place: d1 })).toBe(true);
    expect(lockCovers(lock(a, 'infinity'), { kind: 'content', place: d1 })).toBe(true);
    expect(lockCovers(lock(b, '0'), { kind: 'content', place: d1 })).toBe(false);
    expect(lockCovers(lock(s, 'infinity'), { kind: 'content', place: d1 })).toBe(false);
    expect(lockCovers(lock(d2), { kind: 'content', place: d1 })).toBe(false);
  });

  it('protects a collection’s membership with a lock of any depth on it, or an infinite one above', () => {
    expect(lockCovers(lock(b, '0'), { kind: 'members', place: b })).toBe(true);
    expect(lockCovers(lock(root, 'infinity'), { kind: 'members', place: b })).toBe(true);
    expect(lockCovers(lock(root, '0'), { kind: 'members', place: b })).toBe(false);
    expect(lockCovers(lock(d1), { kind: 'members', place: b })).toBe(false);
  });

  it('protects a whole subtree from locks on anything inside it, and from locks above', () => {
    expect(lockCovers(lock(d1), { kind: 'subtree', place: a })).toBe(true);
    expect(lockCovers(lock(b, '0'), { kind: 'subtree', place: a })).toBe(true);
    expect(lockCovers(lock(root, 'infinity'), { kind: 'subtree', place: a })).toBe(true);
    expect(lockCovers(lock(s, 'infinity'), { kind: 'subtree', place: a })).toBe(false);
    expect(lockCovers(lock(root, '0'), { kind: 'subtree', place: a })).toBe(false);
  });

  it('never confuses a document with a collection of the same id', () => {
    const docNamedLikeCollection: Place = { documentId: 'b', collectionId: null, ancestors: ['a', 'root'] };
    expect(lockCovers(lock(docNamedLikeCollection), { kind: 'members', place: b })).toBe(false);
    expect(lockApplies(lock(b, 'infinity'), docNamedLikeCollection)).toBe(false);
  });

  it('finds conflicts for new locks by the same rules', () => {
    expect(lockConflicts(lock(d1), lock(a, 'infinity'))).toBe(true);
    expect(lockConflicts(lock(d1), lock(b, '0'))).toBe(false);
    expect(lockConflicts(lock(a, 'infinity'), lock(d1))).toBe(true);
    expect(lockConflicts(lock(s, 'infinity'), lock(d1))).toBe(false);
  });
});
