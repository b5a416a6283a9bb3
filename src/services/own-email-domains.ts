// Whom an organisation's admins and directory may add: only addresses in the organisation's own e-mail
// domains (which the operator assigns, one organisation to a domain). Asked before any look-up of the
// address, so the answer is the same whether or not an account with it exists in another organisation:
// adding people is no oracle of other councils' accounts (docs/identity.md#adding-people).
import { emailDomainOf } from '../domain/identity/federation.js';
import type { Repos } from '../domain/repositories.js';
import type { User } from '../domain/types.js';

/** Null when `email` is in the organisation's own domains; otherwise why it cannot be added here (the same for every address outside them). */
export async function outsideOwnDomains(repos: Repos, organisationId: string, email: string): Promise<string | null> {
  if ((await repos.federation.emailDomainOwner(emailDomainOf(email))) === organisationId) return null;
  const domains = await repos.federation.emailDomains(organisationId);
  return domains.length === 0
    ? 'Your organisation has no e-mail domains yet, so people can be added here only by the Strongroom operator (strongroom user add), who also assigns the domains (strongroom org domains).'
    : `You can add only addresses in your organisation's e-mail domains (${domains.join(', ')}). The Strongroom operator adds anyone else (strongroom user add).`;
}

/**
 * The refusal for an address in the organisation's own domains that an account already holds. Telling which
 * organisation's it is reveals nothing the organisation does not own: the address is in its own domain.
 */
export function addressTaken(email: string, holderOrganisationId: string, organisationId: string): string {
  return holderOrganisationId === organisationId
    ? `A person with e-mail ${email} is already in your organisation.`
    : `The address ${email} is in your organisation's e-mail domain, but an account of another organisation in this Strongroom holds it. Ask the Strongroom operator.`;
}

/**
 * The account holding `email`, as the organisation's own identity provider may find it at a first sign-in
 * (or an admin's test sign-in): one of its own people, or whoever holds an address in its own domains. An
 * account of another organisation at an address outside them is not found, so the answer is the one for an
 * address nobody holds: the organisation's admins control what their provider asserts, and a sign-in that
 * said "this address belongs to another organisation" (or which access, or MFA, it has) would be an oracle
 * of other councils' accounts.
 */
export async function accountForFirstSignIn(repos: Repos, organisationId: string, email: string): Promise<User | undefined> {
  const holder = await repos.users.byEmail(email);
  if (!holder || holder.organisationId === organisationId) return holder;
  return (await repos.federation.emailDomainOwner(emailDomainOf(email))) === organisationId ? holder : undefined;
}
