// Login CSRF at the start of a federated sign-in. The start addresses (/sign-in/oidc/:id, /sign-in/saml/:id)
// are links, so any other site can send a browser to one. With a provider that answers at once (a hostile
// one run by another organisation's admin, or any provider the person is already signed in to) the
// browser would come straight back signed in — as whoever that provider says, perhaps the attacker, in the
// attacker's organisation — without the person ever choosing to sign in. So when the browser says (Fetch
// Metadata) that another site sent it, the person is asked first; a click on this site's own sign-in page,
// or an address typed or bookmarked, starts at once. The page's Continue link is the same address, followed
// from this site. (A provider's own portal tile, such as Entra's My Apps, lands on this question too.)
// A browser that says nothing (no Sec-Fetch-Site: older Safari and Firefox, and anything not a browser) is
// asked too: until the attack review of the web interface it started at once, so the forced sign-in worked
// in exactly the browsers that do not send the header.
// The reading of the header is protocol/fetch-site.ts's, shared with downloads and WebDAV.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { startedHere } from '../../protocol/fetch-site.js';
import { render, type Ui } from './context.js';

/**
 * The question page when another site sent the browser to a provider's start address (or the browser does
 * not say where it came from); null when the sign-in may start (this site, a typed address), or when the
 * provider is missing or switched off (the start itself says so, as before).
 */
export async function askBeforeStarting(ui: Ui, request: FastifyRequest, reply: FastifyReply, kind: 'oidc' | 'saml', providerId: string): Promise<FastifyReply | null> {
  if (startedHere(request.headers)) return null;
  const choice = await ui.vault.identityProviders.signInChoice(providerId);
  if (choice?.kind !== kind) return null;
  reply.header('Cache-Control', 'no-store');
  return render(ui, request, reply, 'federated-start.njk', { choice, continueUrl: request.url });
}
