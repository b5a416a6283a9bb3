// The branding repository's contract on every dialect: a brand round-trips column for column (the
// logo's bytes exactly), the header read leaves the bytes out, put replaces (two first saves at once
// too), remove says whether there was one, and a brand needs an organisation that exists.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrganisationBrand } from '../../src/domain/branding/brand.js';
import type { Repos } from '../../src/db/store.js';
import { openTestStore, type TestStore } from '../support/store.js';
import { raceAgainstUncommitted } from '../support/uncommitted-race.js';
import { DIALECTS } from '../support/vault.js';

describe.each(DIALECTS)('branding repository on %s', (dialect) => {
  let t: TestStore;
  let repos: Repos;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    repos = t.store.repos;
  });
  afterAll(async () => {
    await t?.remove();
  });

  async function organisation(): Promise<string> {
    const orgId = randomUUID();
    const slug = `org-${randomBytes(5).toString('hex')}`;
    await repos.organisations.insert({ id: orgId, slug, name: slug, kind: 'council', region: 'North', createdAt: '2026-11-01T09:00:00.000Z' });
    return orgId;
  }

  it('round-trips a brand, reads the header without the logo, replaces, and removes', async () => {
    const orgId = await organisation();
    expect(await repos.branding.get(orgId)).toBeUndefined();
    expect(await repos.branding.header(orgId)).toBeUndefined();
    // Every byte value, NULs included, must come back exactly.
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const brand: OrganisationBrand = {
      organisationId: orgId, displayName: 'North Shire Council', colour: '#1d70b8',
      logo: { bytes, type: 'image/png', sha256: 'a'.repeat(64), width: 120, height: 40 }, updatedAt: '2026-11-30T10:00:00.000Z', updatedBy: randomUUID(),
    };
    await repos.branding.put(brand);
    expect(await repos.branding.get(orgId)).toEqual(brand);
    expect(await repos.branding.header(orgId)).toEqual({ displayName: 'North Shire Council', colour: '#1d70b8', logoSha256: 'a'.repeat(64) });

    const plain: OrganisationBrand = { organisationId: orgId, displayName: null, colour: '#0b0c0c', logo: null, updatedAt: '2026-11-30T11:00:00.000Z', updatedBy: null };
    await repos.branding.put(plain);
    expect(await repos.branding.get(orgId)).toEqual(plain);
    expect(await repos.branding.header(orgId)).toEqual({ displayName: null, colour: '#0b0c0c', logoSha256: null });

    expect(await repos.branding.remove(orgId)).toBe(true);
    expect(await repos.branding.remove(orgId)).toBe(false);
    expect(await repos.branding.get(orgId)).toBeUndefined();
  });

  it('two first saves at once: the later one replaces the other’s, never failing on the organisation’s key', async () => {
    const orgId = await organisation();
    const brand = (displayName: string): OrganisationBrand => ({ organisationId: orgId, displayName, colour: null, logo: null, updatedAt: '2026-11-30T10:00:00.000Z', updatedBy: null });
    await raceAgainstUncommitted(t.store, (trx) => trx.branding.put(brand('First')), () => repos.branding.put(brand('Second')));
    expect((await repos.branding.get(orgId))?.displayName).toBe('Second');
  });

  it('keeps each organisation’s brand to itself', async () => {
    const [a, b] = [await organisation(), await organisation()];
    await repos.branding.put({ organisationId: a, displayName: 'A', colour: null, logo: null, updatedAt: '2026-11-30T10:00:00.000Z', updatedBy: null });
    expect(await repos.branding.get(b)).toBeUndefined();
    expect(await repos.branding.remove(b)).toBe(false);
    expect((await repos.branding.get(a))?.displayName).toBe('A');
  });

  it('refuses a brand for an organisation that does not exist', async () => {
    const missing = randomUUID();
    await expect(repos.branding.put({ organisationId: missing, displayName: 'Ghost', colour: null, logo: null, updatedAt: '2026-11-30T10:00:00.000Z', updatedBy: null })).rejects.toThrow();
    expect(await repos.branding.get(missing)).toBeUndefined();
  });
});
