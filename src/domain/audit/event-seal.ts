// The seal an audit event carries from the service that wrote it to the sequencer: an HMAC under a
// key derived from the master key. Whoever can only write the database cannot make one, so an
// event a database administrator inserts is refused before it is sequenced and signed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../errors.js';
import { canonicalEventBytes, type AuditEvent } from './event.js';

const DOMAIN = Buffer.from('strongroom audit event seal v1\n', 'utf8');

/** The seal of an event, whatever sequence number it is later given (sequencing only orders it). */
export function eventSeal(key: Buffer, event: Omit<AuditEvent, 'seq'>): string {
  return createHmac('sha256', key).update(DOMAIN).update(canonicalEventBytes({ ...event, seq: 0 })).digest('base64url');
}

/** Whether `seal` is this event's; a malformed event has none. */
export function sealMatches(key: Buffer, event: Omit<AuditEvent, 'seq'>, seal: string): boolean {
  let expected: string;
  try {
    expected = eventSeal(key, event);
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
  const a = Buffer.from(expected);
  const b = Buffer.from(seal);
  return a.length === b.length && timingSafeEqual(a, b);
}
