// The key hierarchy: master key file handling, HKDF derivation, organisation keys and data keys.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobBinding } from '../domain/ports.js';
import { IntegrityError } from '../domain/errors.js';
import {
  KeyRingImpl,
  MasterKey,
  deriveKey,
  loadMasterKey,
  masterKeyPath,
  unwrapKey,
  wrapKey,
  type OrganisationKeyRow,
  type OrganisationKeyStore,
} from './keys.js';

/** The organisation key table, in memory. The newest row of an organisation is its current key. */
class MemoryOrganisationKeyStore implements OrganisationKeyStore {
  readonly rows: OrganisationKeyRow[] = [];
  byIdCalls = 0;

  async current(organisationId: string) {
    const rows = this.rows.filter((row) => row.organisationId === organisationId);
    const newest = rows.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
    return newest === undefined ? undefined : { id: newest.id, wrapped: newest.wrapped };
  }

  async byId(keyId: string) {
    this.byIdCalls++;
    const row = this.rows.find((r) => r.id === keyId);
    return row === undefined ? undefined : { id: row.id, organisationId: row.organisationId, wrapped: row.wrapped };
  }

  async insert(row: OrganisationKeyRow) {
    this.rows.push({ ...row, wrapped: Buffer.from(row.wrapped) });
  }
}

/** A clock that moves forward a millisecond per reading, so "newest" is well defined. */
function steppingClock() {
  let t = Date.parse('2025-01-01T00:00:00Z');
  return { now: () => new Date(t++) };
}

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'strongroom-keys-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('master key file', () => {
  it('is created with mode 0600 in a 0700 directory, and reads back as the same key', async () => {
    const dataDir = join(dir, 'create');
    const first = await loadMasterKey({ dataDir });
    const file = await fsp.stat(masterKeyPath(dataDir));
    expect(file.mode & 0o777).toBe(0o600);
    expect(file.size).toBe(32);
    expect((await fsp.stat(join(dataDir, 'keys'))).mode & 0o777).toBe(0o700);
    const again = await loadMasterKey({ dataDir });
    expect(deriveKey(again, 'x').equals(deriveKey(first, 'x'))).toBe(true);
    expect((await fsp.readdir(join(dataDir, 'keys'))).sort()).toEqual(['master.key']);
  });

  it('is created once when two processes start together', async () => {
    const dataDir = join(dir, 'race');
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadMasterKey({ dataDir })));
    const derived = keys.map((k) => deriveKey(k, 'x').toString('hex'));
    expect(new Set(derived).size).toBe(1);
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o602])('refuses a key file with mode %o', async (mode) => {
    const dataDir = join(dir, `mode-${mode.toString(8)}`);
    await loadMasterKey({ dataDir });
    await fsp.chmod(masterKeyPath(dataDir), mode);
    await expect(loadMasterKey({ dataDir })).rejects.toThrow(/chmod 600/);
  });

  it('accepts an owner-only read-only key file (0400)', async () => {
    const dataDir = join(dir, 'mode-400');
    await loadMasterKey({ dataDir });
    await fsp.chmod(masterKeyPath(dataDir), 0o400);
    await expect(loadMasterKey({ dataDir })).resolves.toBeInstanceOf(MasterKey);
  });

  it.each([0, 31, 33, 64])('refuses a key file of %i bytes', async (size) => {
    const dataDir = join(dir, `size-${size}`);
    await fsp.mkdir(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await fsp.writeFile(masterKeyPath(dataDir), randomBytes(size), { mode: 0o600 });
    await expect(loadMasterKey({ dataDir })).rejects.toThrow(/must be exactly 32/);
  });

  it('does not create a key when told not to', async () => {
    const dataDir = join(dir, 'no-create');
    await expect(loadMasterKey({ dataDir, create: false })).rejects.toThrow(/does not exist/);
    await expect(fsp.stat(masterKeyPath(dataDir))).rejects.toThrow();
  });

  it('prefers a base64 key from the configuration and leaves the file alone', async () => {
    const dataDir = join(dir, 'env');
    const bytes = randomBytes(32);
    const key = await loadMasterKey({ dataDir, base64: bytes.toString('base64') });
    expect(deriveKey(key, 'x').equals(deriveKey(MasterKey.fromBytes(bytes), 'x'))).toBe(true);
    await expect(fsp.stat(dataDir)).rejects.toThrow();
  });

  it.each(['', 'not base64!', randomBytes(31).toString('base64'), randomBytes(33).toString('base64'), randomBytes(32).toString('hex')])(
    'refuses a malformed base64 key %#',
    (text) => {
      expect(() => MasterKey.fromBase64(text)).toThrow(/base64/);
    },
  );

  it('never prints its bytes', () => {
    const bytes = randomBytes(32);
    const key = MasterKey.fromBytes(bytes);
    const shown = inspect(key, { showHidden: true, depth: 5 }) + JSON.stringify({ key }) + String(key);
    expect(shown).not.toContain(bytes.toString('hex'));
    expect(shown).not.toContain(bytes.toString('base64'));
  });
});

