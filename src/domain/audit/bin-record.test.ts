import { describe, expect, it } from 'vitest';
import { binningOf, unrecordedBinning } from './bin-record.js';

const event = (action: string, time: string, ids: Record<string, string> = {}, decision: 'allow' | 'deny' = 'allow') => ({ action, time, decision, targetIds: { documentId: 'd1', ...ids } });
const CUTOFF = '2026-11-04T12:00:00.000Z';

describe('bin-record', () => {
  it('bins on a deletion and on the source side of a move to another organisation; a restore takes it out', () => {
    expect(binningOf(event('document.delete', CUTOFF))).toBe('binned');
    expect(binningOf(event('document.delete', CUTOFF, { replaced: 'true' }))).toBe('binned');
    expect(binningOf(event('document.move', CUTOFF, { movedToDocumentId: 'd2', collectionId: 'c2' }))).toBe('binned');
    expect(binningOf(event('document.move', CUTOFF, { collectionId: 'c2' }))).toBeNull();
    expect(binningOf(event('document.restore', CUTOFF))).toBe('restored');
    expect(binningOf(event('document.delete', CUTOFF, {}, 'deny'))).toBeNull();
  });

  it('vouches for a document whose latest deletion is at or before the cutoff and not followed by a restore', () => {
    expect(unrecordedBinning('Document d1', 'd1', [event('document.delete', CUTOFF)], CUTOFF)).toBeNull();
    expect(unrecordedBinning('Document d1', 'd1', [event('document.delete', '2026-10-01T00:00:00.000Z'), event('document.restore', '2026-10-02T00:00:00.000Z'), event('document.delete', '2026-10-03T00:00:00.000Z')], CUTOFF)).toBeNull();
  });

  it('names a document never deleted, last restored, or deleted after the cutoff', () => {
    expect(unrecordedBinning('Document d1', 'd1', [event('document.delete', '2026-10-01T00:00:00.000Z', { documentId: 'other' })], CUTOFF)).toContain('records no deletion');
    expect(unrecordedBinning('Document d1', 'd1', [event('document.delete', '2026-10-01T00:00:00.000Z'), event('document.restore', '2026-10-02T00:00:00.000Z')], CUTOFF)).toContain('last records it restored');
    expect(unrecordedBinning('Document d1', 'd1', [event('document.delete', '2026-10-01T00:00:00.000Z'), event('document.restore', '2026-10-02T00:00:00.000Z'), event('document.delete', '2026-11-04T12:00:00.001Z')], CUTOFF)).toContain('was deleted at 2026-11-04T12:00:00.001Z');
  });
});
