// decide() on people (person-policy.ts): their own credentials, an org admin's changes to their colleagues'
// accounts, and who may be told who someone is. The directory's own are directory-policy.test.ts's.
import { describe, expect, it } from 'vitest';
import { decide } from './policy.js';
import { NO_HOLDS, NOW, SYSTEM, userOf } from './policy-examples.test-support.js';

describe('person actions', () => {
  it('let people manage their own credentials, and org admins those of their own organisation only', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const alice = { kind: 'person' as const, userId: 'alice', organisationId: 'org-a' };
    const self = { ...userOf('org-a', ['member']), userId: 'alice' };
    expect(decide(self, 'person.manage-credentials', alice, context)).toMatchObject({ allow: true, reason: 'self' });
    expect(decide(userOf('org-a', ['member']), 'person.manage-credentials', alice, context).allow).toBe(false);
    expect(decide(userOf('org-a', ['security_admin', 'auditor']), 'person.manage-credentials', alice, context).allow).toBe(false);
    expect(decide(userOf('org-a', ['org_admin']), 'person.manage-credentials', alice, context)).toMatchObject({ allow: true, reason: 'org_admin' });
    expect(decide(userOf('org-b', ['org_admin']), 'person.manage-credentials', alice, context).allow).toBe(false);
  });

  it("let an org admin of the person's own organisation switch an account on again, whoever switched it off", () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    for (const disabledBy of ['admin', 'directory', null] as const) {
      const alice = { kind: 'person' as const, userId: 'alice', organisationId: 'org-a', disabledBy };
      expect(decide(userOf('org-a', ['org_admin']), 'person.enable', alice, context)).toMatchObject({ allow: true, reason: 'org_admin' });
      expect(decide({ ...userOf('org-a', ['member']), userId: 'alice' }, 'person.enable', alice, context)).toMatchObject({ allow: false, reason: 'role' });
      expect(decide(userOf('org-a', ['security_admin', 'records_manager', 'auditor', 'dpo']), 'person.enable', alice, context)).toMatchObject({ allow: false, reason: 'role' });
      expect(decide(userOf('org-b', ['org_admin']), 'person.enable', alice, context)).toMatchObject({ allow: false, reason: 'other_person' });
    }
  });

  it("let an org admin reset the password of their own organisation's people only: not their own, not a switched-off account, not a provider's person", () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const alice = { kind: 'person' as const, userId: 'alice', organisationId: 'org-a', disabled: false, signsInThroughProvider: false };
    const admin = userOf('org-a', ['org_admin']);
    expect(decide(admin, 'person.reset-password', alice, context)).toEqual({ allow: true, reason: 'org_admin', via: null });
    expect(decide(userOf('org-a', ['member', 'security_admin', 'records_manager', 'auditor', 'dpo']), 'person.reset-password', alice, context)).toMatchObject({ allow: false, reason: 'role' });
    expect(decide({ ...admin, userId: 'alice' }, 'person.reset-password', alice, context)).toMatchObject({ allow: false, reason: 'self' });
    expect(decide(admin, 'person.reset-password', { ...alice, disabled: true }, context)).toMatchObject({ allow: false, reason: 'person_disabled' });
    expect(decide(admin, 'person.reset-password', { ...alice, signsInThroughProvider: true }, context)).toMatchObject({ allow: false, reason: 'signs_in_through_provider' });
    // Facts not given are refused (deny by default).
    expect(decide(admin, 'person.reset-password', { kind: 'person', userId: 'alice', organisationId: 'org-a' }, context).allow).toBe(false);
    // Another organisation's admin is refused as such, whatever state the person is in: the answer tells them nothing.
    for (const state of [alice, { ...alice, disabled: true }, { ...alice, signsInThroughProvider: true }]) {
      expect(decide(userOf('org-b', ['org_admin']), 'person.reset-password', state, context)).toMatchObject({ allow: false, reason: 'other_person' });
    }
    // The operator (the CLI) may, but only for someone a password is of use to.
    expect(decide(SYSTEM, 'person.reset-password', alice, context)).toMatchObject({ allow: true, reason: 'system' });
    expect(decide(SYSTEM, 'person.reset-password', { ...alice, disabled: true }, context)).toMatchObject({ allow: false, reason: 'person_disabled' });
    expect(decide(SYSTEM, 'person.reset-password', { ...alice, signsInThroughProvider: true }, context)).toMatchObject({ allow: false, reason: 'signs_in_through_provider' });
    expect(decide({ ...SYSTEM, kind: 'directory', organisationId: 'org-a' }, 'person.reset-password', alice, context)).toMatchObject({ allow: false, reason: 'directory_scope' });
  });

  it("tell who a person is to their own organisation's people only", () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const alice = { kind: 'person' as const, userId: 'alice', organisationId: 'org-a' };
    expect(decide(userOf('org-a', ['member']), 'person.identify', alice, context)).toMatchObject({ allow: true, reason: 'colleague' });
    expect(decide(userOf('org-b', ['member']), 'person.identify', alice, context).allow).toBe(false);
    expect(decide(userOf('org-b', ['org_admin', 'security_admin']), 'person.identify', alice, context).allow).toBe(false);
  });
});
