// Password hashes with argon2id (the argon2 package, libargon2). `standard` is what every deployment
// uses. `test-only-weak` exists because a test suite signs people in thousands of times: at the standard
// cost (about 0.45 s of CPU per hash or check on a 2-core machine) password hashing was a fifth of
// `make test`. Its hashes are cheap to guess, so `serve` warns at every start while it is set
// (cli/serving.ts) and any process warns when it first hashes under it (onWeakHash).
// Either setting verifies the other's hashes, so switching back locks nobody out, and a hash made
// under the other setting is made again at the person's next password sign-in (needsRehash).
import argon2, { type HashOptions } from 'argon2';
import type { PasswordHasher } from '../domain/ports.js';

export type PasswordHashing = 'standard' | 'test-only-weak';

/** argon2id at the argon2 package's defaults: 64 MiB, 3 passes, 4 lanes (above OWASP's minimum of 19 MiB, 2 passes). */
const STANDARD: HashOptions = { type: argon2.argon2id, memoryCost: 65_536, timeCost: 3, parallelism: 4 };
/** 1 MiB, 1 pass, 1 lane: about a millisecond. Never for real passwords. */
const TEST_ONLY_WEAK: HashOptions = { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 };

export class Argon2PasswordHasher implements PasswordHasher {
  readonly #options: HashOptions;
  #onWeakHash: (() => void) | undefined;

  /** `onWeakHash`: called once, at the first hash made under the weak setting. */
  constructor(setting: PasswordHashing, onWeakHash?: () => void) {
    const weak = setting === 'test-only-weak';
    this.#options = weak ? TEST_ONLY_WEAK : STANDARD;
    this.#onWeakHash = weak ? onWeakHash : undefined;
  }

  hash(password: string): Promise<string> {
    const warn = this.#onWeakHash;
    this.#onWeakHash = undefined;
    warn?.();
    return argon2.hash(password, this.#options);
  }

  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, this.#options);
    } catch {
      return false;
    }
  }

  verify(hash: string, password: string): Promise<boolean> {
    return argon2.verify(hash, password).catch(() => false);
  }
}
