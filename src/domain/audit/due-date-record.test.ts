import { describe, expect, it } from 'vitest';
import { dueDatesBroughtForward, unsecondedDueApproval, type DueRecordPlace } from './due-date-record.js';

const event = (action: string, actorUserId: string, targetIds: Record<string, string>, time = '2026-06-01T00:00:00.000Z') => ({ action, actorUserId, targetIds, decision: 'allow' as const, time });
const place: DueRecordPlace = { documentId: 'doc-1', createdAt: '2026-01-01T00:00:00.000Z', series: { code: 'HR-03', revision: 1 }, collectionIds: ['col-1', 'col-top'] };

describe('who brought forward when records fall due', () => {
  it('names whoever shortened the series a record is in (after it was created), refiled or moved it or a folder above it, or recorded or cleared an event reaching it, when the act brought a date earlier', () => {
    const events = [
      event('records.series.update', 'shortener', { seriesCode: 'HR-03', revision: '2', movedEarlier: '3' }),
      event('records.series.update', 'lengthener', { seriesCode: 'HR-03', revision: '3', movedEarlier: '0', movedLater: '3' }),
      event('records.series.update', 'before-it-was-created', { seriesCode: 'HR-03', revision: '4', movedEarlier: '1' }, '2025-01-01T00:00:00.000Z'),
      event('records.series.update', 'other-series', { seriesCode: 'PAY-06', revision: '2', movedEarlier: '1' }),
      event('records.document.series', 'refiler', { documentId: 'doc-1', seriesCode: 'HR-03', movedEarlier: '1' }),
      event('records.document.series', 'first-filer', { documentId: 'doc-1', seriesCode: 'HR-03', movedEarlier: '0' }),
      event('document.move', 'mover', { documentId: 'doc-1', collectionId: 'col-1', movedEarlier: '1', movedLater: '0' }),
      event('document.move', 'plain-mover', { documentId: 'doc-1', collectionId: 'col-1' }),
      event('records.collection.series', 'folder-refiler', { collectionId: 'col-top', seriesCode: 'HR-03', movedEarlier: '2' }),
      event('records.collection.series', 'elsewhere', { collectionId: 'col-9', seriesCode: 'HR-03', movedEarlier: '2' }),
      event('records.event.record', 'recorder', { eventId: 'ev-1', documentId: 'doc-1', kind: 'created', date: '2015-01-01', movedEarlier: '1', confirmShorter: 'true' }),
      event('records.event.record', 'first-recorder', { eventId: 'ev-2', collectionId: 'col-1', kind: 'created', date: '2026-01-01' }),
      event('records.event.clear', 'clearer', { eventId: 'ev-2', kind: 'created', movedEarlier: '1', confirmShorter: 'true' }),
      { ...event('records.series.update', 'refused', { seriesCode: 'HR-03', revision: '9', movedEarlier: '1' }), decision: 'deny' as const },
    ];
    const rows = [{ id: 'ev-1', recordedBy: 'recorder', clearedBy: null }, { id: 'ev-2', recordedBy: 'first-recorder', clearedBy: 'clearer' }];
    expect(dueDatesBroughtForward([{ ...place, series: { code: 'HR-03', revision: 3 } }], rows, events)).toEqual({
      by: ['clearer', 'folder-refiler', 'mover', 'recorder', 'refiler', 'shortener'],
    });
    // Nothing brought forward: nobody.
    expect(dueDatesBroughtForward([place], [], [events[5]!, events[7]!])).toEqual({ by: [] });
  });

  it('cannot tell (fail closed) when a series revision or a trigger event row has no sealed event of the person it names', () => {
    // Revision 2 of HR-03 with no records.series.update event: the event rewritten (its seal broken) or the row written by hand.
    expect(dueDatesBroughtForward([{ ...place, series: { code: 'HR-03', revision: 2 } }], [], [])).toEqual({ unvouched: expect.stringContaining('Revision 2 of record series HR-03') });
    const recorded = event('records.event.record', 'recorder', { eventId: 'ev-1', documentId: 'doc-1', kind: 'created', date: '2015-01-01' });
    expect(dueDatesBroughtForward([place], [{ id: 'ev-1', recordedBy: 'someone-else', clearedBy: null }], [recorded])).toEqual({ unvouched: expect.stringContaining('Trigger event ev-1 is marked recorded by person someone-else') });
    expect(dueDatesBroughtForward([place], [{ id: 'ev-1', recordedBy: 'recorder', clearedBy: 'clearer' }], [recorded])).toEqual({ unvouched: expect.stringContaining('marked cleared by person clearer') });
    // A row naming nobody (recorded by the system, or a migration) needs no event.
    expect(dueDatesBroughtForward([place], [{ id: 'ev-3', recordedBy: null, clearedBy: null }], [])).toEqual({ by: [] });
  });

  it('refuses to carry out an approval by one who brought dates forward, or when who did cannot be told', () => {
    const batch = { id: 'batch-1', approvedBy: 'rita' };
    expect(unsecondedDueApproval(batch, { by: [] })).toBeNull();
    expect(unsecondedDueApproval(batch, { by: ['other'] })).toBeNull();
    expect(unsecondedDueApproval(batch, { by: ['rita'] })).toContain('recorded approval is by person rita, who brought forward when some of its records fall due');
    expect(unsecondedDueApproval(batch, { unvouched: 'Revision 2 of record series HR-03 is recorded in no change.' })).toContain('cannot be told. Revision 2 of record series HR-03');
  });
});
