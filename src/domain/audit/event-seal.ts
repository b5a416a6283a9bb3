// The seal an audit event carries from the service that wrote it to the sequencer: an HMAC under a
// key derived from the master key. Whoever can only write the database cannot make one, so an
// event a database administrator inserts is refused before it is sequenced and signed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalEvent, type AuditEvent, type CanonicalEvent } from './event.js';

const DOMAIN = Buffer.from('strongroom audit event seal v1\n', 'utf8');

/** The seal of an event's encoding, whatever sequence number it is later given (sequencing only orders it). */
function sealOf(key: Buffer, event: CanonicalEvent): string {
  return createHmac('sha256', key).update(DOMAIN).update(event.bytesAt(0)).digest('base64url');
}

/** The seal of an event. Throws DomainError('INVALID') for a malformed event. */
export function eventSeal(key: Buffer, event: Omit<AuditEvent, 'seq'>): string {
  return sealOf(key, canonicalEvent(event));
}

/** Whether `seal` is this (checked and encoded) event's. */
export function sealMatches(key: Buffer, event: CanonicalEvent, seal: string): boolean {
  const a = Buffer.from(sealOf(key, event));
  const b = Buffer.from(seal);
  return a.length === b.length && timingSafeEqual(a, b);
}
