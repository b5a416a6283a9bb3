import { describe, expect, it } from 'vitest';
import type { AuditEvent } from './event.js';
import { eventSeal, sealMatches } from './event-seal.js';

const key = Buffer.alloc(32, 7);
const event: Omit<AuditEvent, 'seq'> = {
  time: '2026-11-30T03:00:00.000Z', actorUserId: 'u1', actorOrganisationId: 'o1', action: 'document.read', targetOrganisationId: 'o1',
  targetIds: { documentId: 'd1' }, decision: 'allow', reason: 'own_team', arrangementId: null, channel: 'api', clientAddress: '192.0.2.1', requestId: 'r1',
};

describe('eventSeal', () => {
  it('matches the event it was made for, under the key it was made with', () => {
    expect(sealMatches(key, event, eventSeal(key, event))).toBe(true);
  });

  it('does not match a changed field, another key, or a malformed event', () => {
    const seal = eventSeal(key, event);
    expect(sealMatches(key, { ...event, action: 'document.delete' }, seal)).toBe(false);
    expect(sealMatches(key, { ...event, targetIds: { documentId: 'd2' } }, seal)).toBe(false);
    expect(sealMatches(Buffer.alloc(32, 8), event, seal)).toBe(false);
    expect(sealMatches(key, { ...event, time: 'yesterday' }, seal)).toBe(false);
    expect(sealMatches(key, event, '')).toBe(false);
  });
});
