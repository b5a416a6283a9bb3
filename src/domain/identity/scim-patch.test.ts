import { describe, expect, it } from 'vitest';
import { PATCH_OP_SCHEMA, ScimRequestError, groupPatch, userPatch } from './scim-patch.js';

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP_SCHEMA], Operations });
const refusal = (work: () => unknown): [string, string] => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimRequestError);
    return [(error as ScimRequestError).scimType, (error as Error).message];
  }
  throw new Error('accepted');
};

describe('SCIM PATCH of a User, in Entra ID\'s shapes', () => {
  it('reads Replace with a path, with no path, and active as a boolean or the string "False"', () => {
    expect(userPatch(patch({ op: 'Replace', path: 'active', value: false }))).toEqual({ active: false });
    expect(userPatch(patch({ op: 'Replace', value: { active: 'False' } }))).toEqual({ active: false });
    expect(userPatch(patch({ op: 'replace', path: 'active', value: 'True' }))).toEqual({ active: true });
    expect(userPatch(patch(
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
      { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
    ))).toEqual({ familyName: 'updatedFamilyName' });
    expect(userPatch(patch({ op: 'Add', path: 'urn:ietf:params:scim:schemas:core:2.0:User:userName', value: 'x@y.test' }, { op: 'Add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', value: 'm' })))
      .toEqual({ userName: 'x@y.test' });
    expect(userPatch(patch({ op: 'Remove', path: 'externalId' }))).toEqual({ externalId: null });
  });

  it('refuses what it cannot apply, with the SCIM error type', () => {
    expect(refusal(() => userPatch({ Operations: [] }))).toEqual(['invalidSyntax', `A PATCH body must list the schema ${PATCH_OP_SCHEMA}.`]);
    expect(refusal(() => userPatch(patch()))).toEqual(['invalidSyntax', 'A PATCH body must have a non-empty "Operations" list.']);
    expect(refusal(() => userPatch(patch({ op: 'Move', path: 'active', value: true })))).toEqual(['invalidSyntax', 'Operation 1 has op "Move"; it must be add, replace or remove.']);
    expect(refusal(() => userPatch(patch({ op: 'Replace', path: 'active', value: 'no' })))).toEqual(['invalidValue', 'active must be true or false.']);
    expect(refusal(() => userPatch(patch({ op: 'Replace', path: 'active' })))).toEqual(['invalidSyntax', 'Operation 1 (replace) needs a value.']);
    expect(refusal(() => userPatch(patch({ op: 'Remove', path: 'userName' })))).toEqual(['mutability', 'userName is required and cannot be removed.']);
    expect(refusal(() => userPatch(patch({ op: 'Remove' })))).toEqual(['noTarget', 'Operation 1 (remove) needs a path.']);
  });
});

describe('SCIM PATCH of a Group, in Entra ID\'s shapes', () => {
  it('adds and removes members by value, or by a members[value eq "…"] path, and renames', () => {
    expect(groupPatch(patch({ op: 'Add', path: 'members', value: [{ $ref: null, value: 'u1' }, { $ref: null, value: 'u2' }] })))
      .toEqual({ addMembers: ['u1', 'u2'], removeMembers: [] });
    expect(groupPatch(patch({ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u1' }] }))).toEqual({ addMembers: [], removeMembers: ['u1'] });
    expect(groupPatch(patch({ op: 'remove', path: 'members[value eq "u3"]' }))).toEqual({ addMembers: [], removeMembers: ['u3'] });
    expect(groupPatch(patch({ op: 'Replace', path: 'displayName', value: 'Payroll' }))).toEqual({ displayName: 'Payroll', addMembers: [], removeMembers: [] });
    expect(groupPatch(patch({ op: 'Replace', value: { displayName: 'HR', externalId: 'e1' } }))).toEqual({ displayName: 'HR', externalId: 'e1', addMembers: [], removeMembers: [] });
  });

  it('refuses paths it does not keep and members without a value', () => {
    expect(refusal(() => groupPatch(patch({ op: 'Add', path: 'owners', value: 'x' })))).toEqual(['invalidPath', 'The path "owners" is not a Group attribute Strongroom keeps (displayName, externalId, members).']);
    expect(refusal(() => groupPatch(patch({ op: 'Remove', path: 'members[display eq "x"]' })))).toEqual(['invalidPath', 'The path "members[display eq "x"]" is not supported: use members[value eq "<user id>"].']);
    expect(refusal(() => groupPatch(patch({ op: 'Add', path: 'members', value: [{ display: 'x' }] })))).toEqual(['invalidValue', 'Member 1 must be an object with the user\'s id as "value".']);
  });
});
