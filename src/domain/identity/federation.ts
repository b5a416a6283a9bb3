// Signing in through an organisation's own identity provider (OpenID Connect or SAML 2.0), and how the
// directory's groups become a person's roles, teams and clearance. Plain rules and data: the protocols
// themselves (discovery, token and assertion checks) live in integrations/, behind ports.
import type { Classification, Role, ServiceArea } from '../types.js';
import { CLASSIFICATIONS } from '../types.js';
import { isEmailAddress } from './email-address.js';

export { isEmailAddress };

export const PROVIDER_KINDS = ['oidc', 'saml'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** An OpenID Connect provider (Entra ID, Okta, Keycloak…): the authorisation code flow with PKCE. */
export interface OidcSettings {
  /** The issuer URL exactly as the provider names itself; discovery is at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Always includes `openid`; `email` and `profile` for the account match and the name. */
  scopes: string[];
}

/** A SAML 2.0 identity provider: SP-initiated sign-in, HTTP-Redirect request, HTTP-POST response. */
export interface SamlSettings {
  /** The provider's single sign-on URL (Entra: "Login URL"). */
  entryPoint: string;
  /** The provider's entity id: every response's Issuer must equal it (Entra: "Microsoft Entra Identifier"). */
  idpEntityId: string;
  /** PEM certificates assertions must be signed with (two during a certificate rollover). */
  idpCertificates: string[];
  /** The attribute holding the e-mail address when the NameID is not one (Entra: `…/claims/emailaddress`). */
  emailAttribute: string | null;
}

export interface IdentityProvider {
  id: string;
  organisationId: string;
  kind: ProviderKind;
  /** What people see on the sign-in button: "Sign in with North Shire Council (Entra ID)". */
  name: string;
  enabled: boolean;
  oidc: OidcSettings | null;
  saml: SamlSettings | null;
  /**
   * Whether the first sign-in of someone with no account here creates one (just-in-time), with the access
   * their groups map to. Off: only people an admin (or SCIM) already added may sign in.
   */
  createAccounts: boolean;
  /** The claim (OIDC) or attribute (SAML) listing the person's groups; null: groups are not read. */
  groupsClaim: string | null;
  /**
   * `amr` / `acr` values that mean the provider itself did multi-factor authentication. When one is present
   * Strongroom trusts it; when none is configured or present, roles that need MFA are still asked for TOTP.
   */
  mfaAmrValues: string[];
  mfaAcrValues: string[];
  createdAt: string;
  updatedAt: string;
}

/** An account's link to one provider's subject (`sub`, or the SAML NameID): later sign-ins match on it alone. */
export interface ExternalIdentity {
  providerId: string;
  subject: string;
  userId: string;
  linkedAt: string;
}

/** One directory group (by id or display name, as the provider sends it) and the access it brings. */
export interface GroupMapping {
  organisationId: string;
  group: string;
  roles: Role[];
  teams: ServiceArea[];
  /** The clearance the group grants; null: none (the person keeps OFFICIAL unless another group grants more). */
  clearance: Classification | null;
}

export interface MappedAccess {
  roles: Role[];
  teams: ServiceArea[];
  clearance: Classification;
}

/**
 * The access a person's groups map to: the union of every matched group's roles and teams, and the highest
 * clearance any of them grants. Null when no group matches: there is nothing to grant, so a just-in-time
 * account is not created (and SCIM leaves the person's access to the admin). Group names match exactly,
 * case-sensitively: Entra sends object ids, and two directory groups may differ only in case.
 */
export function mapGroups(mappings: readonly GroupMapping[], groups: readonly string[]): MappedAccess | null {
  const held = new Set(groups);
  const matched = mappings.filter((m) => held.has(m.group));
  if (matched.length === 0) return null;
  const roles = new Set<Role>(matched.flatMap((m) => m.roles));
  if (roles.size === 0) roles.add('member');
  const teams = [...new Set(matched.flatMap((m) => m.teams))].sort();
  const rank = (c: Classification | null) => (c === null ? 0 : CLASSIFICATIONS.indexOf(c) + 1);
  const highest = matched.reduce<Classification | null>((best, m) => (rank(m.clearance) > rank(best) ? m.clearance : best), null);
  return { roles: [...roles].sort(), teams, clearance: highest ?? 'OFFICIAL' };
}

/** The domain of an e-mail address, lower-cased: what just-in-time accounts are checked against. */
export function emailDomainOf(email: string): string {
  return email.trim().toLowerCase().split('@').pop() ?? '';
}

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** An e-mail domain as the operator types it ("NorthShire.gov.uk", "@northshire.gov.uk"), or null if it is not one. */
export function normaliseEmailDomain(text: string): string | null {
  const domain = text.trim().toLowerCase().replace(/^@/, '');
  return DOMAIN.test(domain) ? domain : null;
}

/** Whether the provider says it did multi-factor authentication, by a value the organisation chose to trust. */
export function providerDidMfa(provider: Pick<IdentityProvider, 'mfaAmrValues' | 'mfaAcrValues'>, said: { amr?: readonly string[]; acr?: string | null }): boolean {
  // A single-factor value never counts, even one listed before such values were refused when a provider is saved.
  if ((said.amr ?? []).some((v) => provider.mfaAmrValues.includes(v) && !isSingleFactorValue(v))) return true;
  return said.acr != null && provider.mfaAcrValues.includes(said.acr) && !isSingleFactorValue(said.acr);
}

/**
 * Values that say only how the first factor was given (RFC 8176's password, PIN and knowledge-based answers;
 * SAML's password classes and "unspecified"). Trusted as MFA, they would let every password sign-in skip
 * the second factor: refused when a provider is saved, and never taken as MFA at sign-in.
 */
const SINGLE_FACTOR = new Set(['pwd', 'pin', 'kba', 'urn:oasis:names:tc:saml:2.0:ac:classes:password', 'urn:oasis:names:tc:saml:2.0:ac:classes:passwordprotectedtransport', 'urn:oasis:names:tc:saml:2.0:ac:classes:unspecified']);

export const isSingleFactorValue = (value: string): boolean => SINGLE_FACTOR.has(value.toLowerCase());
