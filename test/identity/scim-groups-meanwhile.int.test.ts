// A SCIM group change decided before its transaction is decided again inside it (services/decided-within.ts), on
// the directory's token as that transaction reads it (IdentityService.actorWithin): a token revoked by an org admin
// between the first decision and the commit creates, changes or removes no group, and gives nobody the access a
// group maps to. Each case: the revocation lands in that moment (test/support/meanwhile.ts); the refusal is
// exact (401, as a revoked token is at authentication), it is the organisation's only deny event, and nothing was written.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import type { DirectoryActor } from '../../src/services/scim-tokens.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();
const REQUEST = { channel: 'api' as const, clientAddress: null, requestId: null };
const REVOKED = { code: 'UNAUTHENTICATED', message: 'A valid SCIM bearer token is required: create one on the organisation\'s "SCIM provisioning" page, and send it as "Authorization: Bearer <token>".' };

describe.each(DIALECTS)('a SCIM group change decided again on the directory’s token as the transaction reads it, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  /** A council whose directory maps the group "Admins" to org admin, a person of it, and the directory acting. */
  async function directory() {
    const org = await createOrganisation(t.vault);
    await t.vault.identityProviders.setGroupMappings(systemActor(), org.id, [{ group: 'Admins', roles: ['org_admin'] }]);
    const person = await org.user({ roles: ['member'] });
    const { token, secret } = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID');
    const actor: DirectoryActor = await t.vault.scim.tokens.authenticate(secret, REQUEST);
    const revokeMeanwhile = () => beforeNextTransaction(t.vault.store, () => t.vault.scim.tokens.revoke(systemActor(), org.id, token.id));
    return { org, person, actor, revokeMeanwhile };
  }

  const denials = async (organisationId: string) => {
    await t.vault.audit.sequencer.integrate();
    const found: { action: string; reason: string | null }[] = [];
    for await (const { event } of t.vault.store.repos.audit.sequenced()) {
      if (event.decision === 'deny' && event.targetOrganisationId === organisationId) found.push({ action: event.action, reason: event.reason });
    }
    return found;
  };

  const refusal = (run: Promise<unknown>) => run.then(() => null, (error: unknown) => {
    const e = error as { code: string; message: string };
    return { code: e.code, message: e.message };
  });

  it('creates no group, and makes nobody an org admin, with a token revoked meanwhile (401, credential_revoked)', async () => {
    const { org, person, actor, revokeMeanwhile } = await directory();
    const meanwhile = revokeMeanwhile();
    expect(await refusal(t.vault.scim.groups.create(actor, { displayName: 'Admins', externalId: null, members: [person.id] }))).toEqual(REVOKED);
    expect(meanwhile.ran()).toBe(true);
    expect(await t.vault.store.repos.scim.groups(org.id, {})).toEqual([]);
    expect((await t.vault.store.repos.users.byId(person.id))?.roles).toEqual(['member']);
    expect(await denials(org.id)).toEqual([{ action: 'scim-group.create', reason: 'credential_revoked' }]);
  });

  it('adds no member with a token revoked meanwhile (401, credential_revoked)', async () => {
    const { org, person, actor, revokeMeanwhile } = await directory();
    const group = (await t.vault.scim.groups.create(actor, { displayName: 'Admins', externalId: null, members: [] })).group;
    const meanwhile = revokeMeanwhile();
    expect(await refusal(t.vault.scim.groups.patch(actor, group.id, { addMembers: [person.id], removeMembers: [] }))).toEqual(REVOKED);
    expect(meanwhile.ran()).toBe(true);
    expect(await t.vault.store.repos.scim.members(group.id)).toEqual([]);
    expect((await t.vault.store.repos.users.byId(person.id))?.roles).toEqual(['member']);
    expect(await denials(org.id)).toEqual([{ action: 'scim-group.members', reason: 'credential_revoked' }]);
  });

  it('removes no group with a token revoked meanwhile (401, credential_revoked)', async () => {
    const { org, person, actor, revokeMeanwhile } = await directory();
    const group = (await t.vault.scim.groups.create(actor, { displayName: 'Admins', externalId: null, members: [person.id] })).group;
    const meanwhile = revokeMeanwhile();
    expect(await refusal(t.vault.scim.groups.remove(actor, group.id))).toEqual(REVOKED);
    expect(meanwhile.ran()).toBe(true);
    expect(await t.vault.store.repos.scim.members(group.id)).toEqual([person.id]);
    expect(await denials(org.id)).toEqual([{ action: 'scim-group.remove', reason: 'credential_revoked' }]);
  });
});
