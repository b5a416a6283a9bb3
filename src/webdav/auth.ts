// Who a WebDAV request comes from: Basic with an app password (the user name must be the account's
// e-mail), or a bearer API token. Account passwords are never accepted here.
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../domain/types.js';
import { actorFor, unauthenticated, type IdentityService } from '../services/identity.service.js';

/** The request's actor (channel 'webdav'); anything else is UNAUTHENTICATED (401 with the Basic realm). */
export async function authenticate(identity: IdentityService, request: FastifyRequest): Promise<Actor> {
  const header = request.headers.authorization ?? '';
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  let authenticated;
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthenticated();
    authenticated = await identity.authenticateSecret(decoded.slice(colon + 1), ['app_password']);
    if (authenticated.user.email.toLowerCase() !== decoded.slice(0, colon).trim().toLowerCase()) throw unauthenticated();
  } else if (bearer) {
    authenticated = await identity.authenticateSecret(bearer[1]!, ['api_token']);
  } else {
    throw unauthenticated();
  }
  return actorFor(authenticated.user, { channel: 'webdav', clientAddress: request.ip, requestId: String(request.id) }, authenticated.credential);
}
