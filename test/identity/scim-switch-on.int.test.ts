// Who may switch an account on again (docs/identity.md): the directory only one it switched off itself. An
// account an org admin disabled (the Users page, or the service the CLI and REST would use) stays off when
// the directory sends active=true (PATCH, PUT, or a POST after DELETE): the refusal is audited as a refused
// user.enable (reason disabled_by_admin), the rest of the request is applied, and the answer shows the account
// inactive. Only an org admin's Enable undoes it, and clears the mark. On both dialects, over real HTTP.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { FederatedSignInRefused } from '../../src/services/federated-sign-in.service.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';
import { insertJustInTimeProvider, scimRequester } from './support.js';
import { PATCH, USER } from '../support/scim-schemas.js';

const clamd = useClamd();
const REQUEST = { channel: 'web' as const, clientAddress: '198.51.100.9', requestId: null };

describe.each(DIALECTS)('switching an account on again through SCIM on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let org: TestOrganisation;
  let orgAdmin: TestUser;
  let token: string;
  let tokenId: string;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    orgAdmin = await org.user({ roles: ['org_admin'] });
    const made = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID');
    token = made.secret;
    tokenId = made.token.id;
  });

  const scim = scimRequester(() => t.app, () => token);
  const entraUser = (userName: string, extra: Record<string, unknown> = {}) => ({
    schemas: [USER], externalId: randomUUID(), userName, active: true,
    name: { formatted: 'Sam Jones', givenName: 'Sam', familyName: 'Jones' }, ...extra,
  });
  /** A person the directory provisioned, switched on. */
  const provisioned = async (extra: Record<string, unknown> = {}) => {
    const res = await scim('POST', '/Users', entraUser(`${randomUUID().slice(0, 8)}@${org.slug}.gov.uk`, extra));
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; userName: string; active: boolean };
  };
  const switchOn = (id: string, extra: Record<string, unknown> = {}) =>
    scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { active: 'True', ...extra } }] });
  const switchOff = (id: string) => scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: false }] });
  const account = async (id: string) => {
    const user = (await t.vault.store.repos.users.byId(id))!;
    return { disabled: user.disabled, disabledBy: user.disabledBy };
  };
  const OFF_BY_ADMIN = { disabled: true, disabledBy: 'admin' };
  const OFF_BY_DIRECTORY = { disabled: true, disabledBy: 'directory' };
  const ON = { disabled: false, disabledBy: null };
  /** The user.enable and user.disable events about one person, oldest first: [action, decision, reason, actor user id, SCIM token id]. */
  const switches = async (userId: string) => (await t.vault.store.db.selectFrom('audit_events').selectAll()
    .where('target_organisation_id', '=', org.id).where('action', 'in', ['user.enable', 'user.disable']).orderBy('id').execute())
    .filter((e) => JSON.parse(e.target_ids).userId === userId)
    .map((e) => [e.action, e.decision, e.reason, e.actor_user_id, JSON.parse(e.target_ids).scimTokenId ?? null]);
  const asAdmin = async () => actorFor((await t.vault.identity.userById(orgAdmin.id))!, REQUEST);

  // Signed in once: a second sign-in within 30 seconds would reuse the TOTP code, which is refused.
  let web: FormClient | null = null;
  const adminOnTheWeb = async () => {
    if (web) return web;
    const address = t.app.server.address();
    web = new FormClient(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    await web.signIn(orgAdmin.email, undefined, await enrolTotp(t.vault, orgAdmin.id));
    return web;
  };
  const press = async (client: FormClient, userId: string, step: 'disable' | 'enable') => {
    const page = await client.get(`/admin/users/${userId}`);
    const res = await client.post(`/admin/users/${userId}/${step}`, { _csrf: FormClient.csrf(page.text) });
    expect(res.status, res.text.slice(0, 300)).toBe(303);
  };

  it("an org admin's Disable on the Users page: the directory's active=true (PATCH, then PUT) is refused and audited, the rest applied; only the admin's Enable undoes it", async () => {
    const client = await adminOnTheWeb();
    const person = await provisioned();
    await press(client, person.id, 'disable');
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    expect((await client.get(`/admin/users/${person.id}`)).text).toContain('Disabled by an org admin (the directory cannot enable it)');

    // Entra's shape: Replace with no path, active as a string, next to another attribute.
    const patched = await switchOn(person.id, { displayName: 'Sam Jones-Khan' });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id: person.id, active: false, displayName: 'Sam Jones-Khan' });
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    expect((await t.vault.identity.userById(person.id))!.name).toBe('Sam Jones-Khan');

    const put = await scim('PUT', `/Users/${person.id}`, { schemas: [USER], userName: person.userName, displayName: 'Sam Khan', active: true });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ active: false, displayName: 'Sam Khan' });
    expect((await scim('GET', `/Users/${person.id}`)).json().active).toBe(false);
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    expect(await switches(person.id)).toEqual([
      ['user.disable', 'allow', 'org_admin', orgAdmin.id, null],
      ['user.enable', 'deny', 'disabled_by_admin', null, tokenId],
      ['user.enable', 'deny', 'disabled_by_admin', null, tokenId],
    ]);

    // The admin's Enable clears the mark: the directory's own switching off is then its to undo.
    await press(client, person.id, 'enable');
    expect(await account(person.id)).toEqual(ON);
    expect((await switchOff(person.id)).json().active).toBe(false);
    expect(await account(person.id)).toEqual(OFF_BY_DIRECTORY);
    expect((await client.get(`/admin/users/${person.id}`)).text).toContain('Disabled by the directory (SCIM)');
    expect((await switchOn(person.id)).json().active).toBe(true);
    expect(await account(person.id)).toEqual(ON);
    expect((await switches(person.id)).slice(3)).toEqual([
      ['user.enable', 'allow', 'org_admin', orgAdmin.id, null],
      ['user.disable', 'allow', 'directory', null, tokenId],
      ['user.enable', 'allow', 'directory', null, tokenId],
    ]);
  });

  it('the directory switching off an account an admin disabled leaves it the organisation\'s decision', async () => {
    const person = await provisioned();
    await t.vault.people.setDisabled(await asAdmin(), person.id, true);
    expect((await switchOff(person.id)).json().active).toBe(false);
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    expect((await switchOn(person.id)).json().active).toBe(false);
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
  });

  it("an admin's Disable over the directory's makes it the organisation's decision", async () => {
    const person = await provisioned();
    expect((await switchOff(person.id)).json().active).toBe(false);
    expect(await account(person.id)).toEqual(OFF_BY_DIRECTORY);
    await t.vault.people.setDisabled(await asAdmin(), person.id, true);
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    expect((await switchOn(person.id)).json().active).toBe(false);
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    expect((await switches(person.id)).at(-1)).toEqual(['user.enable', 'deny', 'disabled_by_admin', null, tokenId]);
  });

  it('DELETE and POST again brings the person back into SCIM, still switched off, when an org admin disabled them', async () => {
    const person = await provisioned();
    await t.vault.people.setDisabled(await asAdmin(), person.id, true);
    expect((await scim('DELETE', `/Users/${person.id}`)).statusCode).toBe(204);
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    const again = await scim('POST', '/Users', entraUser(person.userName));
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json()).toMatchObject({ id: person.id, active: false });
    expect(await account(person.id)).toEqual(OFF_BY_ADMIN);
    expect((await switches(person.id)).at(-1)).toEqual(['user.enable', 'deny', 'disabled_by_admin', null, tokenId]);
    // One the directory removed itself comes back on, as before.
    const theirs = await provisioned();
    expect((await scim('DELETE', `/Users/${theirs.id}`)).statusCode).toBe(204);
    expect(await account(theirs.id)).toEqual(OFF_BY_DIRECTORY);
    expect((await scim('POST', '/Users', entraUser(theirs.userName))).json()).toMatchObject({ id: theirs.id, active: true });
    expect(await account(theirs.id)).toEqual(ON);
  });

  it('a person created switched off (POST active=false) is off, and the directory\'s to switch on', async () => {
    const person = await provisioned({ active: false });
    expect(person.active).toBe(false);
    expect(await account(person.id)).toEqual(OFF_BY_DIRECTORY);
    expect((await switchOn(person.id)).json().active).toBe(true);
    expect(await account(person.id)).toEqual(ON);
  });

  it('a federated sign-in of a person an org admin disabled is still refused after the directory sent active=true', async () => {
    const provider = await insertJustInTimeProvider(t.vault, org.id);
    const person = await provisioned();
    const who = { providerId: provider.id, subject: randomUUID(), email: person.userName, emailVerified: true, name: 'Sam Jones', groups: [], amr: ['mfa'], acr: null };
    expect((await t.vault.federatedSignIn.complete(who, REQUEST)).user.id).toBe(person.id);
    await t.vault.people.setDisabled(await asAdmin(), person.id, true);
    expect((await switchOn(person.id)).json().active).toBe(false);
    const refused = await t.vault.federatedSignIn.complete(who, REQUEST).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(FederatedSignInRefused);
    expect((refused as FederatedSignInRefused).reason).toBe('disabled');
  });
});
