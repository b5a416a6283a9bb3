// Scale: PROPFIND Depth 1 over a collection of 10,500 documents lists every one (more than the REST
// listing's 10,000 a page: WebDAV has no next page, so a mapped drive must be shown the whole folder), and
// large files stream through PUT and GET intact. Its speed is measured by `make bench`.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd } from '../support/fixture.js';
import { pseudoRandomBytes } from '../support/samples.js';
import { DIALECTS } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();

const COUNT = 10_500;

describe.each(DIALECTS)('WebDAV performance on %s', (dialect) => {
  let s: DavServer;
  let user: DavUser;
  let slug: string;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    slug = org.slug;
    user = await davUser(s.vault, org, { teams: ['finance'] });
    expect((await dav(s.base, 'MKCOL', `/dav/${slug}/finance/big`, { user })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `/dav/${slug}/finance/big/template.txt`, { user, body: 'template' })).status).toBe(201);
    // Clone the template's rows 10,499 times straight into the database: uploading them one by one
    // would measure clamd, not PROPFIND.
    const template = await s.vault.store.db.selectFrom('documents').select('id').where('name', '=', 'template.txt').where('organisation_id', '=', org.id).executeTakeFirstOrThrow();
    await cloneDocuments(s.vault.store.db, template.id, COUNT - 1, (i) => `file-${String(i).padStart(5, '0')}.txt`);
  }, 300_000);
  afterAll(async () => {
    await s?.close();
  });

  const named = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>';

  it.each([['named properties', named], ['allprop', '']])(`PROPFIND Depth 1 over ${COUNT} documents with %s lists every one`, async (_label, body) => {
    const path = `/dav/${slug}/finance/big/`;
    const res = await dav(s.base, 'PROPFIND', path, { user, headers: { depth: '1' }, body });
    expect(res.status).toBe(207);
    expect(res.body.match(/<D:response>/g)?.length).toBe(COUNT + 1);
    // How fast is for `make bench` (bench/lib/propfind.ts), not for a test on a shared machine.
  });

  it('streams a 20 MB file up and down intact, with ranges', async () => {
    const body = pseudoRandomBytes(20 * 1024 * 1024);
    const path = `/dav/${slug}/finance/large.bin`;
    expect((await dav(s.base, 'PUT', path, { user, body })).status).toBe(201);
    const res = await fetch(`${s.base}${path}`, { headers: { authorization: user.basic } });
    expect(res.status).toBe(200);
    const got = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    const etag = res.headers.get('etag')!;
    const ranged = await fetch(`${s.base}${path}`, { headers: { authorization: user.basic, range: 'bytes=1000-1999' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(1000, 2000))).toBe(true);
    expect((await fetch(`${s.base}${path}`, { headers: { authorization: user.basic, 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${s.base}${path}`, { headers: { authorization: user.basic, 'if-match': '"nope"' } })).status).toBe(412);
    expect((await dav(s.base, 'PUT', path, { user, body: 'x', headers: { 'if-match': '"nope"' } })).status).toBe(412);
    expect((await dav(s.base, 'PUT', path, { user, body: 'x', headers: { 'if-none-match': '*' } })).status).toBe(412);
  });
});
