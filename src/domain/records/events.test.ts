import { describe, expect, it } from 'vitest';
import { eventDateFor, eventInForce, type RetentionEvent } from './events.js';

const event = (over: Partial<RetentionEvent>): RetentionEvent => ({
  id: over.id ?? 'e', organisationId: 'o', kind: 'employment_end', date: '2026-01-01', documentId: null, collectionId: 'c',
  recordedBy: null, recordedAt: '2026-12-05T10:00:00.000Z', clearedAt: null, clearedBy: null, ...over,
});

describe('eventDateFor', () => {
  it('takes the document\'s own event, else the nearest collection\'s, and ignores cleared ones', () => {
    const events = [
      event({ id: 'top', collectionId: 'top', date: '2020-01-01' }),
      event({ id: 'mid', collectionId: 'mid', date: '2021-01-01' }),
      event({ id: 'own', documentId: 'd', collectionId: null, date: '2022-01-01', clearedAt: '2026-12-05T11:00:00.000Z' }),
    ];
    expect(eventDateFor('employment_end', 'd', ['mid', 'top'], events)).toBe('2021-01-01');
    expect(eventDateFor('employment_end', 'd', ['other', 'top'], events)).toBe('2020-01-01');
    expect(eventDateFor('contract_end', 'd', ['mid', 'top'], events)).toBeNull();
  });

  it('of several for one place takes the latest recorded, and of two recorded at one instant the later date, in either order', () => {
    const earlier = event({ id: 'a', date: '2026-03-31', recordedAt: '2026-12-05T10:00:00.000Z' });
    const later = event({ id: 'b', date: '2026-06-30', recordedAt: '2026-12-05T10:00:00.000Z' });
    const newest = event({ id: 'c', date: '2025-01-31', recordedAt: '2026-12-05T10:00:00.001Z' });
    expect(eventDateFor('employment_end', 'd', ['c'], [earlier, later])).toBe('2026-06-30');
    expect(eventDateFor('employment_end', 'd', ['c'], [later, earlier])).toBe('2026-06-30');
    expect(eventDateFor('employment_end', 'd', ['c'], [later, newest, earlier])).toBe('2025-01-31');
  });
});

describe('eventInForce', () => {
  it('names the event whose date counts: own, else the nearest collection\'s; for a collection (no document) the nearest collection\'s', () => {
    const top = event({ id: 'top', collectionId: 'top', date: '2020-01-01' });
    const own = event({ id: 'own', documentId: 'd', collectionId: null, date: '2022-01-01' });
    expect(eventInForce('employment_end', 'd', ['mid', 'top'], [top, own])?.id).toBe('own');
    expect(eventInForce('employment_end', null, ['mid', 'top'], [top, own])?.id).toBe('top');
    expect(eventInForce('contract_end', null, ['mid', 'top'], [top, own])).toBeNull();
  });
});
