// Whom an organisation's admins and directory may add: only addresses in the organisation's own e-mail
// domains (which the operator assigns, one organisation to a domain). Asked before any look-up of the
// address, so the answer is the same whether or not an account with it exists in another organisation:
// adding people is no oracle of other councils' accounts (docs/identity.md#adding-people).
import { emailDomainOf } from '../domain/identity/federation.js';
import type { Repos } from '../domain/repositories.js';

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
