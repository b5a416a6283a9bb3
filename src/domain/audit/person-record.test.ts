import { describe, expect, it } from 'vitest';
import { peopleBeforeBindings, personBinding, unrecordedPerson, type StoredPerson } from './person-record.js';

const person: StoredPerson = { id: 'p1', organisationId: 'o1', email: 'sam@north.test', roles: ['member'], teams: ['hr'], clearance: 'OFFICIAL', disabled: false };
const change = (action: string, p: StoredPerson | null, organisationId = 'o1') => ({
  action, decision: 'allow' as const, targetOrganisationId: organisationId, targetIds: { userId: 'p1', ...(p ? { binding: personBinding(p) } : {}) },
});

describe('people vouched for by their changes', () => {
  it('roles and teams are sets; the address is compared as stored (lower-case)', () => {
    expect(personBinding({ ...person, roles: ['member', 'auditor'] })).toBe(personBinding({ ...person, roles: ['auditor', 'member'] }));
    expect(personBinding({ ...person, email: 'Sam@North.test' })).toBe(personBinding(person));
    expect(personBinding({ ...person, disabled: true })).not.toBe(personBinding(person));
  });

  it('the state must be the latest recorded, not any recorded once', () => {
    const disabled = { ...person, disabled: true };
    const changes = [change('user.create', person), change('user.disable', disabled)];
    expect(unrecordedPerson([disabled], changes)).toBeNull();
    expect(unrecordedPerson([person], changes)).toMatch(/^Person p1 \(organisation o1\) differs from their latest recorded change/);
  });

  it('a second look allows any state recorded at or after the latest change first read', () => {
    const disabled = { ...person, disabled: true };
    const first = [change('user.create', person)];
    const later = [...first, change('user.disable', disabled), change('user.enable', person)];
    // Read as disabled between the two reads of the changes: a change committed meanwhile, not tampering.
    expect(unrecordedPerson([disabled], later, first)).toBeNull();
    expect(unrecordedPerson([disabled], later)).not.toBeNull();
    // Read as a state from before the latest change the first read held: tampering.
    const noTeams = { ...person, teams: [] };
    const settled = [change('user.create', person), change('user.update', noTeams)];
    expect(unrecordedPerson([person], [...settled, change('user.disable', { ...noTeams, disabled: true })], settled)).not.toBeNull();
    expect(unrecordedPerson([noTeams], [...settled, change('user.disable', { ...noTeams, disabled: true })], settled)).toBeNull();
  });

  it('people last changed before bindings are vouched for by their creation (id and organisation) until a baseline', () => {
    const old = [change('user.create', null), change('user.update', null)];
    expect(unrecordedPerson([{ ...person, roles: ['org_admin'] }], old)).toBeNull();
    expect(unrecordedPerson([{ ...person, organisationId: 'o2' }], old)).toMatch(/was created in another organisation/);
    expect(unrecordedPerson([person], [])).toMatch(/has no creation in the audit log/);
    expect(peopleBeforeBindings([person], old)).toEqual([person]);
    const baselined = [...old, change('user.baseline', person)];
    expect(peopleBeforeBindings([person], baselined)).toEqual([]);
    expect(unrecordedPerson([{ ...person, roles: ['org_admin'] }], baselined)).not.toBeNull();
    // A change an older build recorded again (no binding) returns them to before bindings.
    expect(unrecordedPerson([{ ...person, teams: [] }], [...baselined, change('user.update', null)])).toBeNull();
  });

  it('refused events and other people vouch for nothing', () => {
    expect(unrecordedPerson([person], [{ ...change('user.create', person), decision: 'deny' as const }])).toMatch(/has no creation/);
    expect(unrecordedPerson([{ ...person, id: 'p2' }], [change('user.create', { ...person, id: 'p2' })])).toMatch(/^Person p2 has|^Person p2 \(organisation o1\) has no creation/);
  });
});

describe('a sign-in link mailed to the person as found', () => {
  const mailed = (found: StoredPerson) => ({ action: 'mail.sign-in-link', decision: 'allow' as const, targetOrganisationId: 'o1', targetIds: { userId: 'p1', before: personBinding(found) } });

  it('passes a link mailed to the recorded address, and names one mailed while the address was other than recorded', () => {
    const created = change('user.create', person);
    expect(unrecordedPerson([person], [created, mailed(person)])).toBeNull();
    expect(unrecordedPerson([person], [created, mailed({ ...person, email: 'mallory@elsewhere.test' })])).toMatch(/when Strongroom next changed them or mailed them a sign-in link/);
    // A read records no state: the change after it is compared with the change before it, as ever.
    const moved = { ...person, teams: ['payroll'] };
    expect(unrecordedPerson([moved], [created, mailed(person), { ...change('user.update', moved), targetIds: { ...change('user.update', moved).targetIds, before: personBinding(person) } }])).toBeNull();
  });

  it('judges nothing for a person with no bound change yet, and a refused read vouches for nothing', () => {
    expect(unrecordedPerson([person], [change('user.create', null), mailed({ ...person, email: 'other@x.test' })])).toBeNull();
    expect(unrecordedPerson([person], [change('user.create', person), { ...mailed({ ...person, email: 'other@x.test' }), decision: 'deny' as const }])).toBeNull();
  });
});
