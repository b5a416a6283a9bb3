// Which events place a record, and the latest one standing: the rules the disposal job and `audit verify` apply.
import { describe, expect, it } from 'vitest';
import { TOP_LEVEL, lastPlacements, unrecordedPlace, unrecordedPlacementRow } from './placement-record.js';

const allow = (action: string, targetIds: Record<string, string>) => ({ action, decision: 'allow' as const, targetIds });

describe('placement vouched for by the audit log', () => {
  it('the latest upload, copy or move names where a document is; the source sides of a copy or of a move elsewhere do not move it', () => {
    const last = lastPlacements([
      allow('document.upload', { documentId: 'd1', versionId: 'v1', collectionId: 'a' }),
      allow('document.move', { documentId: 'd1', collectionId: 'b' }),
      // A copy of d1 elsewhere, and d1 moved to another organisation (a copy there, d1 deleted here): d1 stays in b.
      allow('document.copy', { documentId: 'd1', versionId: 'v1', copyDocumentId: 'd2', copyOrganisationId: 'o2' }),
      allow('document.move', { documentId: 'd1', movedToDocumentId: 'd3', collectionId: 'x' }),
      allow('document.copy', { documentId: 'd3', versionId: 'v3', collectionId: 'x', copiedFromDocumentId: 'd1' }),
      // Refused moves place nothing.
      { action: 'document.move', decision: 'deny' as const, targetIds: { documentId: 'd1', collectionId: 'c' } },
    ]);
    expect([...last.documents]).toEqual([['d1', 'b'], ['d3', 'x']]);
  });

  it('an upload recorded before uploads named their collection says nothing, and neither does no event: the row stands', () => {
    const last = lastPlacements([allow('document.upload', { documentId: 'old', versionId: 'v' }), allow('collection.create', { collectionId: 'legacy' })]);
    expect(unrecordedPlacementRow({ documents: [{ id: 'old', collectionId: 'anywhere' }, { id: 'no-event', collectionId: 'a' }], collections: [{ id: 'legacy', parentId: 'p' }] }, [])).toBeNull();
    expect(last.documents.size + last.collections.size).toBe(0);
    // A legacy upload after which the document was moved is vouched for by the move.
    expect(unrecordedPlacementRow({ documents: [{ id: 'old', collectionId: 'a' }], collections: [] }, [
      allow('document.upload', { documentId: 'old', versionId: 'v' }), allow('document.move', { documentId: 'old', collectionId: 'b' }),
    ])).toBe('Document old is in collection a, but the audit log last placed it in collection b: its row was changed in the database directly, not by Strongroom.');
  });

  it('a collection is where its latest creation or move put it; a move without a parent is to the top level', () => {
    const events = [
      allow('collection.create', { collectionId: 'c', parentId: 'p' }),
      allow('collection.create', { collectionId: 'top', parentId: TOP_LEVEL }),
      allow('collection.move', { collectionId: 'c' }),
    ];
    expect(unrecordedPlacementRow({ documents: [], collections: [{ id: 'c', parentId: null }, { id: 'top', parentId: null }] }, events)).toBeNull();
    expect(unrecordedPlacementRow({ documents: [], collections: [{ id: 'c', parentId: 'p' }] }, events))
      .toBe('Collection c is under collection p, but the audit log last placed it at the top level: its row was changed in the database directly, not by Strongroom.');
  });

  it('for the disposal job, every collection up the chain, and a chain that stops short of the top', () => {
    const last = lastPlacements([
      allow('document.upload', { documentId: 'd', versionId: 'v', collectionId: 'c' }),
      allow('collection.create', { collectionId: 'c', parentId: 'held' }),
      allow('collection.create', { collectionId: 'held', parentId: TOP_LEVEL }),
    ]);
    const chain = [{ id: 'c', parentId: 'held' }, { id: 'held', parentId: null }];
    expect(unrecordedPlace('Document d', { documentId: 'd', collectionId: 'c', chain }, last)).toBeNull();
    expect(unrecordedPlace('Document d', { documentId: 'd', collectionId: 'c', chain: [{ id: 'c', parentId: 'other' }, { id: 'other', parentId: null }] }, last))
      .toBe('Collection c, above document d, is under collection other, but the audit log last placed it under collection held: its row was changed in the database directly, not by Strongroom.');
    expect(unrecordedPlace('Document d', { documentId: 'd', collectionId: 'c', chain: [{ id: 'c', parentId: 'held' }] }, last)).toContain('Collection c, above document d, is under collection held, which has no row');
  });
});
