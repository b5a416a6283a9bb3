// Fuzzing support: raw HTTP exchanges with a deadline (so a hang fails instead of stalling the suite)
// and generators for hostile paths, headers and bodies.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';

/** Long enough for a loaded CI machine, short enough that a request the server never answers fails the run. */
export const RESPONSE_DEADLINE_MS = 20_000;

export interface Exchange {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Answer {
  status: number;
  body: string;
}

/** Sends one request exactly as written; rejects if no complete answer arrives before the deadline. */
export function send(port: number, exchange: Exchange): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Node frames no body for DELETE or OPTIONS unless told its length; an unframed body would be read as a second request.
    const headers = exchange.body ? { 'content-length': String(exchange.body.length), ...exchange.headers } : exchange.headers;
    const req = httpRequest({ host: '127.0.0.1', port, method: exchange.method, path: exchange.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 2000) });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${RESPONSE_DEADLINE_MS} ms to ${exchange.method} ${exchange.path}`));
    }, RESPONSE_DEADLINE_MS);
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    req.on('error', fail);
    req.end(exchange.body);
  });
}

/**
 * Writes raw bytes and half-closes, for requests an HTTP client would refuse to send (Content-Length
 * lies). Resolves with the status line's code, or 0 when the server closed without answering.
 */
export function sendRaw(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer or close within ${RESPONSE_DEADLINE_MS} ms`));
    }, RESPONSE_DEADLINE_MS);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      resolve(m ? Number(m[1]) : 0);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Visible ASCII an HTTP client lets through in a request target or header value unencoded. */
const visibleAscii = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const anyText = fc.string({ unit: 'binary', maxLength: 40 });

/** One path segment: ordinary, encoded, traversal, unicode tricks, overlong, or raw punctuation. */
export const segmentArb = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: visibleAscii.map((s) => s.replace(/[?#/]/g, '')) },
    { weight: 2, arbitrary: anyText.map(encodeURIComponent) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '..', '.', '%2e%2e', '%2E.', '%2f', '%5c', '%00', '%0a', '%ff', '%c0%ae', '%e2%80%ae', '%ef%bb%bf', '%', '%zz', '~', 'CON', 'nul.txt',
        '%e2%80%8b', '%f0%9f%92%a9', 'a%2f..%2fb', ';', '*', '%20', '.DS_Store', '._x',
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 256, max: 6000 }).map((n) => 'a'.repeat(n)) },
  );

export const pathTailArb = (known: string[]): fc.Arbitrary<string> =>
  fc.tuple(fc.array(segmentArb(known), { maxLength: 5 }), fc.boolean(), fc.option(visibleAscii.map((q) => q.replace(/#/g, '')), { nil: undefined }))
    .map(([segments, slash, query]) => `${segments.join('/')}${slash ? '/' : ''}${query === undefined ? '' : `?${query}`}`);

/** JSON bodies: valid documents of odd shapes, the right shape with wrong types, and text that is not JSON. */
export const jsonBodyArb = (hints: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> =>
  fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.record(hints, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.dictionary(fc.constantFrom(...Object.keys(hints), '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 2 })).map((o) => JSON.stringify(o)),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('{', '[', '{"name":', '\u0000', '{"a":1}{"b":2}', 'null', '1e999', '"\\ud800"', `{"name":"${'x'.repeat(5000)}"}`),
  );

const XML_PIECES = [
  '<?xml version="1.0" encoding="utf-8"?>',
  '<!DOCTYPE d [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;&x;&x;">]>',
  '<!DOCTYPE d SYSTEM "file:///etc/passwd">',
  '<!ENTITY e SYSTEM "http://127.0.0.1:1/">',
  '&y;', '&e;', '&#0;', '&#x110000;', '&lt;', '&unknown;',
  '<D:propfind xmlns:D="DAV:">', '</D:propfind>', '<D:allprop/>', '<D:propname/>', '<D:prop>', '</D:prop>',
  '<D:propertyupdate xmlns:D="DAV:">', '</D:propertyupdate>', '<D:set>', '</D:set>', '<D:remove>', '</D:remove>',
  '<D:lockinfo xmlns:D="DAV:">', '</D:lockinfo>', '<D:lockscope><D:exclusive/></D:lockscope>', '<D:locktype><D:write/></D:locktype>',
  '<D:owner>', '</D:owner>', '<x:p xmlns:x="urn:x">', '</x:p>', '<x:q xmlns:x="">', '<y:z>', '<D:href>', '</D:href>',
  '<![CDATA[', ']]>', '<!--', '-->', '<?pi x?>', '<a', '>', '/>', '"', "'", ' xmlns="', 'DAV:', '\u0000', '\ud800', 'é', '\u202e',
];

/** XML bodies put together from meaningful and broken pieces, so both parser and interpreter are reached. */
export const xmlBodyArb: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...XML_PIECES), { maxLength: 14 }).map((parts) => parts.join('')),
  fc.string({ maxLength: 300 }),
  fc.integer({ min: 1, max: 400 }).map((n) => `<?xml version="1.0"?>${'<a>'.repeat(n)}${'</a>'.repeat(n)}`),
  fc.constant(`<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>${Array.from({ length: 300 }, (_, i) => `<x:p${i} xmlns:x="urn:x">v</x:p${i}>`).join('')}</D:prop></D:set></D:propertyupdate>`),
);

/** Header values a client can send: plausible, malformed and absurd. */
export const headerValueArb = (plausible: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...plausible) },
    { weight: 2, arbitrary: visibleAscii },
    { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 120 }) },
    // Long, but with every header together under Node's 16 KiB limit (past it Node itself answers 431).
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 1500 }).map((n) => `(<${'a'.repeat(n)}>)`) },
  );
