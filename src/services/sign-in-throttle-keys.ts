// The keys of the sign-in counters (domain/identity/sign-in-throttle.ts): who reads and who clears them
// (web sign-in, and a link that sets a password) name them alike. Keys hold hashes, never e-mail
// addresses, so the table names nobody.
import { createHash } from 'node:crypto';
import { clientNetwork } from '../domain/identity/sign-in-throttle.js';

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Every attempt from the client's network. */
export const networkKey = (clientAddress: string | null): string => `network:${sha256(clientNetwork(clientAddress))}`;

/** One person's second-factor codes and current-password checks. */
export const secondFactorKey = (userId: string): string => `second-factor:${userId}`;

/** Password attempts on one account (its address as typed, trimmed and lower-cased) from the client's network. */
export const accountAtNetworkKey = (email: string, clientAddress: string | null): string =>
  `account-at-network:${sha256(`${email.trim().toLowerCase()}\n${clientNetwork(clientAddress)}`)}`;

/** Password attempts on one account from anywhere. */
export const accountKey = (email: string): string => `account:${sha256(email.trim().toLowerCase())}`;

/** The three counters a password attempt is judged by; an unknown e-mail address gets them too. */
export function signInKeys(email: string, clientAddress: string | null) {
  return { network: networkKey(clientAddress), accountAtNetwork: accountAtNetworkKey(email, clientAddress), account: accountKey(email) };
}
