// Adding a person is no oracle of other organisations' accounts: an org admin (the Users page) gets one
// answer for every address outside their organisation's e-mail domains, whether another council's account
// holds it or nobody does; inside them they are told what they legitimately need (docs/identity.md#adding-people).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('adding people across organisations on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let north: TestOrganisation;
  let south: TestOrganisation;
  let northAdmin: TestUser;
  let southPerson: TestUser;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    north = await createOrganisation(t.vault);
    south = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), north.slug, { add: [`${north.slug}.test`] });
    await t.vault.organisations.changeEmailDomains(systemActor(), south.slug, { add: [`${south.slug}.test`] });
    northAdmin = await north.user({ roles: ['org_admin'] });
    southPerson = await south.user({});
  });
  afterAll(async () => t?.close());

  // Signed in once: a second sign-in within the same 30 seconds would reuse the TOTP code, which is refused.
  let admin: FormClient | null = null;
  const signedInAdmin = async () => {
    if (admin) return admin;
    admin = new FormClient(base);
    await admin.signIn(northAdmin.email, undefined, await enrolTotp(t.vault, northAdmin.id));
    return admin;
  };
  const add = async (client: FormClient, email: string) => {
    const form = await client.get('/admin/users/new');
    const res = await client.post('/admin/users', { _csrf: FormClient.csrf(form.text), email, name: 'Probe Person', roles: 'member', clearance: 'OFFICIAL' });
    const error = /<a href="#email">([^<]*)<\/a>/.exec(res.text)?.[1] ?? null;
    return { status: res.status, error };
  };

  it('answers an address another organisation holds exactly as one nobody holds, and creates nothing', async () => {
    const client = await signedInAdmin();
    const taken = await add(client, southPerson.email);
    const free = await add(client, `nobody-${randomUUID().slice(0, 8)}@${south.slug}.test`);
    const unassigned = await add(client, `nobody-${randomUUID().slice(0, 8)}@unassigned-${randomUUID().slice(0, 6)}.test`);
    const expected = `You can add only addresses in your organisation&#39;s e-mail domains (${north.slug}.test). The Strongroom operator adds anyone else (strongroom user add).`;
    for (const answer of [taken, free, unassigned]) expect(answer).toEqual({ status: 400, error: expected });
    expect((await t.vault.store.repos.users.byEmail(southPerson.email))!.organisationId).toBe(south.id);
  });

  it('inside its own domains: adds a new person, says a colleague is already here, and that a stray account of another organisation holds one', async () => {
    const client = await signedInAdmin();
    const fresh = `new-${randomUUID().slice(0, 8)}@${north.slug}.test`;
    expect((await add(client, fresh)).status).toBe(200);
    expect((await t.vault.store.repos.users.byEmail(fresh))!.organisationId).toBe(north.id);
    expect(await add(client, fresh)).toEqual({ status: 400, error: `A person with e-mail ${fresh} is already in your organisation.` });
    // Only the operator can have put one of north's addresses in south; north owns the address space, so may be told.
    const stray = `stray-${randomUUID().slice(0, 8)}@${north.slug}.test`;
    await t.vault.userCreation.addUser(systemActor(), { organisationSlug: south.slug, email: stray, name: 'Stray', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    expect(await add(client, stray)).toEqual({
      status: 400, error: `The address ${stray} is in your organisation&#39;s e-mail domain, but an account of another organisation in this Strongroom holds it. Ask the Strongroom operator.`,
    });
  });

  it('an organisation with no e-mail domains: its admin adds nobody, told the operator assigns them; the operator still adds anyone', async () => {
    const bare = await createOrganisation(t.vault);
    const admin = await bare.user({ roles: ['org_admin'] });
    const client = new FormClient(base);
    await client.signIn(admin.email, undefined, await enrolTotp(t.vault, admin.id));
    const message = 'Your organisation has no e-mail domains yet, so people can be added here only by the Strongroom operator (strongroom user add), who also assigns the domains (strongroom org domains).';
    for (const email of [southPerson.email, `x-${randomUUID().slice(0, 8)}@${bare.slug}.test`]) {
      const form = await client.get('/admin/users/new');
      const res = await client.post('/admin/users', { _csrf: FormClient.csrf(form.text), email, name: 'Probe', roles: 'member', clearance: 'OFFICIAL' });
      expect(res.status).toBe(400);
      expect(res.text).toContain(message);
    }
    const added = await t.vault.userCreation.addUser(systemActor(), { organisationSlug: bare.slug, email: `op-${randomUUID().slice(0, 8)}@elsewhere.test`, name: 'Contractor', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
    expect(added.user.organisationId).toBe(bare.id);
  });
});
