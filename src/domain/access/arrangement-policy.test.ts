// decide() on arrangements (arrangement-policy.ts): reading one and each step of its lifecycle, for every party,
// role and status, and accepting one as a pending partner's consent to the terms it reviewed.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ArrangementStatus, Role } from '../types.js';
import { ARRANGEMENT_ACTIONS } from './actions.js';
import type { ArrangementResource } from './policy.js';
import { decide } from './policy.js';
import { ALL_ROLES, NO_HOLDS, NOW, SERVICE_AREAS, SYSTEM, userOf } from './policy-examples.test-support.js';

type Position = 'host' | 'partner-pending' | 'partner-accepted' | 'outsider';
const POSITION_ORGANISATION: Record<Position, string> = { host: 'org-a', 'partner-pending': 'org-b', 'partner-accepted': 'org-c', outsider: 'org-d' };
const ARRANGEMENT_STATUS_VALUES: ArrangementStatus[] = ['draft', 'active', 'suspended', 'ended'];

/** org-c has accepted; org-b too unless `pending` (a draft, or a proposal ended before org-b accepted). */
function arrangementResource(status: ArrangementStatus, pending = status === 'draft'): ArrangementResource {
  return { kind: 'arrangement', arrangement: { id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b', 'org-c'], status, acceptedBy: pending ? ['org-c'] : ['org-b', 'org-c'], revision: 4, termsRevision: 2 } };
}

/** The specification for arrangement actions, written out plainly. */
function expectedArrangementDecision(action: (typeof ARRANGEMENT_ACTIONS)[number], position: Position, isOrgAdmin: boolean, status: ArrangementStatus, pending: boolean): boolean {
  const isHost = position === 'host';
  const isPartner = position === 'partner-pending' || position === 'partner-accepted';
  // The register: arrangements that came into force are listed for every signed-in user; drafts, and
  // proposals ended before every partner accepted them, stay between the parties.
  if (action === 'arrangement.read') return isHost || isPartner || (status !== 'draft' && !pending);
  if (!isHost && !isPartner) return false;
  if (!isOrgAdmin) return false;
  switch (action) {
    case 'arrangement.propose': return isHost;
    case 'arrangement.amend': return isHost && status === 'draft';
    case 'arrangement.accept': return position === 'partner-pending' && status === 'draft';
    case 'arrangement.suspend': return status === 'active';
    case 'arrangement.resume': return isHost && status === 'suspended';
    case 'arrangement.end': return status !== 'ended';
    case 'arrangement.workspace': return isHost && status !== 'ended';
  }
}

describe('arrangement actions', () => {
  it('follow party, role and status for every combination', () => {
    const roleChoices: Role[][] = [[], ['member'], ['org_admin'], ALL_ROLES.filter((r) => r !== 'org_admin'), ALL_ROLES];
    const mismatches: string[] = [];
    for (const action of ARRANGEMENT_ACTIONS) {
      for (const position of Object.keys(POSITION_ORGANISATION) as Position[]) {
        for (const roles of roleChoices) {
          // A draft always waits for org-b; past draft, every partner accepted it or (ended before that) not.
          for (const [status, pending] of ARRANGEMENT_STATUS_VALUES.flatMap((st) => (st === 'draft' ? [[st, true]] : [[st, false], [st, true]]) as [ArrangementStatus, boolean][])) {
            const expected = expectedArrangementDecision(action, position, roles.includes('org_admin'), status, pending);
            const actor = userOf(POSITION_ORGANISATION[position], roles, SERVICE_AREAS, 'OFFICIAL-SENSITIVE');
            // Accepting names the current terms here; reviews of other revisions are covered below.
            const acceptance = { organisationId: POSITION_ORGANISATION[position], reviewedRevision: 2 };
            const got = decide(actor, action, arrangementResource(status, pending), { now: NOW, arrangements: [], holds: NO_HOLDS, acceptance });
            if (got?.allow !== expected) mismatches.push(`${action} ${position} roles=[${roles.join(',')}] ${status}${pending ? ' (pending)' : ''}: got ${got?.allow}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('examples: a partner org admin cannot amend (widen) the terms; the host admin can while in draft', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const partnerAdmin = userOf('org-b', ['org_admin']);
    const hostAdmin = userOf('org-a', ['org_admin']);
    expect(decide(partnerAdmin, 'arrangement.amend', arrangementResource('draft'), context).allow).toBe(false);
    expect(decide(partnerAdmin, 'arrangement.amend', arrangementResource('active'), context).allow).toBe(false);
    expect(decide(hostAdmin, 'arrangement.amend', arrangementResource('draft'), context).allow).toBe(true);
    expect(decide(hostAdmin, 'arrangement.amend', arrangementResource('active'), context).allow).toBe(false);
    expect(decide(partnerAdmin, 'arrangement.resume', arrangementResource('suspended'), context).allow).toBe(false);
    expect(decide(userOf('org-c', ['org_admin']), 'arrangement.accept', arrangementResource('draft'), { ...context, acceptance: { organisationId: 'org-c', reviewedRevision: 4 } }).allow).toBe(false);
    expect(decide(userOf('org-d', ['org_admin']), 'arrangement.read', arrangementResource('draft'), context).allow).toBe(false);
    // A proposal declined or withdrawn (ended before org-b accepted) never came into force: not in the register.
    expect(decide(userOf('org-d', ['org_admin']), 'arrangement.read', arrangementResource('ended', true), context).allow).toBe(false);
    expect(decide(userOf('org-d', ['org_admin']), 'arrangement.read', arrangementResource('ended'), context).allow).toBe(true);
    expect(decide(userOf('org-d', ['org_admin']), 'arrangement.amend', arrangementResource('draft'), context).allow).toBe(false);
  });
});

describe('accepting an arrangement', () => {
  const ORGS = ['org-a', 'org-b', 'org-c', 'org-d'];
  it('is a pending partner\'s consent to the terms it reviewed, for people and administrators alike', () => {
    fc.assert(
      fc.property(
        fc.record({
          status: fc.constantFrom<ArrangementStatus>(...ARRANGEMENT_STATUS_VALUES),
          termsRevision: fc.integer({ min: 1, max: 5 }),
          later: fc.integer({ min: 0, max: 3 }),
          reviewedRevision: fc.integer({ min: 0, max: 9 }),
          acceptedBy: fc.subarray(['org-b', 'org-c']),
          acceptingFor: fc.constantFrom(...ORGS),
          actor: fc.oneof(fc.constant({ kind: 'system' as const }), fc.record({ kind: fc.constant('user' as const), organisation: fc.constantFrom(...ORGS), admin: fc.boolean() })),
        }),
        (w) => {
          const revision = w.termsRevision + w.later;
          const resource: ArrangementResource = { kind: 'arrangement', arrangement: { id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b', 'org-c'], status: w.status, acceptedBy: w.acceptedBy, revision, termsRevision: w.termsRevision } };
          const actor = w.actor.kind === 'system' ? SYSTEM : userOf(w.actor.organisation, w.actor.admin ? ['org_admin'] : ['member']);
          const got = decide(actor, 'arrangement.accept', resource, { now: NOW, arrangements: [], holds: NO_HOLDS, acceptance: { organisationId: w.acceptingFor, reviewedRevision: w.reviewedRevision } });
          // The rule, written out plainly.
          const mayActFor = w.actor.kind === 'system' || (w.actor.admin && w.actor.organisation === w.acceptingFor);
          const pending = ['org-b', 'org-c'].includes(w.acceptingFor) && !w.acceptedBy.includes(w.acceptingFor) && w.status === 'draft';
          const sawTheseTerms = w.termsRevision <= w.reviewedRevision && w.reviewedRevision <= revision;
          expect(got.allow).toBe(mayActFor && pending && sawTheseTerms);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('examples: a review of revision 1 cannot accept the terms amended in revision 3; another partner\'s acceptance does not undo a review', () => {
    const draft = (revision: number, termsRevision: number, acceptedBy: string[] = []): ArrangementResource =>
      ({ kind: 'arrangement', arrangement: { id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b', 'org-c'], status: 'draft', acceptedBy, revision, termsRevision } });
    const partnerAdmin = userOf('org-b', ['org_admin']);
    const context = (reviewedRevision: number, organisationId = 'org-b') => ({ now: NOW, arrangements: [], holds: NO_HOLDS, acceptance: { organisationId, reviewedRevision } });
    expect(decide(partnerAdmin, 'arrangement.accept', draft(3, 3), context(1))).toMatchObject({ allow: false, reason: 'terms_changed' });
    expect(decide(SYSTEM, 'arrangement.accept', draft(3, 3), context(1))).toMatchObject({ allow: false, reason: 'terms_changed' });
    expect(decide(partnerAdmin, 'arrangement.accept', draft(3, 3), context(3)).allow).toBe(true);
    expect(decide(partnerAdmin, 'arrangement.accept', draft(4, 3, ['org-c']), context(3)).allow).toBe(true);
    expect(decide(partnerAdmin, 'arrangement.accept', draft(3, 3), context(4))).toMatchObject({ allow: false, reason: 'no_such_revision' });
    expect(decide(partnerAdmin, 'arrangement.accept', draft(3, 3), { now: NOW, arrangements: [], holds: NO_HOLDS })).toMatchObject({ allow: false, reason: 'no_review' });
    // Nobody accepts for another organisation, and an administrator only for a partner still to accept.
    expect(decide(partnerAdmin, 'arrangement.accept', draft(3, 3), context(3, 'org-c'))).toMatchObject({ allow: false });
    expect(decide(SYSTEM, 'arrangement.accept', draft(3, 3), context(3, 'org-d'))).toMatchObject({ allow: false, reason: 'not_a_partner' });
    expect(decide(SYSTEM, 'arrangement.accept', draft(4, 3, ['org-c']), context(4, 'org-c'))).toMatchObject({ allow: false, reason: 'not_pending_for_you' });
  });
});
