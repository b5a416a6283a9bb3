// The SCIM client is not a person: decide() lets an organisation's directory manage that organisation's
// people and nothing else, in no other organisation.
import { describe, expect, it } from 'vitest';
import type { Actor } from '../types.js';
import { ARRANGEMENT_ACTIONS, CONTENT_ACTIONS, DESTRUCTION_ACTIONS, ORGANISATION_ACTIONS, PERSON_ACTIONS, SYSTEM_ACTIONS, type Action } from './actions.js';
import { decide, reachableOrganisations, type Resource } from './policy.js';

const NOW = new Date('2026-12-04T12:00:00.000Z');
const CONTEXT = { now: NOW, arrangements: [], holds: new Map() };
const directory = (organisationId: string | null): Actor => ({
  kind: 'directory', userId: null, organisationId, roles: [], teams: [], clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null,
});
const ACTIONS: Action[] = [...Object.keys(CONTENT_ACTIONS) as Action[], ...ORGANISATION_ACTIONS, ...ARRANGEMENT_ACTIONS, ...PERSON_ACTIONS, ...DESTRUCTION_ACTIONS, ...SYSTEM_ACTIONS];
const resources = (organisationId: string): Resource[] => [
  { kind: 'organisation', organisationId },
  { kind: 'person', userId: 'u1', organisationId },
  { kind: 'collection', id: 'c1', organisationId, serviceArea: 'hr', classification: 'OFFICIAL', arrangementId: null },
  { kind: 'document', id: 'd1', organisationId, serviceArea: 'hr', classification: 'OFFICIAL', status: 'available', deleted: false, arrangementId: null },
  { kind: 'arrangement', arrangement: { id: 'a1', hostOrganisationId: organisationId, partnerOrganisationIds: ['org-b'], status: 'active', acceptedBy: ['org-b'], revision: 1, termsRevision: 1 } },
];

