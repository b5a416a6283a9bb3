// The arrangement lifecycle: the table against a plain statement of it, and random walks of steps
// checked against the properties that keep access safe (only the last partner's acceptance opens it).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrangementInForce } from '../access/policy.js';
import type { Arrangement, ArrangementStatus } from '../types.js';
import { LIFECYCLE_STEPS, LifecycleError, accept, amend, end, propose, resume, stepAllowedFrom, stepOf, suspend, type Change, type LifecycleStep, type Terms } from './lifecycle.js';

const STATUSES: ArrangementStatus[] = ['draft', 'active', 'suspended', 'ended'];
const NOW = new Date('2026-06-01T12:00:00Z');

const TERMS: Terms = {
  hostOrganisationId: 'host', partnerOrganisationIds: ['p1', 'p2'], serviceArea: 'payroll', purpose: 'Shared payroll', lawfulBasis: 'Public task',
  agreementReference: null, accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: '2026-01-01T00:00:00.000Z', endsAt: null, annualSavingPounds: 1000,
};

/** The lifecycle, written out plainly from docs/architecture.md (not from the table). */
const LEGAL: Record<Exclude<LifecycleStep, 'propose'>, ArrangementStatus[]> = {
  amend: ['draft'],
  accept: ['draft'],
  suspend: ['active'],
  resume: ['suspended'],
  end: ['draft', 'active', 'suspended'],
  workspace: ['draft', 'active', 'suspended'],
};

describe('the lifecycle table', () => {
  it('allows each step from exactly the statuses the documentation lists', () => {
    for (const step of LIFECYCLE_STEPS) {
      for (const status of STATUSES) {
        const expected = step === 'propose' ? true : LEGAL[step].includes(status);
        expect(stepAllowedFrom(step, status), `${step} from ${status}`).toBe(expected);
      }
    }
  });

  it('names the step of each arrangement action, and none for reading', () => {
    expect(stepOf('arrangement.resume')).toBe('resume');
    expect(stepOf('arrangement.workspace')).toBe('workspace');
    expect(stepOf('arrangement.read')).toBeNull();
    expect(stepOf('document.read')).toBeNull();
  });

  it('refuses to apply a step from a status that does not allow it', () => {
    const ended = end(propose('a1', TERMS, NOW, true).next, NOW).next;
    expect(() => suspend(ended, NOW)).toThrow(LifecycleError);
    expect(() => resume(ended, NOW)).toThrow(LifecycleError);
    expect(() => end(ended, NOW)).toThrow(LifecycleError);
    expect(() => amend(ended, TERMS, NOW)).toThrow(LifecycleError);
    expect(() => accept(ended, 'p1', NOW)).toThrow(LifecycleError);
    // A partner that already accepted, or an organisation that is no partner, cannot accept.
    const once = accept(propose('a1', TERMS, NOW, false).next, 'p1', NOW).next;
    expect(() => accept(once, 'p1', NOW)).toThrow(LifecycleError);
    expect(() => accept(once, 'host', NOW)).toThrow(LifecycleError);
  });

  it('examples: proposal, acceptances, suspension, reinstatement and end', () => {
    const proposed = propose('a1', TERMS, NOW, false);
    expect(proposed).toMatchObject({ event: 'arrangement.proposed', change: 'proposed', next: { status: 'draft', acceptedBy: [], revision: 1, termsRevision: 1 } });
    expect(propose('a1', TERMS, NOW, true)).toMatchObject({ event: 'arrangement.created', next: { status: 'active', acceptedBy: ['p1', 'p2'] } });
    const one = accept(proposed.next, 'p2', NOW);
    expect(one).toMatchObject({ event: 'arrangement.accepted', change: 'accepted by one partner', next: { status: 'draft', acceptedBy: ['p2'], revision: 2, termsRevision: 1 } });
    const both = accept(one.next, 'p1', NOW);
    expect(both).toMatchObject({ change: 'accepted; now active', next: { status: 'active', acceptedBy: ['p1', 'p2'], revision: 3 } });
    const suspended = suspend(both.next, NOW);
    expect(suspended).toMatchObject({ event: 'arrangement.suspended', next: { status: 'suspended', acceptedBy: ['p1', 'p2'], revision: 4 } });
    const reinstated = resume(suspended.next, NOW);
    expect(reinstated).toMatchObject({ event: 'arrangement.reinstated', next: { status: 'draft', acceptedBy: [], revision: 5, termsRevision: 1 } });
    const amended = amend(reinstated.next, { ...TERMS, accessLevel: 'manage' }, NOW);
    expect(amended).toMatchObject({ event: 'arrangement.amended', next: { status: 'draft', accessLevel: 'manage', revision: 6, termsRevision: 6 } });
    const ended = end({ ...amended.next, endsAt: '2027-01-01T00:00:00.000Z' }, NOW);
    expect(ended).toMatchObject({ event: 'arrangement.ended', next: { status: 'ended', endsAt: NOW.toISOString(), revision: 7 } });
    // An end date already past stays as it was.
    expect(end({ ...amended.next, endsAt: '2026-02-01T00:00:00.000Z' }, NOW).next.endsAt).toBe('2026-02-01T00:00:00.000Z');
  });
});

