// Dead properties are bounded per resource (count and total size): PROPPATCH beyond the caps is
// refused as a whole with 507 Insufficient Storage in its multistatus (RFC 4918 §9.2.1), nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { MAX_DEAD_PROPERTIES, MAX_DEAD_PROPERTY_BYTES } from '../../src/services/dav.service.js';
import { DIALECTS } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();

const update = (sets: [string, string][], removes: string[] = []) =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:z">${
    sets.length ? `<D:set><D:prop>${sets.map(([n, v]) => `<Z:${n}>${v}</Z:${n}>`).join('')}</D:prop></D:set>` : ''}${
    removes.length ? `<D:remove><D:prop>${removes.map((n) => `<Z:${n}/>`).join('')}</D:prop></D:remove>` : ''}</D:propertyupdate>`;

describe.each(DIALECTS)('dead property caps on %s', (dialect) => {
  let s: DavServer;
  let alice: DavUser;
  let slug: string;
  let n = 0;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    slug = org.slug;
    alice = await davUser(s.vault, org, { teams: ['finance'] });
  });
  afterAll(async () => {
    await s?.close();
  });

  const freshFile = async () => {
    const path = `/dav/${slug}/finance/props-${n++}.txt`;
    expect((await dav(s.base, 'PUT', path, { user: alice, body: 'x' })).status).toBe(201);
    return path;
  };
  const proppatch = (path: string, body: string) => dav(s.base, 'PROPPATCH', path, { user: alice, body, headers: { 'content-type': 'application/xml' } });
  const stored = async (path: string) => {
    const res = await dav(s.base, 'PROPFIND', path, { user: alice, headers: { depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>' });
    return [...res.body.matchAll(/<(?:\w+:)?(p\d+)\b/g)].map((m) => m[1]).sort();
  };

  it(`accepts ${MAX_DEAD_PROPERTIES} properties and refuses one more with 507, storing none of that request`, async () => {
    const path = await freshFile();
    const full = Array.from({ length: MAX_DEAD_PROPERTIES }, (_, i) => [`p${i}`, 'v'] as [string, string]);
    const ok = await proppatch(path, update(full));
    expect(ok.status).toBe(207);
    expect(ok.body).toContain('HTTP/1.1 200 OK');
    const over = await proppatch(path, update([['p999', 'v']]));
    expect(over.status).toBe(207);
    expect(over.body).toContain('HTTP/1.1 507 Insufficient Storage');
    expect(over.body).not.toContain('200 OK');
    expect(new Set(await stored(path)).size).toBe(MAX_DEAD_PROPERTIES);
    expect(await stored(path)).not.toContain('p999');
    // Replacing a value is not a new property; removing one makes room, all in one request.
    const swap = await proppatch(path, update([['p0', 'new'], ['p999', 'v']], ['p1']));
    expect(swap.body).toContain('HTTP/1.1 200 OK');
    expect(await stored(path)).toContain('p999');
  });

  it('refuses too many properties in one request, with the removals in it marked 424', async () => {
    const path = await freshFile();
    const many = Array.from({ length: MAX_DEAD_PROPERTIES + 1 }, (_, i) => [`p${i}`, 'v'] as [string, string]);
    const res = await proppatch(path, update(many, ['p999']));
    expect(res.status).toBe(207);
    expect(res.body).toContain('HTTP/1.1 507 Insufficient Storage');
    expect(res.body).toContain('HTTP/1.1 424 Failed Dependency');
    expect(await stored(path)).toEqual([]);
  });

  it(`refuses more than ${MAX_DEAD_PROPERTY_BYTES} bytes of properties on one resource`, async () => {
    const path = await freshFile();
    const half = 'a'.repeat(Math.floor(MAX_DEAD_PROPERTY_BYTES / 2) - 100);
    expect((await proppatch(path, update([['p1', half]]))).body).toContain('200 OK');
    expect((await proppatch(path, update([['p2', half]]))).body).toContain('200 OK');
    const over = await proppatch(path, update([['p3', 'b'.repeat(400)]]));
    expect(over.body).toContain('HTTP/1.1 507 Insufficient Storage');
    expect(await stored(path)).toEqual(['p1', 'p2']);
    const single = await proppatch(await freshFile(), update([['p1', 'c'.repeat(MAX_DEAD_PROPERTY_BYTES + 1)]]));
    expect(single.body).toContain('HTTP/1.1 507 Insufficient Storage');
  });
});
