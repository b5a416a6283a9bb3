// The mail repository's contract on both dialects: preferences default to "send", an upsert replaces,
// a new invitation replaces the person's earlier ones, and an invitation is used once and never after expiry.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repos } from '../../src/db/store.js';
import { openTestStore, type TestStore } from '../support/store.js';
import { DIALECTS } from '../support/vault.js';

const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2026-11-01T09:00:00.000Z');
const hash = () => randomBytes(32).toString('hex');

describe.each(DIALECTS)('mail repository contract on %s', (dialect) => {
  let t: TestStore;
  let repos: Repos;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    repos = t.store.repos;
  });
  afterAll(async () => t?.remove());

  async function person(): Promise<string> {
    const organisationId = randomUUID();
    await repos.organisations.insert({ id: organisationId, slug: `org-${randomBytes(4).toString('hex')}`, name: 'Council', kind: 'council', region: 'North', createdAt: iso(T0) });
    const id = randomUUID();
    await repos.users.insert({
      id, organisationId, email: `${randomBytes(5).toString('hex')}@example.test`, name: 'Pat', roles: ['member'], teams: [], clearance: 'OFFICIAL',
      mfaEnabled: false, disabled: false, disabledBy: null, createdAt: iso(T0), passwordHash: null,
    });
    return id;
  }

  it('preferences: send everything until set; setting again replaces', async () => {
    const userId = await person();
    expect(await repos.mail.preferences(userId)).toEqual({ nonEssentialOptOut: false, updatedAt: null });
    await repos.mail.setPreferences(userId, { nonEssentialOptOut: true }, iso(T0));
    expect(await repos.mail.preferences(userId)).toEqual({ nonEssentialOptOut: true, updatedAt: iso(T0) });
    await repos.mail.setPreferences(userId, { nonEssentialOptOut: false }, iso(T0 + 1000));
    expect(await repos.mail.preferences(userId)).toEqual({ nonEssentialOptOut: false, updatedAt: iso(T0 + 1000) });
  });

  it('invitations: the newest replaces the earlier, is used once, and not at or after its expiry', async () => {
    const userId = await person();
    const [first, second, other] = [hash(), hash(), hash()];
    await repos.mail.replaceInvitation({ tokenHash: first, userId, createdAt: iso(T0), expiresAt: iso(T0 + 60_000) });
    await repos.mail.replaceInvitation({ tokenHash: second, userId, createdAt: iso(T0 + 1), expiresAt: iso(T0 + 60_000) });
    expect(await repos.mail.invitationByHash(first)).toBeUndefined();
    expect(await repos.mail.invitationByHash(second)).toEqual({ tokenHash: second, userId, createdAt: iso(T0 + 1), expiresAt: iso(T0 + 60_000), usedAt: null });
    expect(await repos.mail.useInvitation(first, iso(T0 + 10))).toBe(false);
    expect(await repos.mail.useInvitation(second, iso(T0 + 60_000))).toBe(false); // expired at that instant
    expect(await repos.mail.useInvitation(second, iso(T0 + 10))).toBe(true);
    expect(await repos.mail.useInvitation(second, iso(T0 + 20))).toBe(false);
    expect((await repos.mail.invitationByHash(second))?.usedAt).toBe(iso(T0 + 10));
    // Another person's invitation is theirs alone: replacing one person's leaves it.
    const otherUser = await person();
    await repos.mail.replaceInvitation({ tokenHash: other, userId: otherUser, createdAt: iso(T0), expiresAt: iso(T0 + 60_000) });
    await repos.mail.replaceInvitation({ tokenHash: hash(), userId, createdAt: iso(T0 + 2), expiresAt: iso(T0 + 60_000) });
    expect((await repos.mail.invitationByHash(other))?.userId).toBe(otherUser);
  });

  it('invitations: withdrawing a person\'s takes their link away for good, and leaves everyone else\'s', async () => {
    const [userId, otherUser] = [await person(), await person()];
    const [mine, theirs] = [hash(), hash()];
    await repos.mail.replaceInvitation({ tokenHash: mine, userId, createdAt: iso(T0), expiresAt: iso(T0 + 60_000) });
    await repos.mail.replaceInvitation({ tokenHash: theirs, userId: otherUser, createdAt: iso(T0), expiresAt: iso(T0 + 60_000) });
    await repos.mail.withdrawInvitations(userId);
    expect(await repos.mail.invitationByHash(mine)).toBeUndefined();
    expect(await repos.mail.useInvitation(mine, iso(T0 + 10))).toBe(false);
    expect((await repos.mail.invitationByHash(theirs))?.userId).toBe(otherUser);
  });
});
