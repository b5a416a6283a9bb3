// WebDAV is Basic authentication from dedicated clients, which send no Sec-Fetch-Site. A browser that has
// cached Basic credentials for /dav/ sends them with a request another site starts (a link, an <img>), and a
// GET records a download in the person's name: a request the browser says another site sent is refused
// (403) before credentials are checked, so nothing is read or recorded and every address answers alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS } from '../support/vault.js';
import { PROPFIND_ALL, createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();
const REFUSAL = 'Another site sent this request. Open WebDAV addresses in a WebDAV client, or type them into the browser.';

describe.each(DIALECTS)('WebDAV requests another site sends, on %s', (dialect) => {
  let s: DavServer;
  let alice: DavUser;
  let path: string;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    alice = await davUser(s.vault, org, { teams: ['finance'] });
    path = `/dav/${org.slug}/finance/budget.txt`;
    expect((await dav(s.base, 'PUT', path, { user: alice, body: 'the budget\n' })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
  });

  const downloads = async () => (await s.vault.store.db.selectFrom('audit_events').select('id').where('action', '=', 'document.download').where('actor_user_id', '=', alice.id).execute()).length;
  const events = async () => (await s.vault.store.db.selectFrom('audit_events').select('id').where('actor_user_id', '=', alice.id).execute()).length;

  it('refuses a request the browser says another site sent, reading and recording nothing, whatever the address', async () => {
    const before = { downloads: await downloads(), events: await events() };
    for (const site of ['cross-site', 'same-site']) {
      for (const [method, target] of [['GET', path], ['HEAD', path], ['GET', '/dav/no-such-place/file.txt'], ['PROPFIND', path]] as const) {
        const res = await dav(s.base, method, target, { user: alice, headers: { 'sec-fetch-site': site, ...(method === 'PROPFIND' ? { depth: '0' } : {}) }, ...(method === 'PROPFIND' ? { body: PROPFIND_ALL } : {}) });
        expect(res.status, `${site} ${method} ${target}`).toBe(403);
        if (method !== 'HEAD') expect(res.body).toContain(REFUSAL);
        expect(res.body).not.toContain('the budget');
      }
    }
    expect({ downloads: await downloads(), events: await events() }).toEqual(before);
  });

  it('refuses only that: a WebDAV client (no Sec-Fetch-Site) and a browser on its own address (same-origin, none) are served, each GET one download', async () => {
    const before = await downloads();
    expect((await dav(s.base, 'GET', path, { user: alice, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    const served: Record<string, string>[] = [{}, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }];
    for (const headers of served) {
      const res = await dav(s.base, 'GET', path, { user: alice, headers });
      expect(res.status).toBe(200);
      expect(res.body).toBe('the budget\n');
    }
    expect(await downloads()).toBe(before + 3);
  });
});
