import { describe, expect, it } from 'vitest';
import { placeCollection, placeDocument, type Place } from './placement.js';

const internal: Place = { id: 'c-internal', organisationId: 'host', serviceArea: 'payroll', classification: 'OFFICIAL', arrangementId: null };
const sensitive: Place = { ...internal, id: 'c-sensitive', classification: 'OFFICIAL-SENSITIVE' };
const workspace: Place = { ...internal, id: 'c-workspace', arrangementId: 'arr-1' };

describe('placeDocument', () => {
  it('takes the arrangement binding, service area and organisation of the collection it goes into', () => {
    expect(placeDocument({ classification: 'OFFICIAL' }, workspace)).toEqual({
      organisationId: 'host', collectionId: 'c-workspace', serviceArea: 'payroll', classification: 'OFFICIAL', arrangementId: 'arr-1',
    });
    expect(placeDocument({ classification: 'OFFICIAL' }, internal).arrangementId).toBeNull();
  });

  it('raises the classification to the collection’s floor and never lowers it', () => {
    expect(placeDocument({ classification: 'OFFICIAL' }, sensitive).classification).toBe('OFFICIAL-SENSITIVE');
    expect(placeDocument({ classification: 'OFFICIAL-SENSITIVE' }, internal).classification).toBe('OFFICIAL-SENSITIVE');
  });
});

describe('placeCollection', () => {
  const sub = { organisationId: 'host', parentId: 'c-workspace', serviceArea: 'payroll', classification: 'OFFICIAL' as const, arrangementId: 'arr-1' };

  it('unbinds a workspace sub-collection moved under an internal folder', () => {
    expect(placeCollection(sub, internal)).toMatchObject({ parentId: 'c-internal', arrangementId: null });
  });

  it('binds a collection moved into a workspace to that arrangement', () => {
    expect(placeCollection({ ...sub, parentId: 'c-internal', arrangementId: null }, workspace).arrangementId).toBe('arr-1');
  });

  it('does not turn a sub-collection lifted to the top level into a workspace', () => {
    expect(placeCollection(sub, null)).toMatchObject({ parentId: null, arrangementId: null });
  });

  it('keeps a workspace root’s own binding while it stays at the top level', () => {
    expect(placeCollection({ ...sub, parentId: null }, null).arrangementId).toBe('arr-1');
  });

  it('raises the classification to the parent’s and never lowers it', () => {
    expect(placeCollection(sub, sensitive).classification).toBe('OFFICIAL-SENSITIVE');
    expect(placeCollection({ ...sub, classification: 'OFFICIAL-SENSITIVE' }, internal).classification).toBe('OFFICIAL-SENSITIVE');
  });
});