describe('deriveKey', () => {
  it('is deterministic, 32 bytes, and separate per purpose and per master key', () => {
    const master = MasterKey.fromBytes(randomBytes(32));
    const a = deriveKey(master, 'sqlite-database');
    expect(a.length).toBe(32);
    expect(deriveKey(master, 'sqlite-database').equals(a)).toBe(true);
    expect(deriveKey(master, 'audit-signing').equals(a)).toBe(false);
    expect(deriveKey(MasterKey.fromBytes(randomBytes(32)), 'sqlite-database').equals(a)).toBe(false);
    expect(deriveKey(master, 'x', 64).length).toBe(64);
  });
});

describe('wrapKey / unwrapKey', () => {
  const kek = randomBytes(32);
  const key = randomBytes(32);
  const aad = Buffer.from('context');

  it('round-trips and is 12 + 32 + 16 bytes', () => {
    const wrapped = wrapKey(kek, key, aad);
    expect(wrapped.length).toBe(60);
    expect(unwrapKey(kek, wrapped, aad).equals(key)).toBe(true);
  });

  it('rejects any flipped byte, another AAD, another KEK or a wrong length', () => {
    const wrapped = wrapKey(kek, key, aad);
    for (let i = 0; i < wrapped.length; i++) {
      const bad = Buffer.from(wrapped);
      bad[i]! ^= 0x80;
      expect(() => unwrapKey(kek, bad, aad)).toThrow(IntegrityError);
    }
    expect(() => unwrapKey(kek, wrapped, Buffer.from('other'))).toThrow(IntegrityError);
    expect(() => unwrapKey(randomBytes(32), wrapped, aad)).toThrow(IntegrityError);
    expect(() => unwrapKey(kek, wrapped.subarray(1), aad)).toThrow(IntegrityError);
  });
});

