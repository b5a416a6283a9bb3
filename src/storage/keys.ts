// The key hierarchy: a master key wraps one key per organisation (rotatable; old keys stay for
// unwrapping), which wraps one random data key per document version. Every wrap binds its ids as
// AAD, so a wrapped key moved to another organisation, document or version will not open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import type { BlobBinding, Clock, KeyRing } from '../domain/ports.js';
import { systemClock } from '../domain/ports.js';
import { IntegrityError } from '../domain/errors.js';
import { encodeBinding, encodeFields } from './aad.js';

export const KEY_SIZE = 32;
const IV_SIZE = 12;
const TAG_SIZE = 16;
/** Fixed HKDF salt: the master key is already uniformly random, the salt only separates this scheme. */
const HKDF_SALT = Buffer.from('strongroom/hkdf/v1', 'utf8');
/** The HKDF purpose of the key that wraps organisation keys (the master key itself wraps nothing). */
const ORG_KEY_WRAP_PURPOSE = 'organisation-key-wrap';
const ORG_KEY_AAD = 'strongroom/organisation-key/v1';
const DATA_KEY_AAD = 'strongroom/data-key/v1';

// ---------------------------------------------------------------------------------------------
// Wrapping

/** Seals a key under a key-encryption key: 12-byte random IV ‖ ciphertext ‖ 16-byte tag (AES-256-GCM). */
export function wrapKey(kek: Buffer, key: Buffer, aad: Buffer): Buffer {
  if (kek.length !== KEY_SIZE) throw new RangeError(`A key-encryption key must be ${KEY_SIZE} bytes.`);
  const iv = randomBytes(IV_SIZE);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_SIZE });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Opens a wrapped key; any change to it, to the AAD or a wrong KEK is an IntegrityError. */
export function unwrapKey(kek: Buffer, wrapped: Uint8Array, aad: Buffer): Buffer {
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (bytes.length !== IV_SIZE + KEY_SIZE + TAG_SIZE) throw new IntegrityError('Wrapped key has the wrong length.');
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(0, IV_SIZE), { authTagLength: TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_SIZE));
    return Buffer.concat([decipher.update(bytes.subarray(IV_SIZE, bytes.length - TAG_SIZE)), decipher.final()]);
  } catch (cause) {
    throw new IntegrityError('Wrapped key failed authentication.', { cause });
  }
}

// ---------------------------------------------------------------------------------------------
// Master key

export interface LoadMasterKeyOptions {
  /** The data directory; the key lives in `<dataDir>/keys/master.key`. */
  dataDir: string;
  /** A base64 key from the environment or a secret manager; when given the file is not touched. */
  base64?: string | undefined;
  /**
   * Create the key file when it is absent (default true). Pass false when a database already
   * exists: a fresh master key could not open any of its organisation keys.
   */
  create?: boolean;
}

/** The root of the hierarchy. Its bytes never leave this object; callers get derived keys only. */
export class MasterKey {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  static fromBytes(bytes: Uint8Array): MasterKey {
    if (bytes.length !== KEY_SIZE) throw new Error(`The master key must be exactly ${KEY_SIZE} bytes, got ${bytes.length}.`);
    return new MasterKey(Buffer.from(bytes));
  }

