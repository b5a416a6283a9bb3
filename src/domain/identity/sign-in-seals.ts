// Port: seals over what sign-in trusts of a row, so a row a database administrator writes (they can write
// any row, but hold no key of the master key) signs nobody in. Adapter: storage/sign-in-seals.ts. The
// repositories write every seal in the same statement as what it covers, and say whether a row's seal
// matches when it is read for signing in (docs/threat-model.md, "A database administrator signing in as
// someone else").
import type { CredentialScope } from '../types.js';
import type { ExternalIdentity, IdentityProvider } from './federation.js';

export interface SignInSeals {
  /** Over the person and their password hash (null: no password). */
  password(userId: string, passwordHash: string | null): string;
  /** Over the person and their whole MFA state, as stored: on or off, the sealed TOTP secret, the recovery-code hashes. */
  mfa(userId: string, mfaEnabled: boolean, storedSecret: string | null, recoveryCodes: string | null): string;
  /**
   * Over an API token's or app password's id, person, kind, secret hash, whether it is revoked and its scope:
   * everything authentication trusts of its row (a revoked row written back to unrevoked, or a read-only one
   * written to full, no longer matches its seal). A full credential's seal is over the first five alone, as
   * every credential's was before scopes, so those stay valid and mean full, which is what they were made as.
   * That gives a database administrator nothing: a seal of either form needs the key, and a read-only row's
   * seal covers 'read', so it matches no row that says 'full'.
   */
  credential(c: { id: string; userId: string; kind: string; secretHash: string; revoked: boolean; scope: CredentialScope }): string;
  /** Over a SCIM token's id, organisation, secret hash and whether it is revoked: everything authentication trusts of its row. */
  scimToken(t: { id: string; organisationId: string; secretHash: string; revoked: boolean }): string;
  /**
   * Over an identity provider's row: everything federated sign-in trusts of it (id, organisation, kind, name,
   * switched on or off, its settings: issuer or entity id, certificates, client id; account creation, groups
   * claim, the AMR and ACR values taken as its MFA) and its sealed client secret. Not its timestamps.
   */
  identityProvider(p: IdentityProvider, sealedSecret: Uint8Array | null): string;
  /** Over a federated link: the provider, the subject it names and the person that subject signs in as. */
  federatedLink(l: Pick<ExternalIdentity, 'providerId' | 'subject' | 'userId'>): string;
  /** Whether `stored` (null: none) is the seal `expected` computes; in constant time. */
  matches(expected: string, stored: string | null): boolean;
  /** A TOTP secret as stored: encrypted, bound to its person. */
  sealTotpSecret(userId: string, secret: string): string;
  /** The TOTP secret a stored value holds, or null when it is not one sealed for this person (a plaintext secret written by hand). */
  openTotpSecret(userId: string, stored: string): string | null;
}
