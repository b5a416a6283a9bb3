// SecretSealer (domain/identity/ports.ts): AES-256-GCM under a key derived from the master key for one
// purpose, the context as additional data. Format: version byte 1, 12-byte random nonce, ciphertext, 16-byte tag.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretSealer } from '../domain/identity/ports.js';
import type { MasterKey } from './keys.js';

const VERSION = 1;
const NONCE = 12;
const TAG = 16;

export class DerivedSecretSealer implements SecretSealer {
  readonly #key: Buffer;

  /** `purpose` names the HKDF info (`strongroom/<purpose>`): each use gets a key of its own. */
  constructor(master: Pick<MasterKey, 'derive'>, purpose: string) {
    this.#key = master.derive(purpose);
  }

  seal(context: string, plain: string): Buffer {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG });
    cipher.setAAD(Buffer.from(`${VERSION}:${context}`, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]);
  }

  open(context: string, sealed: Buffer): string | null {
    if (sealed.length < 1 + NONCE + TAG || sealed[0] !== VERSION) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(1, 1 + NONCE), { authTagLength: TAG });
      decipher.setAAD(Buffer.from(`${VERSION}:${context}`, 'utf8'));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE, sealed.length - TAG)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
