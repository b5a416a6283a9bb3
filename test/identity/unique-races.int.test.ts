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
    await t.vault.identity.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.test`] });
  });
  afterAll(async () => t?.close());

  const person = (email: string) => ({ organisationSlug: org.slug, email, name: 'Racing Person', roles: ['member'], teams: [], clearance: 'OFFICIAL' });
  const peopleWith = async (email: string) => (await t.vault.store.db.selectFrom('users').select('id').where('email', '=', email).execute()).length;
  const createEvents = async (action: string) => (await t.vault.store.db.selectFrom('audit_events').select('id').where('action', '=', action).execute()).length;

  it('the operator (CLI) adding one address twice: the loser gets the duplicate’s 409, and one person is recorded once', async () => {
    const email = `race-${randomUUID().slice(0, 8)}@${org.slug}.test`;
    await t.vault.identity.addUser(systemActor(), person(email));
    const later = await failureOf(t.vault.identity.addUser(systemActor(), person(email)));
    expect(later).toEqual({ name: 'DomainError', code: 'CONFLICT', message: `A user with e-mail ${email} already exists.` });
    const events = await createEvents('user.create');
    const spy = vi.spyOn(t.vault.store.repos.users, 'byEmail').mockResolvedValueOnce(undefined);
    try {
      expect(await failureOf(t.vault.identity.addUser(systemActor(), person(email)))).toEqual(later);
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
    await t.vault.identity.addUser(actor, person(email));
    const later = await failureOf(t.vault.identity.addUser(actor, person(email)));
    expect(later).toEqual({ name: 'DomainError', code: 'CONFLICT', message: `A person with e-mail ${email} is already in your organisation.` });
    const spy = vi.spyOn(t.vault.store.repos.users, 'byEmail').mockResolvedValueOnce(undefined);
    try {
      expect(await failureOf(t.vault.identity.addUser(actor, person(email)))).toEqual(later);
    } finally {
      spy.mockRestore();
    }
    expect(await peopleWith(email)).toBe(1);
  });

  it('the operator adding one organisation slug twice: the loser gets the duplicate’s 409, and no second organisation or file plan', async () => {
    const slug = `race-${randomUUID().slice(0, 8)}`;
    await t.vault.identity.addOrganisation(systemActor(), { slug, name: 'Racing Council' });
    const later = await failureOf(t.vault.identity.addOrganisation(systemActor(), { slug, name: 'Racing Council' }));
    expect(later).toEqual({ name: 'DomainError', code: 'CONFLICT', message: `An organisation with slug "${slug}" already exists.` });
    const organisations = (await t.vault.identity.listOrganisations()).length;
    const events = await createEvents('organisation.create');
    const spy = vi.spyOn(t.vault.store.repos.organisations, 'bySlug').mockResolvedValueOnce(undefined);
    try {
      expect(await failureOf(t.vault.identity.addOrganisation(systemActor(), { slug, name: 'Racing Council' }))).toEqual(later);
    } finally {
      spy.mockRestore();
    }
    expect((await t.vault.identity.listOrganisations()).length).toBe(organisations);
    expect(await createEvents('organisation.create')).toBe(events);
  });

  it('any other unique violation is not taken for a duplicate: it stays the driver’s error (an internal error, seen)', async () => {
    const email = `race-${randomUUID().slice(0, 8)}@${org.slug}.test`;
    const { user } = await t.vault.identity.addUser(systemActor(), person(email));
    // The same id again with a fresh address: the primary key, which only a bug would repeat.
    const again = t.vault.store.repos.users.insert({ ...user, email: `other-${email}`, passwordHash: null });
    const error = await again.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(DomainError);
  });
});
