// Switching someone off through SCIM (Entra ID's active=false, or DELETE) is revocation: their web session,
// API token and WebDAV app password stop working on the very next request, and switching them on again
// brings none of them back. The org admin's "disable" does the same. A SCIM token the person created is
// revoked too: otherwise a disabled org admin switches themselves on again with it.
import { beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, type TestOrganisation, type TestUser } from '../support/vault.js';
import { postSignIn } from './support.js';
import { GROUP, PATCH } from '../support/scim-schemas.js';

const clamd = useClamd();

describe.each(DIALECTS)('switching a person off revokes everything on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let org: TestOrganisation;
  let token: string;
  beforeAll(async () => {
    org = await createOrganisation(t.vault);
    token = (await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID')).secret;
  });

  /** A person signed in on the web, with an API token and a WebDAV app password, each shown to work. */
  async function equipped(): Promise<{ person: TestUser; session: string; appPassword: string; check: (app: FastifyInstance) => Promise<number[]> }> {
    const person = await org.user({ roles: ['member'], teams: ['hr'] });
    const signIn = await postSignIn(t.app, '198.51.100.20', person.email, TEST_PASSWORD);
    expect(signIn.statusCode, signIn.body).toBe(303);
    const session = signIn.cookies.find((c) => c.name === 'strongroom-session')!.value;
    const appPassword = (await t.vault.credentials.createCredential(systemActor(), person.id, 'app_password', 'laptop')).secret;
    const basic = `Basic ${Buffer.from(`${person.email}:${appPassword}`).toString('base64')}`;
    const check = async (app: FastifyInstance) => [
      (await app.inject({ method: 'GET', url: '/account', cookies: { 'strongroom-session': session } })).statusCode,
      (await app.inject({ method: 'GET', url: '/api/v1/collections', headers: { authorization: `Bearer ${person.token}` } })).statusCode,
      (await app.inject({ method: 'PROPFIND' as 'GET', url: `/dav/${org.slug}/`, headers: { authorization: basic, depth: '0' } })).statusCode,
    ];
    expect(await check(t.app)).toEqual([200, 200, 207]);
    return { person, session, appPassword, check };
  }
  const scim = (method: 'GET' | 'PATCH' | 'DELETE', url: string, body?: unknown) => t.app.inject({
    method, url: `/scim/v2${url}`, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  const scimPost = (url: string, body: unknown) => t.app.inject({
    method: 'POST', url: `/scim/v2${url}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, payload: JSON.stringify(body),
  });
  const REFUSED = [303, 401, 401];

  it('PATCH active "False" (Entra\'s shape): the session, token and app password fail on the next request, and stay dead after reactivation', async () => {
    const { person, check } = await equipped();
    // Entra finds the existing account by userName, then switches it off.
    const found = (await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${person.email}"`)}`)).json();
    expect(found.Resources.map((r: { id: string }) => r.id)).toEqual([person.id]);
    const off = await scim('PATCH', `/Users/${person.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { active: 'False' } }] });
    expect(off.statusCode, off.body).toBe(200);
    expect(await check(t.app)).toEqual(REFUSED);
    // Revoked, not just refused while the flag is set.
    const credentials = await t.vault.store.repos.users.listCredentials(person.id);
    expect(credentials.map((c) => c.revokedAt === null)).toEqual([false, false]);
    const revocations = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'credential.revoke').where('target_organisation_id', '=', org.id).execute();
    expect(revocations.filter((e) => e.target_ids.includes(person.id)).map((e) => [e.decision, e.reason])).toEqual([['allow', 'directory'], ['allow', 'directory']]);
    const on = await scim('PATCH', `/Users/${person.id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: true }] });
    expect(on.json().active).toBe(true);
    expect(await check(t.app)).toEqual(REFUSED);
  });

  it('DELETE does the same', async () => {
    const { person, check } = await equipped();
    expect((await scim('DELETE', `/Users/${person.id}`)).statusCode).toBe(204);
    expect(await check(t.app)).toEqual(REFUSED);
  });

  it('so does the org admin\'s disable', async () => {
    const { person, check } = await equipped();
    await t.vault.people.setDisabled(systemActor(), person.id, true);
    expect(await check(t.app)).toEqual(REFUSED);
    await t.vault.people.setDisabled(systemActor(), person.id, false);
    expect(await check(t.app)).toEqual(REFUSED);
    expect((await t.vault.store.repos.users.listCredentials(person.id)).every((c) => c.revokedAt !== null)).toBe(true);
  });

  describe('the SCIM tokens a person created', () => {
    const REQUEST = { channel: 'web' as const, clientAddress: '198.51.100.1', requestId: null };
    const asPerson = async (id: string) => actorFor((await t.vault.identity.userById(id))!, REQUEST);
    const reEnable = (secret: string, id: string) => t.app.inject({
      method: 'PATCH', url: `/scim/v2/Users/${id}`, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({ schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] }),
    });
    const revocationsOf = async (tokenId: string) => (await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'scim-token.revoke').where('target_organisation_id', '=', org.id).execute())
      .filter((e) => JSON.parse(e.target_ids).scimTokenId === tokenId);

    it('are revoked when an org admin disables them, so a leaver cannot switch themselves on again', async () => {
      const leaver = await org.user({ roles: ['org_admin'] });
      const other = await org.user({ roles: ['org_admin'] });
      const theirs = await t.vault.scim.tokens.create(await asPerson(leaver.id), org.id, 'Entra ID (made by the leaver)');
      const others = await t.vault.scim.tokens.create(await asPerson(other.id), org.id, 'Entra ID (made by another admin)');
      await t.vault.people.setDisabled(await asPerson(other.id), leaver.id, true);

      expect((await reEnable(theirs.secret, leaver.id)).statusCode).toBe(401);
      expect((await t.vault.identity.userById(leaver.id))!.disabled).toBe(true);
      expect((await t.vault.store.repos.scim.token(theirs.token.id))!.revokedAt).not.toBeNull();
      const audited = await revocationsOf(theirs.token.id);
      expect(audited.map((e) => [e.actor_user_id, e.decision, JSON.parse(e.target_ids).userId])).toEqual([[other.id, 'allow', leaver.id]]);
      // Tokens other people made are untouched.
      expect((await t.vault.store.repos.scim.token(others.token.id))!.revokedAt).toBeNull();
      expect((await t.app.inject({ method: 'GET', url: '/scim/v2/Users?count=1', headers: { authorization: `Bearer ${others.secret}` } })).statusCode).toBe(200);
    });

    it('are revoked when the directory switches them off, and the revocation names the directory\'s token apart', async () => {
      const leaver = await org.user({ roles: ['org_admin'] });
      const theirs = await t.vault.scim.tokens.create(await asPerson(leaver.id), org.id, 'Entra ID (made by the leaver)');
      const acting = (await t.vault.scim.tokens.list(systemActor(), org.id)).find((k) => k.name === 'Entra ID' && k.revokedAt === null)!;
      expect((await scim('DELETE', `/Users/${leaver.id}`)).statusCode).toBe(204);
      expect((await reEnable(theirs.secret, leaver.id)).statusCode).toBe(401);
      const audited = await revocationsOf(theirs.token.id);
      expect(audited.map((e) => [e.reason, JSON.parse(e.target_ids).actingScimTokenId])).toEqual([['directory', acting.id]]);
    });

    // The attack review of 4 December (evening): an org admin demoted, not switched off, kept the token
    // they made, and with it put themselves back in the directory's admin group.
    it('are revoked when an org admin takes away the role they were made with, and kept when a role that keeps it changes', async () => {
      const mover = await org.user({ roles: ['org_admin'] });
      const other = await org.user({ roles: ['org_admin'] });
      const theirs = await t.vault.scim.tokens.create(await asPerson(mover.id), org.id, 'Entra ID (made by the mover)');
      await t.vault.people.update(await asPerson(other.id), mover.id, { teams: ['payroll'] });
      expect((await t.vault.store.repos.scim.token(theirs.token.id))!.revokedAt).toBeNull();

      await t.vault.people.update(await asPerson(other.id), mover.id, { roles: ['member'] });
      expect((await t.vault.store.repos.scim.token(theirs.token.id))!.revokedAt).not.toBeNull();
      expect((await t.app.inject({ method: 'GET', url: '/scim/v2/Users?count=1', headers: { authorization: `Bearer ${theirs.secret}` } })).statusCode).toBe(401);
      expect((await revocationsOf(theirs.token.id)).map((e) => [e.actor_user_id, JSON.parse(e.target_ids).userId])).toEqual([[other.id, mover.id]]);
    });

    it('are revoked when the directory takes their maker out of the group that made them an org admin', async () => {
      const mover = await org.user({ roles: ['org_admin'] });
      await t.vault.store.repos.federation.replaceGroupMappings(org.id, [{ organisationId: org.id, group: 'Strongroom Admins', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL' }]);
      const admins = (await scimPost('/Groups', { schemas: [GROUP], displayName: 'Strongroom Admins', members: [{ value: mover.id }] })).json();
      expect((await t.vault.identity.userById(mover.id))!.roles).toEqual(['org_admin']);
      const theirs = await t.vault.scim.tokens.create(await asPerson(mover.id), org.id, 'Entra ID (made by the mover)');

      const left = await scim('PATCH', `/Groups/${admins.id}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${mover.id}"]` }] });
      expect(left.statusCode, left.body).toBe(204);
      expect((await t.vault.identity.userById(mover.id))!.roles).toEqual(['member']);
      expect((await t.vault.store.repos.scim.token(theirs.token.id))!.revokedAt).not.toBeNull();
      expect((await revocationsOf(theirs.token.id)).map((e) => e.reason)).toEqual(['directory']);
    });
  });
});
