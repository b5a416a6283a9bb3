// A database administrator (any row, but neither the master key nor the signing key) writes the group
// mapping: a directory group made to grant org_admin, or a group added, so that the next sign-in or SCIM
// sync grants a role no one gave, recorded as an ordinary change to the person. `audit verify` must name
// a mapping that is not what its organisation's latest setting made it, and not name what org admins set.
import { afterEach, describe, expect, it } from 'vitest';
import { auditEvent } from '../../src/services/audit-events.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('audit verify and group mapping rows written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** Two organisations: one whose admin set a mapping of two groups (then changed it), one with none. */
  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const v = t;
    const north = await createOrganisation(v.vault);
    const south = await createOrganisation(v.vault);
    const admin = await north.user({ roles: ['member', 'org_admin'] });
    const adminActor = { ...systemActor('api'), kind: 'user' as const, userId: admin.id, organisationId: north.id, roles: ['member', 'org_admin'] as const };
    const put = (mappings: { group: string; roles?: string[]; teams?: string[]; clearance?: string }[]) =>
      v.app.inject({ method: 'PUT', url: `/api/v1/organisations/${north.slug}/group-mappings`, headers: { authorization: `Bearer ${admin.token}` }, payload: { mappings } });
    expect((await put([{ group: 'grp-hr', teams: ['hr'] }])).statusCode).toBe(200);
    expect((await put([{ group: 'grp-payroll', teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' }, { group: 'grp-hr', roles: ['member'], teams: ['hr'] }])).statusCode).toBe(200);
    const db = v.vault.store.db;
    const verify = () => v.vault.audit.verification.verify(systemActor());
    const expectNamed = async (...words: string[]) => {
      const check = await verify();
      expect(check.ok).toBe(false);
      for (const w of words) expect(check.ok ? '' : check.problem).toContain(w);
    };
    return { v, db, north, south, adminActor, put, verify, expectNamed };
  }

  it('vouches for the mappings org admins set, and for an organisation with none', async () => {
    const s = await setting();
    expect(await s.verify()).toMatchObject({ ok: true });
    // Emptied honestly: no rows, and a setting of no groups.
    expect((await s.put([])).statusCode).toBe(200);
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a group made to grant a role, a group added and a group removed', async () => {
    const s = await setting();
    await s.db.updateTable('group_mappings').set({ roles: JSON.stringify(['member', 'org_admin']) }).where('organisation_id', '=', s.north.id).where('group_name', '=', 'grp-hr').execute();
    await s.expectNamed(`Organisation ${s.north.id}'s group mapping (2 groups) is not what its latest recorded setting (2 groups) made it`, 'written into the database directly');
    await s.db.updateTable('group_mappings').set({ roles: JSON.stringify(['member']) }).where('organisation_id', '=', s.north.id).where('group_name', '=', 'grp-hr').execute();
    expect(await s.verify()).toMatchObject({ ok: true });

    await s.db.insertInto('group_mappings').values({ organisation_id: s.north.id, group_name: 'grp-admins', roles: JSON.stringify(['org_admin']), teams: '[]', clearance: 'SECRET' }).execute();
    await s.expectNamed(`Organisation ${s.north.id}'s group mapping (3 groups) is not what its latest recorded setting (2 groups) made it`);
    await s.db.deleteFrom('group_mappings').where('organisation_id', '=', s.north.id).where('group_name', '=', 'grp-admins').execute();

    await s.db.deleteFrom('group_mappings').where('organisation_id', '=', s.north.id).where('group_name', '=', 'grp-payroll').execute();
    await s.expectNamed(`Organisation ${s.north.id}'s group mapping (1 group) is not what its latest recorded setting (2 groups) made it`);
  });

  it('names a mapping set for an organisation that never set one', async () => {
    const s = await setting();
    await s.db.insertInto('group_mappings').values({ organisation_id: s.south.id, group_name: 'everyone', roles: JSON.stringify(['org_admin']), teams: '[]', clearance: null }).execute();
    await s.expectNamed(`Organisation ${s.south.id}'s group mapping (1 group) was set by no recorded change`);
  });

  it('checks a mapping last set before settings carried a binding by its number of groups', async () => {
    const s = await setting();
    // As a release before 5 December 2026 recorded a setting: the number of groups, no binding.
    const south = s.south.id;
    const legacyAdmin = { ...s.adminActor, organisationId: south };
    await s.db.insertInto('group_mappings').values({ organisation_id: south, group_name: 'staff', roles: JSON.stringify(['member']), teams: '[]', clearance: null }).execute();
    await s.v.vault.store.repos.audit.insert([auditEvent(legacyAdmin, 'identity.group-mappings', { organisationId: south, ids: { groups: '1' } }, { allow: true, reason: 'org_admin', via: null }, new Date())]);
    expect(await s.verify()).toMatchObject({ ok: true });
    await s.db.insertInto('group_mappings').values({ organisation_id: south, group_name: 'admins', roles: JSON.stringify(['org_admin']), teams: '[]', clearance: null }).execute();
    await s.expectNamed(`Organisation ${south}'s group mapping (2 groups) is not what its latest recorded setting (1 group) made it`);
  });
});
