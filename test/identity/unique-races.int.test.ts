// Two requests adding the same person (or organisation) at once: both find the address (or slug) free, and
// the later insert meets the other's row at the database's unique constraint. The loser must hear exactly
// what a later duplicate hears (409 CONFLICT, the same words), never a 500, and leave nothing behind
// (docs/architecture.md "Two requests adding the same thing at once"). The race is made deterministic by
// letting the loser's "is it taken?" check miss the winner's row once, as it does when it runs before
// the winner's insert.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestVault } from '../support/vault.js';
import { insertJustInTimeProvider } from './support.js';
import { USER } from '../support/scim-schemas.js';

const failureOf = async (work: Promise<unknown>): Promise<{ name: string; code: string; message: string }> => {
  const error = await work.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  const { code, message } = error as DomainError;
  return { name: 'DomainError', code, message };
};

describe.each(DIALECTS)('adding the same person or organisation twice at once on %s', (dialect) => {
  let t: TestVault;
  let org: TestOrganisation;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: '/nonexistent/clamd.sock' });
    org = await createOrganisation(t.vault, { areas: {} });
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
  });
  afterAll(async () => t?.close());

  const person = (email: string) => ({ organisationSlug: org.slug, email, name: 'Racing Person', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
  const peopleWith = async (email: string) => (await t.vault.store.db.selectFrom('users').select('id').where('email', '=', email).execute()).length;
  const createEvents = async (action: string) => (await t.vault.store.db.selectFrom('audit_events').select('id').where('action', '=', action).execute()).length;

  it('the operator (CLI) adding one address twice: the loser gets the duplicate’s 409, and one person is recorded once', async () => {
    const email = `race-${randomUUID().slice(0, 8)}@${org.slug}.test`;
    await t.vault.userCreation.addUser(systemActor(), person(email));
    const later = await failureOf(t.vault.userCreation.addUser(systemActor(), person(email)));
    expect(later).toEqual({ name: 'DomainError', code: 'CONFLICT', message: `A user with e-mail ${email} already exists.` });
    const events = await createEvents('user.create');
    const spy = vi.spyOn(t.vault.store.repos.users, 'byEmail').mockResolvedValueOnce(undefined);
    try {
      expect(await failureOf(t.vault.userCreation.addUser(systemActor(), person(email)))).toEqual(later);
    } finally {
      spy.mockRestore();
    }
    expect(await peopleWith(email)).toBe(1);
    expect(await createEvents('user.create')).toBe(events);
  });

  it('an organisation admin (the Users page) adding one address twice: the loser is told what a later duplicate is told', async () => {
    const admin = await org.user({ roles: ['org_admin'] });
    const actor = actorFor((await t.vault.store.repos.users.byId(admin.id))!, { channel: 'web', clientAddress: null, requestId: null });
    const email = `race-${randomUUID().slice(0, 8)}@${org.slug}.test`;
    await t.vault.userCreation.addUser(actor, person(email));
    const later = await failureOf(t.vault.userCreation.addUser(actor, person(email)));
    expect(later).toEqual({ name: 'DomainError', code: 'CONFLICT', message: `A person with e-mail ${email} is already in your organisation.` });
    const spy = vi.spyOn(t.vault.store.repos.users, 'byEmail').mockResolvedValueOnce(undefined);
    try {
      expect(await failureOf(t.vault.userCreation.addUser(actor, person(email)))).toEqual(later);
    } finally {
      spy.mockRestore();
    }
    expect(await peopleWith(email)).toBe(1);
  });

  it('the operator adding one organisation slug twice: the loser gets the duplicate’s 409, and no second organisation or file plan', async () => {
    const slug = `race-${randomUUID().slice(0, 8)}`;
    await t.vault.organisations.addOrganisation(systemActor(), { slug, name: 'Racing Council' });
    const later = await failureOf(t.vault.organisations.addOrganisation(systemActor(), { slug, name: 'Racing Council' }));
    expect(later).toEqual({ name: 'DomainError', code: 'CONFLICT', message: `An organisation with slug "${slug}" already exists.` });
    const organisations = (await t.vault.organisations.listOrganisations()).length;
    const events = await createEvents('organisation.create');
    const spy = vi.spyOn(t.vault.store.repos.organisations, 'bySlug').mockResolvedValueOnce(undefined);
    try {
      expect(await failureOf(t.vault.organisations.addOrganisation(systemActor(), { slug, name: 'Racing Council' }))).toEqual(later);
    } finally {
      spy.mockRestore();
    }
    expect((await t.vault.organisations.listOrganisations()).length).toBe(organisations);
    expect(await createEvents('organisation.create')).toBe(events);
  });

  it('a SCIM create of one userName twice: the loser gets the later create’s 409 uniqueness, word for word, and nothing of its own', async () => {
    const token = (await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID provisioning')).secret;
    const userName = `race-${randomUUID().slice(0, 8)}@${org.slug}.test`;
    const create = () => t.app.inject({
      method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({ schemas: [USER], externalId: randomUUID(), userName, active: true }),
    });
    expect((await create()).statusCode).toBe(201);
    const later = await create();
    expect(later.statusCode).toBe(409);
    expect(later.json()).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const people = await t.vault.store.db.selectFrom('scim_people').select('user_id').where('organisation_id', '=', org.id).execute();
    const spy = vi.spyOn(t.vault.store.repos.users, 'byEmail').mockResolvedValueOnce(undefined);
    try {
      const loser = await create();
      expect({ status: loser.statusCode, body: loser.json() }).toEqual({ status: later.statusCode, body: later.json() });
    } finally {
      spy.mockRestore();
    }
    expect(await peopleWith(userName)).toBe(1);
    expect(await t.vault.store.db.selectFrom('scim_people').select('user_id').where('organisation_id', '=', org.id).execute()).toEqual(people);
  });

  it('two first sign-ins of one person through the provider, both making the account just in time: the loser signs in to the winner’s account', async () => {
    const provider = await insertJustInTimeProvider(t.vault, org.id);
    const email = `race-${randomUUID().slice(0, 8)}@${org.slug}.test`;
    const who = { providerId: provider.id, subject: randomUUID(), email, emailVerified: true, name: 'Sam Jones', groups: [], amr: ['pwd'], acr: null };
    const request = { channel: 'web' as const, clientAddress: '203.0.113.7', requestId: null };
    const winner = await t.vault.federatedSignIn.complete(who, request);
    const later = await t.vault.federatedSignIn.complete(who, request);
    expect(later.user.id).toBe(winner.user.id);
    // The loser looked before the winner wrote anything: neither the link nor the address was there.
    const link = vi.spyOn(t.vault.store.repos.federation, 'signInIdentity').mockResolvedValueOnce(undefined);
    const address = vi.spyOn(t.vault.store.repos.users, 'byEmail').mockResolvedValueOnce(undefined);
    try {
      const loser = await t.vault.federatedSignIn.complete(who, request);
      expect({ user: loser.user.id, stage: loser.stage }).toEqual({ user: later.user.id, stage: later.stage });
    } finally {
      link.mockRestore();
      address.mockRestore();
    }
    expect(await peopleWith(email)).toBe(1);
  });

  it('any other unique violation is not taken for a duplicate: it stays the driver’s error (an internal error, seen)', async () => {
    const email = `race-${randomUUID().slice(0, 8)}@${org.slug}.test`;
    const { user } = await t.vault.userCreation.addUser(systemActor(), person(email));
    // The same id again with a fresh address: the primary key, which only a bug would repeat.
    const again = t.vault.store.repos.users.insert({ ...user, email: `other-${email}`, passwordHash: null });
    const error = await again.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(DomainError);
  });
});