  /** A key given as base64 text (44 characters for 32 bytes); Buffer.from alone would accept junk. */
  static fromBase64(text: string): MasterKey {
    const trimmed = text.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || Buffer.from(trimmed, 'base64').length !== KEY_SIZE) {
      throw new Error(`The configured master key must be ${KEY_SIZE} random bytes in base64 (44 characters, e.g. from \`openssl rand -base64 32\`).`);
    }
    return new MasterKey(Buffer.from(trimmed, 'base64'));
  }

  /**
   * Reads a key file, refusing one that others could read or that is not exactly 32 bytes.
   * With `create`, a missing file is made (mode 0600, directory 0700) without racing another
   * process doing the same: the key is written to a temporary file and hard-linked into place.
   */
  static async fromFile(path: string, options: { create?: boolean } = {}): Promise<MasterKey> {
    try {
      return await MasterKey.#read(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (options.create === false) throw new Error(`The master key file ${path} does not exist.`, { cause: error });
    }
    await MasterKey.#create(path);
    return MasterKey.#read(path);
  }

  static async #read(path: string): Promise<MasterKey> {
    // fstat the open handle, not the path, so the checks apply to the bytes actually read.
    const handle = await fsp.open(path, fsConstants.O_RDONLY);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error(`The master key ${path} is not a regular file.`);
      if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
        const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
        throw new Error(`Refusing to start: the master key ${path} has mode ${mode}, so other users may read it. Run \`chmod 600 ${path}\`.`);
      }
      if (stat.size !== KEY_SIZE) {
        throw new Error(`Refusing to start: the master key ${path} is ${stat.size} bytes; it must be exactly ${KEY_SIZE}.`);
      }
      const key = Buffer.alloc(KEY_SIZE);
      const { bytesRead } = await handle.read(key, 0, KEY_SIZE, 0);
      if (bytesRead !== KEY_SIZE) throw new Error(`The master key ${path} could not be read in full.`);
      return new MasterKey(key);
    } finally {
      await handle.close();
    }
  }

  static async #create(path: string): Promise<void> {
    const dir = dirname(path);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const temporary = join(dir, `.master.key.${randomBytes(8).toString('hex')}.tmp`);
    const handle = await fsp.open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(randomBytes(KEY_SIZE));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // link() fails if the name exists, so two processes starting together keep one key.
      await fsp.link(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await fsp.unlink(temporary);
    }
    await syncDirectory(dir);
  }

  /** Derives an independent key for one purpose (e.g. "sqlite-database") with HKDF-SHA256. */
  derive(purpose: string, length = KEY_SIZE): Buffer {
    if (purpose.length === 0) throw new Error('A key purpose is required.');
    return Buffer.from(hkdfSync('sha256', this.#key, HKDF_SALT, Buffer.from(`strongroom/${purpose}`, 'utf8'), length));
  }

  /** Keeps the bytes out of logs and error reports. */
  [inspect.custom](): string {
    return 'MasterKey(<redacted>)';
  }

  toJSON(): string {
    return 'MasterKey(<redacted>)';
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The master key from the configured base64 value if there is one, else from `<dataDir>/keys/master.key`. */
export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<MasterKey> {
  if (options.base64 !== undefined && options.base64 !== '') return MasterKey.fromBase64(options.base64);
  return MasterKey.fromFile(masterKeyPath(options.dataDir), { create: options.create ?? true });
}

export const masterKeyPath = (dataDir: string): string => join(dataDir, 'keys', 'master.key');

/** HKDF-SHA256 subkey of the master key for one purpose, e.g. `deriveKey(master, 'sqlite-database')`. */
export function deriveKey(master: MasterKey, purpose: string, length = KEY_SIZE): Buffer {
  return master.derive(purpose, length);
}

// ---------------------------------------------------------------------------------------------
// Organisation keys and data keys

export interface OrganisationKeyRow {
  id: string;
  organisationId: string;
  /** The organisation key wrapped by the master key (see wrapKey). */
  wrapped: Buffer;
  /** ISO 8601; the newest key of an organisation is its current one. */
  createdAt: string;
}

/** Where wrapped organisation keys are kept (a database table in production). */
export interface OrganisationKeyStore {
  /** The organisation's newest key, used to wrap new data keys. */
  current(organisationId: string): Promise<{ id: string; wrapped: Buffer } | undefined>;
  byId(keyId: string): Promise<{ id: string; organisationId: string; wrapped: Buffer } | undefined>;
  insert(row: OrganisationKeyRow): Promise<void>;
}

export interface KeyRingOptions {
  master: MasterKey;
  store: OrganisationKeyStore;
  clock?: Clock;
  /** How many unwrapped organisation keys to keep in memory (default 1000). */
  cacheSize?: number;
}

interface CachedKey {
  organisationId: string;
  key: Buffer;
}

/** AAD of an organisation key: which organisation and which key id it is. */
const organisationKeyAad = (organisationId: string, keyId: string): Buffer => encodeFields(ORG_KEY_AAD, [organisationId, keyId]);

/** AAD of a data key: the full binding, so it opens only for its own version. */
export const dataKeyAad = (binding: BlobBinding): Buffer => encodeBinding(DATA_KEY_AAD, binding);

export class KeyRingImpl implements KeyRing {
  readonly #kek: Buffer;
  readonly #store: OrganisationKeyStore;
  readonly #clock: Clock;
  readonly #cacheSize: number;
  /**
   * Unwrapped organisation keys by key id, least recently used first. Caching keys is safe where
   * caching grants would not be: access is decided per request before any key is asked for.
   */
  readonly #cache = new Map<string, CachedKey>();
  /** First-key creation in flight, so concurrent uploads to a new organisation share one key. */
  readonly #creating = new Map<string, Promise<{ id: string; key: Buffer }>>();

  constructor(options: KeyRingOptions) {
    this.#kek = options.master.derive(ORG_KEY_WRAP_PURPOSE);
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#cacheSize = options.cacheSize ?? 1000;
  }

  async newDataKey(
    organisationId: string,
    binding: Omit<BlobBinding, 'keyId'>,
  ): Promise<{ dataKey: Buffer; wrappedKey: Buffer; keyId: string }> {
    if (binding.organisationId !== organisationId) {
      throw new Error('newDataKey: the binding belongs to another organisation.');
    }
    const orgKey = await this.#currentKey(organisationId);
    const dataKey = randomBytes(KEY_SIZE);
    const wrappedKey = wrapKey(orgKey.key, dataKey, dataKeyAad({ ...binding, keyId: orgKey.id }));
    return { dataKey, wrappedKey, keyId: orgKey.id };
  }

  async openDataKey(binding: BlobBinding, wrappedKey: Uint8Array): Promise<Buffer> {
    const orgKey = await this.#keyById(binding.keyId);
    if (orgKey.organisationId !== binding.organisationId) {
      throw new IntegrityError('The data key is bound to another organisation\'s key.');
    }
    return unwrapKey(orgKey.key, wrappedKey, dataKeyAad(binding));
  }

  /** Makes a new current key for the organisation; existing data keys still open with the old ones. */
  async rotateOrganisationKey(organisationId: string): Promise<{ keyId: string }> {
    const { id } = await this.#createKey(organisationId);
    return { keyId: id };
  }

  /** The organisation's current key, created on first use. */
  async #currentKey(organisationId: string): Promise<{ id: string; key: Buffer }> {
    // Ask the store each time rather than caching "current": another process may have rotated.
    const row = await this.#store.current(organisationId);
    if (row !== undefined) {
      return { id: row.id, key: this.#unwrapOrganisationKey(row.id, organisationId, row.wrapped) };
    }
    let pending = this.#creating.get(organisationId);
    if (pending === undefined) {
      pending = this.#createKey(organisationId).finally(() => this.#creating.delete(organisationId));
      this.#creating.set(organisationId, pending);
    }
    return pending;
  }

  async #keyById(keyId: string): Promise<CachedKey> {
    const cached = this.#cacheGet(keyId);
    if (cached !== undefined) return cached;
    const row = await this.#store.byId(keyId);
    if (row === undefined) throw new IntegrityError('The data key refers to an unknown organisation key.');
    const key = this.#unwrapOrganisationKey(row.id, row.organisationId, row.wrapped);
    return { organisationId: row.organisationId, key };
  }

  #unwrapOrganisationKey(keyId: string, organisationId: string, wrapped: Buffer): Buffer {
    const cached = this.#cacheGet(keyId);
    if (cached !== undefined) {
      if (cached.organisationId !== organisationId) throw new IntegrityError('Organisation key row does not match its key.');
      return cached.key;
    }
    // The AAD makes a row whose organisation id was edited fail here.
    const key = unwrapKey(this.#kek, wrapped, organisationKeyAad(organisationId, keyId));
    this.#cacheSet(keyId, { organisationId, key });
    return key;
  }

  async #createKey(organisationId: string): Promise<{ id: string; key: Buffer }> {
    const id = randomUUID();
    const key = randomBytes(KEY_SIZE);
    const wrapped = wrapKey(this.#kek, key, organisationKeyAad(organisationId, id));
    await this.#store.insert({ id, organisationId, wrapped, createdAt: this.#clock.now().toISOString() });
    this.#cacheSet(id, { organisationId, key });
    return { id, key };
  }

  #cacheGet(keyId: string): CachedKey | undefined {
    const hit = this.#cache.get(keyId);
    if (hit !== undefined) {
      this.#cache.delete(keyId);
      this.#cache.set(keyId, hit);
    }
    return hit;
  }

  #cacheSet(keyId: string, value: CachedKey): void {
    this.#cache.delete(keyId);
    this.#cache.set(keyId, value);
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
  }
}
