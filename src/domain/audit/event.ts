// Audit events and their canonical bytes: the exact bytes hashed into the Merkle tree.
// One event has exactly one encoding, so the server, `strongroom audit verify` and an
// auditor's offline verifier all compute the same leaf hash from the same fields.

import { invalid } from '../errors.js';
import { leafHash } from './merkle.js';

/** One audit event. Ids only, never document content or personal details, so erasure never breaks the log. */
export interface AuditEvent {
  /** Position in the log, 0, 1, 2…; it is also the leaf index, and is hashed so reordering shows. */
  seq: number;
  /** UTC, exactly as Date.prototype.toISOString writes it (e.g. 2025-01-31T09:15:00.000Z). */
  time: string;
  actorUserId: string | null;
  actorOrganisationId: string | null;
  action: string;
  targetOrganisationId: string | null;
  targetIds: Record<string, string>;
  decision: 'allow' | 'deny';
  reason: string;
  arrangementId: string | null;
  channel: string;
  clientAddress: string | null;
  requestId: string | null;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const EVENT_FIELDS = [
  'seq',
  'time',
  'actorUserId',
  'actorOrganisationId',
  'action',
  'targetOrganisationId',
  'targetIds',
  'decision',
  'reason',
  'arrangementId',
  'channel',
  'clientAddress',
  'requestId',
] as const satisfies readonly (keyof AuditEvent)[];

// Fails to compile if AuditEvent gains a field that EVENT_FIELDS (and so the hash) leaves out.
type MissingFields = Exclude<keyof AuditEvent, (typeof EVENT_FIELDS)[number]>;
const _allFieldsHashed: MissingFields extends never ? true : never = true;
void _allFieldsHashed;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * What JSON.stringify escapes or refuses: control characters, the quote, the backslash and (lone)
 * surrogates. A string with none of them is written between quotes as it is, which is the same
 * text and several times quicker; almost every string in an audit event is such a string.
 */
const NEEDS_CARE = /[\u0000-\u001F"\\\uD800-\uDFFF]/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function encodeString(s: string): string {
  if (!NEEDS_CARE.test(s)) return `"${s}"`;
  // A lone surrogate has no UTF-8 encoding; letting it through would make the bytes depend on the encoder.
  if (LONE_SURROGATE.test(s)) throw invalid('Canonical JSON strings must be valid Unicode.');
  // JSON.stringify escapes exactly as RFC 8785 (ECMAScript) requires.
  return JSON.stringify(s);
}

/**
 * RFC 8785-style canonical JSON: object keys sorted by UTF-16 code units, no white space,
 * ECMAScript number and string serialisation. Anything JSON cannot carry faithfully
 * (undefined, NaN, Infinity, class instances) is rejected rather than silently dropped.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw invalid('Canonical JSON numbers must be finite.');
      return JSON.stringify(value);
    case 'string':
      return encodeString(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      if (!isPlainObject(value)) throw invalid('Canonical JSON objects must be plain objects.');
      const keys = Object.keys(value).sort();
      return `{${keys.map((k) => `${encodeString(k)}:${canonicalJson(value[k])}`).join(',')}}`;
    }
    default:
      throw invalid(`Canonical JSON cannot encode a ${typeof value}.`);
  }
}

function isIsoUtc(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}

const nullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';

const EVENT_FIELD_SET: ReadonlySet<string> = new Set(EVENT_FIELDS);

/** What is wrong with an event's fields other than seq, in a sentence each. */
function unsequencedFieldProblems(v: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!isIsoUtc(v.time)) problems.push('time must be an ISO 8601 UTC timestamp as toISOString() writes it');
  for (const k of ['actorUserId', 'actorOrganisationId', 'targetOrganisationId', 'arrangementId', 'clientAddress', 'requestId'] as const) {
    if (!nullableString(v[k])) problems.push(`${k} must be a string or null`);
  }
  if (typeof v.action !== 'string' || v.action === '') problems.push('action must be a non-empty string');
  if (typeof v.channel !== 'string' || v.channel === '') problems.push('channel must be a non-empty string');
  if (typeof v.reason !== 'string') problems.push('reason must be a string');
  if (v.decision !== 'allow' && v.decision !== 'deny') problems.push("decision must be 'allow' or 'deny'");
  if (!isPlainObject(v.targetIds) || !Object.values(v.targetIds).every((t) => typeof t === 'string')) {
    problems.push('targetIds must be an object of strings');
  }
  return problems;
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Checks that an untrusted value is an event's fields, with nothing extra, and returns it; throws
 * DomainError('INVALID') naming every problem. Extra fields are refused because they would not be
 * covered by the hash, yet a reader of an export might believe them. `seq` is checked only when
 * `sequenced`; otherwise it is ignored, and may be absent.
 */
function checkFields(value: unknown, sequenced: boolean): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid('An audit event must be an object.');
  const extra = Object.keys(value).filter((k) => !EVENT_FIELD_SET.has(k));
  if (extra.length > 0) throw invalid(`Unknown audit event field(s): ${extra.join(', ')}.`);
  const problems = unsequencedFieldProblems(value);
  if (sequenced && !isSeq(value.seq)) problems.unshift('seq must be a non-negative integer');
  if (problems.length > 0) throw invalid(`Invalid audit event: ${problems.join('; ')}.`, { problems });
  return value;
}

