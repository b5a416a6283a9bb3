import fc from 'fast-check';
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

describe('eventDateFor on eventInForce (property)', () => {
  // Few places, kinds, instants and dates, so ties (one millisecond, one date), cleared events and kinds that do not match are common.
  const arbEvent = fc.record({
    id: fc.uuid(), place: fc.constantFrom('doc:d', 'doc:other', 'col:c1', 'col:c2', 'col:c3', 'col:elsewhere'), kind: fc.constantFrom('employment_end', 'contract_end'),
    date: fc.constantFrom('2024-01-31', '2025-06-30', '2025-06-30', '2026-01-01'), recordedAt: fc.constantFrom('2026-12-05T10:00:00.000Z', '2026-12-05T10:00:00.001Z', '2026-12-06T09:00:00.000Z'),
    cleared: fc.boolean(),
  }).map((e) => event({
    id: e.id, kind: e.kind, date: e.date, recordedAt: e.recordedAt, clearedAt: e.cleared ? '2026-12-07T00:00:00.000Z' : null,
    documentId: e.place.startsWith('doc:') ? e.place.slice(4) : null, collectionId: e.place.startsWith('col:') ? e.place.slice(4) : null,
  }));

  it('is the date of the live event of that kind at the nearest place that has one (own, then the chain in order), the latest recorded there, then the later date', () => {
    fc.assert(fc.property(fc.array(arbEvent, { maxLength: 12 }), fc.constantFrom('employment_end', 'contract_end'), (events, kind) => {
      const chain = ['c1', 'c2', 'c3'];
      const live = events.filter((e) => e.kind === kind && e.clearedAt === null);
      const places = [live.filter((e) => e.documentId === 'd'), ...chain.map((c) => live.filter((e) => e.documentId === null && e.collectionId === c))];
      const nearest = places.find((p) => p.length > 0) ?? [];
      const best = nearest.map((e) => `${e.recordedAt} ${e.date}`).sort().at(-1);
      const inForce = eventInForce(kind, 'd', chain, events);
      expect(inForce === null ? undefined : `${inForce.recordedAt} ${inForce.date}`).toBe(best);
      if (inForce) expect(nearest).toContain(inForce);
      expect(eventDateFor(kind, 'd', chain, events)).toBe(inForce?.date ?? null);
      // In any order the database returns them.
      expect(eventDateFor(kind, 'd', chain, [...events].reverse())).toBe(inForce?.date ?? null);
    }));
  });
});
