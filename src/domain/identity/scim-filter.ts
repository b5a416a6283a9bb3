// The SCIM filters Strongroom answers (RFC 7644 §3.4.2.2), parsed strictly: exactly `<attribute> eq "<string>"`
// on the attributes a provisioning client matches on (Entra ID asks `userName eq`, `externalId eq` and
// `displayName eq`). Anything else is refused with a message saying what is supported, never guessed at;
// the value comes back as data for a parameterised query, never as text to paste into SQL.

export type ScimResourceKind = 'User' | 'Group';

/** Attributes a filter may name, by resource type, in their canonical spelling. */
export const FILTERABLE: Readonly<Record<ScimResourceKind, readonly string[]>> = {
  // Entra ID also matches on the work e-mail: Strongroom's one address, the same as userName.
  User: ['userName', 'externalId', 'id', 'emails[type eq "work"].value'],
  Group: ['displayName', 'externalId', 'id'],
};

export interface ScimFilter {
  /** Canonical spelling, from FILTERABLE. */
  attribute: string;
  value: string;
}

/** Why a filter was refused; the SCIM error's detail (scimType `invalidFilter`). */
export class ScimFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScimFilterError';
  }
}

const MAX_FILTER_LENGTH = 1024;

export function parseScimFilter(kind: ScimResourceKind, filter: string): ScimFilter {
  const supported = `Strongroom supports only ${FILTERABLE[kind].map((a) => `${a} eq "…"`).join(', ')} for ${kind}s.`;
  if (filter.length > MAX_FILTER_LENGTH) throw new ScimFilterError(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  // Attribute names are case-insensitive (RFC 7643 §2.1); the operator too (RFC 7644 §3.4.2.2).
  const head = /^\s*([A-Za-z][A-Za-z0-9_$-]*|emails\[\s*type\s+eq\s+"work"\s*\]\.value)\s+([A-Za-z]+)\s+/i.exec(filter);
  if (!head) throw new ScimFilterError(`The filter could not be read. ${supported}`);
  const spelled = head[1]!.replace(/\s+/g, ' ').replace(/\[ /, '[').replace(/ \]/, ']').toLowerCase();
  const attribute = FILTERABLE[kind].find((a) => a.toLowerCase() === spelled);
  if (!attribute) throw new ScimFilterError(`Filtering on "${head[1]}" is not supported. ${supported}`);
  if (head[2]!.toLowerCase() !== 'eq') throw new ScimFilterError(`The operator "${head[2]}" is not supported. ${supported}`);
  const { value, rest } = readJsonString(filter.slice(head[0].length), supported);
  if (rest.trim() !== '') throw new ScimFilterError(`Only one comparison is supported; the filter goes on after the value ("${rest.trim().slice(0, 40)}"). ${supported}`);
  return { attribute, value };
}

/** A JSON string literal at the start of `text` (RFC 7644 compares to JSON values), and what follows it. */
function readJsonString(text: string, supported: string): { value: string; rest: string } {
  if (!text.startsWith('"')) throw new ScimFilterError(`The value must be a string in double quotes. ${supported}`);
  let i = 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') break;
    else i += 1;
  }
  if (i >= text.length) throw new ScimFilterError(`The value's closing double quote is missing. ${supported}`);
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, i + 1));
  } catch {
    throw new ScimFilterError(`The value is not a valid string (check its backslash escapes). ${supported}`);
  }
  return { value: value as string, rest: text.slice(i + 1) };
}
