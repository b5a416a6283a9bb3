// Who switched an account off decides who may switch it on (decide()'s `person.enable`): the directory
// only an account it switched off itself. A database administrator who rewrote an org admin's Disable as
// the directory's (users.disabled_by) let the directory's next active=true, which Entra re-sends for
// anyone still assigned, switch the account on, with `audit verify` content throughout. The binding a
// change records covers who switched the account off, so verify names the rewritten row.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';
import { PATCH, USER } from '../support/scim-schemas.js';

const clamd = useClamd();
const CLI = { channel: 'cli' as const, clientAddress: null, requestId: null };

describe.each(DIALECTS)('who switched an account off, rewritten in the database, on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const problem = async (v: TestVault) => {
    await v.vault.audit.sequencer.flush();
    const check = await v.vault.audit.verification.verify(systemActor());
    return check.ok ? '' : check.problem;
  };

  it("an org admin's Disable rewritten as the directory's is named by verify; the directory's and the admin's own are not", async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    const admin = await org.user({ roles: ['org_admin'] });
    const adminActor = actorFor((await t.vault.store.repos.users.byId(admin.id))!, CLI);
    const { secret } = await t.vault.scim.tokens.create(adminActor, org.id, 'Entra ID');
    const scim = (method: 'POST' | 'PATCH', url: string, body: unknown) => t!.app.inject({
      method, url: `/scim/v2${url}`, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/scim+json' }, payload: JSON.stringify(body),
    });
    const created = await scim('POST', '/Users', { schemas: [USER], userName: `${randomUUID().slice(0, 8)}@${org.slug}.gov.uk`, active: true });
    expect(created.statusCode, created.body).toBe(201);
    const person = created.json() as { id: string };
    // The directory's own switching off, and an admin's over it: both as Strongroom recorded them.
    expect((await scim('PATCH', `/Users/${person.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: false }] })).statusCode).toBe(200);
    expect(await problem(t)).toBe('');
    await t.vault.people.setDisabled(adminActor, person.id, true);
    expect(await t.vault.store.repos.users.byId(person.id)).toMatchObject({ disabled: true, disabledBy: 'admin' });
    expect(await problem(t)).toBe('');
    await t.vault.store.db.updateTable('users').set({ disabled_by: 'directory' }).where('id', '=', person.id).execute();
    expect(await problem(t)).toBe(`Person ${person.id} (organisation ${org.id}) differs from their latest recorded change (organisation, e-mail address, roles, teams, clearance or disabled): they were changed in the database directly, not by Strongroom.`);
  });
});
