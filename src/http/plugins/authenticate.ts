// Turns a bearer token (API), app password (WebDAV Basic) or web session into an Actor.
// Credentials are checked on every request, so revocation and disabling take effect at once.
import type { FastifyRequest } from 'fastify';
import type { Actor, Channel } from '../../domain/types.js';
import { actorFor, unauthenticated, type IdentityService } from '../../services/identity.service.js';

export function requestInfo(request: FastifyRequest, channel: Channel) {
  return { channel, clientAddress: request.ip, requestId: String(request.id) };
}

export async function bearerActor(identity: IdentityService, request: FastifyRequest, channel: Channel = 'api'): Promise<Actor> {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) throw unauthenticated();
  const { user, credential } = await identity.authenticateSecret(match[1]!, ['api_token']);
  const lockTokens = presentedLockTokens(request.headers['lock-token']);
  return { ...actorFor(user, requestInfo(request, channel), credential), ...(lockTokens.length > 0 ? { lockTokens } : {}) };
}

/**
 * Lock tokens a REST client presents to write through its own WebDAV lock: `Lock-Token: <urn:uuid:…>`,
 * several separated by commas. They count only for the lock's holder (see LocksService.enforce).
 */
export function presentedLockTokens(header: string | string[] | undefined): string[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values.flatMap((v) => [...v.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!)).slice(0, 16);
}
