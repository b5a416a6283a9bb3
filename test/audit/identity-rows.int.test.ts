// A database administrator writes a way into an organisation that the identity features keep in the
// database: a SCIM token (the organisation's directory), an identity provider pointed at their own issuer
// (it signs in anyone of the organisation by e-mail address), or a link of their own provider subject to an
// org admin's account. Each would let them in; what must not happen is that it leaves no trace: `audit
// verify` names it, as it names a credential row written directly (credential-rows.int.test.ts).
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const CLI = { channel: 'cli' as const, clientAddress: null, requestId: null };
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each(DIALECTS)('identity rows written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** A provider, a SCIM token and a linked person, each made by Strongroom: verify is content. */
  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({});
    const actor = actorFor((await t.vault.store.repos.users.byId(admin.id))!, CLI);
    const provider = await t.vault.identityProviders.add(actor, org.id, {
      kind: 'oidc', name: 'North Shire', issuer: 'https://login.example.test/tenant/v2.0', clientId: 'strongroom', clientSecret: 'secret-from-entra', scopes: ['openid', 'email'],
    });
    await t.vault.identityProviders.update(actor, provider.id, { name: 'North Shire (Entra ID)', issuer: 'https://login.example.test/tenant/v2.0', clientId: 'strongroom', scopes: ['openid', 'email'] });
    const { token } = await t.vault.scim.tokens.create(actor, org.id, 'Entra ID provisioning');
    await t.vault.federatedSignIn.complete({ providerId: provider.id, subject: 'member-subject', email: member.email, emailVerified: true, name: null, groups: [], amr: [], acr: null }, CLI);
    await t.vault.audit.sequencer.flush();
    expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    return { t, org, admin, provider, token };
  }
  const problem = async (v: TestVault) => {
    const check = await v.vault.audit.verification.verify(systemActor());
    return check.ok ? '' : check.problem;
  };

  it('a SCIM token row inserted for an organisation does not work (its seal), and verify names it', async () => {
    const s = await setting();
    const id = randomUUID();
    await s.t.vault.store.db.insertInto('scim_tokens').values({ id, organisation_id: s.org.id, name: 'sync', secret_hash: sha256('srscim_chosen-by-the-dba'), created_at: new Date().toISOString(), created_by: null, last_used_at: null, revoked_at: null, seal: null }).execute();
    const used = await s.t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: 'Bearer srscim_chosen-by-the-dba' } });
    const unknown = await s.t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: 'Bearer srscim_never-issued-to-anyone' } });
    expect({ status: used.statusCode, body: used.body }).toEqual({ status: 401, body: unknown.body });
    const refused = await s.t.vault.store.db.selectFrom('audit_events').select(['reason', 'target_ids']).where('action', '=', 'auth.scim-token').where('decision', '=', 'deny').execute();
    expect(refused.map((r) => [r.reason, (JSON.parse(r.target_ids) as Record<string, string>).scimTokenId])).toEqual([['secrets_not_sealed', id]]);
    expect(await problem(s.t)).toBe(`SCIM token ${id} (organisation ${s.org.id}) matches no recorded creation: it was written into the database directly, not by Strongroom.`);
  });

  it("an existing SCIM token's secret hash swapped does not work, and is named by verify", async () => {
    const s = await setting();
    await s.t.vault.store.db.updateTable('scim_tokens').set({ secret_hash: sha256('srscim_chosen-by-the-dba') }).where('id', '=', s.token.id).execute();
    expect((await s.t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: 'Bearer srscim_chosen-by-the-dba' } })).statusCode).toBe(401);
    expect(await problem(s.t)).toBe(`SCIM token ${s.token.id} (organisation ${s.org.id}) matches no recorded creation: it was written into the database directly, not by Strongroom.`);
  });

  it("a provider's issuer pointed at the administrator's own, or its secret dropped, is named by verify", async () => {
    const s = await setting();
    await s.t.vault.store.db.updateTable('identity_providers').set({ settings: JSON.stringify({ issuer: 'https://dba.example.test', clientId: 'strongroom', scopes: ['openid', 'email'] }) }).where('id', '=', s.provider.id).execute();
    const message = `Identity provider ${s.provider.id} (oidc, organisation ${s.org.id}) matches none of its recorded settings: it was written into the database directly, not by Strongroom.`;
    expect(await problem(s.t)).toBe(message);
    const original = JSON.stringify({ issuer: 'https://login.example.test/tenant/v2.0', clientId: 'strongroom', scopes: ['openid', 'email'] });
    await s.t.vault.store.db.updateTable('identity_providers').set({ settings: original }).where('id', '=', s.provider.id).execute();
    expect(await problem(s.t)).toBe('');
    await s.t.vault.store.db.updateTable('identity_providers').set({ sealed_secret: null }).where('id', '=', s.provider.id).execute();
    expect(await problem(s.t)).toBe(message);
  });

  it("a provider row inserted, or the administrator's own subject linked to an org admin, is named by verify", async () => {
    const s = await setting();
    await s.t.vault.store.db.insertInto('external_identities').values({ provider_id: s.provider.id, subject: 'dba-subject', user_id: s.admin.id, linked_at: new Date().toISOString() }).execute();
    expect(await problem(s.t)).toBe(`The link of provider ${s.provider.id}'s subject to person ${s.admin.id} matches no recorded link: it was written into the database directly, not by Strongroom.`);
    await s.t.vault.store.db.deleteFrom('external_identities').where('subject', '=', 'dba-subject').execute();
    expect(await problem(s.t)).toBe('');
    const row = await s.t.vault.store.db.selectFrom('identity_providers').selectAll().where('id', '=', s.provider.id).executeTakeFirstOrThrow();
    const id = randomUUID();
    await s.t.vault.store.db.insertInto('identity_providers').values({ ...row, id, sealed_secret: null }).execute();
    expect(await problem(s.t)).toBe(`Identity provider ${id} (oidc, organisation ${s.org.id}) matches none of its recorded settings: it was written into the database directly, not by Strongroom.`);
  });
});
