// Hostile WebDAV requests: traversal in URLs and Destination headers, other organisations and hosts,
// XXE and billion-laughs bodies, oversized bodies, other people's locks, and malware over PUT.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { eicar } from '../support/samples.js';
import { DIALECTS } from '../support/vault.js';
import { PROPFIND_ALL, createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();

/** A raw request, so the path reaches the server exactly as written (fetch would normalise "..") */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const LOCKINFO = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>';

describe.each(DIALECTS)('hostile WebDAV requests on %s', (dialect) => {
  let s: DavServer;
  let alice: DavUser;
  let bob: DavUser;
  let slug: string;
  let otherSlug: string;
  let otherCollection: string;
  let finance: string;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const other = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    slug = org.slug;
    otherSlug = other.slug;
    otherCollection = other.collections.finance!;
    finance = org.collections.finance!;
    alice = await davUser(s.vault, org, { teams: ['finance'] });
    bob = await davUser(s.vault, org, { teams: ['finance'] });
    expect((await dav(s.base, 'PUT', `/dav/${slug}/finance/report.txt`, { user: alice, body: 'quarterly report' })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
  });

  const src = () => `/dav/${slug}/finance/report.txt`;
  const copyTo = (destination: string, user = alice) => raw(s.port, 'COPY', src(), { authorization: user.basic, destination });

  it('refuses a PUT of part of a file (Content-Range) with 400, new file or over one, storing nothing', async () => {
    const part = { 'content-range': 'bytes 0-3/100' };
    const fresh = await dav(s.base, 'PUT', `/dav/${slug}/finance/part.txt`, { user: alice, headers: part, body: 'quar' });
    expect(fresh.status).toBe(400);
    expect(fresh.body).toMatch(/only whole files can be stored/);
    expect((await dav(s.base, 'GET', `/dav/${slug}/finance/part.txt`, { user: alice })).status).toBe(404);
    const over = await dav(s.base, 'PUT', src(), { user: alice, headers: part, body: 'quar' });
    expect(over.status).toBe(400);
    expect((await dav(s.base, 'GET', src(), { user: alice })).body).toBe('quarterly report');
  });

  it('refuses traversal in the request URL, raw or percent-encoded', async () => {
    for (const path of [
      `/dav/${slug}/finance/../../${otherSlug}/finance/`,
      `/dav/${slug}/finance/%2e%2e/%2e%2e/${otherSlug}/finance/`,
      `/dav/${slug}/finance/%2E%2E%2F%2E%2E%2F${otherSlug}`,
      `/dav/${slug}/finance/..%5c..%5c${otherSlug}`,
      `/dav/${slug}/finance/report.txt%00.pdf`,
    ]) {
      const res = await raw(s.port, 'PROPFIND', path, { authorization: alice.basic, depth: '0' });
      expect(res.status, path).toBe(400);
    }
  });

  it('refuses Destination headers with traversal, another organisation or another host', async () => {
    const host = `127.0.0.1:${s.port}`;
    for (const destination of [
      `http://${host}/dav/${slug}/finance/../../${otherSlug}/finance/x.txt`,
      `http://${host}/dav/${slug}/finance/%2e%2e/%2e%2e/${otherSlug}/finance/x.txt`,
      `http://${host}/dav/${slug}/finance/sub%2f..%2f..%2fx.txt`,
      `/dav/${slug}/finance/./x.txt`,
    ]) {
      expect((await copyTo(destination)).status, destination).toBe(400);
    }
    // Another host: 502 (RFC 4918 §9.8.5), nothing copied anywhere.
    expect((await copyTo(`http://evil.example/dav/${slug}/finance/x.txt`)).status).toBe(502);
    expect((await copyTo(`https://127.0.0.1:1/dav/${slug}/finance/x.txt`)).status).toBe(502);
    // Outside /dav.
    expect((await copyTo(`http://${host}/api/v1/collections`)).status).toBe(404);
    // Another (unrelated) organisation looks like nothing at all (its folders are "missing", so
    // RFC 4918 §9.8.5's 409 for a destination whose parent does not exist), and receives nothing.
    const res = await copyTo(`http://${host}/dav/${otherSlug}/finance/stolen.txt`);
    expect(res.status).toBe(409);
    expect(await s.vault.store.repos.documents.byName(otherCollection, 'stolen.txt')).toBeUndefined();
    const moved = await raw(s.port, 'MOVE', src(), { authorization: alice.basic, destination: `http://${host}/dav/${otherSlug}/finance/stolen.txt` });
    expect(moved.status).toBe(409);
    expect((await dav(s.base, 'GET', src(), { user: alice })).status).toBe(200);
  });

  it('refuses XXE and billion-laughs bodies without expanding anything', async () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&x;</D:displayname></D:prop></D:propfind>';
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')}]><D:propfind xmlns:D="DAV:"><D:prop>&lol9;</D:prop></D:propfind>`;
    const undefinedEntity = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&x;</D:displayname></D:prop></D:propfind>';
    for (const body of [xxe, laughs, undefinedEntity]) {
      for (const method of ['PROPFIND', 'PROPPATCH', 'LOCK']) {
        const res = await dav(s.base, method, src(), { user: alice, headers: { depth: '0', 'content-type': 'application/xml' }, body });
        expect(res.status, `${method} ${body.slice(0, 60)}`).toBe(400);
        expect(res.body).not.toContain('root:');
      }
    }
    // PROPPATCH with an external entity in a value stores nothing.
    const props = await dav(s.base, 'PROPFIND', src(), { user: alice, headers: { depth: '0' } });
    expect(props.body).not.toContain('passwd');
  });

  it('refuses characters XML cannot carry (raw or as references) in any body, so no colleague\'s listing is made unreadable by them', async () => {
    const path = `/dav/${slug}/finance/characters.txt`;
    expect((await dav(s.base, 'PUT', path, { user: alice, body: 'x' })).status).toBe(201);
    const update = (value: string, ns = 'urn:example:z') =>
      `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${ns}"><D:set><D:prop><Z:note>${value}</Z:note></D:prop></D:set></D:propertyupdate>`;
    const lockinfo = (owner: string) => LOCKINFO.replace('<D:owner>alice</D:owner>', `<D:owner>${owner}</D:owner>`);
    const bodies: [string, string][] = [
      ['PROPPATCH', update('a\u0001b')], ['PROPPATCH', update('a&#xB;b')], ['PROPPATCH', update('a&#12;b')], ['PROPPATCH', update('a&#xFFFE;b')],
      ['PROPPATCH', update('a\uFFFFb')], ['PROPPATCH', update('ok', 'urn:&#x1B;z')], ['PROPPATCH', update('<Z:x a="&#xB;"/>')],
      ['LOCK', lockinfo('mallory\u0008')], ['LOCK', lockinfo('<D:href>&#x7;</D:href>')], ['PROPFIND', `<D:propfind xmlns:D="DAV:"><D:prop><x:p xmlns:x="urn:\u0002"/></D:prop></D:propfind>`],
    ];
    for (const [method, body] of bodies) {
      const res = await dav(s.base, method, path, { user: alice, headers: { depth: '0', 'content-type': 'application/xml', timeout: 'Second-60' }, body });
      expect(res.status, `${method} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body).toBe('The XML body contains a character XML does not allow (a control character other than tab and line breaks, a lone surrogate, U+FFFE or U+FFFF).\n');
    }
    // One stored before bodies were checked is shown with U+FFFD in its place: a colleague's listing of the folder is well-formed XML.
    const id = (await s.vault.store.repos.documents.byName(finance, 'characters.txt'))!.id;
    await s.vault.store.repos.dav.setProperty(id, 'urn:example:z', 'earlier', '<x a="\u0001">b\u000bc\uffffd</x>');
    const listing = await dav(s.base, 'PROPFIND', `/dav/${slug}/finance/`, { user: bob, headers: { depth: '1' }, body: PROPFIND_ALL });
    expect(listing.status).toBe(207);
    expect(listing.body).toContain('characters.txt');
    expect(listing.body).toContain('<x:earlier xmlns:x="urn:example:z"><x a="\ufffd">b\ufffdc\ufffdd</x></x:earlier>');
    expect(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.test(listing.body)).toBe(false);
    // No lock was taken by the refused LOCKs: a colleague can still write the file.
    expect((await dav(s.base, 'PUT', path, { user: bob, body: 'y' })).status).toBe(204);
  });

  it('answers a body declaring thousands of namespaces over thousands of elements', async () => {
    // 8,000 prefixes on the root and 8,000 elements below it (about 200 KB): copying every prefix into every element
    // held the event loop for seconds. That the reader's work grows with the body, not the product, is counted in
    // src/webdav/xml.test.ts (not timed here: a wall-clock bound fails on a loaded machine, not on the bug).
    const prefixes = Array.from({ length: 8000 }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ');
    const body = `<D:propfind xmlns:D="DAV:" ${prefixes}><D:allprop/><D:include>${'<p0:b/>'.repeat(8000)}</D:include></D:propfind>`;
    const res = await dav(s.base, 'PROPFIND', src(), { user: alice, headers: { depth: '0', 'content-type': 'application/xml' }, body });
    expect(res.status, res.body.slice(0, 200)).toBe(207);
    expect(res.body).toContain('<D:displayname>report.txt</D:displayname>');
  });

  it('answers malformed XML with 400 and too many properties with 413', async () => {
    for (const body of ['<D:propfind xmlns:D="DAV:"><D:prop>', 'not xml at all <', '<a:propfind xmlns:a="DAV:"><b:prop/></a:propfind>']) {
      expect((await dav(s.base, 'PROPFIND', src(), { user: alice, headers: { depth: '0' }, body })).status, body).toBe(400);
    }
    const many = `<D:propfind xmlns:D="DAV:"><D:prop>${Array.from({ length: 600 }, (_, i) => `<x:p${i} xmlns:x="urn:x"/>`).join('')}</D:prop></D:propfind>`;
    expect((await dav(s.base, 'PROPFIND', src(), { user: alice, headers: { depth: '0' }, body: many })).status).toBe(413);
    const deep = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:v xmlns:x="urn:x">${'<a>'.repeat(200)}${'</a>'.repeat(200)}</x:v></D:prop></D:set></D:propertyupdate>`;
    expect((await dav(s.base, 'PROPPATCH', src(), { user: alice, body: deep })).status).toBe(400);
  });

  it('refuses a 50 MB PROPFIND body with 413', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 0x20);
    big.write('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/>');
    const started = Date.now();
    const res = await raw(s.port, 'PROPFIND', src(), { authorization: alice.basic, depth: '0', 'content-type': 'application/xml', 'content-length': String(big.length) }, big).catch((error: Error) => ({ status: -1, body: error.message }));
    expect(res.status, res.body).toBe(413);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The server is still healthy.
    expect((await dav(s.base, 'PROPFIND', src(), { user: alice, headers: { depth: '0' } })).status).toBe(207);
  });

  it('rejects PROPFIND Depth: infinity with the propfind-finite-depth precondition', async () => {
    for (const headers of [{ depth: 'infinity' }, {} as Record<string, string>]) {
      const res = await dav(s.base, 'PROPFIND', `/dav/${slug}/`, { user: alice, headers });
      expect(res.status).toBe(403);
      expect(res.body).toContain('propfind-finite-depth');
    }
  });

  it("does not let one person refresh, use or release another person's lock", async () => {
    const path = `/dav/${slug}/finance/locked.txt`;
    await dav(s.base, 'PUT', path, { user: alice, body: 'v1' });
    const locked = await dav(s.base, 'LOCK', path, { user: alice, headers: { timeout: 'Second-600' }, body: LOCKINFO });
    expect(locked.status).toBe(200);
    const token = locked.headers.get('lock-token')!;
    const bare = token.replace(/^<|>$/g, '');
    // Without the token, or with alice's token, bob cannot write, delete, move or lock.
    expect((await dav(s.base, 'PUT', path, { user: bob, body: 'v2' })).status).toBe(423);
    expect((await dav(s.base, 'PUT', path, { user: bob, body: 'v2', headers: { if: `(${token})` } })).status).toBe(423);
    expect((await dav(s.base, 'DELETE', path, { user: bob, headers: { if: `(${token})` } })).status).toBe(423);
    expect((await dav(s.base, 'MOVE', path, { user: bob, headers: { if: `(${token})`, destination: `${s.base}/dav/${slug}/finance/taken.txt` } })).status).toBe(423);
    expect((await dav(s.base, 'LOCK', path, { user: bob, body: LOCKINFO })).status).toBe(423);
    expect((await dav(s.base, 'LOCK', path, { user: bob, headers: { if: `(${token})`, timeout: 'Second-99999' } })).status).toBe(403);
    expect((await dav(s.base, 'UNLOCK', path, { user: bob, headers: { 'lock-token': token } })).status).toBe(403);
    // A made-up token on the right path is a conflict, not a release.
    expect((await dav(s.base, 'UNLOCK', path, { user: bob, headers: { 'lock-token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' } })).status).toBe(409);
    // Alice's lock still holds, and alice can use and release it.
    expect((await dav(s.base, 'PUT', path, { user: alice, body: 'v2', headers: { if: `(<${bare}>)` } })).status).toBe(204);
    expect((await dav(s.base, 'UNLOCK', path, { user: alice, headers: { 'lock-token': token } })).status).toBe(204);
    expect((await dav(s.base, 'PUT', path, { user: bob, body: 'v3' })).status).toBe(204);
  });

  it('refuses EICAR over PUT with 403 naming the signature, and never serves it', async () => {
    // A program by name is refused by the file policy, with its reason.
    const program = await dav(s.base, 'PUT', `/dav/${slug}/finance/invoice.com`, { user: alice, body: eicar() });
    expect(program.status).toBe(403);
    expect(program.body).toMatch(/^Refused: .*programs/);
    const path = `/dav/${slug}/finance/invoice.txt`;
    const res = await dav(s.base, 'PUT', path, { user: alice, body: eicar() });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/malware detected \(.*eicar.*\)/i);
    const get = await dav(s.base, 'GET', path, { user: alice });
    // Stored as quarantined, seen by its uploader, its bytes refused: 423.
    expect(get.status).toBe(423);
    expect(get.body).not.toContain('EICAR-STANDARD-ANTIVIRUS-TEST-FILE');
    // Over an existing, clean document: the clean version stays current.
    const clean = `/dav/${slug}/finance/clean.txt`;
    await dav(s.base, 'PUT', clean, { user: alice, body: 'clean' });
    expect((await dav(s.base, 'PUT', clean, { user: alice, body: eicar() })).status).toBe(403);
    const served = await dav(s.base, 'GET', clean, { user: alice });
    expect(served.body).toBe('clean');
    expect(served.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(served.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });

  it('refuses macOS ._ AppleDouble files with a reason (file policy) and stores .DS_Store', async () => {
    // An AppleDouble header named like the text file it belongs to: the file policy sees content that is not text.
    const fork = Buffer.concat([Buffer.from([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00]), Buffer.alloc(4000)]);
    const res = await dav(s.base, 'PUT', `/dav/${slug}/finance/._report.txt`, { user: alice, body: fork });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/^Refused: /);
    // The real file is unaffected.
    expect((await dav(s.base, 'GET', src(), { user: alice })).body).toBe('quarterly report');
    expect((await dav(s.base, 'PUT', `/dav/${slug}/finance/.DS_Store`, { user: alice, body: Buffer.from('Bud1\0\0\0\0') })).status).toBe(201);
  });

  it('accepts Windows Explorer property updates (Win32 times and attributes)', async () => {
    const body = '<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>'
      + '<Z:Win32CreationTime>Thu, 26 Nov 2026 10:00:00 GMT</Z:Win32CreationTime><Z:Win32LastAccessTime>Thu, 26 Nov 2026 10:00:00 GMT</Z:Win32LastAccessTime>'
      + '<Z:Win32LastModifiedTime>Thu, 26 Nov 2026 10:00:00 GMT</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>';
    const res = await dav(s.base, 'PROPPATCH', src(), { user: alice, body });
    expect(res.status).toBe(207);
    expect(res.body).toContain('HTTP/1.1 200 OK');
    expect(res.body).not.toMatch(/HTTP\/1\.1 (403|409|424)/);
    const options = await dav(s.base, 'OPTIONS', `/dav/${slug}/`);
    expect(options.headers.get('ms-author-via')).toBe('DAV');
    expect(options.headers.get('dav')).toBe('1, 2');
  });
});
