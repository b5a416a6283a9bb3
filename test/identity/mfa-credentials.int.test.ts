// People whose roles need a second factor cannot use API tokens, app passwords or WebDAV until
// they have set it up: a stolen password plus a token made for them must not skip MFA.
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { addPerson, enrolTotp } from '../ui/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('credentials before MFA on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let org: TestOrganisation;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
  });

  const credentials = async (roles: string[]) => {
    const person = await addPerson(t.vault, org.slug, { roles, teams: ['finance'] });
    const token = (await t.vault.credentials.createCredential(systemActor(), person.id, 'api_token', 'script')).secret;
    const appPassword = (await t.vault.credentials.createCredential(systemActor(), person.id, 'app_password', 'drive')).secret;
    return { person, token, basic: `Basic ${Buffer.from(`${person.email}:${appPassword}`).toString('base64')}` };
  };

  it.each([['org_admin'], ['security_admin'], ['records_manager']])('refuses the API token of a %s without MFA, telling them to set it up', async (role) => {
    const { token } = await credentials([role]);
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/collections', headers: { authorization: `Bearer ${token}` } });
    const problem = expectProblem(res, 403);
    expect(problem.detail).toContain('two-factor authentication');
    expect(problem.detail).toContain('web interface');
  });

  it('refuses WebDAV for an org admin without MFA, by app password and by API token', async () => {
    const { token, basic } = await credentials(['org_admin']);
    for (const authorization of [basic, `Bearer ${token}`]) {
      const res = await t.app.inject({ method: 'PROPFIND' as 'GET', url: `/dav/${org.slug}/`, headers: { authorization, depth: '0' } });
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('two-factor authentication');
    }
  });

  it('lets the same credentials work once MFA is set up, and stop again when an admin resets it', async () => {
    const { person, token, basic } = await credentials(['org_admin']);
    await enrolTotp(t.vault, person.id);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/collections', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PROPFIND' as 'GET', url: `/dav/${org.slug}/`, headers: { authorization: basic, depth: '0' } })).statusCode).toBe(207);
    await t.vault.store.repos.users.resetMfa(person.id);
    expectProblem(await t.app.inject({ method: 'GET', url: '/api/v1/collections', headers: { authorization: `Bearer ${token}` } }), 403);
  });

  it('leaves members, whose roles need no second factor, free to use tokens', async () => {
    const { token, basic } = await credentials(['member']);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/collections', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PROPFIND' as 'GET', url: `/dav/${org.slug}/`, headers: { authorization: basic, depth: '0' } })).statusCode).toBe(207);
  });
});
