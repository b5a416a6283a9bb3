// What the audit log gives each record as the facts access is decided on: its own latest event's
// classification, raised to its parent's when a folder on its chain has moved since; its parent's service
// area and binding, or for a top-level folder what its creation recorded.
import { describe, expect, it } from 'vitest';
import type { CollectionFacts } from './access-facts-record.js';
import { documentClassifiedAs, unrecordedCollectionFacts, unrecordedDocumentFacts } from './access-facts-record.js';

const T0 = '2026-12-05T09:00:00.000Z';
const allow = (action: string, targetIds: Record<string, string>, time = T0) => ({ action, decision: 'allow' as const, targetIds, time });
const S = 'OFFICIAL-SENSITIVE';
const O = 'OFFICIAL';
const folder = (id: string, parentId: string | null, classification: string, more: Partial<CollectionFacts> = {}): CollectionFacts =>
  ({ id, organisationId: 'org', parentId, classification, deletedAt: null, serviceArea: 'hr', arrangementId: null, ...more });
const doc = (id: string, collectionId: string, classification: string) => ({ id, organisationId: 'org', collectionId, classification, status: 'available', serviceArea: 'hr', arrangementId: null });
const BY_HAND = 'its row was changed in the database directly, not by Strongroom.';

describe('the facts access is decided on, vouched for by the audit log', () => {
  it('the source sides of a copy and of a move elsewhere, refusals and events without a classification set nothing known', () => {
    expect(documentClassifiedAs(allow('document.copy', { documentId: 'd', copyDocumentId: 'd2', classification: O }))).toBeNull();
    expect(documentClassifiedAs(allow('document.move', { documentId: 'd', movedToDocumentId: 'd2', collectionId: 'x', classification: O }))).toBeNull();
    expect(documentClassifiedAs({ action: 'document.classify', decision: 'deny', targetIds: { documentId: 'd', classification: O } })).toBeNull();
    expect(documentClassifiedAs(allow('document.move', { documentId: 'd', collectionId: 'x' }))).toBeUndefined();
    expect(documentClassifiedAs(allow('document.download', { documentId: 'd', classification: O }))).toBeNull();
    expect(documentClassifiedAs(allow('document.copy', { documentId: 'd2', collectionId: 'x', classification: S }))).toBe(S);
  });

  it('a document lowered by a person stays lowered until a folder above it moves, and then takes its folder\'s', () => {
    const collections = [folder('top', null, S), folder('f', 'top', S)];
    const events = [
      allow('document.upload', { documentId: 'd', collectionId: 'f', classification: S }),
      allow('document.classify', { documentId: 'd', classification: O }),
    ];
    expect(unrecordedDocumentFacts([doc('d', 'f', O)], collections, events)).toBeNull();
    const moved = [...events, allow('collection.move', { collectionId: 'top', classification: S })];
    expect(unrecordedDocumentFacts([doc('d', 'f', S)], collections, moved)).toBeNull();
    expect(unrecordedDocumentFacts([doc('d', 'f', O)], collections, moved)).toBe(`Document d is classified OFFICIAL, but the audit log gives it OFFICIAL-SENSITIVE: ${BY_HAND}`);
    // A move of a folder that is not above it raises nothing of it; nor does one after its folder was binned.
    expect(unrecordedDocumentFacts([doc('d', 'f', O)], [...collections, folder('other', null, S)], [...events, allow('collection.move', { collectionId: 'other', classification: S })])).toBeNull();
    const binned = [folder('top', null, S), folder('f', 'top', S, { deletedAt: T0 })];
    expect(unrecordedDocumentFacts([doc('d', 'f', O)], binned, [...events, allow('collection.move', { collectionId: 'top', classification: S }, '2026-12-05T10:00:00.000Z')])).toBeNull();
    // Disposed documents are stubs: not judged.
    expect(unrecordedDocumentFacts([{ ...doc('d', 'f', O), status: 'disposed' }], collections, moved)).toBeNull();
  });

  it('a collection takes its own latest creation or move, raised to its parent\'s by a later move above it', () => {
    const events = [
      allow('collection.create', { collectionId: 'a', parentId: 'none', classification: S, serviceArea: 'hr' }),
      allow('collection.create', { collectionId: 'b', parentId: 'none', classification: O, serviceArea: 'hr' }),
      allow('collection.create', { collectionId: 'c', parentId: 'b', classification: O, serviceArea: 'hr' }),
      allow('collection.move', { collectionId: 'b', parentId: 'a', classification: S }),
    ];
    const rows = (c: string) => [folder('a', null, S), folder('b', 'a', S), folder('c', 'b', c)];
    expect(unrecordedCollectionFacts(rows(S), events)).toBeNull();
    expect(unrecordedCollectionFacts(rows(O), events)).toBe(`Collection c is classified OFFICIAL, but the audit log gives it OFFICIAL-SENSITIVE: ${BY_HAND}`);
    // An event that does not say leaves the row unjudged, but never a value Strongroom does not have.
    const legacy = [allow('collection.create', { collectionId: 'x', parentId: 'none' })];
    expect(unrecordedCollectionFacts([folder('x', null, O, { serviceArea: 'payroll' })], legacy)).toBeNull();
    expect(unrecordedCollectionFacts([folder('x', null, 'SECRET')], legacy)).toBe(`Collection x is classified "SECRET", which is no classification Strongroom has: ${BY_HAND}`);
  });

  it('below the top level, the service area and binding are the parent\'s; at the top, the creation\'s', () => {
    const events = [
      allow('collection.create', { collectionId: 'w', parentId: 'none', classification: O, serviceArea: 'hr', arrangementId: 'arr' }),
      allow('collection.create', { collectionId: 'in', parentId: 'w', classification: O, serviceArea: 'hr', arrangementId: 'arr' }),
      allow('collection.create', { collectionId: 'own', parentId: 'none', classification: O, serviceArea: 'hr' }),
    ];
    const rows = [folder('w', null, O, { arrangementId: 'arr' }), folder('in', 'w', O, { arrangementId: 'arr' }), folder('own', null, O)];
    expect(unrecordedCollectionFacts(rows, events)).toBeNull();
    expect(unrecordedCollectionFacts([...rows.slice(0, 2), folder('own', null, O, { arrangementId: 'arr' })], events))
      .toBe(`Collection own is bound to arrangement arr, but the audit log gives it no arrangement: ${BY_HAND}`);
    expect(unrecordedCollectionFacts([...rows.slice(0, 2), folder('own', null, O, { serviceArea: 'payroll' })], events))
      .toBe(`Collection own is in service area payroll, but the audit log created it in hr: ${BY_HAND}`);
    expect(unrecordedCollectionFacts([rows[0]!, folder('in', 'w', O), rows[2]!], events))
      .toBe(`Collection in is bound to no arrangement, but its parent collection w to arrangement arr: ${BY_HAND}`);
    // The workspace root moved under a folder and back: no longer a workspace. A sub-collection lifted to the top: none either.
    const movedOut = [...events, allow('collection.move', { collectionId: 'w', parentId: 'own', classification: O }), allow('collection.move', { collectionId: 'w', classification: O }),
      allow('collection.move', { collectionId: 'in', classification: O })];
    expect(unrecordedCollectionFacts([folder('w', null, O), folder('in', null, O), rows[2]!], movedOut)).toBeNull();
    expect(unrecordedCollectionFacts([folder('w', null, O, { arrangementId: 'arr' }), folder('in', null, O), rows[2]!], movedOut))
      .toBe(`Collection w is bound to arrangement arr, but the audit log gives it no arrangement: ${BY_HAND}`);
    const documents = [{ ...doc('d', 'in', O), serviceArea: 'payroll', arrangementId: 'arr' }];
    expect(unrecordedDocumentFacts(documents, rows, [])).toBe(`Document d is in service area payroll, but its collection in is in hr: ${BY_HAND}`);
  });

  it('a record is in its parent\'s organisation, in the bin or not; a folder at the top in the one its creation made it in', () => {
    const events = [
      { ...allow('collection.create', { collectionId: 'top', parentId: 'none', classification: O, serviceArea: 'hr' }), targetOrganisationId: 'org' },
      { ...allow('collection.create', { collectionId: 'f', parentId: 'top', classification: O, serviceArea: 'hr' }), targetOrganisationId: 'org' },
    ];
    const rows = [folder('top', null, O), folder('f', 'top', O)];
    expect(unrecordedCollectionFacts(rows, events)).toBeNull();
    expect(unrecordedCollectionFacts([rows[0]!, folder('f', 'top', O, { organisationId: 'other', deletedAt: T0 })], events))
      .toBe(`Collection f is in organisation other, but its parent collection top is in org: ${BY_HAND}`);
    const elsewhere = (c: CollectionFacts) => ({ ...c, organisationId: 'other' });
    expect(unrecordedCollectionFacts(rows.map(elsewhere), events)).toBe(`Collection top is in organisation other, but the audit log created it in org: ${BY_HAND}`);
    expect(unrecordedDocumentFacts([{ ...doc('d', 'f', O), organisationId: 'other' }], [rows[0]!, folder('f', 'top', O, { deletedAt: T0 })], []))
      .toBe(`Document d is in organisation other, but its collection f is in org: ${BY_HAND}`);
  });

  it('a chain that loops (rows written by hand) ends the walk', () => {
    const collections = [folder('p', 'q', O), folder('q', 'p', O)];
    expect(unrecordedDocumentFacts([doc('d', 'p', O)], collections, [allow('document.upload', { documentId: 'd', collectionId: 'p', classification: O })])).toBeNull();
  });
});
