// Port: identity federation as services see it (providers, linked identities, group mappings and the
// single-use values a sign-in consumes). Part of the Store's repositories (domain/repositories.ts).
import type { ExternalIdentity, GroupMapping, IdentityProvider } from './federation.js';

export interface FederationRepository {
  /** `sealedSecret`: the OIDC client secret sealed by the adapter that holds the key (never stored in clear). */
  insertProvider(provider: IdentityProvider, sealedSecret: Buffer | null): Promise<void>;
  /** Replaces the provider's settings; `sealedSecret` undefined keeps the stored secret. */
  updateProvider(provider: IdentityProvider, sealedSecret?: Buffer | null): Promise<void>;
  provider(id: string): Promise<IdentityProvider | undefined>;
  /** The provider, for signing in: `sealed` says whether its row is what Strongroom wrote (sign-in-seals.ts). */
  signInProvider(id: string): Promise<(IdentityProvider & { sealed: boolean }) | undefined>;
  /** Seals a provider's row as it is: only for the upgrade to sign-in seals (services/sign-in-seal-upgrade.ts). */
  sealProviderAsFound(id: string): Promise<void>;
  providers(organisationId: string): Promise<IdentityProvider[]>;
  sealedSecret(providerId: string): Promise<Buffer | null>;
  /** Every organisation's providers with their sealed secrets, and every linked identity: for `audit verify`. */
  everyProvider(): Promise<{ provider: IdentityProvider; sealedSecret: Buffer | null }[]>;
  everyIdentity(): Promise<ExternalIdentity[]>;
  /** Removes the provider and every identity linked through it. */
  removeProvider(id: string): Promise<void>;

  identity(providerId: string, subject: string): Promise<ExternalIdentity | undefined>;
  /** The link, for signing in: `sealed` says whether its row is what Strongroom wrote (sign-in-seals.ts). */
  signInIdentity(providerId: string, subject: string): Promise<(ExternalIdentity & { sealed: boolean }) | undefined>;
  /** Seals a link's row as it is: only for the upgrade to sign-in seals. */
  sealIdentityAsFound(providerId: string, subject: string): Promise<void>;
  identitiesOf(userId: string): Promise<ExternalIdentity[]>;
  /** Links a subject to an account; false if that subject is already linked (to anyone). */
  link(identity: ExternalIdentity): Promise<boolean>;

  groupMappings(organisationId: string): Promise<GroupMapping[]>;
  /** Every organisation's mapping rows, for `audit verify`. */
  everyGroupMapping(): Promise<GroupMapping[]>;
  /** Sets the organisation's whole mapping at once (what the admin page saves). */
  replaceGroupMappings(organisationId: string, mappings: readonly GroupMapping[]): Promise<void>;

  /** The e-mail domains the operator assigned to the organisation, sorted. */
  emailDomains(organisationId: string): Promise<string[]>;
  /** The organisation a domain is assigned to, if any. */
  emailDomainOwner(domain: string): Promise<string | undefined>;
  /** Assigns a domain; false if it is already assigned (to this organisation or another). */
  addEmailDomain(organisationId: string, domain: string, at: string): Promise<boolean>;
  /** Withdraws a domain from the organisation; false if it was not the organisation's. */
  removeEmailDomain(organisationId: string, domain: string): Promise<boolean>;

  /**
   * Records a value that may be used once (a SAML assertion id, an OIDC state or nonce) until `expiresAt`.
   * False if it was already used and has not yet expired: a replay. Expired entries are swept as it goes.
   */
  useOnce(key: string, expiresAt: string, now: string): Promise<boolean>;
}