type Move = { step: 'amend'; widen: boolean } | { step: 'accept'; partner: string } | { step: 'suspend' | 'resume' | 'end' };

const move: fc.Arbitrary<Move> = fc.oneof(
  fc.record({ step: fc.constant('amend' as const), widen: fc.boolean() }),
  fc.record({ step: fc.constant('accept' as const), partner: fc.constantFrom('p1', 'p2', 'p3', 'host') }),
  fc.record({ step: fc.constantFrom('suspend' as const, 'resume' as const, 'end' as const) }),
);

function apply(a: Arrangement, m: Move): Change {
  switch (m.step) {
    case 'amend': return amend(a, { ...TERMS, accessLevel: m.widen ? 'manage' : 'read', partnerOrganisationIds: m.widen ? ['p1', 'p2', 'p3'] : ['p1', 'p2'] }, NOW);
    case 'accept': return accept(a, m.partner, NOW);
    case 'suspend': return suspend(a, NOW);
    case 'resume': return resume(a, NOW);
    case 'end': return end(a, NOW);
  }
}

describe('any sequence of steps', () => {
  it('keeps the invariants that make access safe', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(move, { maxLength: 25 }), (approved, moves) => {
        let a = propose('a1', TERMS, NOW, approved).next;
        for (const m of moves) {
          const legal = m.step === 'accept'
            ? stepAllowedFrom('accept', a.status) && a.partnerOrganisationIds.includes(m.partner) && !a.acceptedBy.includes(m.partner)
            : stepAllowedFrom(m.step, a.status);
          if (!legal) {
            expect(() => apply(a, m)).toThrow(LifecycleError);
            continue;
          }
          const before = a;
          const { next } = apply(a, m);
          // Every change is one new revision; only an amendment sets the terms partners accept.
          expect(next.revision).toBe(before.revision + 1);
          expect(next.termsRevision).toBe(m.step === 'amend' ? next.revision : before.termsRevision);
          expect(next.termsRevision).toBeLessThanOrEqual(next.revision);
          // Acceptances are the partners' and nobody else's.
          expect(next.acceptedBy.every((p) => next.partnerOrganisationIds.includes(p))).toBe(true);
          // Access opens through one door only: the last pending partner's acceptance.
          if (arrangementInForce(next, NOW) && !arrangementInForce(before, NOW)) {
            expect(m.step).toBe('accept');
            expect(before.partnerOrganisationIds.filter((p) => !before.acceptedBy.includes(p))).toEqual([(m as { partner: string }).partner]);
          }
          // Active means every partner has accepted the current terms.
          if (next.status === 'active') expect(next.partnerOrganisationIds.every((p) => next.acceptedBy.includes(p))).toBe(true);
          // Amending and reinstating send the terms back to every partner.
          if (m.step === 'amend' || m.step === 'resume') expect(next).toMatchObject({ status: 'draft', acceptedBy: [] });
          // Suspending and ending take access away and change no terms.
          if (m.step === 'suspend' || m.step === 'end') {
            expect(arrangementInForce(next, NOW)).toBe(false);
            expect({ ...next, status: before.status, revision: before.revision, endsAt: before.endsAt }).toEqual({ ...before, updatedAt: next.updatedAt });
          }
          a = next;
        }
        // Ended is final.
        if (a.status === 'ended') for (const step of LIFECYCLE_STEPS) if (step !== 'propose') expect(stepAllowedFrom(step, a.status)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
