// decide() on the parts of a subject access request (subject-access-policy.ts): for every role set, side and
// state of the arrangement between the two organisations.
import { describe, expect, it } from 'vitest';
import type { Arrangement } from '../types.js';
import { SUBJECT_ACCESS_ACTIONS } from './actions.js';
import { decide } from './policy.js';
import { DAY, NO_HOLDS, NOW, ROLE_SETS, SERVICE_AREAS, arrangementOf, userOf } from './policy-examples.test-support.js';

describe('subject access actions', () => {
  // org-a received the request; org-b and org-c may be asked, each while an arrangement between it and org-a is in force.
  const part = (partOrganisationId: string) => ({ kind: 'subject-access' as const, organisationId: 'org-a', partOrganisationId });
  const between = (fields: Partial<Arrangement> = {}) => arrangementOf({ id: 'arr-1', hostOrganisationId: 'org-b', partnerOrganisationIds: ['org-a'], serviceArea: 'hr', ...fields });

  it('follow the specification for every role set, side and state of the arrangement', () => {
    const states: [string, Arrangement[]][] = [
      ['in force', [between()]], ['in force, the other way round', [between({ hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'] })]],
      ['suspended', [between({ status: 'suspended' })]], ['ended', [between({ status: 'ended' })]], ['past its end', [between({ endsAt: NOW.toISOString() })]],
      ['not yet started', [between({ startsAt: new Date(NOW.getTime() + DAY).toISOString() })]], ['none', []],
      ['with a third council only', [arrangementOf({ id: 'arr-2', hostOrganisationId: 'org-c', partnerOrganisationIds: ['org-a'] })]],
      // Fellow partners of org-c's arrangement: org-c serves each, neither org-a nor org-b holds the other's data.
      ['fellow partners of a third council', [arrangementOf({ id: 'arr-3', hostOrganisationId: 'org-c', partnerOrganisationIds: ['org-a', 'org-b'] })]],
    ];
    const mismatches: string[] = [];
    for (const action of SUBJECT_ACCESS_ACTIONS) {
      for (const roles of ROLE_SETS) {
        for (const [actorOrganisation, partOrganisation] of [['org-a', 'org-a'], ['org-a', 'org-b'], ['org-b', 'org-b'], ['org-b', 'org-a'], ['org-c', 'org-b'], ['org-c', 'org-c']] as const) {
          for (const [state, arrangements] of states) {
            // Written out plainly: the DPO of the side the action is about; across organisations, an arrangement in force between the two.
            const side = action === 'subject-access.respond' || action === 'subject-access.read-part' ? partOrganisation : 'org-a';
            const inForceWith = state === 'in force' || state === 'in force, the other way round' ? 'org-b'
              : state === 'with a third council only' || state === 'fellow partners of a third council' ? 'org-c' : null;
            const expected = roles.includes('dpo') && actorOrganisation === side && (partOrganisation === 'org-a' || partOrganisation === inForceWith);
            const got = decide(userOf(actorOrganisation, roles, SERVICE_AREAS, 'OFFICIAL-SENSITIVE'), action, part(partOrganisation), { now: NOW, arrangements, holds: NO_HOLDS });
            if (got.allow !== expected) mismatches.push(`${action} roles=[${roles.join(',')}] actor=${actorOrganisation} part=${partOrganisation} ${state}: got ${got.allow}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('examples: a partner DPO answers while the arrangement is in force, granted by it; a records manager never', () => {
    const context = { now: NOW, arrangements: [between()], holds: NO_HOLDS };
    expect(decide(userOf('org-b', ['dpo']), 'subject-access.respond', part('org-b'), context)).toEqual({ allow: true, reason: 'dpo', via: 'arr-1' });
    expect(decide(userOf('org-a', ['dpo']), 'subject-access.receive', part('org-b'), context)).toEqual({ allow: true, reason: 'dpo', via: 'arr-1' });
    expect(decide(userOf('org-a', ['dpo']), 'subject-access.receive', part('org-a'), context)).toEqual({ allow: true, reason: 'dpo', via: null });
    expect(decide(userOf('org-b', ['records_manager', 'org_admin']), 'subject-access.respond', part('org-b'), context)).toMatchObject({ allow: false, reason: 'role' });
    expect(decide(userOf('org-b', ['dpo']), 'subject-access.respond', part('org-b'), { ...context, arrangements: [between({ status: 'suspended' })] })).toMatchObject({ allow: false, reason: 'no_arrangement' });
    expect(decide(userOf('org-b', ['dpo']), 'subject-access.receive', part('org-b'), context)).toMatchObject({ allow: false, reason: 'other_organisation' });
  });
});
