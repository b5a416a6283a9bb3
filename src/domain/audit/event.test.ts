// Canonical event bytes: one encoding per event, every field covered, RFC 8785 behaviour.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.js';
import { canonicalEventBytes, canonicalJson, eventLeafHash, parseAuditEvent, type AuditEvent } from './event.js';
import { leafHash } from './merkle.js';

const EVENT: AuditEvent = {
  seq: 42,
  time: '2025-03-04T05:06:07.089Z',
  actorUserId: 'u-1',
  actorOrganisationId: 'org-1',
  action: 'document.read',
  targetOrganisationId: 'org-2',
  targetIds: { versionId: 'v-9', documentId: 'd-7' },
  decision: 'allow',
  reason: 'arrangement grants read',
  arrangementId: 'arr-3',
  channel: 'webdav',
  clientAddress: '2001:db8::1',
  requestId: null,
};

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units (RFC 8785 3.2.3)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    ) as unknown;
    // Compared as text: Object.keys would put the integer-like key "1" first whatever the order.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('serialises numbers, strings and literals as RFC 8785 3.2.2 does', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('refuses what JSON cannot carry faithfully', () => {
    for (const bad of [undefined, Number.NaN, Infinity, { a: undefined }, new Date(0), Buffer.from('x'), 'lone \uD800', { ['\uDC00']: 1 }, 10n]) {
      expect(() => canonicalJson(bad), String(bad)).toThrow(DomainError);
    }
  });
});

describe('canonicalEventBytes', () => {
  it('is exactly the sorted, compact JSON of the event', () => {
    expect(canonicalEventBytes(EVENT).toString('utf8')).toBe(
      '{"action":"document.read","actorOrganisationId":"org-1","actorUserId":"u-1","arrangementId":"arr-3",' +
        '"channel":"webdav","clientAddress":"2001:db8::1","decision":"allow","reason":"arrangement grants read",' +
        '"requestId":null,"seq":42,"targetIds":{"documentId":"d-7","versionId":"v-9"},' +
        '"targetOrganisationId":"org-2","time":"2025-03-04T05:06:07.089Z"}',
    );
    expect(eventLeafHash(EVENT)).toEqual(leafHash(canonicalEventBytes(EVENT)));
  });

  it('does not depend on the order the object was built in', () => {
    const reversed = Object.fromEntries(Object.entries(EVENT).reverse()) as unknown as AuditEvent;
    reversed.targetIds = { documentId: 'd-7', versionId: 'v-9' };
    expect(canonicalEventBytes(reversed)).toEqual(canonicalEventBytes(EVENT));
  });

  it('changes when any field changes, seq included', () => {
    const variants: Array<Partial<AuditEvent>> = [
      { seq: 43 },
      { time: '2025-03-04T05:06:07.090Z' },
      { actorUserId: null },
      { actorOrganisationId: 'org-2' },
      { action: 'document.delete' },
      { targetOrganisationId: null },
      { targetIds: { documentId: 'd-7' } },
      { targetIds: { documentId: 'd-7', versionId: 'v-8' } },
      { decision: 'deny' },
      { reason: '' },
      { arrangementId: null },
      { channel: 'api' },
      { clientAddress: null },
      { requestId: '' },
    ];
    const base = canonicalEventBytes(EVENT);
    const seen = new Set([base.toString('hex')]);
    for (const v of variants) {
      const bytes = canonicalEventBytes({ ...EVENT, ...v });
      expect(bytes.equals(base), JSON.stringify(v)).toBe(false);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(variants.length + 1);
  });

  it('is injective over arbitrary field values (property)', () => {
    const nullableText = fc.option(fc.string(), { nil: null });
    const event = fc.record({
      seq: fc.nat(),
      time: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      actorUserId: nullableText,
      actorOrganisationId: nullableText,
      action: fc.string({ minLength: 1 }),
      targetOrganisationId: nullableText,
      targetIds: fc.dictionary(fc.string(), fc.string()),
      decision: fc.constantFrom('allow' as const, 'deny' as const),
      reason: fc.string(),
      arrangementId: nullableText,
      channel: fc.string({ minLength: 1 }),
      clientAddress: nullableText,
      requestId: nullableText,
    });
    fc.assert(
      fc.property(event, event, (a, b) => {
        const same = canonicalEventBytes(a).equals(canonicalEventBytes(b));
        expect(same).toBe(JSON.stringify(sortDeep(a)) === JSON.stringify(sortDeep(b)));
        // And the bytes parse back to the same event.
        expect(JSON.parse(canonicalEventBytes(a).toString('utf8'))).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects malformed events rather than hashing them', () => {
    const bad: Array<Record<string, unknown>> = [
      { seq: -1 },
      { seq: 1.5 },
      { seq: '42' },
      { time: '2025-03-04T05:06:07Z' }, // not as toISOString writes it
      { time: '2025-03-04T06:06:07.089+01:00' },
      { time: 'yesterday' },
      { actorUserId: undefined },
      { action: '' },
      { decision: 'maybe' },
      { targetIds: { documentId: 7 } },
      { targetIds: null },
      { channel: '' },
      { reason: null },
      { extra: 'not covered by the hash' },
      { reason: 'lone \uD800 surrogate' },
    ];
    for (const change of bad) {
      expect(() => canonicalEventBytes({ ...EVENT, ...change } as AuditEvent), JSON.stringify(change)).toThrow(DomainError);
    }
    const { requestId: _dropped, ...missing } = EVENT;
    expect(() => parseAuditEvent(missing)).toThrow(/requestId/);
    expect(() => parseAuditEvent(null)).toThrow(DomainError);
    expect(() => parseAuditEvent([])).toThrow(DomainError);
  });
});

function sortDeep(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
  );
}
