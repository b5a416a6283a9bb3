// Password hashes with argon2id (the argon2 package, libargon2). `standard` is what every deployment
// uses. `test-only-weak` exists because a test suite signs people in thousands of times: at the standard
// cost (about 0.45 s of CPU per hash or check on a 2-core machine) password hashing was a fifth of
// `make test`. Its hashes are cheap to guess, so the server warns at every start while it is set
// (cli/commands/serve.commands.ts); either setting verifies the other's hashes, so switching back
// locks nobody out, and a password set or changed afterwards gets the standard cost.
import argon2, { type HashOptions } from 'argon2';
import type { PasswordHasher } from '../domain/ports.js';

export type PasswordHashing = 'standard' | 'test-only-weak';

/** argon2id at the argon2 package's defaults: 64 MiB, 3 passes, 4 lanes (above OWASP's minimum of 19 MiB, 2 passes). */
const STANDARD: HashOptions = { type: argon2.argon2id, memoryCost: 65_536, timeCost: 3, parallelism: 4 };
/** 1 MiB, 1 pass, 1 lane: about a millisecond. Never for real passwords. */
const TEST_ONLY_WEAK: HashOptions = { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 };

export class Argon2PasswordHasher implements PasswordHasher {
  readonly #options: HashOptions;

  constructor(setting: PasswordHashing) {
    this.#options = setting === 'standard' ? STANDARD : TEST_ONLY_WEAK;
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.#options);
  }

  verify(hash: string, password: string): Promise<boolean> {
    return argon2.verify(hash, password).catch(() => false);
  }
}
