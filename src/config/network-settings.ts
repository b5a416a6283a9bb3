// Who may reach the server and through what: the reverse proxies trusted (STRONGROOM_TRUST_PROXY) and
// the refusal to listen off loopback without TLS.
import { isIP } from 'node:net';
import type { Config } from './config.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * STRONGROOM_TRUST_PROXY (--trust-proxy): the reverse proxies in front, never "everyone". `hops`: that
 * many proxies, each appending to X-Forwarded-For, so the client is the entry that many from the
 * right (1: the right-most, the address the one proxy saw). `addresses`: only a connection from one
 * of these (addresses, CIDRs, or loopback/linklocal/uniquelocal) is a proxy, and the client is the
 * right-most entry not itself one of them. Either way the entries a client wrote itself, on the left,
 * are never taken.
 */
export type TrustedProxies = { hops: number } | { addresses: readonly string[] };

const MAX_PROXY_HOPS = 10;
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * STRONGROOM_TRUST_PROXY (or --trust-proxy, with or without a value) → the proxies trusted. `1` and
 * `true`, which once meant "trust every hop", now mean one proxy in front: the same deployment, minus
 * a client's own X-Forwarded-For entries. Unset, `0` or `false`: none.
 */
export function parseTrustProxy(value: string | boolean | undefined): { setting: TrustedProxies | null; problems: string[] } {
  if (value === undefined || value === false) return { setting: null, problems: [] };
  const text = value === true ? '1' : value.trim().toLowerCase();
  if (text === '' || text === '0' || text === 'false') return { setting: null, problems: [] };
  if (text === 'true') return { setting: { hops: 1 }, problems: [] };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= MAX_PROXY_HOPS
      ? { setting: { hops }, problems: [] }
      : { setting: null, problems: [`${hops} proxies in a row is not a deployment we can believe: give from 1 to ${MAX_PROXY_HOPS}, or the proxies' addresses`] };
  }
  const addresses = text.split(',').map((a) => a.trim()).filter((a) => a !== '');
  const bad = addresses.filter((a) => !PROXY_RANGE_NAMES.has(a) && !isAddressOrCidr(a));
  if (bad.length > 0) {
    return { setting: null, problems: [`${bad.join(', ')}: not an IP address or CIDR range; give how many proxies are in front (e.g. 1), or their addresses (e.g. 127.0.0.1,10.0.0.0/24)`] };
  }
  return { setting: { addresses }, problems: [] };
}

function isAddressOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}


/**
 * Data in transit must be protected: off loopback we need TLS here, or an operator's
 * explicit word that a TLS-terminating proxy is in front.
 */
export function listenProblems(config: Config): string[] {
  if (LOOPBACK.has(config.host)) return [];
  if (config.tlsCert && config.tlsKey) return [];
  if (config.trustProxy) return [];
  return [
    `refusing to listen on ${config.host} without TLS: give --tls-cert and --tls-key, or --trust-proxy if a TLS-terminating proxy is in front`,
  ];
}
