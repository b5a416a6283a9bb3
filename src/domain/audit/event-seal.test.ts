import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.js';
import { canonicalEvent, type AuditEvent } from './event.js';
import { eventSeal, sealMatches } from './event-seal.js';

const key = Buffer.alloc(32, 7);
const event: Omit<AuditEvent, 'seq'> = {
  time: '2026-11-30T03:00:00.000Z', actorUserId: 'u1', actorOrganisationId: 'o1', action: 'document.read', targetOrganisationId: 'o1',
  targetIds: { documentId: 'd1' }, decision: 'allow', reason: 'own_team', arrangementId: null, channel: 'api', clientAddress: '192.0.2.1', requestId: 'r1',
};

describe('eventSeal', () => {
  it('matches the event it was made for, under the key it was made with', () => {
    expect(sealMatches(key, canonicalEvent(event), eventSeal(key, event))).toBe(true);
    // Sequencing only orders an event: the seal is the same whatever seq the caller's object holds.
    expect(eventSeal(key, { ...event, seq: 12 } as AuditEvent)).toBe(eventSeal(key, event));
  });

  it('does not match a changed field or another key, and a malformed event has none', () => {
    const seal = eventSeal(key, event);
    expect(sealMatches(key, canonicalEvent({ ...event, action: 'document.delete' }), seal)).toBe(false);
    expect(sealMatches(key, canonicalEvent({ ...event, targetIds: { documentId: 'd2' } }), seal)).toBe(false);
    expect(sealMatches(Buffer.alloc(32, 8), canonicalEvent(event), seal)).toBe(false);
    expect(sealMatches(key, canonicalEvent(event), '')).toBe(false);
    expect(() => eventSeal(key, { ...event, time: 'yesterday' })).toThrow(DomainError);
  });
});