describe('a directory actor (SCIM)', () => {
  it('may manage the people of its own organisation', () => {
    expect(decide(directory('org-a'), 'organisation.manage-users', { kind: 'organisation', organisationId: 'org-a' }, CONTEXT)).toEqual({ allow: true, reason: 'directory', via: null });
  });

  it('may not manage another organisation\'s people', () => {
    expect(decide(directory('org-a'), 'organisation.manage-users', { kind: 'organisation', organisationId: 'org-b' }, CONTEXT)).toEqual({ allow: false, reason: 'other_organisation', via: null });
    expect(decide(directory(null), 'organisation.manage-users', { kind: 'organisation', organisationId: 'org-a' }, CONTEXT)).toEqual({ allow: false, reason: 'no_identity', via: null });
  });

  it('may do nothing else, on any resource of its own organisation or another', () => {
    let asked = 0;
    for (const organisationId of ['org-a', 'org-b']) {
      for (const resource of resources(organisationId)) {
        for (const action of ACTIONS) {
          const decision = decide(directory('org-a'), action, resource, CONTEXT);
          // Reading the people it manages is decided as managing them (READS_BESIDE_CHANGES): the same actors.
          const expected = (action === 'organisation.manage-users' || action === 'organisation.read-users') && resource.kind === 'organisation' && organisationId === 'org-a';
          expect(decision.allow, `${action} on ${resource.kind} of ${organisationId}`).toBe(expected);
          asked += 1;
        }
      }
    }
    expect(asked).toBe(2 * 5 * ACTIONS.length);
    expect(ACTIONS.length).toBeGreaterThan(40);
  });

  it('may switch on again only an account it switched off itself, in its own organisation', () => {
    const person = (organisationId: string, disabledBy?: 'admin' | 'directory' | null): Resource => ({ kind: 'person', userId: 'u1', organisationId, ...(disabledBy === undefined ? {} : { disabledBy }) });
    expect(decide(directory('org-a'), 'person.enable', person('org-a', 'directory'), CONTEXT)).toEqual({ allow: true, reason: 'directory', via: null });
    // An org admin's switching off, or one not known (accounts switched off before it was recorded), is the organisation's.
    for (const by of ['admin', null, undefined] as const) {
      expect(decide(directory('org-a'), 'person.enable', person('org-a', by), CONTEXT)).toEqual({ allow: false, reason: 'disabled_by_admin', via: null });
    }
    expect(decide(directory('org-a'), 'person.enable', person('org-b', 'directory'), CONTEXT)).toEqual({ allow: false, reason: 'other_organisation', via: null });
    expect(decide(directory('org-a'), 'person.enable', { kind: 'organisation', organisationId: 'org-a' }, CONTEXT).allow).toBe(false);
  });

  it('may switch off or take the org admin role of anyone of its own organisation but the last enabled org admin', () => {
    const person = (organisationId: string, lastEnabledOrgAdmin?: boolean): Resource => ({ kind: 'person', userId: 'u1', organisationId, ...(lastEnabledOrgAdmin === undefined ? {} : { lastEnabledOrgAdmin }) });
    for (const action of ['person.disable', 'person.remove-org-admin'] as const) {
      expect(decide(directory('org-a'), action, person('org-a', false), CONTEXT)).toEqual({ allow: true, reason: 'directory', via: null });
      // Not known counts as the last (deny by default), as for an org admin.
      expect(decide(directory('org-a'), action, person('org-a', true), CONTEXT)).toEqual({ allow: false, reason: 'last_org_admin', via: null });
      expect(decide(directory('org-a'), action, person('org-a'), CONTEXT)).toEqual({ allow: false, reason: 'last_org_admin', via: null });
      expect(decide(directory('org-a'), action, person('org-b', false), CONTEXT)).toEqual({ allow: false, reason: 'other_organisation', via: null });
      expect(decide(directory('org-a'), action, { kind: 'organisation', organisationId: 'org-a' }, CONTEXT)).toEqual({ allow: false, reason: 'wrong_resource', via: null });
    }
  });

  it("may change the e-mail address of anyone of its own organisation but an org admin; people may not, the operator may", () => {
    const person = (organisationId: string, orgAdmin?: boolean): Resource => ({ kind: 'person', userId: 'u1', organisationId, ...(orgAdmin === undefined ? {} : { orgAdmin }) });
    expect(decide(directory('org-a'), 'person.change-email', person('org-a', false), CONTEXT)).toEqual({ allow: true, reason: 'directory', via: null });
    // Not known counts as an org admin (deny by default).
    expect(decide(directory('org-a'), 'person.change-email', person('org-a', true), CONTEXT)).toEqual({ allow: false, reason: 'org_admin_email', via: null });
    expect(decide(directory('org-a'), 'person.change-email', person('org-a'), CONTEXT)).toEqual({ allow: false, reason: 'org_admin_email', via: null });
    expect(decide(directory('org-a'), 'person.change-email', person('org-b', false), CONTEXT)).toEqual({ allow: false, reason: 'other_organisation', via: null });
    expect(decide(directory('org-a'), 'person.change-email', { kind: 'organisation', organisationId: 'org-a' }, CONTEXT)).toEqual({ allow: false, reason: 'wrong_resource', via: null });
    const orgAdmin: Actor = { kind: 'user', userId: 'admin', organisationId: 'org-a', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL-SENSITIVE', channel: 'web', clientAddress: null, requestId: null };
    expect(decide(orgAdmin, 'person.change-email', person('org-a', false), CONTEXT)).toEqual({ allow: false, reason: 'directory_or_operator', via: null });
    expect(decide({ ...orgAdmin, userId: 'u1' }, 'person.change-email', person('org-a', true), CONTEXT)).toEqual({ allow: false, reason: 'directory_or_operator', via: null });
    expect(decide({ ...orgAdmin, kind: 'system', userId: null, organisationId: null, roles: [] }, 'person.change-email', person('org-a', true), CONTEXT)).toEqual({ allow: true, reason: 'system', via: null });
  });

  it('reaches no other organisation\'s content', () => {
    expect(reachableOrganisations(directory('org-a'), [], NOW)).toEqual([]);
  });
});
