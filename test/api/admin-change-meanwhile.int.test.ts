// An organisation's administration decided before its transaction is decided again inside it on the org admin as
// that transaction reads them (services/decided-within.ts), as records and content changes are: an org admin
// switched off, or whose role was taken away, between the first decision and the commit (adding a person waits
// for the password hasher in between) adds no account, no identity provider and no group mapping. Each case: the
// change to the admin lands in that moment (test/support/meanwhile.ts); the refusal is exact, it is the admin's only
// deny event, and nothing was written.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { beforeNextTransaction, changePerson } from '../support/meanwhile.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();
const WEB = { channel: 'web' as const, clientAddress: null, requestId: null };
const SWITCHED_OFF = 'Your account was switched off while this was being sent, so nothing was saved.';

describe.each(DIALECTS)('an organisation change decided again on its org admin as the transaction reads them, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  /** A council with two org admins: the one acting, and the one who changes them meanwhile. */
  async function council() {
    const org = await createOrganisation(t.vault, {});
    const acting = await org.user({ roles: ['org_admin'] });
    const other = await org.user({ roles: ['org_admin'] });
    const actor = actorFor((await t.vault.identity.userById(acting.id))!, WEB);
    return { org, acting, other, actor };
  }

  const denials = async (userId: string) =>
    (await eventsOf(t.vault, userId, { deny: true })).map((e) => ({ action: e.action, reason: e.reason }));

  it('adds no account for an org admin switched off while the password was hashed (401, account_disabled)', async () => {
    const { org, acting, other, actor } = await council();
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
    const email = `back.door@${org.slug}.gov.uk`;
    const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, other.id, acting.id, 'switched off'));
    const refused = await t.vault.userCreation.addUser(actor, { organisationSlug: org.slug, email, name: 'Back Door', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL', password: 'correct horse battery staple 42' })
      .then(() => null, (error: unknown) => error as { code: string; message: string });
    expect(meanwhile.ran()).toBe(true);
    expect(refused && { code: refused.code, message: refused.message }).toEqual({ code: 'UNAUTHENTICATED', message: SWITCHED_OFF });
    expect(await t.vault.store.repos.users.byEmail(email)).toBeUndefined();
    expect(await denials(acting.id)).toEqual([{ action: 'user.create', reason: 'account_disabled' }]);
  });

  it('sets no group mapping for an org admin whose role was taken away meanwhile (403, role), the mapping unchanged', async () => {
    const { org, acting, other, actor } = await council();
    const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, other.id, acting.id, 'role removed'));
    const refused = await t.vault.identityProviders.setGroupMappings(actor, org.id, [{ group: 'Everyone', roles: ['org_admin'] }])
      .then(() => null, (error: unknown) => error as { code: string; message: string });
    expect(meanwhile.ran()).toBe(true);
    expect(refused && { code: refused.code, message: refused.message }).toEqual({ code: 'FORBIDDEN', message: 'Only an org admin of this organisation can configure how its people sign in.' });
    expect(await t.vault.store.repos.federation.groupMappings(org.id)).toEqual([]);
    expect(await denials(acting.id)).toEqual([{ action: 'identity.group-mappings', reason: 'role' }]);
  });

  it('adds no identity provider for an org admin switched off meanwhile (401, account_disabled)', async () => {
    const { org, acting, other, actor } = await council();
    const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, other.id, acting.id, 'switched off'));
    const refused = await t.vault.identityProviders.add(actor, org.id, {
      kind: 'oidc', name: 'Attacker IdP', enabled: true, issuer: 'https://idp.example.net', clientId: 'strongroom', clientSecret: 'a-client-secret',
    } as Parameters<typeof t.vault.identityProviders.add>[2]).then(() => null, (error: unknown) => error as { code: string; message: string });
    expect(meanwhile.ran()).toBe(true);
    expect(refused && { code: refused.code, message: refused.message }).toEqual({ code: 'UNAUTHENTICATED', message: SWITCHED_OFF });
    expect(await t.vault.store.repos.federation.providers(org.id)).toEqual([]);
    expect(await denials(acting.id)).toEqual([{ action: 'identity-provider.add', reason: 'account_disabled' }]);
  });

  it('changes no branding for an org admin switched off meanwhile (401, account_disabled), the brand unchanged', async () => {
    const { org, acting, other, actor } = await council();
    const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, other.id, acting.id, 'switched off'));
    const refused = await t.vault.branding.update(actor, org.slug, { displayName: 'Pay your fine at evil.example' })
      .then(() => null, (error: unknown) => error as { code: string; message: string });
    expect(meanwhile.ran()).toBe(true);
    expect(refused && { code: refused.code, message: refused.message }).toEqual({ code: 'UNAUTHENTICATED', message: SWITCHED_OFF });
    expect(await t.vault.store.repos.branding.get(org.id)).toBeUndefined();
    expect(await denials(acting.id)).toEqual([{ action: 'organisation.brand', reason: 'account_disabled' }]);
  });
});
