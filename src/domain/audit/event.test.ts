// Canonical event bytes: one encoding per event, every field covered, RFC 8785 behaviour.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.js';
import { canonicalEvent, canonicalEventBytes, canonicalJson, eventLeafHash, parseAuditEvent, type AuditEvent } from './event.js';
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

/**
 * The encoding as first written, kept here as the reference the quicker one must equal: keys sorted,
 * every string through JSON.stringify, a lone surrogate refused.
 */
function referenceJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') {
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) throw new Error('lone surrogate');
    return JSON.stringify(value);
  }
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((k) => `${referenceJson(k)}:${referenceJson(record[k])}`)
    .join(',')}}`;
}

/**
 * Strings of the characters an encoder can get wrong: controls (NUL included), quote, backslash,
 * DEL, line separators, any code point outside the surrogates and, in one string in forty (so that
 * most events can still be encoded), a lone surrogate.
 */
const wellFormedText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', '\\', '/', '\u007f', '\u2028', '\ud83d\ude00', '\u00e9', 'a', '\u0000'),
    fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
    fc.oneof(fc.integer({ min: 0x20, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff })).map((c) => String.fromCodePoint(c)),
  ),
  maxLength: 8,
});
const awkwardText = fc.oneof(
  { arbitrary: wellFormedText, weight: 39 },
  { arbitrary: fc.tuple(wellFormedText, fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'), wellFormedText).map((parts) => parts.join('')), weight: 1 },
);

describe('canonicalEvent', () => {
  const nullableText = fc.option(awkwardText, { nil: null });
  const unsequenced = fc.record({
    time: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    actorUserId: nullableText,
    actorOrganisationId: nullableText,
    action: awkwardText,
    targetOrganisationId: nullableText,
    targetIds: fc.dictionary(awkwardText, awkwardText),
    decision: fc.constantFrom('allow' as const, 'deny' as const),
    reason: awkwardText,
    arrangementId: nullableText,
    channel: awkwardText,
    clientAddress: nullableText,
    requestId: nullableText,
  });

  it('gives the bytes of the reference encoding at every seq, and refuses exactly what it refuses (property)', () => {
    const runs = { total: 0, refused: 0 };
    fc.assert(
      fc.property(unsequenced, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (event, seq) => {
        runs.total += 1;
        const sequenced = { ...event, seq };
        let expected: string | null;
        try {
          expected = event.action === '' || event.channel === '' ? null : referenceJson(sequenced);
        } catch {
          expected = null;
        }
        if (expected === null) {
          runs.refused += 1;
          expect(() => canonicalEvent(event)).toThrow(DomainError);
          expect(() => canonicalEventBytes(sequenced)).toThrow(DomainError);
          return;
        }
        expect(canonicalEvent(event).bytesAt(seq).toString('utf8')).toBe(expected);
        expect(canonicalEventBytes(sequenced).toString('utf8')).toBe(expected);
        expect(canonicalJson(sequenced)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    // Both outcomes are exercised often, or the property proves little.
    expect(runs.refused).toBeGreaterThan(runs.total / 10);
    expect(runs.refused).toBeLessThan(runs.total * 0.9);
  });

  it('is the same encoding at every seq but that one number', () => {
    const encoded = canonicalEvent(EVENT);
    expect(encoded.bytesAt(42)).toEqual(canonicalEventBytes(EVENT));
    expect(encoded.bytesAt(0).toString('utf8')).toBe(canonicalEventBytes({ ...EVENT, seq: 0 }).toString('utf8'));
    expect(encoded.bytesAt(Number.MAX_SAFE_INTEGER).toString('utf8')).toContain(`"seq":${Number.MAX_SAFE_INTEGER},`);
  });

  it('refuses a seq that is not a non-negative integer', () => {
    const encoded = canonicalEvent(EVENT);
    for (const seq of [-1, 1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => encoded.bytesAt(seq), String(seq)).toThrow(DomainError);
    }
  });

  it('ignores a seq the event carries, and checks every other field as canonicalEventBytes does', () => {
    expect(canonicalEvent({ ...EVENT, seq: 7 } as AuditEvent).bytesAt(42)).toEqual(canonicalEventBytes(EVENT));
    expect(() => canonicalEvent({ ...EVENT, extra: 1 } as AuditEvent)).toThrow(/extra/);
    expect(() => canonicalEvent({ ...EVENT, time: 'yesterday' })).toThrow(DomainError);
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
