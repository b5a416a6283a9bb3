// Port: seals over what sign-in trusts of a row, so a row a database administrator writes (they can write
// any row, but hold no key of the master key) signs nobody in. Adapter: storage/sign-in-seals.ts. The
// users repository writes every seal in the same statement as what it covers, and says whether a row's
// seal matches when it is read for signing in (docs/threat-model.md, "A database administrator signing in
// as someone else").
export interface SignInSeals {
  /** Over the person and their password hash (null: no password). */
  password(userId: string, passwordHash: string | null): string;
  /** Over the person and their whole MFA state, as stored: on or off, the sealed TOTP secret, the recovery-code hashes. */
  mfa(userId: string, mfaEnabled: boolean, storedSecret: string | null, recoveryCodes: string | null): string;
  /**
   * Over an API token's or app password's id, person, kind, secret hash and whether it is revoked: everything
   * authentication trusts of its row (a revoked row written back to unrevoked no longer matches its seal).
   */
  credential(c: { id: string; userId: string; kind: string; secretHash: string; revoked: boolean }): string;
  /** Over a SCIM token's id, organisation, secret hash and whether it is revoked: everything authentication trusts of its row. */
  scimToken(t: { id: string; organisationId: string; secretHash: string; revoked: boolean }): string;
  /** Whether `stored` (null: none) is the seal `expected` computes; in constant time. */
  matches(expected: string, stored: string | null): boolean;
  /** A TOTP secret as stored: encrypted, bound to its person. */
  sealTotpSecret(userId: string, secret: string): string;
  /** The TOTP secret a stored value holds, or null when it is not one sealed for this person (a plaintext secret written by hand). */
  openTotpSecret(userId: string, stored: string): string | null;
}
