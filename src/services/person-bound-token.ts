// Bearer tokens a database administrator can neither mint nor hand to someone else: web session ids and
// invitation links. A token is 32 bytes: 16 random, then 16 of an HMAC over those and the person it was
// made for (and whatever else its caller binds it to: a session's stage), so it works only for that person
// (a sessions or invitations row pointed at an org admin by hand is no token for them). Only an HMAC of the whole token is stored, under a key derived from the
// master key, so no row written into the database directly is a token anyone can present: a plain hash is
// what anyone can compute for a token of their own choosing.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const RANDOM_BYTES = 16;

const personTag = (key: Buffer, random: Buffer, subject: string): Buffer =>
  createHmac('sha256', key).update('made for\n').update(random).update(`\n${subject}`).digest().subarray(0, 16);

/** A new token (43 characters of base64url) for `subject`: the person's id, or it and what else the token is bound to. `key`: one per kind of token. */
export function newPersonBoundToken(key: Buffer, subject: string): string {
  const random = randomBytes(RANDOM_BYTES);
  return Buffer.concat([random, personTag(key, random, subject)]).toString('base64url');
}

/** What is stored of a token, and looked up by. */
export const storedPersonBoundToken = (key: Buffer, token: string): string => createHmac('sha256', key).update(`stored\n${token}`).digest('hex');

/** Whether the token was made, under this key, for this subject. */
export function personBoundTokenIsFor(key: Buffer, token: string, subject: string): boolean {
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== RANDOM_BYTES * 2) return false;
  return timingSafeEqual(bytes.subarray(RANDOM_BYTES), personTag(key, bytes.subarray(0, RANDOM_BYTES), subject));
}
