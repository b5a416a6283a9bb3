// If-Match and If-None-Match on a WebDAV DELETE, PROPPATCH, COPY or MOVE are judged on the request's own
// resource (RFC 9110 13.1.1-2). They were ignored: a client that asked to delete, move or copy only the
// version it had read (If-Match: its ETag) did so over a newer version someone else had saved. Both dialects.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { dav, davUser } from './support.js';
import { davEtag } from '../../src/webdav/properties.js';
import type { AddressInfo } from 'node:net';

const clamd = useClamd();
const PROPPATCH = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop><x:a>1</x:a></D:prop></D:set></D:propertyupdate>';

describe.each(DIALECTS)('WebDAV If-Match beyond PUT on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  const base = () => `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;

  it('refuses a DELETE, PROPPATCH, COPY or MOVE whose If-Match names an older version (412, nothing done), and does it when it names the current one', async () => {
    const org = await createOrganisation(t.vault);
    const member = await davUser(t.vault, org, { teams: ['hr'] });
    const root = `/dav/${org.slug}/hr`;
    for (const method of ['DELETE', 'PROPPATCH', 'COPY', 'MOVE'] as const) {
      const first = await upload(t.app, member, org.collections.hr!, `${method}.txt`, `${method} as read\n`);
      expect(first.statusCode, first.body).toBe(201);
      const read = await t.vault.store.repos.documents.byId(first.json().id);
      // Someone else saves a newer version.
      expect((await dav(base(), 'PUT', `${root}/${method}.txt`, { user: member, body: `${method} as saved since\n` })).status).toBe(204);
      const options = (ifMatch: string) => ({
        user: member, headers: { 'if-match': ifMatch, ...(method === 'COPY' || method === 'MOVE' ? { destination: `${base()}${root}/${method}-2.txt` } : {}) },
        ...(method === 'PROPPATCH' ? { body: PROPPATCH } : {}),
      });
      const stale = await dav(base(), method, `${root}/${method}.txt`, options(davEtag(read!.sha256)));
      expect(stale.status, method).toBe(412);
      expect((await dav(base(), 'GET', `${root}/${method}.txt`, { user: member })).status, method).toBe(200);
      expect((await dav(base(), 'GET', `${root}/${method}-2.txt`, { user: member })).status, method).toBe(404);
      const now = await t.vault.store.repos.documents.byId(first.json().id);
      const current = await dav(base(), method, `${root}/${method}.txt`, options(`W/${davEtag(now!.sha256)}, "other"`));
      expect(current.status, method).toBe({ DELETE: 204, PROPPATCH: 207, COPY: 201, MOVE: 201 }[method]);
    }
  });

  it('takes If-Match: * as "it exists" for a folder too, and If-None-Match: * as "it does not"', async () => {
    const org = await createOrganisation(t.vault);
    const member = await davUser(t.vault, org, { teams: ['hr'] });
    const root = `/dav/${org.slug}/hr`;
    expect((await dav(base(), 'MKCOL', `${root}/minutes`, { user: member })).status).toBe(201);
    expect((await dav(base(), 'DELETE', `${root}/minutes`, { user: member, headers: { 'if-none-match': '*' } })).status).toBe(412);
    expect((await dav(base(), 'DELETE', `${root}/minutes`, { user: member, headers: { 'if-match': '"not-a-folder-etag"' } })).status).toBe(412);
    expect((await dav(base(), 'DELETE', `${root}/minutes`, { user: member, headers: { 'if-match': '*' } })).status).toBe(204);
    expect((await dav(base(), 'DELETE', `${root}/minutes`, { user: member, headers: { 'if-match': '*' } })).status).toBe(412);
  });
});
