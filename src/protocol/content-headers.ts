// HTTP content headers, the same for the REST API, the web interface and WebDAV: Range parsing
// (RFC 9110), attachment Content-Disposition (RFC 6266 / 8187) and strong ETags from the content hash.
// Pure functions in protocol/, so no interface imports another to share them.
import type { ByteRange } from '../domain/ports.js';

/** Parses a single-range `Range` header. Returns null for no/ignorable range, 'unsatisfiable' for 416. */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges or other units: serving the whole representation is allowed.
  if (!match) return null;
  const [, first, last] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return null;
  return { start, end };
}

/**
 * The refusal of a PUT (or POST) of content that carries Content-Range: RFC 9110 §14.5 says such a body
 * is likely a part of a file mistakenly sent as the whole, and a server that allows PUT must answer 400
 * rather than store it. Null when the request has none.
 */
export function partialContentRefusal(headers: Record<string, string | string[] | undefined>): string | null {
  return headers['content-range'] === undefined ? null
    : 'This request sends a part of a file (Content-Range); only whole files can be stored. Nothing was stored: send the whole file.';
}

export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}

/** True when an If-None-Match / If-Match list contains this ETag (or `*`). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').map((t) => t.trim().replace(/^W\//, '')).some((t) => t === '*' || t === etag);
}

/**
 * The content hashes an If-Match header on a new version names (its ETags are `"<sha256>"`), for the
 * documents service to hold the upload to, before its bytes and again at its commit. Undefined when it
 * names none or `*` (any current content: the document exists, or the upload is 404 anyway).
 */
export function ifMatchHashes(header: string | undefined): string[] | undefined {
  if (!header) return undefined;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, '')).filter((t) => t !== '');
  if (tags.length === 0 || tags.includes('*')) return undefined;
  return tags.map((t) => t.replace(/^"(.*)"$/, '$1'));
}

/**
 * The Content-Security-Policy of every response that carries a stored file's bytes (or a picture made
 * from them): nothing may load, and the document is sandboxed, a unique origin without script. A file
 * is sent as an attachment with nosniff, so a browser saves it rather than showing it; were one ever
 * shown in a tab (a browser or proxy that ignores the attachment, a picture opened on its own), it
 * still could not run script as the service, read its cookies or call its API.
 */
export const STORED_CONTENT_CSP = "default-src 'none'; sandbox";

export function attachmentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
