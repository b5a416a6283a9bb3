// A decision's new due date and reason, as its event records them: compared when recorded, not before.
import { describe, expect, it } from 'vitest';
import { PROPOSE_EARLY_ACTION, decisionTerms, earlyProposer, reasonSha256, unrecordedDisposalRow, unrecordedDisposalStep, unsecondedEarlyApproval } from './disposal-record.js';

const batch = { id: 'b', status: 'review' as const, approvedBy: null };
const decide = (ids: Record<string, string>) => ({ action: 'disposal.decide', decision: 'allow' as const, actorUserId: 'rm', targetIds: { batchId: 'b', documentId: 'd', decision: 'extend', ...ids } });
const item = { documentId: 'd', decision: 'extend' as const, decidedBy: 'rm', extendTo: '2031-03-31', reason: 'Appeal possible' };

describe('a decision\'s terms vouched for by its event', () => {
  it('match what the event records', () => {
    expect(unrecordedDisposalStep(batch, [item], [decide(decisionTerms(item))])).toBeNull();
    expect(decisionTerms({ extendTo: null, reason: null })).toEqual({ extendTo: 'none', reasonSha256: 'none' });
  });

  it('a new due date or reason the event does not record is named', () => {
    expect(unrecordedDisposalStep(batch, [{ ...item, extendTo: '2027-03-31' }], [decide(decisionTerms(item))])).toBe(
      'Document d of disposal batch b has the new due date 2027-03-31, but its latest recorded decision, by person rm, sets 2031-03-31: it was written into the database directly, not by Strongroom.',
    );
    expect(unrecordedDisposalStep(batch, [{ ...item, reason: 'Changed' }], [decide(decisionTerms(item))])).toContain('gives a reason for its decision other than the one its latest recorded decision, by person rm, gave');
  });

  it('an event recorded before the terms were (no extendTo, no reasonSha256) vouches for the decision and person only', () => {
    expect(unrecordedDisposalStep(batch, [{ ...item, extendTo: '2027-03-31', reason: 'Anything' }], [decide({})])).toBeNull();
  });
});

describe('an early batch vouched for by its proposals (audit verify)', () => {
  const early = { id: 'b', status: 'review' as const, approvedBy: null, kind: 'early' as const, earlyReason: 'Uploaded in error' };
  const destroy = { batchId: 'b', documentId: 'd', decision: 'destroy' as const, decidedBy: 'rm', extendTo: null, reason: null };
  const decided = decide({ decision: 'destroy', ...decisionTerms(destroy) });
  const proposal = (reason: string) => ({ action: PROPOSE_EARLY_ACTION, decision: 'allow' as const, actorUserId: 'rm', targetIds: { batchId: 'b', documentId: 'd', reasonSha256: reasonSha256(reason) } });

  it('passes with the proposal naming the batch, the document and the reason\'s hash', () => {
    expect(unrecordedDisposalRow({ batches: [early], items: [destroy] }, [proposal('Uploaded in error'), decided])).toBeNull();
  });

  it('names a batch written as early with no proposal, or whose reason was rewritten', () => {
    const named = 'Document d of disposal batch b is to be destroyed before its retention ends, but no records manager\'s proposal of it in this batch, with the reason the batch gives, is recorded: it was written into the database directly, not by Strongroom.';
    expect(unrecordedDisposalRow({ batches: [early], items: [destroy] }, [decided])).toBe(named);
    expect(unrecordedDisposalRow({ batches: [early], items: [destroy] }, [proposal('Another reason'), decided])).toBe(named);
    // A sweep's batch needs none.
    expect(unrecordedDisposalRow({ batches: [{ ...early, kind: 'due' }], items: [destroy] }, [decided])).toBeNull();
  });
});

describe('who proposed an early batch, and whether a second person approved it', () => {
  const proposal = (actorUserId: string | null, documentId = 'd', batchId = 'b') => ({ action: PROPOSE_EARLY_ACTION, decision: 'allow' as const, actorUserId, targetIds: { batchId, documentId, reasonSha256: 'x' } });

  it('is the one person the batch\'s proposals name, when its row names them too; otherwise nobody', () => {
    expect(earlyProposer({ id: 'b', createdBy: 'p' }, [proposal('p'), proposal('p', 'd2'), proposal('q', 'd', 'other-batch')])).toBe('p');
    expect(earlyProposer({ id: 'b', createdBy: 'p' }, [])).toBeNull();
    expect(earlyProposer({ id: 'b', createdBy: 'q' }, [proposal('p')])).toBeNull();
    expect(earlyProposer({ id: 'b', createdBy: 'p' }, [proposal('p'), proposal('q', 'd2')])).toBeNull();
    expect(earlyProposer({ id: 'b', createdBy: null }, [proposal(null)])).toBeNull();
  });

  it('refuses an approval by the proposer, or where no proposer is vouched for', () => {
    expect(unsecondedEarlyApproval({ id: 'b', createdBy: 'p', approvedBy: 'a' }, [proposal('p')])).toBeNull();
    expect(unsecondedEarlyApproval({ id: 'b', createdBy: 'p', approvedBy: 'p' }, [proposal('p')])).toBe(
      'Disposal batch b destroys records before their retention ends, and its recorded approval is by person p, who proposed it: early destruction must be approved by another records manager, and Strongroom does not let its proposer approve it.',
    );
    expect(unsecondedEarlyApproval({ id: 'b', createdBy: 'p', approvedBy: 'a' }, [])).toContain('so whether a second person approved it cannot be told');
  });
});
