import { describe, expect, it } from 'vitest';
import type { Arrangement } from '../types.js';
import { arrangementStateHash, unrecordedArrangement } from './arrangement-record.js';

const a: Arrangement = {
  id: 'a1', hostOrganisationId: 'h', partnerOrganisationIds: ['p1', 'p2'], serviceArea: 'payroll', purpose: 'p', lawfulBasis: 'l',
  agreementReference: null, accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: '2026-01-01T00:00:00.000Z', endsAt: null,
  annualSavingPounds: 0, status: 'active', acceptedBy: ['p1', 'p2'], revision: 3, termsRevision: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z',
};
const change = (targetIds: Record<string, string>, decision: 'allow' | 'deny' = 'allow') => ({ action: 'arrangement.accept', decision, targetIds });

describe('unrecordedArrangement', () => {
  it('accepts an arrangement whose revision and state an allowed change recorded, whatever the order of its sets', () => {
    const reordered = { ...a, partnerOrganisationIds: ['p2', 'p1'], acceptedBy: ['p2', 'p1'] };
    expect(arrangementStateHash(reordered)).toBe(arrangementStateHash(a));
    expect(unrecordedArrangement([reordered], [change({ arrangementId: 'a1', revision: '3', state: arrangementStateHash(a) })])).toBeNull();
  });

  it('lets a change recorded before state hashes vouch for its revision', () => {
    expect(unrecordedArrangement([a], [change({ arrangementId: 'a1', revision: '3' })])).toBeNull();
  });

  it('names an arrangement at a revision no allowed change recorded', () => {
    expect(unrecordedArrangement([a], [change({ arrangementId: 'a1', revision: '2', state: 'x' })])).toContain('Arrangement a1 is at revision 3');
    expect(unrecordedArrangement([a], [change({ arrangementId: 'a1', revision: '3' }, 'deny')])).toContain('Arrangement a1 is at revision 3');
  });

  it('names an arrangement whose state differs from what its revision recorded', () => {
    const widened = { ...a, ceiling: 'OFFICIAL-SENSITIVE' as const };
    expect(unrecordedArrangement([widened], [change({ arrangementId: 'a1', revision: '3', state: arrangementStateHash(a) })])).toContain('differs from revision 3');
  });
});