describe('KeyRingImpl', () => {
  const master = MasterKey.fromBytes(randomBytes(32));
  const target = { organisationId: 'org-a', documentId: 'doc-1', versionId: 'ver-1' };

  function ring(store = new MemoryOrganisationKeyStore(), options: { cacheSize?: number; masterKey?: MasterKey } = {}) {
    return new KeyRingImpl({ master: options.masterKey ?? master, store, clock: steppingClock(), ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize }) });
  }

  it('makes a data key that opens with its binding, also from a fresh key ring', async () => {
    const store = new MemoryOrganisationKeyStore();
    const { dataKey, wrappedKey, keyId } = await ring(store).newDataKey('org-a', target);
    expect(dataKey.length).toBe(32);
    const binding: BlobBinding = { ...target, keyId };
    expect((await ring(store).openDataKey(binding, wrappedKey)).equals(dataKey)).toBe(true);
    expect(store.rows).toHaveLength(1);
  });

  it('refuses a binding for another organisation when making a key', async () => {
    await expect(ring().newDataKey('org-b', target)).rejects.toThrow();
  });

  it('rejects a data key opened for another document, version, organisation or key, or tampered with', async () => {
    const store = new MemoryOrganisationKeyStore();
    const keys = ring(store);
    const { wrappedKey, keyId } = await keys.newDataKey('org-a', target);
    const other = await keys.newDataKey('org-b', { ...target, organisationId: 'org-b' });
    const binding: BlobBinding = { ...target, keyId };
    const wrong: BlobBinding[] = [
      { ...binding, documentId: 'doc-2' },
      { ...binding, versionId: 'ver-2' },
      { ...binding, organisationId: 'org-b' }, // org A's key id claimed for org B
      { ...binding, organisationId: 'org-b', keyId: other.keyId }, // org B's own key
      { ...binding, keyId: 'no-such-key' },
    ];
    for (const candidate of [keys, ring(store)]) {
      for (const b of wrong) await expect(candidate.openDataKey(b, wrappedKey)).rejects.toBeInstanceOf(IntegrityError);
      for (let i = 0; i < wrappedKey.length; i++) {
        const bad = Buffer.from(wrappedKey);
        bad[i]! ^= 1;
        await expect(candidate.openDataKey(binding, bad)).rejects.toBeInstanceOf(IntegrityError);
      }
      await expect(candidate.openDataKey(binding, wrappedKey.subarray(0, 59))).rejects.toBeInstanceOf(IntegrityError);
    }
  });

  it('rejects a key from another organisation even when it is presented as the right one', async () => {
    const store = new MemoryOrganisationKeyStore();
    const keys = ring(store);
    const a = await keys.newDataKey('org-a', target);
    const targetB = { ...target, organisationId: 'org-b' };
    const b = await keys.newDataKey('org-b', targetB);
    // Org B's version record pointing at org A's wrapped key, under either key id.
    await expect(keys.openDataKey({ ...targetB, keyId: b.keyId }, a.wrappedKey)).rejects.toBeInstanceOf(IntegrityError);
    await expect(keys.openDataKey({ ...targetB, keyId: a.keyId }, a.wrappedKey)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('rejects an organisation key row moved to another organisation in the store', async () => {
    const store = new MemoryOrganisationKeyStore();
    const { wrappedKey, keyId } = await ring(store).newDataKey('org-a', target);
    store.rows[0]!.organisationId = 'org-b';
    await expect(ring(store).openDataKey({ ...target, organisationId: 'org-b', keyId }, wrappedKey)).rejects.toBeInstanceOf(IntegrityError);
    await expect(ring(store).openDataKey({ ...target, keyId }, wrappedKey)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('cannot open anything under another master key', async () => {
    const store = new MemoryOrganisationKeyStore();
    const { wrappedKey, keyId } = await ring(store).newDataKey('org-a', target);
    const stranger = ring(store, { masterKey: MasterKey.fromBytes(randomBytes(32)) });
    await expect(stranger.openDataKey({ ...target, keyId }, wrappedKey)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('rotation makes a new current key while old data keys still open', async () => {
    const store = new MemoryOrganisationKeyStore();
    const keys = ring(store);
    const before = await keys.newDataKey('org-a', target);
    const { keyId: rotated } = await keys.rotateOrganisationKey('org-a');
    expect(rotated).not.toBe(before.keyId);
    const after = await keys.newDataKey('org-a', { ...target, versionId: 'ver-2' });
    expect(after.keyId).toBe(rotated);
    for (const candidate of [keys, ring(store)]) {
      expect((await candidate.openDataKey({ ...target, keyId: before.keyId }, before.wrappedKey)).equals(before.dataKey)).toBe(true);
      expect((await candidate.openDataKey({ ...target, versionId: 'ver-2', keyId: rotated }, after.wrappedKey)).equals(after.dataKey)).toBe(true);
    }
    // Another process sees the rotation too, because "current" is read from the store.
    expect((await ring(store).newDataKey('org-a', target)).keyId).toBe(rotated);
  });

  it('concurrent first uses of an organisation share one key', async () => {
    const store = new MemoryOrganisationKeyStore();
    const keys = ring(store);
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => keys.newDataKey('org-a', { ...target, versionId: `v${i}` })));
    expect(new Set(made.map((m) => m.keyId)).size).toBe(1);
    expect(store.rows).toHaveLength(1);
  });

  it('keeps a bounded cache and still opens keys it evicted', async () => {
    const store = new MemoryOrganisationKeyStore();
    const keys = ring(store, { cacheSize: 2 });
    const made = [];
    for (let i = 0; i < 5; i++) {
      const t = { ...target, organisationId: `org-${i}` };
      made.push({ t, ...(await keys.newDataKey(t.organisationId, t)) });
    }
    store.byIdCalls = 0;
    for (const m of made) expect((await keys.openDataKey({ ...m.t, keyId: m.keyId }, m.wrappedKey)).equals(m.dataKey)).toBe(true);
    expect(store.byIdCalls).toBeGreaterThanOrEqual(3); // the evicted ones came back from the store
    const last = made.at(-1)!;
    store.byIdCalls = 0;
    await keys.openDataKey({ ...last.t, keyId: last.keyId }, last.wrappedKey);
    expect(store.byIdCalls).toBe(0); // and recent ones are served from memory
  });
});
