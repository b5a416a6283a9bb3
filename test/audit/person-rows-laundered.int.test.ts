// A database administrator's direct change to a person is not laundered by the next change Strongroom
// makes to them. Each change's event records the state it left, read back after the write; a change
// made to someone an administrator had edited in the database recorded the edited state too (the
// roles, clearance or address the DBA wrote came through), and `audit verify` was content from then
// on. Each change now also records the state it found, and verify names a person whose change found
// them other than as their previous change left them.
import { afterEach, describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const CLI = { channel: 'cli' as const, clientAddress: null, requestId: null };

describe.each(DIALECTS)('a direct change followed by a recorded one on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({ teams: ['hr'], clearance: 'OFFICIAL' });
    const adminActor = actorFor((await t.vault.store.repos.users.byId(admin.id))!, CLI);
    expect(await problem(t)).toBe('');
    return { t, org, admin, member, adminActor };
  }
  const problem = async (v: TestVault) => {
    await v.vault.audit.sequencer.flush();
    const check = await v.vault.audit.verification.verify(systemActor());
    return check.ok ? '' : check.problem;
  };
  const foundChanged = (id: string, organisationId: string) =>
    `Person ${id} (organisation ${organisationId}) was not as their previous recorded change left them when Strongroom next changed them or mailed them a sign-in link (organisation, e-mail address, roles, teams, clearance or disabled): they were changed in the database directly, not by Strongroom.`;

  it("an admin's change of teams after a DBA made the person org admin does not vouch for the role", async () => {
    const s = await setting();
    await s.t.vault.store.db.updateTable('users').set({ roles: '["org_admin"]', mfa_enabled: 1 }).where('id', '=', s.member.id).execute();
    await s.t.vault.people.update(s.adminActor, s.member.id, { teams: ['hr', 'payroll'] });
    expect(await s.t.vault.store.repos.users.byId(s.member.id)).toMatchObject({ roles: ['org_admin'] });
    expect(await problem(s.t)).toBe(foundChanged(s.member.id, s.org.id));
  });

  it("an admin's Disable after a DBA raised the clearance does not vouch for it", async () => {
    const s = await setting();
    await s.t.vault.store.db.updateTable('users').set({ clearance: 'SECRET' }).where('id', '=', s.member.id).execute();
    await s.t.vault.people.setDisabled(s.adminActor, s.member.id, true);
    expect(await problem(s.t)).toBe(foundChanged(s.member.id, s.org.id));
  });

  it('recorded changes one after another, in one transaction or many, leave verify content', async () => {
    const s = await setting();
    await s.t.vault.people.update(s.adminActor, s.member.id, { teams: ['hr', 'payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    await s.t.vault.people.setDisabled(s.adminActor, s.member.id, true);
    await s.t.vault.people.setDisabled(s.adminActor, s.member.id, false);
    await s.t.vault.people.update(s.adminActor, s.member.id, { roles: ['records_manager'] });
    expect(await problem(s.t)).toBe('');
  });
});
