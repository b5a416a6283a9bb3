// An org admin's Disable that commits while the directory's active=false (or DELETE) for the same person is
// in flight stays the admin's: the directory's switching off, reading the account as it was before the
// admin's, recorded itself as who switched it off, and its next active=true switched the account on again.
// The directory's switching off is decided on the account as its own transaction finds it.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { User } from '../../src/domain/types.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestOrganisation, type TestUser } from '../support/vault.js';
import { PATCH, USER } from '../support/scim-schemas.js';

const clamd = useClamd();
const REQUEST = { channel: 'web' as const, clientAddress: '198.51.100.9', requestId: null };

describe.each(DIALECTS)("the directory switching off an account an org admin disables meanwhile on %s", (dialect) => {
  const t = useTestVault(dialect, clamd);
  let org: TestOrganisation;
  let orgAdmin: TestUser;
  let token: string;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    orgAdmin = await org.user({ roles: ['org_admin'] });
    token = (await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID')).secret;
  });

  const scim = (method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => t.app.inject({
    method, url: `/scim/v2${url}`,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  const provisioned = async () => {
    const res = await scim('POST', '/Users', { schemas: [USER], externalId: randomUUID(), userName: `${randomUUID().slice(0, 8)}@${org.slug}.gov.uk`, active: true });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string };
  };
  /** The admin's Disable lands just after the directory's request has read the account. */
  const adminDisablesMeanwhile = (id: string) => {
    const users = t.vault.store.repos.users;
    const byId = users.byId.bind(users);
    let fired = false;
    return vi.spyOn(users, 'byId').mockImplementation(async (wanted: string): Promise<User | undefined> => {
      const user = await byId(wanted);
      if (wanted === id && !fired) {
        fired = true;
        await t.vault.people.setDisabled(actorFor((await byId(orgAdmin.id))!, REQUEST), id, true);
      }
      return user;
    });
  };
  const account = async (id: string) => {
    const user = (await t.vault.store.repos.users.byId(id))!;
    return { disabled: user.disabled, disabledBy: user.disabledBy };
  };

  for (const [how, off] of [
    ['PATCH active=false', (id: string) => scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: false }] })],
    ['DELETE', (id: string) => scim('DELETE', `/Users/${id}`)],
  ] as const) {
    it(`${how}: the admin's Disable stays the admin's, and the directory's active=true leaves the account off`, async () => {
      const person = await provisioned();
      const spy = adminDisablesMeanwhile(person.id);
      try {
        expect((await off(person.id)).statusCode).toBeLessThan(300);
      } finally {
        spy.mockRestore();
      }
      expect(await account(person.id)).toEqual({ disabled: true, disabledBy: 'admin' });
      if (how === 'DELETE') {
        expect((await scim('POST', '/Users', { schemas: [USER], userName: (await t.vault.store.repos.users.byId(person.id))!.email, active: true })).statusCode).toBe(201);
      } else {
        expect((await scim('PATCH', `/Users/${person.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: true }] })).statusCode).toBe(200);
      }
      expect(await account(person.id)).toEqual({ disabled: true, disabledBy: 'admin' });
    });
  }
});