/** Checks that an untrusted value is an AuditEvent with nothing extra, and returns it. */
export function parseAuditEvent(value: unknown): AuditEvent {
  return checkFields(value, true) as unknown as AuditEvent;
}

/** An event's canonical encoding, checked and built once, at whatever sequence number it is given. */
export interface CanonicalEvent {
  /** The canonical UTF-8 bytes with this seq. Throws DomainError('INVALID') for a seq that is not one. */
  bytesAt(seq: number): Buffer;
}

/** The event's fields in canonical (sorted) order, each with the text that comes before its value. */
const CANONICAL_ORDER = [...EVENT_FIELDS].sort().map((field, i) => ({ field, prefix: `${i === 0 ? '{' : ','}${encodeString(field)}:` }));

/**
 * Checks an event (its seq, if any, is ignored) and encodes it once. seq is a plain number in the
 * middle of the sorted fields, so the bytes at any seq are the text before it, the number and the
 * text after it: the seal (taken at seq 0) and the leaf hash (at the event's seq) share one
 * encoding. The result is the same as canonicalJson of the event's fields, which the tests check
 * over arbitrary events; this is written out only because an event is encoded on every request.
 */
export function canonicalEvent(event: Omit<AuditEvent, 'seq'>): CanonicalEvent {
  return encodeChecked(checkFields(event, false));
}

/** The encoding of an event checkFields has passed: every field but targetIds is a string or null. */
function encodeChecked(e: Record<string, unknown>): CanonicalEvent {
  let before = '';
  let after = '';
  let seen = false;
  for (const { field, prefix } of CANONICAL_ORDER) {
    if (field === 'seq') {
      before += prefix;
      seen = true;
      continue;
    }
    const value = e[field];
    const text = field === 'targetIds' ? canonicalJson(value) : value === null ? 'null' : encodeString(value as string);
    if (seen) after += prefix + text;
    else before += prefix + text;
  }
  after += '}';
  return {
    bytesAt(seq: number): Buffer {
      if (!isSeq(seq)) throw invalid('Invalid audit event: seq must be a non-negative integer.');
      return Buffer.from(`${before}${seq}${after}`, 'utf8');
    },
  };
}

/** The canonical UTF-8 bytes of an event. Throws DomainError('INVALID') for a malformed event. */
export function canonicalEventBytes(event: AuditEvent): Buffer {
  const e = parseAuditEvent(event);
  return encodeChecked(e as unknown as Record<string, unknown>).bytesAt(e.seq);
}

/** The Merkle leaf hash of an event: SHA-256(0x00 ‖ canonical bytes). */
export function eventLeafHash(event: AuditEvent): Buffer {
  return leafHash(canonicalEventBytes(event));
}
