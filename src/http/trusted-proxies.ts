// Turns the configured reverse proxies into Fastify's trustProxy, which decides request.ip (the
// client address throttles, upload limits and audit events record) and whose X-Forwarded-Proto/-Host
// are believed.
import type { TrustedProxies } from '../config/network-settings.js';

/**
 * Never `true`: that trusts every hop, so request.ip becomes the LEFT-most X-Forwarded-For entry,
 * which the client writes itself (proxies append to it). A hop count is a function because this
 * Fastify treats a plain number as "trust nobody"; proxy-addr walks right to left, from the
 * connection, and stops at the first hop not trusted, which is the client.
 */
export function fastifyTrustProxy(proxies: TrustedProxies | null): false | string[] | ((address: string, hop: number) => boolean) {
  if (proxies === null) return false;
  if ('hops' in proxies) {
    const { hops } = proxies;
    return (_address, hop) => hop < hops;
  }
  return [...proxies.addresses];
}
