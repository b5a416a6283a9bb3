// The RFC 4918 §10.4 If header: tagged and untagged lists of state tokens and entity tags, with Not.
import { DavError } from './errors.js';

export interface IfCondition {
  not: boolean;
  token?: string;
  etag?: string;
}

export interface IfList {
  /** The resource tag (an absolute URI or path), or null for the request URI. */
  resource: string | null;
  conditions: IfCondition[];
}

export function parseIfHeader(header: string): IfList[] {
  const lists: IfList[] = [];
  let i = 0;
  let resource: string | null = null;
  const s = header;
  const skipWhitespace = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const bad = () => new DavError(400, 'The If header is malformed.');
  skipWhitespace();
  while (i < s.length) {
    if (s[i] === '<') {
      const end = s.indexOf('>', i);
      if (end === -1) throw bad();
      resource = s.slice(i + 1, end);
      i = end + 1;
      skipWhitespace();
      if (s[i] !== '(') throw bad();
      continue;
    }
    if (s[i] !== '(') throw bad();
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      skipWhitespace();
      if (i >= s.length) throw bad();
      if (s[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (s.slice(i, i + 3).toLowerCase() === 'not') {
        not = true;
        i += 3;
        skipWhitespace();
      }
      if (s[i] === '<') {
        const end = s.indexOf('>', i);
        if (end === -1) throw bad();
        conditions.push({ not, token: s.slice(i + 1, end) });
        i = end + 1;
      } else if (s[i] === '[') {
        const end = s.indexOf(']', i);
        if (end === -1) throw bad();
        conditions.push({ not, etag: s.slice(i + 1, end).replace(/^W\//, '') });
        i = end + 1;
      } else {
        throw bad();
      }
    }
    if (conditions.length === 0) throw bad();
    lists.push({ resource, conditions });
    skipWhitespace();
  }
  if (lists.length === 0) throw bad();
  return lists;
}

/** Tokens the client submitted (mentioned without Not): they unlock locked resources. */
export function submittedTokens(lists: IfList[]): Set<string> {
  const out = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.token && !c.not) out.add(c.token);
  return out;
}
