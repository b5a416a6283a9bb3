// Fuzzing WebDAV over real HTTP: generated methods, paths (own, another organisation's, nowhere),
// headers (Depth, Destination, If, Overwrite, Timeout, Lock-Token, Range, Content-Type) and XML
// bodies. Whatever is sent, the server answers before the deadline, never with a 5xx, and keeps serving.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer } from '../webdav/support.js';
import { headerValueArb, pathTailArb, send, sendRaw, xmlBodyArb, type Exchange } from './support.js';

const clamd = useClamd();

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'POST', 'TRACE'];

describe.each(DIALECTS)('WebDAV under fuzzing on %s', (dialect) => {
  let s: DavServer;
  let auths: (string | null)[];
  let known: string[];
  let own: string;
  let token = '';

  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL', payroll: 'OFFICIAL-SENSITIVE' } });
    const other = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const user = await davUser(s.vault, org, { teams: ['finance'], roles: ['member', 'org_admin'], clearance: 'OFFICIAL' });
    const stranger = await davUser(s.vault, other, { teams: ['finance'] });
    own = org.slug;
    expect((await dav(s.base, 'PUT', `/dav/${own}/finance/seed.txt`, { user, body: 'seed' })).status).toBe(201);
    expect((await dav(s.base, 'MKCOL', `/dav/${own}/finance/sub`, { user })).status).toBe(201);
    const lock = await dav(s.base, 'LOCK', `/dav/${own}/finance/seed.txt`, {
      user, headers: { timeout: 'Second-600' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    token = lock.headers.get('lock-token') ?? '<urn:uuid:none>';
    known = [own, other.slug, 'finance', 'payroll', 'sub', 'seed.txt', 'new.txt', 'nowhere'];
    auths = [user.basic, stranger.basic, null, 'Basic !!!', `Basic ${Buffer.from('nobody@example.test:x').toString('base64')}`, `Bearer ${user.token}`];
  });
  afterAll(async () => {
    await s?.close();
  });

  const alive = async () => expect((await send(s.port, { method: 'OPTIONS', path: '/dav/', headers: {} })).status).toBe(200);

  it('answers generated WebDAV requests without a server error or a hang', async () => {
    const tokenish = () => fc.constantFrom(token, '<urn:uuid:00000000-0000-0000-0000-000000000000>', '<>', 'urn:x', '<opaquelocktoken:x>');
    const exchangeArb: fc.Arbitrary<Exchange> = fc.record({
      method: fc.constantFrom(...METHODS),
      tail: pathTailArb(known),
      prefix: fc.constantFrom('/dav/', `/dav/${own}/finance/`, `/dav/${own}/`, '/dav', '/dav/%2e%2e/', '//dav/'),
      auth: fc.constantFrom(...auths),
      depth: fc.option(headerValueArb(['0', '1', 'infinity', '2', '-1', '']), { nil: undefined }),
      destination: fc.option(fc.oneof(
        pathTailArb(known).map((t) => `${s.base}/dav/${own}/finance/${t}`),
        pathTailArb(known).map((t) => `/dav/${t}`),
        headerValueArb(['http://elsewhere.test/dav/x', `${s.base}/dav/`, `${s.base}/dav/${own}/finance/seed.txt`, 'ftp://x', '/api/v1/x']),
      ), { nil: undefined }),
      overwrite: fc.option(headerValueArb(['T', 'F', 't', '']), { nil: undefined }),
      ifHeader: fc.option(fc.oneof(
        tokenish().map((t) => `(${t.startsWith('<') ? t : `<${t}>`})`),
        tokenish().map((t) => `<${s.base}/dav/${own}/finance/seed.txt> (Not ${t.startsWith('<') ? t : `<${t}>`} ["x"])`),
        headerValueArb(['(', '()', '(<a>', '<x> ()', '(["etag"])', '(Not)']),
      ), { nil: undefined }),
      timeout: fc.option(headerValueArb(['Second-1', 'Infinite', 'Second-99999999999999999999', 'Second-', 'Second-0, Infinite']), { nil: undefined }),
      lockToken: fc.option(tokenish(), { nil: undefined }),
      range: fc.option(headerValueArb(['bytes=0-1', 'bytes=-1', 'bytes=3-2', 'bytes=0-99999999999999999999']), { nil: undefined }),
      contentType: fc.option(headerValueArb(['application/xml', 'text/xml; charset=utf-16', 'application/octet-stream']), { nil: undefined }),
      body: fc.option(fc.oneof(xmlBodyArb.map((x) => Buffer.from(x)), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), { nil: undefined }),
    }).map((r) => {
      const headers: Record<string, string> = {};
      if (r.auth) headers.authorization = r.auth;
      if (r.depth !== undefined) headers.depth = r.depth;
      if (r.destination !== undefined) headers.destination = r.destination;
      if (r.overwrite !== undefined) headers.overwrite = r.overwrite;
      if (r.ifHeader !== undefined) headers.if = r.ifHeader;
      if (r.timeout !== undefined) headers.timeout = r.timeout;
      if (r.lockToken !== undefined) headers['lock-token'] = r.lockToken;
      if (r.range !== undefined) headers.range = r.range;
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      // Node's client cannot frame a body on GET or HEAD reliably; clients do not send one.
      const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
      return { method: r.method, path: `${r.prefix}${r.tail}`, headers, ...(withBody ? { body: r.body } : {}) };
    });

    await fc.assert(
      fc.asyncProperty(exchangeArb, async (exchange) => {
        const answer = await send(s.port, exchange);
        expect(answer.status, `${exchange.method} ${exchange.path} ${JSON.stringify(exchange.headers)} → ${answer.body}`).toBeLessThan(500);
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261130), endOnFailure: true },
    );
    await alive();
  });

  it('answers the requests earlier runs found, each with a client error', async () => {
    // An empty Content-Type was refused by Fastify before our handler, and the WebDAV error mapper answered 500.
    for (const method of ['DELETE', 'PUT', 'PROPFIND']) {
      const answer = await send(s.port, { method, path: `/dav/${own}/finance/seed.txt`, headers: { authorization: auths[0]!, 'content-type': '' }, body: Buffer.from('x') });
      expect(answer.status, `${method} → ${answer.body}`).toBe(415);
      expect(answer.body).toMatch(/Content-Type/);
    }
  });

  it('survives PUT and PROPFIND bodies whose Content-Length lies', async () => {
    const auth = `Authorization: ${auths[0]}\r\n`;
    const put = `/dav/${own}/finance/lie.txt`;
    const cases = [
      `PUT ${put} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 100\r\n\r\nshort`,
      // Two declared bytes are a whole body; whether they are stored races the parser's error on the
      // rest, so that file is named apart from the half-sent bodies, which must never be stored.
      `PUT ${put.replace('lie.txt', 'framed.txt')} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 2\r\n\r\nlonger than two`,
      `PUT ${put} HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n5\r\nab`,
      `PROPFIND /dav/${own}/finance/ HTTP/1.1\r\nHost: x\r\n${auth}Depth: 1\r\nContent-Length: 500\r\n\r\n<?xml version="1.0"?><D:propfind xmlns:D="DAV:">`,
      `LOCK ${put} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 999999999999\r\n\r\n<a/>`,
    ];
    for (const request of cases) {
      const status = await sendRaw(s.port, Buffer.from(request, 'latin1'));
      expect(status, request.split('\r\n')[0]).toBeLessThan(500);
    }
    await alive();
    const finance = (await s.vault.store.repos.collections.childByName((await s.vault.store.repos.organisations.bySlug(own))!.id, null, 'finance'))!;
    expect(await s.vault.store.repos.documents.byName(finance.id, 'lie.txt')).toBeUndefined();
  });
});
